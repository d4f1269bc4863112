#!/usr/bin/env bash
# airgap against the reference tools on the same data, in one run, on this machine:
#   pack   vs `skopeo copy docker://… oci-archive:…`   (target: airgap ≤ 0.5× skopeo's time)
#   verify vs `openssl dgst -sha256` on the same tar     (target: ≥ 0.85× openssl's throughput)
#   peak RSS of airgap pack/verify at two bundle sizes  (target: ≤ 64 MiB and flat)
#   push   vs `skopeo copy oci-archive:… docker://…` into fresh registries of the same kind
#          (target: ≤ 0.6× skopeo's time, RSS ≤ 64 MiB, no extra disk); a second push sends nothing
#   many   200 small images pushed vs skopeo's copy loop (target ≤ 0.3×); 400 pushed again with
#          nothing to send (target ≤ 1.5 s) — bench/many-images.sh, also runnable alone
#   split  the same bundle packed with --max-part-size 100M: the parts concatenate to the unsplit
#          tarball (checked), and verify and push read them in place (target: time, RSS and
#          temporary disk as for the unsplit bundle)
#   delta  Flink 1.17.1 -> 1.17.2 as patch releases are built (${BENCH_DELTA_MIB:-600} MiB, 8 layers, the
#          top layer and config new): size of `pack --since` against the full pack (target: the
#          new layer plus documents), and push of the delta into a registry holding the base

#   limit  pack (cold cache) over the physical limit measured in the same run: every blob fetched
#          by $jobs parallel curls straight to disk, then fsynced (target: <= 1.2x at 1 GiB and
#          4 GiB; RSS <= 64 MiB and flat). The 4 GiB case runs when the disk has room for it.
#   thin   `lock` of 50 images through bench/delay_proxy.py (50 ms per round trip) against a
#          skopeo loop over the same images (target: <= 0.8 s)
# The close calls (pack against the raw fetch, verify against openssl) run ${BENCH_ROUNDS:-3} times,
# alternating with their reference; the table shows the median of each.
# Data: an image of ${BENCH_LAYERS:-10} gzip layers, ${BENCH_MIB:-1100} MiB in all, in a loopback registry.
# Caches are dropped only where possible (root); every tool reads the same warm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/lib/build.sh
work=${BENCH_DIR:-$root/bench/work}
rm -rf "$work" && mkdir -p "$work"
source scripts/lib/registry.sh
start_registry "$work/registry"
host=127.0.0.1:$REGISTRY_PORT
layers=${BENCH_LAYERS:-10}
total_mib=${BENCH_MIB:-1100}
# pack's own default, so the limit is measured with the parallelism pack uses out of the box.
jobs=${BENCH_JOBS:-$("$airgap" pack --help | tr -s ' \n' ' ' | sed -n 's/.*--jobs <N>[^(]*([^(]*(default: \([0-9]*\)).*/\1/p')}
jobs=${jobs:-8}

measure() { # label, command...: runs it, records "seconds kib" in $work/$label
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/$label.time" "$@" >/dev/null 2>"$work/$label.err" || { cat "$work/$label.err" >&2; exit 1; }
}
seconds() { cut -d' ' -f1 "$work/$1.time"; }
# The rows that hold airgap to a physical limit (raw fetch, openssl) are close calls, and one
# run of either side can be off by a tenth of a second on a shared disk: those are measured
# $rounds times, alternating, and the median run of each kept as LABEL.time.
rounds=${BENCH_ROUNDS:-3}
keep_median() { # label: LABEL.1.time … LABEL.$rounds.time -> LABEL.time (the median by seconds)
  local label=$1
  sort -n "$work/$label".[0-9]*.time | sed -n "$(( (rounds + 1) / 2 ))p" > "$work/$label.time"
  cp "$work/$label.1.err" "$work/$label.err"
}
kib() { cut -d' ' -f2 "$work/$1.time"; }

# The physical limit for one image: each of its blobs fetched by one of $jobs parallel curls
# straight into a file, every file fsynced (coreutils `sync FILE…`), as pack must leave its output.
raw_fetch() { # repository dir
  local repository=$1 dir=$2
  rm -rf "$dir" && mkdir -p "$dir"
  curl -sf -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$host/v2/$repository/manifests/1" |
    python3 -c 'import json,sys; m=json.load(sys.stdin); print("\n".join([m["config"]["digest"]] + [l["digest"] for l in m["layers"]]))' |
    xargs -P "$jobs" -I{} curl -sf -o "$dir/{}" "http://$host/v2/$repository/blobs/{}"
  sync "$dir"/*
}
export -f raw_fetch
export host jobs

# xl (4x the large image) only when the disk holds its registry copy, raw copy, cache and tarball.
sizes="small large"
xl_mib=$((total_mib * 4))
free_mib=$(( $(df --output=avail -k "$work" | tail -n1) / 1024 ))
if [ "${BENCH_XL:-1}" != 0 ] && [ "$free_mib" -gt $((xl_mib * 5)) ]; then
  sizes="$sizes xl"
else
  echo "skipping the $xl_mib MiB case: $free_mib MiB free, $((xl_mib * 5)) MiB needed" >&2
fi

for size in $sizes; do
  # xl has four times the layers of large (make-image.py builds a layer in memory).
  count=$layers
  case $size in small) mib=$((total_mib / 4)) ;; large) mib=$total_mib ;; xl) mib=$xl_mib; count=$((layers * 4)) ;; esac
  layer_bytes=$((mib * 1024 * 1024 / count))
  echo "building a $mib MiB image of $count layers…" >&2
  python3 scripts/make-image.py --out "$work/layout-$size" --ref img --layers "$count" --layer-size "$layer_bytes" \
    --gzip-level 0 --seed "bench-$size" >/dev/null
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout-$size:img" "docker://$host/bench/$size:1"
  rm -rf "$work/layout-$size"
  printf 'images:\n  - ref: %s/bench/%s:1\n' "$host" "$size" > "$work/$size.yaml"

  # Each timed write starts with no dirty pages of an earlier step still going to disk, and
  # each pack with a cold cache.
  for round in $(seq "$rounds"); do
    sync
    measure "raw-fetch-$size.$round" bash -c "raw_fetch bench/$size '$work/raw-$size'"
    rm -rf "$work/raw-$size" "$work/cache-$size" "$work/$size.tar" "$work/$size.tar.sha256" "$work/$size.tar.cdx.json"
    sync
    measure "airgap-pack-$size.$round" "$airgap" pack --quiet --spec "$work/$size.yaml" --lock "$work/$size.lock" --output "$work/$size.tar" \
      --cache "$work/cache-$size" --insecure-registry "$host" --jobs "$jobs"
  done
  keep_median "raw-fetch-$size"
  keep_median "airgap-pack-$size"
  if [ $size = xl ]; then
    # The registry keeps a deleted repository's blobs until garbage collection: its storage for
    # the xl image goes with the rest at the end of the run.
    rm -rf "$work/xl.tar" "$work/xl.tar.sha256" "$work/xl.tar.cdx.json" "$work/cache-xl"
    continue
  fi
  measure "airgap-verify-$size" "$airgap" verify --quiet "$work/$size.tar"
  if [ $size = large ]; then
    for round in $(seq "$rounds"); do
      rm -rf "$work/nocache" "$work/nocache.tar"
      sync
      measure "airgap-pack-nocache.$round" "$airgap" pack --quiet --spec "$work/$size.yaml" --lock "$work/$size.lock" --output "$work/nocache.tar" \
        --cache "$work/nocache" --insecure-registry "$host" --jobs "$jobs" --no-cache
    done
    keep_median airgap-pack-nocache
    cmp "$work/nocache.tar" "$work/large.tar" || { echo "--no-cache gave a different tarball" >&2; exit 1; }
    rm -rf "$work/nocache.tar" "$work/nocache"
    mkdir -p "$work/split"
    measure airgap-pack-split "$airgap" pack --quiet --spec "$work/$size.yaml" --lock "$work/$size.lock" \
      --output "$work/split/large.tar" --cache "$work/cache-$size" --insecure-registry "$host" --max-part-size 100M
    cat "$work"/split/large.tar.0* | cmp - "$work/large.tar" || { echo "split parts differ from the unsplit tarball" >&2; exit 1; }
  fi
  rm -rf "$work/cache-$size"
done

# Thin link: 50 small images in 50 repositories, reached through a proxy adding 50 ms per round
# trip. airgap locks them (manifests only); skopeo inspects them one after another, as a loop
# over `skopeo inspect --raw` (what scripts do without a lock) would.
python3 scripts/make-image.py --out "$work/layout-thin" --ref img --layers 1 --layer-size 4096 --seed thin >/dev/null
printf 'images:\n' > "$work/thin.yaml"
proxy_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for i in $(seq 1 50); do
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout-thin:img" "docker://$host/thin/img$i:1"
  printf '  - ref: 127.0.0.1:%s/thin/img%s:1\n' "$proxy_port" "$i" >> "$work/thin.yaml"
done
python3 bench/delay_proxy.py --listen "$proxy_port" --upstream "$REGISTRY_PORT" --delay-ms 50 2>"$work/delay_proxy.log" &
proxy_pid=$!
REGISTRY_PIDS="${REGISTRY_PIDS:-} $proxy_pid"
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$proxy_port) 2>/dev/null && break; sleep 0.05; done
thin_host=127.0.0.1:$proxy_port
measure airgap-lock-thin "$airgap" lock --spec "$work/thin.yaml" --lock "$work/thin.lock" --cache "$work/cache-thin" \
  --insecure-registry "$thin_host" --no-signatures --jobs "$jobs"
measure airgap-lock-thin-signatures "$airgap" lock --spec "$work/thin.yaml" --lock "$work/thin-signatures.lock" \
  --cache "$work/cache-thin" --insecure-registry "$thin_host" --jobs "$jobs"
measure skopeo-inspect-thin bash -c "for i in \$(seq 1 50); do skopeo inspect --raw --tls-verify=false docker://$thin_host/thin/img\$i:1 >/dev/null || exit 1; done"
kill "$proxy_pid" 2>/dev/null; wait "$proxy_pid" 2>/dev/null || true
REGISTRY_PIDS=$(for pid in $REGISTRY_PIDS; do [ "$pid" = "$proxy_pid" ] || printf ' %s' "$pid"; done)

measure skopeo-pack skopeo copy --quiet --src-tls-verify=false "docker://$host/bench/large:1" "oci-archive:$work/skopeo.tar:img"
for round in $(seq "$rounds"); do
  measure "openssl-dgst.$round" openssl dgst -sha256 "$work/large.tar"
  measure "airgap-verify-large.$round" "$airgap" verify --quiet "$work/large.tar"
done
keep_median openssl-dgst
keep_median airgap-verify-large
rm -f "$work/skopeo.tar"

# Push: each tool into its own fresh registry. Temporary files are counted by sampling TMPDIR
# and /var/tmp (where containers tools put big temporary files) above what they held before.
peak_tmp() { # label dir command...: runs the command with TMPDIR=dir, records the peak KiB of temporary files
  local label=$1 dir=$2; shift 2
  mkdir -p "$dir"
  local before; before=$(du -sk /var/tmp 2>/dev/null | cut -f1)
  ( while sleep 0.1; do echo $(( $(du -sk "$dir" 2>/dev/null | cut -f1) + $(du -sk /var/tmp 2>/dev/null | cut -f1) - before )); done ) > "$work/$label.samples" &
  local sampler=$!
  measure "$label" env TMPDIR="$dir" "$@"
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  sort -n "$work/$label.samples" | tail -n1 > "$work/$label.tmp"
}
start_registry "$work/internal-airgap"; airgap_host=127.0.0.1:$REGISTRY_PORT
start_registry "$work/internal-skopeo"; skopeo_host=127.0.0.1:$REGISTRY_PORT
peak_tmp airgap-push "$work/tmp-airgap" "$airgap" push --quiet "$work/large.tar" --registry "$airgap_host" --plain-http
measure airgap-push-again "$airgap" push --quiet "$work/large.tar" --registry "$airgap_host" --plain-http
start_registry "$work/internal-split"; split_host=127.0.0.1:$REGISTRY_PORT
measure airgap-verify-split "$airgap" verify --quiet "$work/split/large.tar"
peak_tmp airgap-push-split "$work/tmp-split" "$airgap" push --quiet "$work/split/large.tar" --registry "$split_host" --plain-http
peak_tmp skopeo-push "$work/tmp-skopeo" skopeo copy --quiet --dest-tls-verify=false "oci-archive:$work/large.tar:$host/bench/large:1" "docker://$skopeo_host/bench/large:1"

# Delta: two patch releases sharing all but their top layer, packed full and as a delta.
delta_mib=${BENCH_DELTA_MIB:-600}
delta_layer=$((delta_mib * 1024 * 1024 / 8))
for version in 1.17.1 1.17.2; do
  python3 scripts/make-image.py --out "$work/layout-flink" --ref "$version" --layers 8 --layer-size "$delta_layer" \
    --gzip-level 0 --seed bench-flink --top-seed "$version" --env "FLINK_VERSION=$version" >/dev/null
  skopeo copy --quiet --preserve-digests --dest-tls-verify=false "oci:$work/layout-flink:$version" "docker://$host/bench/flink:$version"
  mkdir -p "$work/delta-$version"
  printf 'images:\n  - ref: %s/bench/flink:%s\n' "$host" "$version" > "$work/delta-$version/airgap.yaml"
done
top_bytes=$(python3 - "$work/layout-flink" <<'PY'
import json, sys
layout = sys.argv[1]
def layers(ref):
    index = json.load(open(f"{layout}/index.json"))
    top = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == ref)
    manifest = json.load(open(f"{layout}/blobs/sha256/{top['digest'][7:]}"))
    return {l["digest"]: l["size"] for l in manifest["layers"]}
old, new = layers("1.17.1"), layers("1.17.2")
print(sum(size for digest, size in new.items() if digest not in old))
PY
)
rm -rf "$work/layout-flink"
"$airgap" pack --quiet --spec "$work/delta-1.17.1/airgap.yaml" --output "$work/delta-1.17.1/bundle.tar" --cache "$work/cache-delta" --insecure-registry "$host" >/dev/null
measure airgap-pack-full-1.17.2 "$airgap" pack --quiet --spec "$work/delta-1.17.2/airgap.yaml" --output "$work/delta-1.17.2/full.tar" \
  --cache "$work/cache-delta" --insecure-registry "$host"
measure airgap-pack-delta "$airgap" pack --quiet --spec "$work/delta-1.17.2/airgap.yaml" --output "$work/delta-1.17.2/delta.tar" \
  --cache "$work/cache-delta" --insecure-registry "$host" --since "$work/delta-1.17.1/bundle.lock"
start_registry "$work/internal-delta"; delta_host=127.0.0.1:$REGISTRY_PORT
"$airgap" push --quiet "$work/delta-1.17.1/bundle.tar" --registry "$delta_host" --plain-http >/dev/null
measure airgap-push-delta "$airgap" push --quiet "$work/delta-1.17.2/delta.tar" --registry "$delta_host" --plain-http
start_registry "$work/internal-delta-full"; delta_full_host=127.0.0.1:$REGISTRY_PORT
"$airgap" push --quiet "$work/delta-1.17.1/bundle.tar" --registry "$delta_full_host" --plain-http >/dev/null
measure airgap-push-full-1.17.2 "$airgap" push --quiet "$work/delta-1.17.2/full.tar" --registry "$delta_full_host" --plain-http
echo "$(stat -c %s "$work/delta-1.17.2/delta.tar") $(stat -c %s "$work/delta-1.17.2/full.tar") $top_bytes" > "$work/delta.sizes"
rm -rf "$work/cache-delta"

source bench/many-images.sh
many_images

bytes=$(stat -c %s "$work/large.tar")
python3 - "$work" "$bytes" "$jobs" <<'PY'
import os, sys
work, size, jobs = sys.argv[1], int(sys.argv[2]), sys.argv[3]
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
push, push_rss = read("airgap-push")
again, _ = read("airgap-push-again")
skopeo_push, skopeo_push_rss = read("skopeo-push")
split_push, split_push_rss = read("airgap-push-split")
split_verify, split_verify_rss = read("airgap-verify-split")
tmp = lambda label: int((open(f"{work}/{label}.tmp").read().strip() or "0")) / 1024
raw, _ = read("raw-fetch-large")
nocache, nocache_rss = read("airgap-pack-nocache")
has_xl = os.path.exists(f"{work}/airgap-pack-xl.time")
if has_xl:
    pack_xl, pack_xl_rss = read("airgap-pack-xl")
    raw_xl, _ = read("raw-fetch-xl")
lock_thin, _ = read("airgap-lock-thin")
lock_thin_signatures, _ = read("airgap-lock-thin-signatures")
skopeo_thin, _ = read("skopeo-inspect-thin")
rows = [
    ("pack (cold cache), s", f"{pack:.2f}", f"skopeo {skopeo:.2f}", f"{pack / skopeo:.2f}x", "<= 0.50x"),
    ("verify, MiB/s", f"{mib / verify:.0f}", f"openssl {mib / openssl:.0f}", f"{openssl / verify:.2f}x", ">= 0.85x"),
    ("peak RSS pack, MiB (1/4 size -> full)", f"{pack_rss_small:.0f} -> {pack_rss:.0f}", f"skopeo {skopeo_rss:.0f}", "", "<= 64, flat"),
    ("peak RSS verify, MiB (1/4 size -> full)", f"{verify_rss_small:.0f} -> {verify_rss:.0f}", "", "", "<= 64, flat"),
    ("push (verify + upload), s", f"{push:.2f}", f"skopeo {skopeo_push:.2f}", f"{push / skopeo_push:.2f}x", "<= 0.60x"),
    ("push again (nothing to send), s/GiB", f"{again / (mib / 1024):.2f}", "", "", "well under 1"),
    ("peak RSS push, MiB", f"{push_rss:.0f}", f"skopeo {skopeo_push_rss:.0f}", "", "<= 64"),
    ("peak temporary disk in push, MiB", f"{tmp('airgap-push'):.0f}", f"skopeo {tmp('skopeo-push'):.0f}", "", "0"),
    ("verify split 100M, MiB/s", f"{mib / split_verify:.0f}", f"unsplit {mib / verify:.0f}", f"{verify / split_verify:.2f}x", "~1x"),
    ("push split 100M, s", f"{split_push:.2f}", f"unsplit {push:.2f}", f"{split_push / push:.2f}x", "~1x"),
    ("peak RSS verify/push split, MiB", f"{split_verify_rss:.0f}/{split_push_rss:.0f}", f"unsplit {verify_rss:.0f}/{push_rss:.0f}", "", "unchanged"),
    ("peak temporary disk in push split, MiB", f"{tmp('airgap-push-split'):.0f}", "", "", "0"),
    (f"pack 1 GiB / raw fetch+fsync (jobs {jobs}), s", f"{pack:.2f}", f"raw {raw:.2f}", f"{pack / raw:.2f}x", "<= 1.20x"),
    ("pack 1 GiB --no-cache, s", f"{nocache:.2f}", f"raw {raw:.2f}", f"{nocache / raw:.2f}x", "<= 1.20x"),
] + ([
    (f"pack 4 GiB / raw fetch+fsync (jobs {jobs}), s", f"{pack_xl:.2f}", f"raw {raw_xl:.2f}", f"{pack_xl / raw_xl:.2f}x", "<= 1.20x"),
    ("peak RSS pack, MiB (1/4 -> 1 -> 4 GiB)", f"{pack_rss_small:.0f}/{pack_rss:.0f}/{pack_xl_rss:.0f}", "", "", "<= 64, flat"),
] if has_xl else []) + [
    ("lock 50 images at 50 ms RTT, s", f"{lock_thin:.2f}", f"skopeo {skopeo_thin:.2f}", f"{lock_thin / skopeo_thin:.2f}x", "<= 0.80 s"),
    ("  the same, with signature lookups, s", f"{lock_thin_signatures:.2f}", "", "", ""),
]
delta_bytes, full_bytes, top_bytes = (int(n) for n in open(f"{work}/delta.sizes").read().split())
delta_push, _ = read("airgap-push-delta")
full_push, _ = read("airgap-push-full-1.17.2")
rows += [
    ("delta 1.17.1->1.17.2 size, MiB", f"{delta_bytes / 2**20:.1f}", f"full {full_bytes / 2**20:.1f}", f"{delta_bytes / full_bytes:.2f}x", "~new layers"),
    ("delta size - new layers, KiB", f"{(delta_bytes - top_bytes) / 1024:.0f}", "", "", "documents"),
    ("push delta onto the base, s", f"{delta_push:.2f}", f"full {full_push:.2f}", f"{delta_push / full_push:.2f}x", ""),
]
print(f"bundle: {mib:.0f} MiB, {sys.argv[2]} bytes")
print(f"| {'measure':40} | {'airgap':>10} | {'reference':>16} | {'ratio':>6} | {'target':>11} |")
print(f"|{'-'*42}|{'-'*12}|{'-'*18}|{'-'*8}|{'-'*13}|")
for row in rows:
    print(f"| {row[0]:40} | {row[1]:>10} | {row[2]:>16} | {row[3]:>6} | {row[4]:>11} |")
PY
many_images_rows

# What the run wrote (registries' storage, tarballs, caches: ~12 GiB with the 4 GiB case) goes;
# the timings stay for a second look.
find "$work" -mindepth 1 -maxdepth 1 ! -name '*.time' ! -name '*.err' ! -name '*.tmp' -exec rm -rf {} +
