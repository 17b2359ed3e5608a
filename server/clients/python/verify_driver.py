"""Conformance driver: the official `twilio` Python SDK (9.13.0), unmodified,
against passcode-server's Verify v2 surface. Pointed at the server by the
SDK's own per-domain base URL (`client.verify.base_url`) and nothing else.

Environment (set by run.sh):
  VERIFY_BASE_URL          e.g. http://127.0.0.1:PORT
  VERIFY_ACCOUNT_SID       the application's account SID (AC...)
  VERIFY_AUTH_TOKEN        its auth token
  VERIFY_RESTRICTED_SID    an application with SMS and calls off
  VERIFY_RESTRICTED_TOKEN  its auth token
  AUTHY_MESSAGES_FILE      the server's `--sender file:` JSONL file

Prints one line per case and `N passed, M failed`; exits 1 on a failure.
"""
import http.server
import json
import os
import queue
import re
import sys
import threading
import time
import traceback
import urllib.parse

import pyotp
import twilio
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

assert twilio.__version__ == "9.13.0", twilio.__version__

BASE = os.environ["VERIFY_BASE_URL"]
SID = os.environ["VERIFY_ACCOUNT_SID"]
TOKEN = os.environ["VERIFY_AUTH_TOKEN"]
MESSAGES = os.environ["AUTHY_MESSAGES_FILE"]
# Where the SMTP server run.sh started writes each mail (JSON); empty when
# the server has no mailer.
MAIL_DIR = os.environ.get("VERIFY_MAIL_DIR", "")


def client_for(sid, token):
    c = Client(sid, token)
    c.verify.base_url = BASE
    return c


client = client_for(SID, TOKEN)
restricted = client_for(os.environ["VERIFY_RESTRICTED_SID"], os.environ["VERIFY_RESTRICTED_TOKEN"])

passed = 0
failed = 0
S = {}


class CaseFailure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise CaseFailure(what)


def eq(got, want, what):
    if got != want:
        raise CaseFailure("%s: expected %r, got %r" % (what, want, got))


def expect_error(fn, status, code, what):
    try:
        fn()
    except TwilioRestException as e:
        eq(e.status, status, "%s status (%s)" % (what, e.msg))
        eq(e.code, code, "%s code (%s)" % (what, e.msg))
        return e
    raise CaseFailure("%s: expected HTTP %d / %d, got success" % (what, status, code))


def case(name, fn):
    global passed, failed
    try:
        fn()
        passed += 1
        print("ok   %s" % name, flush=True)
    except Exception as e:  # noqa: BLE001 - any failure is a failed case
        failed += 1
        print("FAIL %s: %s" % (name, e), flush=True)
        if not isinstance(e, CaseFailure):
            traceback.print_exc()


def message_count():
    try:
        with open(MESSAGES, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


def wait_code(after, to, channel="sms", timeout=5.0):
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
            raise CaseFailure("no %s message to %s" % (channel, to))
        time.sleep(0.05)


def wait_mail(after, to, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        names = sorted(n for n in os.listdir(MAIL_DIR) if n.endswith(".json"))
        for name in reversed(names[after:]):
            with open(os.path.join(MAIL_DIR, name), encoding="utf-8") as f:
                m = json.load(f)
            if to in m["rcpt_tos"]:
                return m
        if time.time() > deadline:
            raise CaseFailure("no mail to %s" % to)
        time.sleep(0.05)


def wrong(code):
    return str((int(code) + 1) % (10 ** len(code))).zfill(len(code))


DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# ---------------------------------------------------------------- services

def t_service_create():
    s = client.verify.v2.services.create(friendly_name="Conformance One", code_length=6)
    check(re.fullmatch(r"VA[0-9a-f]{32}", s.sid), "service sid %r" % s.sid)
    eq(s.account_sid, SID, "account_sid")
    eq(s.friendly_name, "Conformance One", "friendly_name")
    eq(s.code_length, 6, "code_length")
    eq(s.totp, {"issuer": None, "time_step": None, "code_length": None, "skew": None}, "totp")
    check(s.date_created is not None and not isinstance(s.date_created, str), "date_created parsed as a date")
    check(s.url.startswith(BASE + "/v2/Services/" + s.sid), "url on the server's base: %r" % s.url)
    eq(s.links["verifications"], s.url + "/Verifications", "links.verifications")
    S["service"] = s.sid


def t_service_fetch_update():
    s = client.verify.v2.services(S["service"]).update(
        friendly_name="Conformance Two", totp_issuer="Example", totp_time_step=30, totp_skew=2, custom_code_enabled=False)
    eq(s.friendly_name, "Conformance Two", "updated name")
    eq(s.totp["issuer"], "Example", "totp.issuer")
    eq(s.totp["skew"], 2, "totp.skew")
    f = client.verify.v2.services(S["service"]).fetch()
    eq(f.friendly_name, "Conformance Two", "fetched name")
    eq(f.totp["time_step"], 30, "totp.time_step")


def t_service_bad_settings():
    for kwargs in ({"code_length": 3}, {"code_length": 11}, {"totp_time_step": 61}, {"totp_skew": 3}):
        expect_error(lambda: client.verify.v2.services.create(friendly_name="x", **kwargs), 400, 60200, repr(kwargs))


def t_service_paging():
    made = [client.verify.v2.services.create(friendly_name="Page %d" % i).sid for i in range(120)]
    listed = [s.sid for s in client.verify.v2.services.stream(page_size=50)]
    for sid in made:
        check(sid in listed, "service %s listed" % sid)
    eq(len(listed), len(set(listed)), "no service listed twice")
    page = client.verify.v2.services.page(page_size=50)
    check(page.next_page_url is not None and page.next_page_url.startswith(BASE + "/v2/Services?"), "next_page_url %r" % page.next_page_url)
    for sid in made:
        client.verify.v2.services(sid).delete()
    expect_error(lambda: client.verify.v2.services(made[0]).fetch(), 404, 20404, "deleted service")


# ---------------------------------------------------------------- verifications

def start(to, channel="sms"):
    return client.verify.v2.services(S["service"]).verifications.create(to=to, channel=channel)


def check_code(code, to=None, sid=None):
    kw = {"code": code}
    if to:
        kw["to"] = to
    if sid:
        kw["verification_sid"] = sid
    return client.verify.v2.services(S["service"]).verification_checks.create(**kw)


def t_verification_approve():
    to = "+14155550101"
    n = message_count()
    v = start(to)
    check(re.fullmatch(r"VE[0-9a-f]{32}", v.sid), "verification sid %r" % v.sid)
    eq(v.status, "pending", "status")
    eq(v.to, to, "to")
    eq(v.channel, "sms", "channel")
    eq(v.valid, False, "valid")
    eq(v.lookup, {}, "lookup")
    eq(len(v.send_code_attempts), 1, "send_code_attempts")
    eq(v.send_code_attempts[0]["channel"], "SMS", "attempt channel")
    check(DATE.match(v.send_code_attempts[0]["time"]), "attempt time %r" % v.send_code_attempts[0]["time"])
    m = wait_code(n, to)
    code = m["code"]
    eq(len(code), 6, "code length of the service")
    check("Conformance Two" in m["body"], "message names the service: %r" % m["body"])
    fetched = client.verify.v2.services(S["service"]).verifications(v.sid).fetch()
    eq(fetched.status, "pending", "fetched status")
    c = check_code(code, to=to)
    eq(c.status, "approved", "check status")
    eq(c.valid, True, "check valid")
    eq(c.sid, v.sid, "check sid is the verification's")
    expect_error(lambda: check_code(code, to=to), 404, 20404, "check after approval")
    expect_error(lambda: client.verify.v2.services(S["service"]).verifications(v.sid).fetch(), 404, 20404, "fetch after approval")


def t_verification_resend_same_sid_and_code():
    to = "+14155550102"
    n = message_count()
    first = start(to)
    code = wait_code(n, to)["code"]
    for i in range(2, 6):
        n = message_count()
        again = start(to, "call" if i == 3 else "sms")
        eq(again.sid, first.sid, "send %d keeps the SID" % i)
        eq(len(again.send_code_attempts), i, "send %d attempts" % i)
        channel = "call" if i == 3 else "sms"
        eq(wait_code(n, to, channel)["code"], code, "send %d repeats the code" % i)
    eq(again.send_code_attempts[2]["channel"], "CALL", "a call attempt")
    expect_error(lambda: start(to), 429, 60203, "sixth send")
    eq(check_code(code, sid=first.sid).status, "approved", "check by VerificationSid")


def t_verification_wrong_codes():
    to = "+14155550103"
    n = message_count()
    v = start(to)
    code = wait_code(n, to)["code"]
    for i in range(5):
        c = check_code(wrong(code), to=to)
        eq(c.status, "pending", "wrong check %d" % (i + 1))
        eq(c.valid, False, "wrong check %d valid" % (i + 1))
    expect_error(lambda: check_code(code, to=to), 429, 60202, "sixth check")
    f = client.verify.v2.services(S["service"]).verifications(v.sid).fetch()
    eq(f.status, "max_attempts_reached", "status after the checks ran out")
    expect_error(lambda: check_code(code, to=to), 404, 20404, "check after max attempts")


def t_verification_cancel_and_approve():
    to = "+14155550104"
    n = message_count()
    v = start(to)
    code = wait_code(n, to)["code"]
    c = client.verify.v2.services(S["service"]).verifications(v.sid).update(status="canceled")
    eq(c.status, "canceled", "canceled")
    eq(client.verify.v2.services(S["service"]).verifications(v.sid).fetch().status, "canceled", "fetch canceled")
    expect_error(lambda: check_code(code, to=to), 404, 20404, "check after cancel")
    w = start(to)
    check(w.sid != v.sid, "a new verification after a cancel")
    a = client.verify.v2.services(S["service"]).verifications(w.sid).update(status="approved")
    eq((a.status, a.valid), ("approved", True), "approved by update")
    expect_error(lambda: client.verify.v2.services(S["service"]).verifications(w.sid).update(status="pending"), 400, 60441, "illegal status")


def t_verification_bad_input():
    svc = client.verify.v2.services(S["service"])
    expect_error(lambda: svc.verifications.create(to="not-a-number", channel="sms"), 400, 60200, "bad To")
    expect_error(lambda: svc.verifications.create(to="+14155550105", channel="pigeon"), 400, 60200, "bad Channel")
    expect_error(lambda: svc.verifications.create(to="+14155550105", channel="whatsapp"), 400, 60223, "whatsapp")
    expect_error(lambda: svc.verification_checks.create(code="123456", to="+14155550199"), 404, 20404, "nothing pending")
    expect_error(lambda: svc.verification_checks.create(code="12", to="+14155550199"), 400, 60200, "short code")
    expect_error(lambda: svc.verifications("VE" + "0" * 32).fetch(), 404, 20404, "unknown verification")
    expect_error(lambda: client.verify.v2.services("VA" + "0" * 32).fetch(), 404, 20404, "unknown service")


def t_verification_email():
    svc = client.verify.v2.services(S["service"])
    if not MAIL_DIR:
        expect_error(lambda: svc.verifications.create(to="a@example.com", channel="email"), 400, 60217, "email without a mailer")
        return
    to = "python-sdk@example.com"
    n = len([x for x in os.listdir(MAIL_DIR) if x.endswith(".json")])
    v = svc.verifications.create(to=to, channel="email", channel_configuration={"from_name": "Conformance Mail"})
    eq((v.status, v.channel, v.to), ("pending", "email", to), "email verification")
    eq(v.send_code_attempts[0]["channel"], "EMAIL", "attempt channel")
    m = wait_mail(n, to)
    eq(m["from"], "Conformance Mail <verify@conformance.test>", "From: the request's name, the server's address")
    found = re.search(r"\b(\d{6})\b", m["text"])
    check(found is not None and "Conformance Two" in m["text"], "the code and the service's name: %r" % m["text"])
    code = found.group(1)
    eq(check_code(wrong(code), to=to).status, "pending", "a wrong code")
    c = check_code(code, to=to)
    eq((c.status, c.channel, c.to), ("approved", "email", to), "the mailed code approves")
    expect_error(lambda: svc.verifications.create(to="not an address", channel="email"), 400, 60200, "not an address")


def t_channel_disabled():
    s = restricted.verify.v2.services.create(friendly_name="Restricted")
    expect_error(lambda: restricted.verify.v2.services(s.sid).verifications.create(to="+14155550106", channel="sms"), 400, 60223, "sms off")


def t_tenants_are_apart():
    expect_error(lambda: restricted.verify.v2.services(S["service"]).fetch(), 404, 20404, "another account's service")


def t_api_key():
    keyed = Client(os.environ["VERIFY_API_KEY_SID"], os.environ["VERIFY_API_KEY_SECRET"], SID)
    keyed.verify.base_url = BASE
    s = keyed.verify.v2.services(S["service"]).fetch()
    eq(s.account_sid, SID, "the key's account")
    bad = Client(os.environ["VERIFY_API_KEY_SID"], "x" * 32, SID)
    bad.verify.base_url = BASE
    expect_error(lambda: bad.verify.v2.services(S["service"]).fetch(), 401, 20003, "wrong secret")


def t_twilio_only_resources():
    eq(client.verify.v2.templates.list(), [], "no templates")
    e = expect_error(lambda: client.verify.v2.services(S["service"]).access_tokens.create(identity="x", factor_type="push"),
                     404, 20404, "access tokens")
    check("does not support it" in e.msg, "says why: %r" % e.msg)


def t_bad_credentials():
    # A fetch: a list page that is not 200 is the SDK's own TwilioException.
    bad = client_for(SID, "0" * 32)
    expect_error(lambda: bad.verify.v2.services(S["service"]).fetch(), 401, 20003, "wrong token")
    other = client_for("AC" + "1" * 32, TOKEN)
    expect_error(lambda: other.verify.v2.services(S["service"]).fetch(), 401, 20003, "unknown account")
    e = expect_error(lambda: bad.verify.v2.services.create(friendly_name="x"), 401, 20003, "create")
    check("Authenticate" in e.msg, "message %r" % e.msg)


# ---------------------------------------------------------------- TOTP factors

def entity(identity):
    return client.verify.v2.services(S["service"]).entities(identity)


def t_factor_enrol_verify():
    identity = "py-user-0001"
    f = entity(identity).new_factors.create(friendly_name="Alice's phone", factor_type="totp")
    check(re.fullmatch(r"YF[0-9a-f]{32}", f.sid), "factor sid %r" % f.sid)
    eq(f.status, "unverified", "status")
    # The service's default skew (2, set above) applies to its new factors.
    eq(f.config, {"alg": "sha1", "skew": 2, "code_length": 6, "time_step": 30}, "config")
    check(f.binding["uri"].startswith("otpauth://totp/"), "binding.uri %r" % f.binding["uri"])
    totp = pyotp.TOTP(f.binding["secret"])
    now = time.time()
    got = entity(identity).factors(f.sid).update(auth_payload=wrong(totp.at(now)))
    eq(got.status, "unverified", "wrong code")
    got = entity(identity).factors(f.sid).update(auth_payload=totp.at(now - 30))
    eq(got.status, "verified", "right code")
    e = entity(identity).fetch()
    check(re.fullmatch(r"YE[0-9a-f]{32}", e.sid), "entity sid %r" % e.sid)
    S["factor"], S["totp"], S["identity"] = f.sid, totp, identity


def t_challenge_totp():
    identity, totp = S["identity"], S["totp"]
    now = time.time()
    c = entity(identity).challenges.create(factor_sid=S["factor"], auth_payload=totp.at(now),
                                           details_message="Sign in?", hidden_details={"ip": "10.0.0.1"})
    eq(c.status, "approved", "challenge with a right code")
    eq(c.hidden_details, {"ip": "10.0.0.1"}, "hidden_details")
    again = entity(identity).challenges.create(factor_sid=S["factor"], auth_payload=totp.at(now))
    eq(again.status, "pending", "the same step again (RFC 6238 5.2)")
    p = entity(identity).challenges.create(factor_sid=S["factor"])
    eq(p.status, "pending", "no code")
    eq(entity(identity).challenges(p.sid).update(auth_payload=wrong(totp.at(now + 30))).status, "pending", "wrong code")
    eq(entity(identity).challenges(p.sid).update(auth_payload=totp.at(now + 30)).status, "approved", "next step")
    expect_error(lambda: entity(identity).challenges(p.sid).update(auth_payload=totp.at(now + 30)), 400, 60322, "answered")


def t_challenges_paging_and_filters():
    identity = S["identity"]
    made = [entity(identity).challenges.create(factor_sid=S["factor"]).sid for _ in range(120)]
    listed = [c.sid for c in entity(identity).challenges.stream(status="pending", page_size=50)]
    for sid in made:
        check(sid in listed, "challenge %s listed" % sid)
    eq(len(listed), len(set(listed)), "no challenge listed twice")
    desc = entity(identity).challenges.list(order="desc", limit=3)
    eq(desc[0].sid, made[-1], "newest first")
    approved = entity(identity).challenges.list(status="approved", factor_sid=S["factor"])
    eq(len(approved), 2, "approved challenges")


def t_factor_unverified_and_push():
    identity = "py-user-0002"
    f = entity(identity).new_factors.create(friendly_name="New", factor_type="totp")
    expect_error(lambda: entity(identity).challenges.create(factor_sid=f.sid), 403, 60318, "unverified factor")
    expect_error(lambda: entity(identity).new_factors.create(friendly_name="x", factor_type="push",
                                                           binding_alg="ES256", binding_public_key="x"), 400, 60200, "push")
    eq(entity(identity).delete(), True, "entity deleted")
    expect_error(lambda: entity(identity).factors(f.sid).fetch(), 404, 20404, "factor of a deleted entity")


def t_rate_limits_buckets():
    svc = client.verify.v2.services(S["service"])
    rl = svc.rate_limits.create(unique_name="end_user_ip_address", description="per IP")
    check(re.fullmatch(r"RK[0-9a-f]{32}", rl.sid), "rate limit sid %r" % rl.sid)
    b = svc.rate_limits(rl.sid).buckets.create(max=2, interval=60)
    eq((b.max, b.interval), (2, 60), "bucket")
    expect_error(lambda: svc.rate_limits(rl.sid).buckets.create(max=3, interval=60), 409, 60211, "same interval")
    expect_error(lambda: svc.rate_limits.create(unique_name="end_user_ip_address"), 409, 60208, "same name")
    for to in ("+14155550301", "+14155550302"):
        svc.verifications.create(to=to, channel="sms", rate_limits={"end_user_ip_address": "198.51.100.7"})
    expect_error(lambda: svc.verifications.create(to="+14155550303", channel="sms",
                                                  rate_limits={"end_user_ip_address": "198.51.100.7"}), 429, 20429, "bucket empty")
    eq([x.sid for x in svc.rate_limits(rl.sid).buckets.list()], [b.sid], "buckets listed")
    eq(svc.rate_limits(rl.sid).buckets(b.sid).update(max=5).max, 5, "bucket updated")
    eq(svc.rate_limits(rl.sid).delete(), True, "rate limit deleted")


# ---------------------------------------------------------------- webhooks

HOOKS = queue.Queue()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - the handler's name is http.server's
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        HOOKS.put((self.headers.get("X-Twilio-Signature"), dict(urllib.parse.parse_qsl(body, keep_blank_values=True))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def t_webhook_signed_for_the_sdk_validator():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/hook" % server.server_address[1]
        svc = client.verify.v2.services(S["service"])
        hook = svc.webhooks.create(friendly_name="py", event_types=["factor.created"], webhook_url=url)
        check(re.fullmatch(r"YW[0-9a-f]{32}", hook.sid), "webhook sid %r" % hook.sid)
        eq((hook.status, hook.webhook_method, hook.version), ("enabled", "POST", "v2"), "webhook")
        f = entity("py-hook-0001").new_factors.create(friendly_name="Phone", factor_type="totp")
        signature, params = HOOKS.get(timeout=5)
        eq(params.get("type"), "factor.created", "event type")
        eq(params.get("factor_sid"), f.sid, "factor_sid")
        check(RequestValidator(TOKEN).validate(url, params, signature), "the SDK's RequestValidator accepts it")
        check(not RequestValidator("0" * 32).validate(url, params, signature), "another token does not")
        eq(svc.webhooks(hook.sid).delete(), True, "webhook deleted")
    finally:
        server.shutdown()


def t_attempts_and_summary():
    to = "+14155550501"
    n = message_count()
    v = start(to)
    code = wait_code(n, to)["code"]
    check_code(code, to=to)
    attempts = client.verify.v2.verification_attempts.list(verification_sid=v.sid)
    eq(len(attempts), 1, "one send")
    eq(attempts[0].sid, v.send_code_attempts[0]["attempt_sid"], "the send's VL SID")
    eq(attempts[0].conversion_status, "converted", "converted")
    check(not isinstance(attempts[0].date_created, str), "date_created parsed")
    fetched = client.verify.v2.verification_attempts(attempts[0].sid).fetch()
    eq(fetched.verification_sid, v.sid, "fetched")
    summary = client.verify.v2.verification_attempts_summary().fetch(verify_service_sid=S["service"])
    check(summary.total_attempts >= 1 and summary.total_converted >= 1, "summary %r" % summary.total_attempts)
    eq(summary.total_attempts, summary.total_converted + summary.total_unconverted, "totals add up")


CASES = [
    ("services.create", t_service_create),
    ("services.fetch_update", t_service_fetch_update),
    ("services.bad_settings_60200", t_service_bad_settings),
    ("services.paging_120", t_service_paging),
    ("verifications.send_check_approve_404", t_verification_approve),
    ("verifications.resend_same_sid_code_60203", t_verification_resend_same_sid_and_code),
    ("verifications.wrong_pending_60202_404", t_verification_wrong_codes),
    ("verifications.cancel_approve_60441", t_verification_cancel_and_approve),
    ("verifications.bad_input", t_verification_bad_input),
    ("verifications.email_delivered_and_checked", t_verification_email),
    ("verifications.channel_disabled_60223", t_channel_disabled),
    ("factors.totp_enrol_verify", t_factor_enrol_verify),
    ("challenges.totp_approve_replay_60322", t_challenge_totp),
    ("challenges.paging_120_filters", t_challenges_paging_and_filters),
    ("factors.unverified_60318_push_entity_delete", t_factor_unverified_and_push),
    ("rate_limits.buckets_60208_60211_20429", t_rate_limits_buckets),
    ("webhooks.signed_for_the_sdk_validator", t_webhook_signed_for_the_sdk_validator),
    ("attempts.list_fetch_summary", t_attempts_and_summary),
    ("accounts.isolation", t_tenants_are_apart),
    ("accounts.api_key", t_api_key),
    ("unsupported.templates_access_tokens", t_twilio_only_resources),
    ("accounts.bad_credentials_20003", t_bad_credentials),
]


def main():
    for name, fn in CASES:
        case(name, fn)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
