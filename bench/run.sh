#!/usr/bin/env bash
# airgap against the reference tools on the same data, in one run, on this machine:
#   pack   vs `skopeo copy docker://… oci-archive:…`   (target: airgap ≤ 0.5× skopeo's time)
#   verify vs `openssl dgst -sha256` on the same tar     (target: ≥ 0.85× openssl's throughput)
#   peak RSS of airgap pack/verify at two bundle sizes  (target: ≤ 64 MiB and flat)
# Data: an image of ${BENCH_LAYERS:-10} gzip layers, ${BENCH_MIB:-1100} MiB in all, in a loopback registry.
# Caches are dropped only where possible (root); every tool reads the same warm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift build -c release --product airgap >/dev/null
airgap="$root/.build/release/airgap"
work=${BENCH_DIR:-$root/bench/work}
rm -rf "$work" && mkdir -p "$work"
source scripts/lib/registry.sh
start_registry "$work/registry"
host=127.0.0.1:$REGISTRY_PORT
layers=${BENCH_LAYERS:-10}
total_mib=${BENCH_MIB:-1100}

measure() { # label, command...: runs it, records "seconds kib" in $work/$label
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$label.time" "$@" >/dev/null 2>"$work/$label.err" || { cat "$work/$label.err" >&2; exit 1; }
}
seconds() { cut -d' ' -f1 "$work/$1.time"; }
kib() { cut -d' ' -f2 "$work/$1.time"; }

for size in small large; do
  if [ $size = small ]; then mib=$((total_mib / 4)); else mib=$total_mib; fi
  layer_bytes=$((mib * 1024 * 1024 / layers))
  echo "building a $mib MiB image of $layers layers…" >&2
  python3 scripts/make-image.py --out "$work/layout-$size" --ref img --layers "$layers" --layer-size "$layer_bytes" \
    --gzip-level 0 --seed "bench-$size" >/dev/null
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout-$size:img" "docker://$host/bench/$size:1"
  rm -rf "$work/layout-$size"
  printf 'images:\n  - ref: %s/bench/%s:1\n' "$host" "$size" > "$work/$size.yaml"

  measure "airgap-pack-$size" "$airgap" pack --quiet --spec "$work/$size.yaml" --output "$work/$size.tar" \
    --cache "$work/cache-$size" --insecure-registry "$host"
  measure "airgap-verify-$size" "$airgap" verify --quiet "$work/$size.tar"
  rm -rf "$work/cache-$size"
done

measure skopeo-pack skopeo copy --quiet --src-tls-verify=false "docker://$host/bench/large:1" "oci-archive:$work/skopeo.tar:img"
measure openssl-dgst openssl dgst -sha256 "$work/large.tar"
measure airgap-verify-large "$airgap" verify --quiet "$work/large.tar"
rm -f "$work/skopeo.tar"

bytes=$(stat -c %s "$work/large.tar")
python3 - "$work" "$bytes" <<'PY'
import sys
work, size = sys.argv[1], int(sys.argv[2])
def read(label):
    seconds, kib = open(f"{work}/{label}.time").read().split()
    return float(seconds), int(kib) / 1024
mib = size / 2**20
pack, pack_rss = read("airgap-pack-large")
skopeo, skopeo_rss = read("skopeo-pack")
verify, verify_rss = read("airgap-verify-large")
openssl, _ = read("openssl-dgst")
_, pack_rss_small = read("airgap-pack-small")
_, verify_rss_small = read("airgap-verify-small")
rows = [
    ("pack (cold cache), s", f"{pack:.2f}", f"skopeo {skopeo:.2f}", f"{pack / skopeo:.2f}x", "<= 0.50x"),
    ("verify, MiB/s", f"{mib / verify:.0f}", f"openssl {mib / openssl:.0f}", f"{openssl / verify:.2f}x", ">= 0.85x"),
    ("peak RSS pack, MiB (1/4 size -> full)", f"{pack_rss_small:.0f} -> {pack_rss:.0f}", f"skopeo {skopeo_rss:.0f}", "", "<= 64, flat"),
    ("peak RSS verify, MiB (1/4 size -> full)", f"{verify_rss_small:.0f} -> {verify_rss:.0f}", "", "", "<= 64, flat"),
]
print(f"bundle: {mib:.0f} MiB, {sys.argv[2]} bytes")
print(f"| {'measure':40} | {'airgap':>10} | {'reference':>16} | {'ratio':>6} | {'target':>11} |")
print(f"|{'-'*42}|{'-'*12}|{'-'*18}|{'-'*8}|{'-'*13}|")
for row in rows:
    print(f"| {row[0]:40} | {row[1]:>10} | {row[2]:>16} | {row[3]:>6} | {row[4]:>11} |")
PY
