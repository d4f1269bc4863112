#!/usr/bin/env bash
# Installs what airgap builds and tests with, from Debian's packages: the C libraries it links,
# the registry and peers its tests run (docker-registry, skopeo, umoci, oci-image-tool), and
# the small tools the tests call. Safe to run again: it installs only what is missing.
# `--build-only`: only what building needs (scripts/release.sh).
set -euo pipefail

build_only=false
[ "${1:-}" = --build-only ] && build_only=true
packages=(libarchive-dev libcurl4-openssl-dev libssl-dev pkg-config binutils libstdc++-12-dev python3)
$build_only || packages+=(
  docker-registry skopeo umoci oci-image-tool apache2-utils openssl
  zstd tar time ca-certificates debootstrap
  # The JSON contract test validates every --json document against schemas/.
  python3-jsonschema
  # The runtime tier: a Flink image from debootstrap, run by podman + runc on a CNI bridge; the
  # test's UDF and job JARs are compiled with the JDK.
  podman runc conmon catatonit containernetworking-plugins iptables openjdk-17-jdk-headless curl
)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  echo "installing: ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "swift is at /opt/swift/usr/bin: add it to PATH" >&2
  else
    echo "swift not found: install a Swift 6 toolchain (swift.org) and put it on PATH" >&2
  fi
  exit 1
fi

$build_only && exit 0

# Helm's engine for the chart tests: helm-sdkpy (Helm v4 as a library; Python >= 3.12) and
# kubernetes-validate; for the supply-chain tests, `cryptography` (writes cosign-format
# signatures, an implementation independent of airgap's) and cyclonedx-python-lib (validates the
# SBOM against CycloneDX 1.5's JSON schema). From PyPI, in a venv beside the build (.build-py/,
# ignored by git).
root=$(cd "$(dirname "$0")/.." && pwd)
venv="$root/.build-py/venv"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import helm_sdkpy, kubernetes_validate, cryptography, cyclonedx.validation.json' 2>/dev/null; then
  python312=""
  for candidate in "${HOME:-/root}"/.pyenv/versions/3.1[2-9]*/bin/python3 python3.13 python3.12 python3; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      python312=$candidate
      break
    fi
  done
  if [ -z "$python312" ]; then
    echo "the chart tests need Python >= 3.12 for helm-sdkpy (Debian 13's python3, or pyenv install 3.12)" >&2
    exit 1
  fi
  "$python312" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "helm-sdkpy==0.1.32" "kubernetes-validate==1.37.0" \
    "cryptography==50.0.2" "cyclonedx-python-lib[json-validation]==11.12.0" >&2
fi
