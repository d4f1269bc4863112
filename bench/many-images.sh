#!/usr/bin/env bash
# Many small images, where push is bound by round trips rather than bytes:
#   push of ${BENCH_MANY:-200} small images into an empty registry vs skopeo's copy loop over the
#        same images into another empty registry of the same kind  (target: ≤ 0.3× skopeo's time)
#   push again of ${BENCH_MANY_AGAIN:-400} images, nothing to send   (target: ≤ 1.5 s)
# Each image: one platform, two gzip layers of 16 KiB, distinct per image. skopeo reads them from
# an OCI layout directory (no tar to unpack); airgap from its bundle.
# Sourced by bench/run.sh (uses $airgap, $work, start_registry, measure); run alone
# (`bash bench/many-images.sh`) it sets those up and prints its own rows.

many_images() {
  local count=${BENCH_MANY:-200} again_count=${BENCH_MANY_AGAIN:-400}
  local dir="$work/many"
  rm -rf "$dir" && mkdir -p "$dir"
  echo "building $again_count small images…" >&2
  python3 - "$dir/layout" "$again_count" >/dev/null <<'PY'
import runpy, sys
layout, count = sys.argv[1], int(sys.argv[2])
for i in range(count):
    sys.argv = ["make-image.py", "--out", layout, "--ref", f"img-{i:03d}", "--layers", "2", "--layer-size", "16384",
                "--seed", f"many-{i}"]
    runpy.run_path("scripts/make-image.py", run_name="__main__")
PY
  local names; names=$(seq -f 'img-%03g' 0 $((again_count - 1)))

  # skopeo's loop, one image after the other as a script around it would run it.
  start_registry "$dir/skopeo"; local skopeo_host=127.0.0.1:$REGISTRY_PORT
  measure skopeo-many bash -c "for name in \$(seq -f 'img-%03g' 0 $((count - 1))); do
      skopeo copy --quiet --dest-tls-verify=false \"oci:$dir/layout:\$name\" \"docker://$skopeo_host/many/\$name:1\" || exit 1; done"

  # The upstream airgap packs from (not timed).
  start_registry "$dir/upstream"; local upstream=127.0.0.1:$REGISTRY_PORT
  echo "$names" | xargs -P 4 -I{} skopeo copy --quiet --dest-tls-verify=false "oci:$dir/layout:{}" "docker://$upstream/many/{}:1"
  for n in "$count" "$again_count"; do
    { echo "images:"; echo "$names" | head -n "$n" | sed "s|.*|  - ref: $upstream/many/&:1|"; } > "$dir/many-$n.yaml"
    "$airgap" pack --quiet --no-signatures --spec "$dir/many-$n.yaml" --lock "$dir/many-$n.lock" --output "$dir/many-$n.tar" \
      --cache "$dir/cache" --insecure-registry "$upstream" >/dev/null
  done

  start_registry "$dir/airgap"
  measure airgap-many "$airgap" push --quiet "$dir/many-$count.tar" --registry "127.0.0.1:$REGISTRY_PORT" --plain-http
  start_registry "$dir/airgap-again"
  "$airgap" push --quiet "$dir/many-$again_count.tar" --registry "127.0.0.1:$REGISTRY_PORT" --plain-http >/dev/null
  measure airgap-many-again "$airgap" push --quiet "$dir/many-$again_count.tar" --registry "127.0.0.1:$REGISTRY_PORT" --plain-http
  echo "$count $again_count" > "$work/many.counts"
}

# The table rows, for run.sh's table or this script's own.
many_images_rows() {
  python3 - "$work" <<'PY'
import sys
work = sys.argv[1]
def read(label):
    return float(open(f"{work}/{label}.time").read().split()[0])
count, again_count = open(f"{work}/many.counts").read().split()
push, skopeo, again = read("airgap-many"), read("skopeo-many"), read("airgap-many-again")
for row in [(f"push {count} small images, s", f"{push:.2f}", f"skopeo loop {skopeo:.2f}", f"{push / skopeo:.2f}x", "<= 0.30x"),
            (f"push again {again_count} images (nothing to send), s", f"{again:.2f}", "", "", "<= 1.5 s")]:
    print(f"| {row[0]:40} | {row[1]:>10} | {row[2]:>16} | {row[3]:>6} | {row[4]:>11} |")
PY
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  cd "$(dirname "$0")/.."
  source scripts/lib/build.sh
  work=${BENCH_DIR:-$(pwd)/bench/work-many}
  rm -rf "$work" && mkdir -p "$work"
  source scripts/lib/registry.sh
  measure() {
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$work/$label.time" "$@" >/dev/null 2>"$work/$label.err" || { cat "$work/$label.err" >&2; exit 1; }
  }
  many_images
  echo "| measure                                  |     airgap |        reference |  ratio |      target |"
  echo "|------------------------------------------|------------|------------------|--------|-------------|"
  many_images_rows
fi
