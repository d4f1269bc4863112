# Sourced by the demo and the benchmark: starts Debian's docker-registry (plain HTTP) on a free
# loopback port with its storage under DIR, sets REGISTRY_PORT, and stops it when the shell exits.
start_registry() {
  local dir=$1
  mkdir -p "$dir"
  REGISTRY_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$dir/registry.yml" <<YAML
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $dir/storage}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$REGISTRY_PORT, secret: airgap-local}
YAML
  docker-registry serve "$dir/registry.yml" >"$dir/registry.log" 2>&1 &
  REGISTRY_PIDS="${REGISTRY_PIDS:-} $!"
  trap 'for pid in $REGISTRY_PIDS; do kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; done' EXIT
  for _ in $(seq 200); do
    (echo >/dev/tcp/127.0.0.1/$REGISTRY_PORT) 2>/dev/null && return 0
    sleep 0.05
  done
  echo "docker-registry did not start; see $dir/registry.log" >&2
  return 1
}
