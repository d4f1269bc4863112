#!/usr/bin/env bash
# Installs what is needed and runs every test: the one command CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
# The release binary first: EnclaveKitTests run it in a minimal Debian root filesystem (built
# once by scripts/enclave-rootfs.sh and cached), as an operator would inside the enclave.
AIRGAP_RELEASE_BINARY=$(scripts/release.sh)
export AIRGAP_RELEASE_BINARY
swift build --build-tests
# XCTest only: the Swift Testing runner would print a second summary with 0 tests.
swift test --disable-swift-testing
