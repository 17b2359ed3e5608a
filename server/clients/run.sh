#!/usr/bin/env bash
# Real-client conformance run: the official Authy client libraries, unmodified,
# against a freshly spawned passcode-server on a loopback port.
#
#   usage: bash server/clients/run.sh PATH/TO/passcode-server
#
# This script installs nothing. Install the clients beforehand (what CI does):
#   pip install authy==2.2.6 pyotp twilio==9.13.0 aiosmtpd
#   npm ci --prefix server/clients/node        # i.e. `npm ci` in server/clients/node
#
# Environment (optional): PYTHON (default python3), NODE (default node),
# KEEP_TMP=1 keeps the temporary directory (database, messages, server log).
set -uo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 PATH/TO/passcode-server" >&2
  exit 2
fi

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$1"
case "$BIN" in
  /*) ;;
  *) BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" ;;
esac
if [ ! -x "$BIN" ]; then
  echo "run.sh: $BIN is not an executable" >&2
  exit 2
fi
PYTHON="${PYTHON:-python3}"
NODE="${NODE:-node}"

# Settings must come from our flags only, never from the caller's environment.
INTEROP="${PASSCODE_INTEROP:-}"
for v in $(env | sed -n 's/^\(PASSCODE_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done

TMP="$(mktemp -d "${TMPDIR:-/tmp}/passcode-clients.XXXXXX")"
SERVER_PID=""
SINK_PID=""
cleanup() {
  rc=$?
  if [ -n "$SINK_PID" ]; then
    kill -TERM "$SINK_PID" 2>/dev/null
    wait "$SINK_PID" 2>/dev/null
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    echo "run.sh: kept $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

DB="sqlite:$TMP/passcode.db"
MESSAGES="$TMP/messages.jsonl"
: > "$MESSAGES"

json_field() { # json_field FIELD  (reads one JSON object on stdin)
  "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# A free loopback port (bind to port 0, read the port back, release it).
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
BASE_URL="http://127.0.0.1:$PORT"

# One ordinary application (phone export on) and one sandbox application.
APP_JSON="$("$BIN" app create --init --database "$DB" --name "Conformance App" --json)" || { echo "run.sh: app create failed" >&2; exit 1; }
APP_ID="$(printf '%s' "$APP_JSON" | json_field app_id)" || exit 1
APP_KEY="$(printf '%s' "$APP_JSON" | json_field api_key)" || exit 1
APP_ACCOUNT="$(printf '%s' "$APP_JSON" | json_field account_sid)" || exit 1
APP_TOKEN="$(printf '%s' "$APP_JSON" | json_field auth_token)" || exit 1
"$BIN" app set "$APP_ID" --database "$DB" --phone-export on >/dev/null || { echo "run.sh: app set failed" >&2; exit 1; }
KEY_JSON="$("$BIN" app key create "$APP_ID" --database "$DB" --name "Conformance key" --json)" || { echo "run.sh: app key create failed" >&2; exit 1; }
API_KEY_SID="$(printf '%s' "$KEY_JSON" | json_field sid)" || exit 1
API_KEY_SECRET="$(printf '%s' "$KEY_JSON" | json_field secret)" || exit 1

SANDBOX_JSON="$("$BIN" app create --database "$DB" --name "Sandbox App 1" --sandbox --json)" || { echo "run.sh: sandbox app create failed" >&2; exit 1; }
SANDBOX_ID="$(printf '%s' "$SANDBOX_JSON" | json_field app_id)" || exit 1
SANDBOX_KEY="$(printf '%s' "$SANDBOX_JSON" | json_field api_key)" || exit 1

# A third app with every optional channel off (phone export is off by default).
RESTRICTED_JSON="$("$BIN" app create --database "$DB" --name "Restricted App" --json)" || { echo "run.sh: restricted app create failed" >&2; exit 1; }
RESTRICTED_ID="$(printf '%s' "$RESTRICTED_JSON" | json_field app_id)" || exit 1
RESTRICTED_KEY="$(printf '%s' "$RESTRICTED_JSON" | json_field api_key)" || exit 1
RESTRICTED_ACCOUNT="$(printf '%s' "$RESTRICTED_JSON" | json_field account_sid)" || exit 1
RESTRICTED_TOKEN="$(printf '%s' "$RESTRICTED_JSON" | json_field auth_token)" || exit 1
"$BIN" app set "$RESTRICTED_ID" --database "$DB" --sms off --calls off --generic-tokens off >/dev/null \
  || { echo "run.sh: restricted app set failed" >&2; exit 1; }

# E-mail goes to an SMTP server on loopback (aiosmtpd: pip install
# aiosmtpd), which writes each message it takes to $TMP/mail; without
# aiosmtpd the server runs without a mailer and the drivers check 60217
# instead (PASSCODE_INTEROP=require makes its absence a failure).
MAILER=()
MAIL_DIR=""
if "$PYTHON" -c 'import aiosmtpd' 2>/dev/null; then
  MAIL_DIR="$TMP/mail"
  mkdir -p "$MAIL_DIR"
  SMTP_PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
  "$PYTHON" "$HERE/../tests/fixtures/smtp_sink.py" "$SMTP_PORT" "$MAIL_DIR" plain > "$TMP/sink.out" 2> "$TMP/sink.log" &
  SINK_PID=$!
  for _ in $(seq 1 100); do
    grep -q ready "$TMP/sink.out" 2>/dev/null && break
    sleep 0.1
  done
  MAILER=(--mailer "smtp://127.0.0.1:$SMTP_PORT?tls=none" --mail-from "Conformance <verify@conformance.test>")
elif [ "$INTEROP" = require ]; then
  echo "run.sh: PASSCODE_INTEROP=require but $PYTHON cannot import aiosmtpd" >&2
  exit 1
fi

"$BIN" serve --listen "127.0.0.1:$PORT" --database "$DB" \
  --master-key-file "$TMP/master.key" --sender "file:$MESSAGES" "${MAILER[@]}" \
  2> "$TMP/server.log" &
SERVER_PID=$!

ready=0
for _ in $(seq 1 100); do   # at most ~10 s
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
  if "$BIN" healthcheck --listen "127.0.0.1:$PORT" >/dev/null 2>&1; then ready=1; break; fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "run.sh: server did not become healthy on $BASE_URL; its log:" >&2
  tail -n 50 "$TMP/server.log" >&2
  exit 1
fi

export AUTHY_BASE_URL="$BASE_URL"
export AUTHY_APP_ID="$APP_ID" AUTHY_API_KEY="$APP_KEY"
export AUTHY_SANDBOX_APP_ID="$SANDBOX_ID" AUTHY_SANDBOX_API_KEY="$SANDBOX_KEY"
export AUTHY_RESTRICTED_API_KEY="$RESTRICTED_KEY"
export AUTHY_MESSAGES_FILE="$MESSAGES"
export VERIFY_MAIL_DIR="$MAIL_DIR"
export VERIFY_BASE_URL="$BASE_URL"
export VERIFY_ACCOUNT_SID="$APP_ACCOUNT" VERIFY_AUTH_TOKEN="$APP_TOKEN"
export VERIFY_API_KEY_SID="$API_KEY_SID" VERIFY_API_KEY_SECRET="$API_KEY_SECRET"
export VERIFY_RESTRICTED_SID="$RESTRICTED_ACCOUNT" VERIFY_RESTRICTED_TOKEN="$RESTRICTED_TOKEN"
# The SDKs' edge and region settings rewrite host names (VERIFY-V2.md 1.2).
unset TWILIO_EDGE TWILIO_REGION

status=0
echo "== Python: authy 2.2.6 =="
"$PYTHON" "$HERE/python/driver.py" || status=1
echo "== Node: authy-client 1.1.4 =="
(cd "$HERE/node" && "$NODE" driver.js) || status=1
echo "== Python: twilio 9.13.0 (Verify v2) =="
"$PYTHON" "$HERE/python/verify_driver.py" || status=1
echo "== Node: twilio 6.2.0 (Verify v2) =="
(cd "$HERE/node" && "$NODE" verify_driver.js) || status=1

if [ "$status" != 0 ]; then
  echo "run.sh: FAILED (server log: last lines follow)" >&2
  tail -n 20 "$TMP/server.log" >&2
fi
exit "$status"
