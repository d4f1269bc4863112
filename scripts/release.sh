#!/usr/bin/env bash
# Builds the one file that crosses the gap: dist/airgap-linux-$(uname -m), a stripped release
# build with the Swift runtime linked in (and libstdc++), stamped with its version and commit,
# and its .sha256 beside it in `sha256sum -c` format. Then lists the C libraries that stay
# dynamic with the newest symbol version each needs, and refuses a binary that would not load
# on the oldest system we promise (glibc 2.34 and OpenSSL 3.0: RHEL 9, Debian 12, Ubuntu 22.04).
#
#   scripts/release.sh            build, stamp, strip, check
#   AIRGAP_GLIBC_FLOOR=2.36 ...   accept a newer glibc floor (not what the README promises)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh --build-only

arch=$(uname -m)
scratch="$root/.build-release"
dist="$root/dist"
name="airgap-linux-$arch"
glibc_floor="${AIRGAP_GLIBC_FLOOR:-2.34}"
openssl_floor="3.0.0"

# libstdc++ statically: the clang driver swift links with always asks for -lstdc++, and ld takes
# the first directory that has the library, so a directory holding only the archive wins over
# the system's .so (GLIBCXX_3.4.30 would otherwise put the floor at GCC 12).
static_cxx="$scratch/static-libstdc++"
mkdir -p "$static_cxx"
archive=$(clang -print-file-name=libstdc++.a)
[ -f "$archive" ] || { echo "release: libstdc++.a not found (install libstdc++-12-dev)" >&2; exit 1; }
ln -sf "$archive" "$static_cxx/libstdc++.a"

# The symbols glibc 2.35+ versioned anew (hypot, hypotf; arc4random for the static libstdc++)
# are defined in Sources/CProcess/glibc_compat.c. libgcc_s stays dynamic: every glibc system has
# it, and the static libgcc_eh of GCC 12 would need _dl_find_object (glibc 2.35).
link_flags=(-Xlinker -L"$static_cxx")

echo "release: building (swift build -c release --static-swift-stdlib, scratch $scratch)" >&2
# Build output goes to stderr: stdout is the path of the binary, for scripts/test.sh.
swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product airgap "${link_flags[@]}" >&2
built="$scratch/release/airgap"

# The stamp: version and commit, written into the section Sources/CProcess/build_info.c reserves
# (256 bytes, NUL-padded), so the build itself never depends on the commit.
version=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/AirgapBundle/Support/AirgapVersion.swift)
commit=$(git rev-parse HEAD 2>/dev/null || echo unknown)
state=""
if [ "$commit" != unknown ] && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
  state=" with uncommitted changes"
fi
stamp="$version (commit $commit$state, release build for linux/$arch)"
stamp_file="$scratch/build-info.bin"
python3 - "$stamp" "$stamp_file" <<'PY'
import sys
stamp = sys.argv[1].encode()
assert len(stamp) < 256, "build stamp longer than the 256 bytes CProcess reserves"
open(sys.argv[2], "wb").write(stamp + b"\0" * (256 - len(stamp)))
PY

mkdir -p "$dist"
partial="$dist/.$name.partial"
objcopy --strip-all --update-section .airgap_build_info="$stamp_file" "$built" "$partial"
chmod 0755 "$partial"
sync "$partial"
mv -f "$partial" "$dist/$name"
(cd "$dist" && sha256sum "$name" > "$name.sha256.partial" && mv -f "$name.sha256.partial" "$name.sha256")

# What stays dynamic, and the newest symbol version taken from each library.
binary="$dist/$name"
if ldd "$binary" | grep -q libswift; then
  echo "release: $binary still loads a Swift library:" >&2
  ldd "$binary" | grep libswift >&2
  exit 1
fi
report=$(readelf -V -W "$binary" | awk '
  /File: / { for (i = 1; i <= NF; i++) if ($i == "File:") file = $(i + 1); next }
  /Name: / && file != "" { for (i = 1; i <= NF; i++) if ($i == "Name:") print file, $(i + 1) }
' | sort -k1,1 -k2,2V | awk '{ newest[$1] = $2 } END { for (f in newest) print f, newest[f] }' | sort)
echo "release: dynamic libraries and the newest symbol version each needs:" >&2
readelf -d "$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | while read -r library; do
  printf '  %-20s %s\n' "$library" "$(awk -v f="$library" '$1 == f { print $2 }' <<<"$report")" >&2
done

# The floor: every GLIBC_x.y at or below glibc_floor, OPENSSL_x.y.z at or below 3.0.0, no GLIBCXX.
too_new=$(readelf -V -W "$binary" | grep -o 'Name: [A-Z_]*[0-9.]*' | awk '{ print $2 }' | sort -u | while read -r tag; do
  family=${tag%%_[0-9]*}; number=${tag#"$family"_}
  case "$family" in
    GLIBC) floor=$glibc_floor ;;
    OPENSSL) floor=$openssl_floor ;;
    GLIBCXX|CXXABI) echo "$tag (libstdc++ should be static)"; continue ;;
    *) continue ;;
  esac
  [ "$(printf '%s\n%s\n' "$number" "$floor" | sort -V | tail -1)" = "$floor" ] || echo "$tag"
done)
if [ -n "$too_new" ]; then
  echo "release: $binary needs symbols newer than glibc $glibc_floor / OpenSSL $openssl_floor:" >&2
  echo "$too_new" | sed 's/^/  /' >&2
  for tag in $too_new; do objdump -T "$binary" | grep -F "($tag)" | sed 's/^/    /' >&2 || true; done
  exit 1
fi

"$binary" --version >/dev/null
echo "release: $binary ($(du -h "$binary" | cut -f1)), runs on glibc >= $glibc_floor with OpenSSL 3, libcurl 4, libarchive 13" >&2
echo "release: $(cat "$dist/$name.sha256")" >&2
echo "$binary"
