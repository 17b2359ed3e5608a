#!/usr/bin/env bash
# Builds the firmware, prints the `.text` size of `totp-verify` and fails
# above the 8 KiB target, then runs `stack-probe` on an emulated Cortex-M4
# (qemu-system-arm, board mps2-an386) to print the stack high-water mark of
# one verification.
set -euo pipefail
cd "$(dirname "$0")"
LIMIT=8192

cargo build --release --locked
elf=target/thumbv7em-none-eabihf/release/totp-verify
# The Size column of the .text section header, in hex (binutils readelf).
size_hex=$(readelf -SW "$elf" | sed -n 's/.* \.text *PROGBITS *[0-9a-f]* [0-9a-f]* \([0-9a-f]*\) .*/\1/p')
text=$((16#$size_hex))
echo "totp-verify (thumbv7em-none-eabihf, SHA-1 only, opt-level s): .text = $text bytes (target <= $LIMIT)"
if [ "$text" -gt "$LIMIT" ]; then
  echo "FAIL: .text exceeds $LIMIT bytes" >&2
  exit 1
fi

if command -v qemu-system-arm >/dev/null; then
  timeout 120 cargo run --release --locked --bin stack-probe
else
  echo "stack probe skipped: qemu-system-arm is not installed (apt-get install qemu-system-arm)"
fi
