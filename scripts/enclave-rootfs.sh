#!/usr/bin/env bash
# Prints the path of a tarball holding a minimal Debian 12 root filesystem with nothing on it
# but what airgap's release binary may expect of an enclave host: libcurl4, libarchive13,
# libssl3 (debootstrap --variant=minbase bookworm, plus those three). Built once and cached
# (AIRGAP_ROOTFS_CACHE, default /var/cache/airgap-tests), since debootstrap takes minutes;
# written under a temporary name and renamed, so an interrupted build is never taken as done.
set -euo pipefail
cache="${AIRGAP_ROOTFS_CACHE:-/var/cache/airgap-tests}"
mirror="${AIRGAP_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
tarball="$cache/bookworm-minbase-enclave.tar"
if [ -s "$tarball" ]; then
  echo "$tarball"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "enclave-rootfs: debootstrap and chroot need root" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "enclave-rootfs: install debootstrap (scripts/install-deps.sh)" >&2; exit 1; }
mkdir -p "$cache"
work=$(mktemp -d "$cache/.rootfs-XXXXXX")
cleanup() {
  for mount in proc dev/pts dev; do umount "$work/root/$mount" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
echo "enclave-rootfs: debootstrap --variant=minbase bookworm (a few minutes, once)" >&2
debootstrap --variant=minbase bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
chroot "$work/root" apt-get install -y -qq --no-install-recommends libcurl4 libarchive13 libssl3 >"$work/apt.log" 2>&1 \
  || { tail -20 "$work/apt.log" >&2; exit 1; }
chroot "$work/root" apt-get clean
tar -C "$work/root" --numeric-owner -cf "$work/rootfs.tar" .
mv -f "$work/rootfs.tar" "$tarball"
echo "$tarball"
