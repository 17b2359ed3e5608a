#!/usr/bin/env bash
# Installs the packages deb.sh built, checks what they put in place, runs
# the installed binaries (--version, app create, serve + healthcheck on a
# loopback port, the CLI on RFC 6238's vector), checks the unit with
# systemd-analyze where it exists, and purges the packages again.
#
#   usage: bash server/packaging/smoke.sh    (as root, or with sudo)
set -euo pipefail
cd "$(dirname "$0")/../.."
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
target=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
server_deb=$(ls "$target"/debian/passcode-server_*.deb)
cli_deb=$(ls "$target"/debian/passcode-cli_*.deb)

tmp=$(mktemp -d /tmp/passcode-deb.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  as_root dpkg -P passcode-server passcode-cli >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

as_root dpkg -i "$server_deb" "$cli_deb"
for path in /usr/bin/passcode-server /usr/bin/passcode \
  /lib/systemd/system/passcode-server.service \
  /etc/passcode-server/passcode-server.toml \
  /usr/share/doc/passcode-server/examples/passcode-server.toml \
  /usr/share/man/man1/passcode-server.1.gz /usr/share/man/man1/passcode.1.gz \
  /usr/share/bash-completion/completions/passcode-server \
  /usr/share/bash-completion/completions/passcode \
  /usr/share/zsh/vendor-completions/_passcode-server \
  /usr/share/fish/vendor_completions.d/passcode.fish; do
  [ -s "$path" ] || { echo "smoke: $path is missing or empty" >&2; exit 1; }
done
# The configuration is a conffile: an upgrade keeps the operator's edits.
dpkg-query --showformat='${Conffiles}\n' --show passcode-server | grep /etc/passcode-server/passcode-server.toml >/dev/null
zcat /usr/share/man/man1/passcode-server.1.gz | grep -F 'tls\-cert' >/dev/null
grep -q 'healthcheck' /usr/share/bash-completion/completions/passcode-server

/usr/bin/passcode-server --version | grep -x 'passcode-server [0-9.]*' >/dev/null
/usr/bin/passcode --version | grep -x 'passcode [0-9.]*' >/dev/null
# RFC 6238, appendix B: SHA-1, T = 59, 8 digits.
[ "$(PASSCODE_SECRET=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ /usr/bin/passcode totp --time 59 --digits 8)" = 94287082 ]

# The packaged configuration as it is, from a working directory of our own
# (the unit's is the state directory), on free loopback ports.
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cd "$tmp"
/usr/bin/passcode-server app create --init --database sqlite:passcode.db --name Smoke --json | grep '"api_key"' >/dev/null
port=$(free_port)
/usr/bin/passcode-server serve --config /etc/passcode-server/passcode-server.toml \
  --listen "127.0.0.1:$port" --ops-listen "127.0.0.1:$(free_port)" >server.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  /usr/bin/passcode-server healthcheck --listen "127.0.0.1:$port" 2>/dev/null && break
  sleep 0.1
done
/usr/bin/passcode-server healthcheck --listen "127.0.0.1:$port"
kill -TERM "$pid"
wait "$pid"
pid=
[ -s master.key ] && [ -s passcode.db ]
cd - >/dev/null

if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/passcode-server.service
else
  echo "smoke: systemd-analyze is not installed: the installed unit was not verified"
fi
echo "smoke: the packages install, run and remove"
