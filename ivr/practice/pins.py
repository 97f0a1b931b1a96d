"""Client PINs, stored only as salted, memory-hard hashes.

scrypt (n=2**14, r=8) takes ~50 ms and 16 MiB, fine once per call.  A 4–8 digit
PIN has too few values for any hash to hide it from someone holding the
database: the lock after repeated failures is the real protection; the hash
keeps PINs out of plain sight (backups, exports, support screens).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def hash_pin(pin: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for a PIN; a fresh salt each time."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    return "$".join(["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)])


def check_pin(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` matches a ``hash_pin`` value; False for a missing or malformed hash."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(pin.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected), maxmem=64 * 1024 * 1024)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
