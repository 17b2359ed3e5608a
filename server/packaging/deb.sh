#!/usr/bin/env bash
# Builds the Debian packages with cargo-deb: passcode-server (the binary,
# the systemd unit, a configuration that starts as it is, the example with
# every setting) and passcode-cli (the `passcode` tool), each with a man
# page and bash, zsh and fish completions generated from its clap
# definitions by the release binary itself.
#
#   usage: bash server/packaging/deb.sh      (needs: cargo install cargo-deb)
#   out:   target/debian/passcode-server_*.deb, target/debian/passcode-cli_*.deb
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build --release --locked -p passcode-server -p passcode-cli
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
assets="$target/release/assets"
rm -rf "$assets"
mkdir -p "$assets"
for bin in passcode-server passcode; do
  "$target/release/$bin" manual | gzip -9n >"$assets/$bin.1.gz"
  "$target/release/$bin" completions bash >"$assets/$bin.bash"
  "$target/release/$bin" completions zsh >"$assets/_$bin"
  "$target/release/$bin" completions fish >"$assets/$bin.fish"
done
# Only this build's packages in target/debian (smoke.sh installs them).
rm -rf "$target/debian"
cargo deb -p passcode-server --no-build
cargo deb -p passcode-cli --no-build
