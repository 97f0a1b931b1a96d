"""Authenticated encryption of what Redis keeps about a call: AES-256-GCM with keys from IVR_DATA_KEY.

A call's Redis record (``ivr.telephony.call_store``) holds its state (the caller's number, a
verified client's first name, their next appointment…), the TwiML each turn was
answered with (cached to answer Twilio's retries identically) and its outbox
(texts' numbers and bodies).  Each of those values is sealed here before it is
written, so neither Redis's memory nor its append-only file or RDB snapshots hold
them in clear, and opened when read.

* **Algorithm**: AES-256-GCM (``cryptography``'s ``AESGCM``) with a random 96-bit
  nonce per value.  It costs about 2 µs per value (Fernet, AES-CBC + HMAC in Python,
  costs 40–55 µs), which matters because this runs on every webhook.  NIST SP 800-38D
  allows 2**32 random-nonce encryptions per key: at three values a webhook that is
  over a billion webhooks per key, and keys can be rotated.
* **Associated data**: the Redis key and field name (and, for the state, the turn
  stored beside it), so a value copied to another call, another field or another
  turn fails to open instead of being believed.
* **Keys and rotation**: IVR_DATA_KEY is a comma-separated list of keys, each 32
  random bytes in URL-safe base64 (``generate_key``).  The first seals, every one
  opens: to rotate, put the new key first, restart, and drop the old one once no call
  record sealed with it can remain (IVR_SESSION_TTL_SECONDS after the restart).
* **Format** of a sealed value: ``0x01 | key id (4 bytes) | nonce (12) | ciphertext
  and tag (16)``.  The key id (the first bytes of a SHA-256 of the key) picks the
  key, so a value sealed with a key that is no longer configured is reported as that,
  not as tampering.

Errors: ``ivr.exceptions.ConfigError`` for a key that is missing or malformed (the
message never shows a key), ``ivr.exceptions.CallRecordUnreadable`` for a value that
does not open.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ivr.exceptions import CallRecordUnreadable, ConfigError, RecordingUnreadable

VERSION = b"\x01"
KEY_BYTES = 32
NONCE_BYTES = 12
KEY_ID_BYTES = 4
_HEADER = len(VERSION) + KEY_ID_BYTES + NONCE_BYTES
_TAG_BYTES = 16
ENV_NAME = "IVR_DATA_KEY"
GENERATE_HINT = ("python3 -c 'import base64, secrets; "
                 "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'")


def generate_key() -> str:
    """A new data key: 32 random bytes, URL-safe base64 (44 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode()


def key_id(key: bytes) -> bytes:
    """The 4-byte id written in front of every value a key seals (not secret: a hash prefix)."""
    return hashlib.sha256(b"quietline data key id\x00" + key).digest()[:KEY_ID_BYTES]


def parse_keys(setting: str, env_name: str = ENV_NAME, protects: str = "call records in Redis") -> list[bytes]:
    """The raw keys of an IVR_DATA_KEY (or ``env_name``) value (comma-separated, first one seals).

    Raises ConfigError naming the position of a bad key, never its text.
    """
    parts = [p.strip() for p in (setting or "").split(",")]
    if not any(parts):
        raise ConfigError(f"{env_name} is not set: {protects} are encrypted with it. "
                          f"make run creates a development key in .env; for a server, generate one with\n  "
                          f"{GENERATE_HINT}\nand set it in the service's environment (never under instance/ or "
                          f"recordings/, nor in the backups of them).")
    keys: list[bytes] = []
    for position, part in enumerate(parts, 1):
        where = f"{env_name}: key {position} of {len(parts)}"
        if not part:
            raise ConfigError(f"{where} is empty (keys are separated by commas, the first one encrypts)")
        try:
            raw = base64.urlsafe_b64decode(part.encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raw = b""
        if len(raw) != KEY_BYTES:
            raise ConfigError(f"{where} is not 32 bytes in URL-safe base64 (44 characters); "
                              f"generate one with {GENERATE_HINT}")
        if raw in keys:
            raise ConfigError(f"{where} repeats an earlier key")
        keys.append(raw)
    return keys


class RecordCipher:
    """Seals and opens values with AES-256-GCM; the first key seals, every key opens."""

    def __init__(self, keys: Sequence[bytes]):
        if not keys:
            raise ConfigError(f"{ENV_NAME} holds no key")
        self._sealing_id = key_id(keys[0])
        self._sealing = AESGCM(keys[0])
        self._opening: dict[bytes, list[AESGCM]] = {}
        for key in keys:
            self._opening.setdefault(key_id(key), []).append(AESGCM(key))

    @classmethod
    def from_setting(cls, setting: str) -> RecordCipher:
        """From an IVR_DATA_KEY value; ConfigError when it is missing or malformed."""
        return cls(parse_keys(setting))

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """``plaintext`` encrypted and authenticated together with ``context`` (the associated data)."""
        nonce = os.urandom(NONCE_BYTES)
        return VERSION + self._sealing_id + nonce + self._sealing.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes, what: str = "a value") -> bytes:
        """The plaintext of a value ``seal`` made with the same ``context``.

        ``what`` names the value in the error (a CallSid and field; never its content).
        Raises CallRecordUnreadable when it was sealed with a key not configured, altered,
        moved from another call or field, or is not a sealed value at all (clear text).
        """
        if len(sealed) < _HEADER + _TAG_BYTES or sealed[:1] != VERSION:
            raise CallRecordUnreadable(f"{what} is not encrypted with a data key (written by an older version, "
                                       "or by something else): it is not used")
        kid = sealed[1:1 + KEY_ID_BYTES]
        ciphers = self._opening.get(kid)
        if not ciphers:
            raise CallRecordUnreadable(
                f"{what} was encrypted with a data key that is not in {ENV_NAME} (key id {kid.hex()}). "
                f"When rotating, keep the old key after the new one until calls from before the change have "
                f"expired (IVR_SESSION_TTL_SECONDS)")
        nonce, body = sealed[1 + KEY_ID_BYTES:_HEADER], sealed[_HEADER:]
        for cipher in ciphers:
            try:
                return cipher.decrypt(nonce, body, context)
            except InvalidTag:
                continue
        raise CallRecordUnreadable(f"{what} does not open: it was altered, or copied from another call or field")


# --------------------------------------------------------------------------- voicemails and transcripts

RECORDINGS_ENV_NAME = "IVR_RECORDINGS_KEY"
FILE_VERSION = b"\x02"
_FILE_AAD = b"quietline recording file\x00"


class FileCipher:
    """Seals and opens whole files (voicemails, transcripts) with AES-256-GCM and IVR_RECORDINGS_KEY.

    The first key seals, every key opens (rotation: ``ivr.escalations.recording_files.rotate``
    re-seals every file under the first key, then the others can be dropped). The file's name is
    the associated data, so a file renamed to another call's name does not open.
    Format: ``0x02 | key id (4 bytes) | nonce (12) | ciphertext and tag (16)``.
    """

    def __init__(self, keys: Sequence[bytes]):
        if not keys:
            raise ConfigError(f"{RECORDINGS_ENV_NAME} holds no key")
        self.sealing_id = key_id(keys[0])
        self._sealing = AESGCM(keys[0])
        self._opening: dict[bytes, list[AESGCM]] = {}
        for key in keys:
            self._opening.setdefault(key_id(key), []).append(AESGCM(key))

    @classmethod
    def from_setting(cls, setting: str) -> FileCipher:
        """From an IVR_RECORDINGS_KEY value; ConfigError when it is missing or malformed."""
        return cls(parse_keys(setting, RECORDINGS_ENV_NAME, "voicemails and their transcripts"))

    def seal(self, plaintext: bytes, name: str) -> bytes:
        """``plaintext`` encrypted under the first key, bound to the file ``name`` (no folder)."""
        nonce = os.urandom(NONCE_BYTES)
        return (FILE_VERSION + self.sealing_id + nonce
                + self._sealing.encrypt(nonce, plaintext, _FILE_AAD + name.encode()))

    @staticmethod
    def key_id_of(sealed: bytes) -> bytes | None:
        """The id of the key a sealed file was sealed with; None when it is not a sealed file."""
        if len(sealed) < _HEADER + _TAG_BYTES or sealed[:1] != FILE_VERSION:
            return None
        return sealed[1:1 + KEY_ID_BYTES]

    def refuses(self, head: bytes) -> bool:
        """Whether a sealed file starting with ``head`` (its first ``1 + KEY_ID_BYTES`` bytes or more) was sealed
        with a key none of ours has: no decryption, so a page can say so without opening the file."""
        return (len(head) >= 1 + KEY_ID_BYTES and head[:1] == FILE_VERSION
                and head[1:1 + KEY_ID_BYTES] not in self._opening)

    def open(self, sealed: bytes, name: str) -> bytes:
        """The plaintext of a file ``seal`` made for ``name``.

        Raises RecordingUnreadable (naming the file and the key id, never content) when it is not a
        sealed file, was sealed with a key not in IVR_RECORDINGS_KEY, or was altered or renamed.
        """
        kid = self.key_id_of(sealed)
        if kid is None:
            raise RecordingUnreadable(f"{name} is not an encrypted recording file")
        ciphers = self._opening.get(kid)
        if not ciphers:
            raise RecordingUnreadable(
                f"{name} was encrypted with a key that is not in {RECORDINGS_ENV_NAME} (key id {kid.hex()}): "
                f"put that key back after the new one and run `flask --app app recordings rotate-key`")
        nonce, body = sealed[1 + KEY_ID_BYTES:_HEADER], sealed[_HEADER:]
        for cipher in ciphers:
            try:
                return cipher.decrypt(nonce, body, _FILE_AAD + name.encode())
            except InvalidTag:
                continue
        raise RecordingUnreadable(f"{name} does not open: it was altered, or renamed from another recording")
