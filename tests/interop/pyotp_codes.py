"""Reads cases from stdin, one per line, and prints pyotp's code for each.

    totp <key hex> <SHA1|SHA256|SHA512> <digits> <period> <unix time>
    hotp <key hex> <SHA1|SHA256|SHA512> <digits> <counter>
"""

import base64
import datetime
import hashlib
import sys

import pyotp

DIGESTS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}


def raw_key(self):
    """pyotp's own base32 decoding, without its 112-bit minimum (pyotp 2.10 and
    later refuse shorter keys). The cases include 80-bit legacy keys, which are
    valid HMAC keys; everything else stays pyotp's."""
    secret = self.secret + "=" * (-len(self.secret) % 8)
    return base64.b32decode(secret, casefold=True)


class TOTP(pyotp.TOTP):
    byte_secret = raw_key


class HOTP(pyotp.HOTP):
    byte_secret = raw_key


for line in sys.stdin:
    kind, key, algorithm, digits, *rest = line.split()
    secret = base64.b32encode(bytes.fromhex(key)).decode()
    digest = DIGESTS[algorithm]
    if kind == "totp":
        period, time = int(rest[0]), int(rest[1])
        totp = TOTP(secret, digits=int(digits), digest=digest, interval=period)
        # A timezone-aware time makes pyotp use calendar.timegm, not the local zone.
        at = datetime.datetime.fromtimestamp(time, tz=datetime.timezone.utc)
        print(totp.at(at))
    else:
        print(HOTP(secret, digits=int(digits), digest=digest).at(int(rest[0])))
