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
# The runtime tier's Flink 1.17.1 image, as its own step: minutes when built from scratch (a new
# machine), seconds from its cache. FlinkRuntimeTests then start the chart's pods on podman.
started=$SECONDS
scripts/build-flink-image.sh >/dev/null
echo "test.sh: Flink test image ready in $((SECONDS - started)) s" >&2
export AIRGAP_RUNTIME_TESTS=1
# Every airgap run's stderr is kept (Tests/AirgapTestSupport/Command.swift), so that after the
# suite ErrorAdviceTests can check each flag an error suggests against the command that printed it.
records=$(mktemp -d "${TMPDIR:-/tmp}/airgap-stderr.XXXXXX")
trap 'rm -rf "$records"' EXIT
# XCTest only: the Swift Testing runner would print a second summary with 0 tests.
AIRGAP_STDERR_RECORDS="$records" swift test --disable-swift-testing
AIRGAP_CHECK_STDERR_RECORDS="$records" swift test --skip-build --disable-swift-testing --filter ErrorAdviceTests
