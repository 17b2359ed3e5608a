#!/usr/bin/env bash
# The deterministic constant-time check: builds ct-check with the library's
# declassification points wired to valgrind (--cfg passcode_ct_check), runs it
# under memcheck with the keys marked undefined, and fails if memcheck reports
# any branch or address that depends on a key. A canary run that branches on
# a secret on purpose must be reported, or the check itself is broken.
set -euo pipefail
cd "$(dirname "$0")"
export RUSTFLAGS="--cfg passcode_ct_check"
cargo build --release --locked
binary=target/release/passcode-ct-check
memcheck=(valgrind --tool=memcheck --error-exitcode=99 --track-origins=yes --errors-for-leak-kinds=none -q)

# Memcheck's own exit status (99) and nothing else: a canary that crashed or
# never started proves nothing.
status=0
"${memcheck[@]}" "$binary" --canary >/dev/null 2>&1 || status=$?
if [ "$status" -ne 99 ]; then
  echo "FAIL: the canary exited with $status, not memcheck's 99: its branch on a secret went unreported; the check cannot see leaks" >&2
  exit 1
fi
echo "canary: a branch on a secret is reported, as it must be"

"${memcheck[@]}" "$binary"
echo "default build: no branch or address depends on a key"

# Again with the `streams` feature, as the server builds it: the windows of
# more than one counter then run passcode-streams' AVX2 lanes.
cargo build --release --locked --features streams --target-dir target/streams
"${memcheck[@]}" target/streams/release/passcode-ct-check
echo "streams build (AVX2 lanes): no branch or address depends on a key"
