#!/usr/bin/env bash
# Installs what airgap builds and tests with, from Debian's packages: the C libraries it links,
# the registry and peers its tests run (docker-registry, skopeo, umoci, oci-image-tool), and
# the small tools the tests call. Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  libarchive-dev libcurl4-openssl-dev libssl-dev pkg-config
  docker-registry skopeo umoci oci-image-tool apache2-utils openssl
  python3 zstd tar time ca-certificates
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
