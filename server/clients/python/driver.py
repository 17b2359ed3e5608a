#!/usr/bin/env python3
"""Conformance driver: the official PyPI `authy` 2.2.6 client, unmodified,
against a running passcode-server (wire spec: shared/AUTHY-API.md).

Environment (set by ../run.sh):
  AUTHY_BASE_URL          e.g. http://127.0.0.1:PORT
  AUTHY_APP_ID            id of an ordinary (non-sandbox) app, phone export on
  AUTHY_API_KEY           its API key
  AUTHY_SANDBOX_API_KEY   API key of a sandbox app
  AUTHY_RESTRICTED_API_KEY  API key of an app with sms, calls and generic tokens off
  AUTHY_MESSAGES_FILE     the server's `--sender file:` JSONL file

Prints `PASS name` / `FAIL name: why` for every case, `NOT COVERED ...` for
client methods whose endpoints the server does not implement, then a line
`N passed, M failed`; exits 1 when anything failed.

Install: pip install authy==2.2.6 pyotp
"""

import json
import os
import re
import sys
import time
import traceback
import urllib.request

import pyotp
from authy import AuthyFormatException
from authy import __version__ as AUTHY_VERSION
from authy.api import AuthyApiClient

BASE_URL = os.environ["AUTHY_BASE_URL"].rstrip("/")
APP_ID = int(os.environ["AUTHY_APP_ID"])
API_KEY = os.environ["AUTHY_API_KEY"]
SANDBOX_KEY = os.environ.get("AUTHY_SANDBOX_API_KEY", "")
RESTRICTED_KEY = os.environ.get("AUTHY_RESTRICTED_API_KEY", "")
MESSAGES = os.environ["AUTHY_MESSAGES_FILE"]

# Numbers used only by this driver (the Node driver uses others), so that
# per-destination cooldowns cannot couple the two drivers.
USER_CC, USER_PHONE, USER_E164 = 1, "775-461-5609", "+17754615609"
VERIFY_CC, VERIFY_PHONE, VERIFY_E164 = 1, "775-461-5601", "+17754615601"
VERIFY_DISPLAY = "+1 775-461-5601"
UK_CC, UK_PHONE, UK_E164 = 44, "7400 123456", "+447400123456"
SANDBOX_USER, SANDBOX_CC, SANDBOX_PHONE = 51, 1, "305-456-2345"

PHONE_INFO_RE = re.compile(r"^Phone number information as of \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$")
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]
STATS_KEYS = {"api_calls_count", "auths_count", "calls_count", "month",
              "sms_count", "users_count", "year"}

passed = 0
failed = 0


class CaseFailure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise CaseFailure(why)


def eq(actual, expected, what):
    if actual != expected:
        raise CaseFailure("%s: expected %r, got %r" % (what, expected, actual))


def case(name, fn):
    global passed, failed
    try:
        fn()
    except CaseFailure as e:
        failed += 1
        print("FAIL %s: %s" % (name, e), flush=True)
    except Exception as e:  # a client exception is a failure too, never a crash
        failed += 1
        detail = "".join(traceback.format_exception_only(type(e), e)).strip()
        print("FAIL %s: unexpected %s" % (name, detail), flush=True)
    else:
        passed += 1
        print("PASS %s" % name, flush=True)


def not_covered(method, why):
    print("NOT COVERED %s: %s" % (method, why), flush=True)


def body(inst):
    """A short rendering of a response for failure messages."""
    r = inst.response
    return "HTTP %s %s" % (r.status_code, r.text[:400])


def expect_ok(inst, what):
    check(inst.ok(), "%s: expected ok(), got %s" % (what, body(inst)))
    check(isinstance(inst.content, dict), "%s: body is not a JSON object: %s" % (what, body(inst)))


def expect_error(inst, status, code, message, what):
    check(not inst.ok(), "%s: expected an error, got ok(): %s" % (what, body(inst)))
    eq(inst.response.status_code, status, "%s HTTP status (%s)" % (what, body(inst)))
    check(isinstance(inst.content, dict), "%s: error body not JSON: %s" % (what, body(inst)))
    c = inst.content
    eq(c.get("success"), False, "%s success" % what)
    ec = c.get("error_code")
    check(isinstance(ec, str), "%s: error_code must be a JSON string, got %r" % (what, ec))
    eq(ec, code, "%s error_code" % what)
    if message is not None:
        eq(c.get("message"), message, "%s message" % what)
        eq(inst.errors().get("message"), message, "%s errors()['message']" % what)
    check(isinstance(inst.errors(), dict), "%s: errors() is not a dict" % what)
    for k, v in c.get("errors", {}).items():
        check(isinstance(v, str), "%s: errors[%r] must be a string, got %r" % (what, k, v))


# ---------------------------------------------------------------- messages

def message_count():
    try:
        with open(MESSAGES, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


def wait_message(after, to, channel, timeout=5.0):
    """The first message appended after line `after` for `to` on `channel`."""
    deadline = time.time() + timeout
    while True:
        try:
            with open(MESSAGES, encoding="utf-8") as f:
                lines = [line for line in f if line.strip()]
        except FileNotFoundError:
            lines = []
        for line in reversed(lines[after:]):
            m = json.loads(line)
            if m.get("to") == to and m.get("channel") == channel:
                return m
        if time.time() > deadline:
            raise CaseFailure("no %s message to %s delivered within %.0fs (file has %d lines, %d before)"
                              % (channel, to, timeout, len(lines), after))
        time.sleep(0.1)


def other_token(code):
    """A token of the same length that is not `code`."""
    n = len(code)
    return str((int(code) + 1) % (10 ** n)).zfill(n)


# ---------------------------------------------------------------- state

client = AuthyApiClient(API_KEY, api_uri=BASE_URL)
sandbox = AuthyApiClient(SANDBOX_KEY, api_uri=BASE_URL)
restricted = AuthyApiClient(RESTRICTED_KEY, api_uri=BASE_URL)
S = {}  # shared state between cases


def t_version():
    eq(client.version(), "2.2.6", "authy package version")
    eq(AUTHY_VERSION, "2.2.6", "authy.__version__")


def t_invalid_key():
    bad = AuthyApiClient("not-a-real-key-0123456789", api_uri=BASE_URL)
    r = bad.apps.fetch()
    expect_error(r, 401, "60001", "Invalid API key", "apps.fetch with a bad key")


def t_apps_fetch():
    r = client.apps.fetch()
    expect_ok(r, "apps.fetch")
    eq(r["message"], "Application information.", "message")
    eq(r["success"], True, "success")
    app = r["app"]
    eq(app.get("app_id"), APP_ID, "app.app_id")
    check(isinstance(app.get("app_id"), int), "app.app_id must be an integer")
    eq(app.get("name"), "Conformance App", "app.name")
    check(isinstance(app.get("plan"), str), "app.plan must be a string")
    check(isinstance(app.get("sms_enabled"), bool), "app.sms_enabled must be a boolean")
    check(isinstance(app.get("onetouch_enabled"), bool), "app.onetouch_enabled must be a boolean")


def t_users_create():
    r = client.users.create("py-user@example.com", USER_PHONE, USER_CC)
    expect_ok(r, "users.create")
    eq(r["message"], "User created successfully.", "message")
    eq(r["success"], True, "success")
    check(isinstance(r.id, int), "User.id must be an integer, got %r" % (r.id,))
    check(r.id >= 1000, "user ids of an ordinary app start at 1000, got %r" % r.id)
    S["user"] = r.id


def t_users_create_same_phone():
    r = client.users.create("py-user-2@example.com", USER_PHONE.replace("-", " "), USER_CC)
    expect_ok(r, "users.create (same phone, other email)")
    eq(r.id, S["user"], "same (country_code, cellphone) gives the same authy id")


def t_users_create_invalid_email():
    r = client.users.create("testexample.com", USER_PHONE, USER_CC)
    expect_error(r, 400, "60027", "User was not valid", "users.create bad email")
    eq(r.errors().get("email"), "is invalid", "errors()['email']")


def t_users_create_invalid_phone():
    r = client.users.create("py-bad-phone@example.com", "123", USER_CC)
    expect_error(r, 400, "60027", "User was not valid", "users.create bad cellphone")
    eq(r.errors().get("cellphone"), "is invalid", "errors()['cellphone']")


def t_users_status():
    r = client.users.status(S["user"])
    expect_ok(r, "users.status")
    eq(r["message"], "User status.", "message")
    st = r["status"]
    eq(st.get("authy_id"), S["user"], "status.authy_id")
    eq(st.get("country_code"), USER_CC, "status.country_code")
    eq(st.get("phone_number"), "XXX-XXX-" + USER_PHONE[-4:], "status.phone_number")
    for k in ("confirmed", "registered", "account_disabled", "has_hard_token"):
        check(isinstance(st.get(k), bool), "status.%s must be a boolean, got %r" % (k, st.get(k)))
    check(isinstance(st.get("devices"), list), "status.devices must be a list")


def t_users_status_unknown():
    r = client.users.status(987654)
    expect_error(r, 404, "60026", "User not found.", "users.status unknown id")


def t_request_sms():
    before = message_count()
    r = client.users.request_sms(S["user"], {"force": True})  # requests sends force=True
    expect_ok(r, "users.request_sms(force=True)")
    eq(r["success"], True, "success")
    eq(r["message"], "SMS token was sent", "message")
    eq(r["cellphone"], "+1-XXX-XXX-XX" + USER_PHONE[-2:], "cellphone")
    check(not r.ignored(), "ignored() must be False when sent (no 'ignored' key): %s" % body(r))
    raw = r.response.text
    check(raw.index('"success"') < raw.index('"message"'), "success must come before message: %s" % raw)
    m = wait_message(before, USER_E164, "sms")
    check(re.fullmatch(r"\d{7}", m.get("code", "")), "SMS token must be 7 digits by default, got %r" % m.get("code"))
    check(m["code"] in m.get("body", ""), "message body must contain the code")
    S["sms_code"] = m["code"]


def t_verify_sms_code():
    r = client.tokens.verify(S["user"], S["sms_code"])
    check(r.ok(), "Token.ok() must be True for the SMS code: %s" % body(r))
    eq(r["message"], "Token is valid.", "message")
    eq(r["token"], "is valid", "token")
    check(r["success"] in (True, "true"), "success must be true/'true', got %r" % r["success"])


def t_verify_replay():
    r = client.tokens.verify(S["user"], S["sms_code"])
    check(not r.ok(), "Token.ok() must be False for a replayed token: %s" % body(r))
    expect_error(r, 401, "60019", None, "replayed SMS token")
    eq(r["token"], "is invalid", "token")


def t_verify_invalid():
    r = client.tokens.verify(S["user"], other_token(S["sms_code"]))
    check(not r.ok(), "Token.ok() must be False: %s" % body(r))
    expect_error(r, 401, "60020", "Token is invalid", "invalid token")
    eq(r["token"], "is invalid", "token")


def t_verify_bad_format():
    try:
        client.tokens.verify(S["user"], "12ab")
    except AuthyFormatException:
        return
    raise CaseFailure("client-side validation did not reject a non-numeric token")


def t_verify_unknown_user():
    r = client.tokens.verify(987654, "1234567")
    check(not r.ok(), "Token.ok() must be False for an unknown user")
    expect_error(r, 404, "60026", "User doesn't exist", "verify unknown user")


def t_request_sms_unforced():
    before = message_count()
    r = client.users.request_sms(S["user"])  # no force parameter at all
    expect_ok(r, "users.request_sms()")
    eq(r["message"], "SMS token was sent", "message (user has no app device, so it is sent)")
    check(not r.ignored(), "ignored() must be False: %s" % body(r))
    m = wait_message(before, USER_E164, "sms")
    S["sms_code2"] = m["code"]


def t_request_call():
    before = message_count()
    r = client.users.request_call(S["user"], {"force": True})
    expect_ok(r, "users.request_call(force=True)")
    eq(r["message"], "Call started...", "message")
    eq(r["cellphone"], "+1-XXX-XXX-XX" + USER_PHONE[-2:], "cellphone")
    check(not r.ignored(), "ignored() must be False when called: %s" % body(r))
    m = wait_message(before, USER_E164, "call")
    check(re.fullmatch(r"\d{7}", m.get("code", "")), "voice token must be 7 digits, got %r" % m.get("code"))
    S["call_code"] = m["code"]


def t_verify_call_code():
    r = client.tokens.verify(S["user"], S["call_code"], {"force": "true"})
    check(r.ok(), "Token.ok() must be True for the code read out by the call: %s" % body(r))
    eq(r["message"], "Token is valid.", "message")


def t_sms_unknown_user():
    r = client.users.request_sms(987654, {"force": True})
    expect_error(r, 404, "60026", "User not found.", "request_sms unknown user")


def t_generate_qr():
    r = client.users.generate_qr(S["user"], size=300, label="py-user@example.com")
    expect_ok(r, "users.generate_qr")
    eq(r["success"], True, "success")
    qr = r["qr_code"]
    check(isinstance(qr, str) and qr.startswith(BASE_URL + "/"), "qr_code must be a URL on this server, got %r" % qr)
    uri = r["uri"]
    check(isinstance(uri, str) and uri.startswith("otpauth://totp/"), "uri must be otpauth://totp/..., got %r" % uri)
    totp = pyotp.parse_uri(uri)
    eq(totp.digits, 6, "otpauth digits")
    eq(totp.interval, 30, "otpauth period")
    eq(totp.digest().name, "sha1", "otpauth algorithm")
    with urllib.request.urlopen(qr, timeout=5) as resp:
        eq(resp.status, 200, "GET qr_code status")
        ctype = resp.headers.get("Content-Type", "")
        check(ctype.startswith("image/png"), "qr_code Content-Type must be image/png, got %r" % ctype)
        png = resp.read()
    check(png.startswith(b"\x89PNG\r\n\x1a\n"), "qr_code is not a PNG")
    S["totp"] = totp


def t_verify_totp():
    totp = S["totp"]
    # Stay clear of a step boundary so that the replay case uses the same step.
    if 30 - time.time() % 30 < 3:
        time.sleep(3.5)
    code = totp.now()
    r = client.tokens.verify(S["user"], code)
    check(r.ok(), "Token.ok() must be True for the generic authenticator's TOTP: %s" % body(r))
    eq(r["message"], "Token is valid.", "message")
    S["totp_code"] = code


def t_verify_totp_replay():
    r = client.tokens.verify(S["user"], S["totp_code"])
    check(not r.ok(), "Token.ok() must be False for a replayed TOTP: %s" % body(r))
    expect_error(r, 401, "60019", None, "replayed TOTP")


SMS_IGNORED = ("Ignored: SMS is not needed for smartphones. "
               "Pass force=true if you want to actually send it anyway.")
CALL_IGNORED = ("Call ignored. User is using  App Tokens and this call is not necessary. "
                "Pass force=true if you still want to call users that are using the App.")


def t_request_sms_ignored():
    # The user now has a device (the generic authenticator): without force, nothing is sent.
    before = message_count()
    r = client.users.request_sms(S["user"])
    expect_ok(r, "users.request_sms() with a device")
    check(r.ignored(), "ignored() must be True: %s" % body(r))
    eq(r["ignored"], True, "ignored")
    eq(r["message"], SMS_IGNORED, "message")
    eq(r["cellphone"], "+1-XXX-XXX-XX" + USER_PHONE[-2:], "cellphone")
    check(r.content.get("device") is None or isinstance(r["device"], str), "device must be null or a string")
    c = client.users.request_call(S["user"])
    expect_ok(c, "users.request_call() with a device")
    check(c.ignored(), "ignored() must be True: %s" % body(c))
    eq(c["message"], CALL_IGNORED, "message")
    time.sleep(0.3)
    eq(message_count(), before, "messages delivered for ignored requests")


def t_users_status_after():
    r = client.users.status(S["user"])
    expect_ok(r, "users.status")
    check(isinstance(r["status"].get("devices"), list), "devices must be a list")


def t_phone_export():
    # Not a method of the client: its generic Resource.get, which sends the key header.
    resp = client.users.get("/protected/json/users/%d/phone_number" % S["user"])
    eq(resp.status_code, 200, "HTTP status (%s)" % resp.text[:300])
    c = resp.json()
    eq(c.get("phone_number"), USER_PHONE, "phone_number")
    eq(c.get("country_code"), str(USER_CC), "country_code (a string)")
    eq(c.get("e164"), USER_E164, "e164")
    check(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", c.get("updated_at", "")), "updated_at, got %r" % c.get("updated_at"))


def t_verification_start():
    before = message_count()
    r = client.phones.verification_start(VERIFY_PHONE, VERIFY_CC, via="sms", code_length=6)
    expect_ok(r, "phones.verification_start")
    eq(r["success"], True, "success")
    eq(r["message"], "Text message sent to %s." % VERIFY_DISPLAY, "message")
    check(isinstance(r["carrier"], str), "carrier must be a string")
    check(isinstance(r["is_cellphone"], bool), "is_cellphone must be a boolean")
    check(isinstance(r["seconds_to_expire"], int) and 0 < r["seconds_to_expire"] <= 600,
          "seconds_to_expire must be an int in (0, 600], got %r" % r["seconds_to_expire"])
    check(isinstance(r["uuid"], str) and r["uuid"], "uuid must be a string")
    m = wait_message(before, VERIFY_E164, "sms")
    check(re.fullmatch(r"\d{6}", m.get("code", "")), "code_length=6 must give a 6-digit code, got %r" % m.get("code"))
    S["pv_code"] = m["code"]


def t_verification_check_wrong():
    r = client.phones.verification_check(VERIFY_PHONE, VERIFY_CC, other_token(S["pv_code"]))
    expect_error(r, 401, "60022", "Verification code is incorrect", "verification_check wrong code")


def t_verification_check():
    r = client.phones.verification_check(VERIFY_PHONE, VERIFY_CC, S["pv_code"])
    expect_ok(r, "phones.verification_check")
    eq(r["message"], "Verification code is correct.", "message")
    eq(r["success"], True, "success")


def t_verification_check_again():
    r = client.phones.verification_check(VERIFY_PHONE, VERIFY_CC, S["pv_code"])
    expect_error(r, 404, "60023", "No pending verifications for %s found." % VERIFY_DISPLAY,
                 "verification_check after success")


def t_verification_start_call_uk():
    before = message_count()
    r = client.phones.verification_start(UK_PHONE, UK_CC, via="call", locale="es")
    expect_ok(r, "phones.verification_start(via=call, locale=es, +44)")
    # Authy's recorded Spanish text: "Llamada a +1 775-461-5609 fue iniciada."
    eq(r["message"], "Llamada a +44 7400 123456 fue iniciada.", "message")
    m = wait_message(before, UK_E164, "call")
    eq(m.get("locale"), "es", "locale of the delivered call")
    check(re.fullmatch(r"\d{4}", m.get("code", "")), "default code_length is 4, got %r" % m.get("code"))
    c = client.phones.verification_check(UK_PHONE.replace(" ", ""), str(UK_CC), m["code"])
    expect_ok(c, "phones.verification_check(+44)")
    eq(c["message"], "Verification code is correct.", "message")


def t_verification_start_invalid():
    r = client.phones.verification_start("123", 1, via="sms")
    expect_error(r, 400, "60033", "Phone number is invalid", "verification_start invalid number")


def t_verification_bad_via():
    try:
        client.phones.verification_start(VERIFY_PHONE, VERIFY_CC, via="pigeon")
    except AuthyFormatException:
        return
    raise CaseFailure("client-side validation did not reject via='pigeon'")


def t_phones_info():
    r = client.phones.info(USER_PHONE, USER_CC)
    expect_ok(r, "phones.info")
    check(PHONE_INFO_RE.match(r["message"] or ""), "message must match 'Phone number information as of YYYY-MM-DD HH:MM:SS UTC', got %r" % r["message"])
    check(isinstance(r["type"], str), "type must be a string")
    check(isinstance(r["provider"], str), "provider must be a string")
    check(isinstance(r["ported"], bool), "ported must be a boolean")


def t_stats_fetch():
    r = client.stats.fetch()
    expect_ok(r, "stats.fetch")
    eq(r["message"], "Monthly statistics.", "message")
    eq(r["app_id"], APP_ID, "app_id")
    check(isinstance(r["count"], int), "count must be an int")
    check(isinstance(r["total_users"], int) and r["total_users"] >= 1, "total_users must be an int >= 1, got %r" % r["total_users"])
    check(isinstance(r["stats"], list) and r["stats"], "stats must be a non-empty list")
    for e in r["stats"]:
        eq(set(e.keys()), STATS_KEYS, "keys of a stats entry")
        check(e["month"] in MONTHS, "month must be an English month name, got %r" % e["month"])
        check(isinstance(e["year"], int), "year must be an int")
    now = time.gmtime()
    cur = [e for e in r["stats"] if e["year"] == now.tm_year and e["month"] == MONTHS[now.tm_mon - 1]]
    check(cur, "no entry for the current month")
    check(cur[0]["sms_count"] >= 2, "sms_count should count this run's SMS, got %r" % cur[0]["sms_count"])


def t_users_delete():
    r = client.users.delete(S["user"])
    expect_ok(r, "users.delete")
    eq(r["success"], True, "success")
    check(r["message"] in ("User was added to remove.", "User removed from application"),
          "message, got %r" % r["message"])
    s = client.users.status(S["user"])
    expect_error(s, 404, "60026", "User not found.", "users.status after delete")


def t_users_delete_again():
    r = client.users.delete(S["user"])
    expect_error(r, 404, "60026", "User not found.", "users.delete twice")


# ---------------------------------------------------------------- sandbox

def t_sb_apps_fetch():
    r = sandbox.apps.fetch()
    expect_ok(r, "sandbox apps.fetch")
    eq(r["app"]["name"], "Sandbox App 1", "app.name")


def t_sb_status_51():
    r = sandbox.users.status(SANDBOX_USER)
    expect_ok(r, "sandbox users.status(51)")
    eq(r["status"]["authy_id"], SANDBOX_USER, "authy_id")
    eq(r["status"]["country_code"], SANDBOX_CC, "country_code")
    eq(r["status"]["phone_number"], "XXX-XXX-2345", "phone_number")


def t_sb_verify_0000000():
    for i in range(2):
        r = sandbox.tokens.verify(SANDBOX_USER, "0000000")
        check(r.ok(), "0000000 must be valid for user 51 (try %d): %s" % (i + 1, body(r)))
        eq(r["message"], "Token is valid.", "message")


def t_sb_verify_invalid():
    for tok in ("1111111", "1234567", "123456"):
        r = sandbox.tokens.verify(SANDBOX_USER, tok)
        check(not r.ok(), "%s must be invalid" % tok)
        expect_error(r, 401, "60020", "Token is invalid", "sandbox token %s" % tok)


def t_sb_create_and_verify():
    r = sandbox.users.create("py-sandbox@example.com", "775-461-5602", 1)
    expect_ok(r, "sandbox users.create")
    check(isinstance(r.id, int), "id must be an int")
    v = sandbox.tokens.verify(r.id, "0000000")
    check(v.ok(), "0000000 must be valid for every sandbox user: %s" % body(v))
    S["sb_user"] = r.id


def t_sb_sms_call_not_delivered():
    before = message_count()
    r = sandbox.users.request_sms(SANDBOX_USER, {"force": True})
    expect_ok(r, "sandbox request_sms")
    eq(r["message"], "SMS token was sent", "message")
    c = sandbox.users.request_call(SANDBOX_USER, {"force": True})
    expect_ok(c, "sandbox request_call")
    eq(c["message"], "Call started...", "message")
    time.sleep(0.5)
    eq(message_count(), before, "messages delivered by a sandbox app")


def t_sb_phone_verification():
    before = message_count()
    r = sandbox.phones.verification_start(SANDBOX_PHONE, SANDBOX_CC, via="sms")
    expect_ok(r, "sandbox verification_start")
    eq(r["carrier"], "Google Voice", "carrier")
    eq(r["message"], "Text message sent to +1 305-456-2345.", "message")
    w = sandbox.phones.verification_check(SANDBOX_PHONE, SANDBOX_CC, "1234")
    expect_error(w, 401, "60022", "Verification code is incorrect", "sandbox wrong code")
    c = sandbox.phones.verification_check(SANDBOX_PHONE, SANDBOX_CC, "0000")
    expect_ok(c, "sandbox verification_check 0000")
    eq(c["message"], "Verification code is correct.", "message")
    time.sleep(0.3)
    eq(message_count(), before, "messages delivered by a sandbox app")


def t_sb_phones_info():
    r = sandbox.phones.info(SANDBOX_PHONE, SANDBOX_CC)
    expect_ok(r, "sandbox phones.info")
    eq(r["type"], "landline", "type")
    eq(r["ported"], False, "ported")
    check(PHONE_INFO_RE.match(r["message"] or ""), "message, got %r" % r["message"])


def t_sb_delete():
    r = sandbox.users.delete(S["sb_user"])
    expect_ok(r, "sandbox users.delete")


def t_cross_app_isolation():
    # The sandbox app's user must not be visible through the ordinary app's key.
    r = client.users.status(SANDBOX_USER)
    expect_error(r, 404, "60026", "User not found.", "user 51 via the ordinary app")


# ---------------------------------------------------------------- restricted app
# (status 403 for 60006/60007/60123/60154 is the spec's recommendation, §4)

def t_rs_apps_fetch():
    r = restricted.apps.fetch()
    expect_ok(r, "restricted apps.fetch")
    eq(r["app"]["sms_enabled"], False, "app.sms_enabled")
    eq(r["app"].get("phone_calls_enabled"), False, "app.phone_calls_enabled")


def t_rs_create():
    r = restricted.users.create("py-restricted@example.com", "775-461-5603", 1)
    expect_ok(r, "restricted users.create")
    S["rs_user"] = r.id


def t_rs_sms_disabled():
    r = restricted.users.request_sms(S["rs_user"], {"force": True})
    expect_error(r, 403, "60007", "SMS is not enabled", "request_sms with SMS off")


def t_rs_call_disabled():
    r = restricted.users.request_call(S["rs_user"], {"force": True})
    expect_error(r, 403, "60006", "Phone calls are not enabled on this account", "request_call with calls off")


def t_rs_qr_disabled():
    r = restricted.users.generate_qr(S["rs_user"])
    expect_error(r, 403, "60123", None, "generate_qr with generic tokens off")


def t_rs_export_disabled():
    resp = restricted.users.get("/protected/json/users/%d/phone_number" % S["rs_user"])
    eq(resp.status_code, 403, "HTTP status (%s)" % resp.text[:300])
    c = resp.json()
    eq(c.get("error_code"), "60154", "error_code")
    eq(c.get("message"), "Phone number export disabled", "message")


def t_rs_verification_sms_disabled():
    r = restricted.phones.verification_start("775-461-5603", 1, via="sms")
    expect_error(r, 403, "60007", "SMS is not enabled", "verification_start via sms with SMS off")


CASES = [
    ("client.version", t_version),
    ("auth.invalid_key", t_invalid_key),
    ("apps.fetch", t_apps_fetch),
    ("users.create", t_users_create),
    ("users.create.same_phone_same_id", t_users_create_same_phone),
    ("users.create.invalid_email", t_users_create_invalid_email),
    ("users.create.invalid_cellphone", t_users_create_invalid_phone),
    ("users.status", t_users_status),
    ("users.status.unknown_user", t_users_status_unknown),
    ("users.request_sms.force", t_request_sms),
    ("tokens.verify.sms_code", t_verify_sms_code),
    ("tokens.verify.replayed_60019", t_verify_replay),
    ("tokens.verify.invalid_60020", t_verify_invalid),
    ("tokens.verify.client_format_check", t_verify_bad_format),
    ("tokens.verify.unknown_user", t_verify_unknown_user),
    ("users.request_sms.unforced", t_request_sms_unforced),
    ("users.request_call.force", t_request_call),
    ("tokens.verify.call_code", t_verify_call_code),
    ("users.request_sms.unknown_user", t_sms_unknown_user),
    ("users.generate_qr", t_generate_qr),
    ("tokens.verify.totp", t_verify_totp),
    ("tokens.verify.totp_replayed_60019", t_verify_totp_replay),
    ("users.request_sms_call.ignored_with_device", t_request_sms_ignored),
    ("users.status.after_totp", t_users_status_after),
    ("users.phone_number.export", t_phone_export),
    ("phones.verification_start.sms", t_verification_start),
    ("phones.verification_check.wrong_60022", t_verification_check_wrong),
    ("phones.verification_check.correct", t_verification_check),
    ("phones.verification_check.no_pending_60023", t_verification_check_again),
    ("phones.verification_start.call_uk_es", t_verification_start_call_uk),
    ("phones.verification_start.invalid_60033", t_verification_start_invalid),
    ("phones.verification_start.client_via_check", t_verification_bad_via),
    ("phones.info", t_phones_info),
    ("stats.fetch", t_stats_fetch),
    ("users.delete", t_users_delete),
    ("users.delete.twice", t_users_delete_again),
    ("sandbox.apps.fetch", t_sb_apps_fetch),
    ("sandbox.users.status_51", t_sb_status_51),
    ("sandbox.tokens.verify_0000000", t_sb_verify_0000000),
    ("sandbox.tokens.verify_invalid", t_sb_verify_invalid),
    ("sandbox.users.create_verify", t_sb_create_and_verify),
    ("sandbox.sms_call.not_delivered", t_sb_sms_call_not_delivered),
    ("sandbox.phones.verification_0000", t_sb_phone_verification),
    ("sandbox.phones.info_landline", t_sb_phones_info),
    ("sandbox.users.delete", t_sb_delete),
    ("apps.isolation", t_cross_app_isolation),
    ("restricted.apps.fetch", t_rs_apps_fetch),
    ("restricted.users.create", t_rs_create),
    ("restricted.request_sms.disabled_60007", t_rs_sms_disabled),
    ("restricted.request_call.disabled_60006", t_rs_call_disabled),
    ("restricted.generate_qr.disabled_60123", t_rs_qr_disabled),
    ("restricted.phone_number.export_disabled_60154", t_rs_export_disabled),
    ("restricted.verification_start.sms_disabled_60007", t_rs_verification_sms_disabled),
]


def main():
    for name, fn in CASES:
        case(name, fn)
    not_covered("users.registration_status", "GET registrations/status is not implemented by the server")
    not_covered("one_touch.send_request", "OneTouch (/onetouch/...) is not implemented by the server")
    not_covered("one_touch.get_approval_status", "OneTouch (/onetouch/...) is not implemented by the server")
    not_covered("one_touch.validate_one_touch_signature", "client-side only (no request); OneTouch callbacks are not implemented")
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
