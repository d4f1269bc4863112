# Sourced by the demo and the benchmark: Swift on PATH, the Debian and PyPI pieces installed,
# and a release build of airgap in $airgap.
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift build -c release --product airgap >/dev/null
airgap="$(pwd)/.build/release/airgap"
