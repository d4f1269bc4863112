#!/usr/bin/env bash
# The whole flow on one machine, on loopback defaults: an "upstream" registry filled with a
# two-platform Flink-like image and a small single-platform one, then pack, verify and
# inspect. Everything it makes lives under ${DEMO_DIR:-./demo-work} and the registry stops at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift build -c release --product airgap >/dev/null
airgap="$root/.build/release/airgap"

work=${DEMO_DIR:-$root/demo-work}
rm -rf "$work" && mkdir -p "$work"
source scripts/lib/registry.sh
start_registry "$work/upstream"
port=$REGISTRY_PORT

echo "== upstream registry on 127.0.0.1:$port: pushing demo images with skopeo"
python3 scripts/make-image.py --out "$work/images" --ref flink --platform linux/amd64 --platform linux/arm64 \
  --layers 4 --layer-size 2097152 --seed demo-flink >/dev/null
python3 scripts/make-image.py --out "$work/images" --ref busybox --layers 2 --seed demo-busybox >/dev/null
skopeo copy --all --quiet --preserve-digests --dest-tls-verify=false "oci:$work/images:flink" "docker://127.0.0.1:$port/library/flink:1.17.1"
skopeo copy --all --quiet --preserve-digests --dest-tls-verify=false "oci:$work/images:busybox" "docker://127.0.0.1:$port/library/busybox:1"

cat > "$work/airgap.yaml" <<YAML
images:
  - ref: docker.io/library/flink:1.17.1
    platforms: [linux/amd64, linux/arm64]
  - ref: docker.io/library/busybox:1
mirrors:
  docker.io: http://127.0.0.1:$port
YAML

echo "== airgap pack"
"$airgap" pack --spec "$work/airgap.yaml" --output "$work/bundle.tar" --cache "$work/cache"
echo "== airgap pack again: the cache answers, the bytes are the same"
"$airgap" pack --spec "$work/airgap.yaml" --output "$work/bundle-again.tar" --cache "$work/cache"
cmp "$work/bundle.tar" "$work/bundle-again.tar" && echo "byte-identical"
echo "== airgap verify"
"$airgap" verify "$work/bundle.tar"
echo "== sha256sum -c (no airgap needed)"
(cd "$work" && sha256sum -c bundle.tar.sha256)
echo "== airgap inspect"
"$airgap" inspect "$work/bundle.tar"
echo "== skopeo reads the bundle"
skopeo inspect --raw "oci-archive:$work/bundle.tar:docker.io/library/flink:1.17.1" | head -c 200; echo
echo "demo done: $work"
