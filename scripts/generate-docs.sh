#!/usr/bin/env bash
# Writes airgap's man pages and shell completion scripts, generated from the commands themselves
# (their options, help texts and examples), so they cannot drift from the binary:
#
#   scripts/generate-docs.sh [OUT]        default OUT: dist/docs
#
#   OUT/man/man1/airgap.1, airgap.push.1, …   swift-argument-parser's GenerateManual plugin (mdoc)
#   OUT/completions/airgap.bash, _airgap (zsh), airgap.fish
#
# Install: `cp OUT/man/man1/*.1 /usr/local/share/man/man1/`, then `man airgap-push` or
# `man airgap.push`; completions as the README says. AIRGAP_BIN=… takes the completion scripts
# from that binary instead of the debug build the plugin makes.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
out=${1:-dist/docs}
mkdir -p "$out/man/man1" "$out/completions"

# The plugin builds the package, then runs generate-manual on the airgap executable, which reads
# `airgap --experimental-dump-help`. The date is the commit's, so the same commit gives the
# same pages.
date=$(git log -1 --format=%cs 2>/dev/null || date -u +%F)
swift package generate-manual --configuration debug --multi-page --date "$date" >&2
cp .build/plugins/GenerateManual/outputs/airgap/*.1 "$out/man/man1/"

airgap=${AIRGAP_BIN:-.build/debug/airgap}
"$airgap" --generate-completion-script bash > "$out/completions/airgap.bash"
"$airgap" --generate-completion-script zsh > "$out/completions/_airgap"
"$airgap" --generate-completion-script fish > "$out/completions/airgap.fish"
echo "wrote $(ls "$out/man/man1" | wc -l) man pages to $out/man/man1 and completions for bash, zsh and fish to $out/completions"
