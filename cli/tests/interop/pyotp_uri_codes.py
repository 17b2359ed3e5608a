"""Reads {"uri": ..., "at": [...]} from stdin and prints, as a JSON list, the
codes pyotp's parse_uri gives for each `at` (a Unix time for TOTP, an offset
from the URI's counter for HOTP, as pyotp's `at` takes them)."""

import json
import sys

import pyotp

request = json.load(sys.stdin)
otp = pyotp.parse_uri(request["uri"])
print(json.dumps([otp.at(t) for t in request["at"]]))
