"""Writes and reads otpauth:// key URIs with pyotp, one JSON object a line.

    {"op": "write", "kind": "totp"|"hotp", "secret": <base32 as pyotp takes it>,
     "account": str, "issuer": str|null, "algorithm": "SHA1"|"SHA256"|"SHA512",
     "digits": int, "period": int, "counter": int, "times": [unix time, ...]}
        -> {"uri": pyotp's provisioning_uri, "codes": [...]}
    {"op": "read", "uri": str, "times": [unix time, ...]}
        -> {"kind", "secret", "account", "issuer", "algorithm", "digits",
            "period" (totp), "counter" (hotp), "codes": [...]}
           or {"error": "<exception type>: <message>"} when pyotp refuses it.

Codes are TOTP codes at each time, or the HOTP code at the URI's counter.
"""

import hashlib
import json
import sys

import pyotp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def codes(otp, times):
    if isinstance(otp, pyotp.HOTP):
        return [otp.at(0)]
    return [otp.at(time) for time in times]


def write(case):
    common = {"digits": case["digits"], "digest": DIGESTS[case["algorithm"]]}
    if case["kind"] == "totp":
        otp = pyotp.TOTP(case["secret"], interval=case["period"], **common)
    else:
        otp = pyotp.HOTP(case["secret"], initial_count=case["counter"], **common)
    uri = otp.provisioning_uri(name=case["account"], issuer_name=case["issuer"])
    return {"uri": uri, "codes": codes(otp, case["times"])}


def read(case):
    try:
        otp = pyotp.parse_uri(case["uri"])
    except Exception as error:  # pyotp raises ValueError and TypeError alike
        return {"error": f"{type(error).__name__}: {error}"}
    fields = {
        "kind": "hotp" if isinstance(otp, pyotp.HOTP) else "totp",
        "secret": otp.secret,
        "account": otp.name,
        "issuer": otp.issuer,
        "algorithm": otp.digest().name.upper(),
        "digits": otp.digits,
        "codes": codes(otp, case["times"]),
    }
    if isinstance(otp, pyotp.HOTP):
        fields["counter"] = otp.initial_count
    else:
        fields["period"] = otp.interval
    return fields


for line in sys.stdin:
    case = json.loads(line)
    print(json.dumps(write(case) if case["op"] == "write" else read(case)))
