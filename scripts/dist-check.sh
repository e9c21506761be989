#!/usr/bin/env bash
# Checks that a panelsim binary runs where Swift is not installed, and lists what it still needs
# from the system.
#
#   scripts/dist-check.sh BINARY [NEEDED-FILE]
#
# 1. No library of the Swift toolchain is linked (ldd shows no libswift*, libFoundation*,
#    libdispatch or anything under the toolchain's folder).
# 2. It runs with an empty environment: --version, a pcap written by `send` and read by `replay`.
#    As root the toolchain's folder is also hidden under an empty tmpfs in a mount namespace of
#    its own (unshare -m), so nothing of it can be found at all; elsewhere that step is skipped
#    and says why.
# 3. NEEDED-FILE (when given) lists the shared libraries it needs and the Debian packages that
#    hold them.
set -euo pipefail
bin=$(readlink -f "$1")
needed_file=${2:-}
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")  # …/usr of the toolchain
fail() { echo "dist-check: $*" >&2; exit 1; }

linked=$(ldd "$bin")
if grep -E "libswift|libFoundation|libdispatch|libBlocksRuntime|$toolchain" <<<"$linked" >&2; then
  fail "$bin links the Swift runtime above; build it with --static-swift-stdlib"
fi
if grep -q "not found" <<<"$linked"; then fail "$bin needs libraries this system lacks: $(grep 'not found' <<<"$linked")"; fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/run.sh" <<EOF
set -eu
"$bin" --version
"$bin" send --protocol artnet --to 127.0.0.1 --size 170x2 --pattern counter --frames 3 --fps 100 --sync --pcap "$work/s.pcap" >/dev/null 2>&1
"$bin" replay "$work/s.pcap" --out "$work/out" --no-png 2>/dev/null >/dev/null
test "\$(wc -l < "$work/out/artnet-127.0.0.1-6454/frames.jsonl")" -eq 3
EOF
env -i PATH=/usr/bin:/bin bash "$work/run.sh" >/dev/null || fail "$bin does not run with an empty environment"
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
  unshare -m bash -c "mount -t tmpfs none '$toolchain' && env -i PATH=/usr/bin:/bin bash '$work/run.sh'" >/dev/null \
    || fail "$bin does not run with the toolchain ($toolchain) hidden"
  echo "dist-check: $bin runs with the Swift toolchain hidden ($toolchain under an empty tmpfs)"
else
  echo "dist-check: not root (or no mount namespaces): ran with an empty environment, the toolchain not hidden"
fi

if [ -n "$needed_file" ]; then
  {
    echo "# Shared libraries $(basename "$bin") needs from the system (the Swift runtime is linked in)."
    echo "# library  path  Debian package"
    objdump -p "$bin" | awk '/NEEDED/ { print $2 }' | while read -r lib; do
      path=$(awk -v l="$lib" '$1 == l { print $3 }' <<<"$linked")
      pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1 || true)
      echo "$lib  $path  ${pkg:-?}"
    done
  } > "$needed_file"
  echo "dist-check: what it needs from the system: $needed_file"
fi
echo "dist-check: passed"
