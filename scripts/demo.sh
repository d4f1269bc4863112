#!/usr/bin/env bash
# The whole flow on one machine, on loopback defaults: an "upstream" registry filled with a
# two-platform Flink-like image and a small single-platform one, a Maven repository served over
# HTTP with .sha1/.sha512 files, the chart of charts/flink-cdc; then lock, pack, verify, inspect
# on the "connected" side, and push (into an "internal" registry with TLS and a password) and
# audit on the "enclave" side. Everything lives under ${DEMO_DIR:-./demo-work}; servers stop at exit.
#
#   scripts/demo.sh [--keep]
#   AIRGAP_BIN=/path/to/airgap scripts/demo.sh     use that binary: no dependency install, no build
#
# --keep leaves the registries and the Maven server running after the demo and prints how to
# reach them (URLs, credentials, CA file) and the one command that stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=false
for argument in "$@"; do
  case $argument in
    --keep) keep=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument $argument (known: --keep)" >&2; exit 2 ;;
  esac
done
if [ -n "${AIRGAP_BIN:-}" ]; then
  [ -x "$AIRGAP_BIN" ] || { echo "demo.sh: AIRGAP_BIN=$AIRGAP_BIN is not an executable file" >&2; exit 2; }
  airgap=$(cd "$(dirname "$AIRGAP_BIN")" && pwd)/$(basename "$AIRGAP_BIN")
  # No install either: say what is missing instead of failing half-way.
  for tool in docker-registry skopeo htpasswd openssl python3; do
    command -v "$tool" >/dev/null || { echo "demo.sh: $tool is not installed; run scripts/install-deps.sh once" >&2; exit 1; }
  done
else
  source scripts/lib/build.sh
fi

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

echo "== Maven repository on loopback (connector JARs with .sha1/.sha512)"
python3 scripts/make-maven-repo.py --root "$work/maven" --size 262144 \
  --artifact com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2 \
  --artifact org.apache.flink:flink-sql-connector-kafka:1.17.1 >/dev/null
maven_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$work/maven" "$maven_port" >"$work/maven.log" 2>&1 &
REGISTRY_PIDS="$REGISTRY_PIDS $!"
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$maven_port) 2>/dev/null && break; sleep 0.05; done

cat > "$work/airgap.yaml" <<YAML
images:
  - ref: docker.io/library/flink:1.17.1
    platforms: [linux/amd64, linux/arm64]
  - ref: docker.io/library/busybox:1
jars:
  repository: http://127.0.0.1:$maven_port
  artifacts:
    - com.ververica:flink-sql-connector-sqlserver-cdc:2.4.2
    - org.apache.flink:flink-sql-connector-kafka:1.17.1
charts:
  - path: $root/charts/flink-cdc
mirrors:
  docker.io: http://127.0.0.1:$port
YAML

echo "== airgap lock"
"$airgap" lock --spec "$work/airgap.yaml" --cache "$work/cache"

echo "== airgap pack"
"$airgap" pack --spec "$work/airgap.yaml" --output "$work/bundle.tar" --cache "$work/cache"
echo "== airgap pack again: the cache answers, the bytes are the same"
"$airgap" pack --spec "$work/airgap.yaml" --output "$work/bundle-again.tar" --cache "$work/cache"
cmp "$work/bundle.tar" "$work/bundle-again.tar" && echo "byte-identical"
echo "== airgap verify, against the lock too"
"$airgap" verify "$work/bundle.tar" --lock "$work/bundle.lock"
echo "== sha256sum -c (no airgap needed)"
(cd "$work" && sha256sum -c bundle.tar.sha256)
echo "== airgap inspect"
"$airgap" inspect "$work/bundle.tar"
echo "== skopeo reads the bundle"
skopeo inspect --raw "oci-archive:$work/bundle.tar:docker.io/library/flink:1.17.1" | head -c 200; echo

echo "== the enclave: an internal registry with TLS and htpasswd"
mkdir -p "$work/internal"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
  -keyout "$work/internal/key.pem" -out "$work/internal/ca.crt" 2>/dev/null
htpasswd -Bbn operator demo-password > "$work/internal/htpasswd"
internal_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$work/internal/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $work/internal/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$internal_port, secret: demo, tls: {certificate: $work/internal/ca.crt, key: $work/internal/key.pem}}
auth: {htpasswd: {realm: internal, path: $work/internal/htpasswd}}
YAML
docker-registry serve "$work/internal/registry.yml" >"$work/internal/registry.log" 2>&1 &
REGISTRY_PIDS="$REGISTRY_PIDS $!"
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$internal_port) 2>/dev/null && break; sleep 0.05; done
internal=127.0.0.1:$internal_port
printf '{"auths":{"%s":{"auth":"%s"}}}' "$internal" "$(printf operator:demo-password | base64)" > "$work/internal/auth.json"

echo "== airgap push, from the bundle alone (verify first; images, JARs, chart, libs image; the chart"
echo "   unpacked into deploy/flink-cdc with files/libs and values-airgap.yaml; OpenShift names and mirror sets)"
"$airgap" push "$work/bundle.tar" --registry "$internal" --prefix flink --flatten --max-path-components 2 \
  --pull-registry image-registry.openshift-image-registry.svc:5000/flink \
  --authfile "$work/internal/auth.json" --ca-file "$work/internal/ca.crt" --chart-out "$work/deploy"
echo "== airgap push again: nothing to send"
"$airgap" push "$work/bundle.tar" --registry "$internal" --prefix flink --flatten --authfile "$work/internal/auth.json" \
  --ca-file "$work/internal/ca.crt" --quiet
cat "$work/deploy/flink-cdc/values-airgap.yaml"
echo "== airgap extract: one JAR, checked against the lock inside"
"$airgap" extract "$work/bundle.tar" org.apache.flink:flink-sql-connector-kafka:1.17.1 --output "$work/extracted"
sha256sum "$work/extracted/"*.jar

echo "== airgap audit: the lock inside the bundle against the bundle, the chart and the registry"
"$airgap" audit --bundle "$work/bundle.tar" --chart-dir "$work/deploy/flink-cdc" \
  --registry "$internal" --prefix flink --flatten --authfile "$work/internal/auth.json" --ca-file "$work/internal/ca.crt"
echo "demo done: $work"

if $keep; then
  # Hand the servers over: no trap stops them, a script in the work folder does.
  trap - EXIT
  cat > "$work/stop.sh" <<STOP
#!/usr/bin/env bash
# Stops the servers scripts/demo.sh --keep left running (by their process ids).
for pid in $REGISTRY_PIDS; do kill \$pid 2>/dev/null || true; done
for pid in $REGISTRY_PIDS; do while kill -0 \$pid 2>/dev/null; do sleep 0.1; done; done
echo "demo servers stopped"
STOP
  chmod +x "$work/stop.sh"
  cat <<EOF

== the demo's servers are still running (--keep)
  upstream registry (plain HTTP, no login):  127.0.0.1:$port
      skopeo list-tags --tls-verify=false docker://127.0.0.1:$port/library/flink
  internal registry (TLS + htpasswd):         $internal
      user: operator   password: demo-password   CA: $work/internal/ca.crt   auth file: $work/internal/auth.json
      skopeo list-tags --cert-dir $work/internal --creds operator:demo-password docker://$internal/flink/library-flink
      $airgap audit --bundle $work/bundle.tar --registry $internal --prefix flink --flatten --authfile $work/internal/auth.json --ca-file $work/internal/ca.crt
  Maven repository (HTTP):                    http://127.0.0.1:$maven_port
  logs: $work/upstream/registry.log $work/internal/registry.log $work/maven.log
  stop them: $work/stop.sh
EOF
fi
