"""The backup archive's encryption: a public-key scheme, so the server holds only the half that encrypts.

``generate_backup_keypair()`` makes an X25519 pair. The public half (``IVR_BACKUP_PUBLIC_KEY``,
``quietline-backup-public-1-<base64url>``) stays on the machine and seals every archive; the private half
(``quietline-backup-secret-1-<base64url>``) is shown once by the installer and kept OFF the machine: only
``backup verify`` and ``backup restore`` need it (from a file, ``IVR_BACKUP_PRIVATE_KEY`` or standard input).
A stolen server or a copied archive alone opens nothing.

An encrypted archive (``.tar.gz.enc``) is::

    header   = MAGIC (8 bytes) | fingerprint of the recipient's public key (16) | ephemeral X25519 public key (32)
    chunks   = AES-256-GCM(plaintext[i*64 KiB : (i+1)*64 KiB]), each 16 bytes longer than its plaintext

The file key is HKDF-SHA256 over the X25519 shared secret (salt: ephemeral | recipient public keys), new for
every archive. Chunk ``i``'s nonce is ``i`` (11 bytes, big-endian) then 1 for the last chunk, 0 otherwise; the
header is every chunk's associated data. So an altered, reordered, dropped or appended chunk, a truncated file
(the last chunk must say it is last) and an altered header are each refused (``ArchiveTampered``), and a key
that is not the archive's is named as such before anything is decrypted (``WrongBackupKey``). This is the
"STREAM" construction of age and Tink's streaming AEAD; the primitives are pyca/cryptography's. Both ends
stream: memory does not grow with the archive.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ivr.exceptions import IvrError

MAGIC = b"QLBKENC1"
PUBLIC_PREFIX = "quietline-backup-public-1-"
SECRET_PREFIX = "quietline-backup-secret-1-"
PUBLIC_ENV_NAME = "IVR_BACKUP_PUBLIC_KEY"
PRIVATE_ENV_NAME = "IVR_BACKUP_PRIVATE_KEY"
CHUNK = 64 * 1024
TAG = 16
_FP_LEN = 16
HEADER_LEN = len(MAGIC) + _FP_LEN + 32
_INFO = b"quietline backup archive v1"


class BackupKeyError(IvrError):
    """A backup key that cannot be read (the message names the form expected, never the value)."""


class ArchiveTampered(IvrError):
    """The encrypted archive was altered or cut short: nothing it holds can be trusted."""


class WrongBackupKey(IvrError):
    """The private key given is not the one the archive was sealed for."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str, what: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != 32:
        raise BackupKeyError(f"{what} is not a Quietline backup key (32 bytes, base64url, after its prefix)")
    return raw


def fingerprint(public: bytes) -> bytes:
    """The 16 bytes naming a public key in an archive's header (a hash: the key itself is not needed there)."""
    return hashlib.sha256(b"quietline-backup-key" + public).digest()[:_FP_LEN]


def show_fingerprint(fp: bytes) -> str:
    """A fingerprint as people compare it: ``1a2b-3c4d-5e6f-7a8b``."""
    text = fp[:8].hex()
    return "-".join(text[i:i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class BackupPublicKey:
    """The half that seals archives (on the machine, in ``IVR_BACKUP_PUBLIC_KEY``)."""

    raw: bytes

    @classmethod
    def parse(cls, text: str) -> BackupPublicKey:
        """``quietline-backup-public-1-…``; BackupKeyError otherwise (also for a private key given by mistake)."""
        text = text.strip()
        if text.startswith(SECRET_PREFIX):
            raise BackupKeyError(f"{PUBLIC_ENV_NAME} holds a PRIVATE backup key: put only the public half on the "
                                 "machine, keep the private half elsewhere")
        if not text.startswith(PUBLIC_PREFIX):
            raise BackupKeyError(f"{PUBLIC_ENV_NAME} must start with {PUBLIC_PREFIX!r}")
        return cls(_unb64(text[len(PUBLIC_PREFIX):], PUBLIC_ENV_NAME))

    def text(self) -> str:
        return PUBLIC_PREFIX + _b64(self.raw)

    @property
    def fingerprint(self) -> str:
        return show_fingerprint(fingerprint(self.raw))


@dataclass(frozen=True)
class BackupPrivateKey:
    """The half that opens archives (kept off the machine). Never in repr."""

    raw: bytes = field(repr=False)

    @classmethod
    def parse(cls, text: str, where: str = "the backup key") -> BackupPrivateKey:
        """``quietline-backup-secret-1-…`` (surrounding blank lines and spaces ignored); BackupKeyError otherwise."""
        text = text.strip()
        if text.startswith(PUBLIC_PREFIX):
            raise BackupKeyError(f"{where} is the PUBLIC backup key: restore needs the private half "
                                 f"({SECRET_PREFIX}…), the one kept off the machine")
        if not text.startswith(SECRET_PREFIX):
            raise BackupKeyError(f"{where} is not a Quietline backup private key (it starts with {SECRET_PREFIX!r})")
        return cls(_unb64(text[len(SECRET_PREFIX):], where))

    def text(self) -> str:
        return SECRET_PREFIX + _b64(self.raw)

    def public(self) -> BackupPublicKey:
        key = X25519PrivateKey.from_private_bytes(self.raw).public_key()
        return BackupPublicKey(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def file_key(self, header: Header) -> bytes:
        mine = self.public()
        if not hmac.compare_digest(fingerprint(mine.raw), header.fingerprint):
            raise WrongBackupKey(f"this archive was sealed for the backup key {show_fingerprint(header.fingerprint)}; "
                                 f"the private key given is {mine.fingerprint}'s")
        shared = X25519PrivateKey.from_private_bytes(self.raw).exchange(
            X25519PublicKey.from_public_bytes(header.ephemeral))
        return _derive(shared, header.ephemeral, mine.raw)


def generate_backup_keypair() -> tuple[BackupPublicKey, BackupPrivateKey]:
    """A new pair: (public half for the machine, private half for the operator to keep elsewhere)."""
    secret = X25519PrivateKey.generate()
    private = BackupPrivateKey(secret.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                    serialization.NoEncryption()))
    return private.public(), private


def _derive(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    if shared == bytes(32):  # a low-order point: refuse rather than derive a known key
        raise ArchiveTampered("the archive's header holds an invalid ephemeral key")
    return HKDF(SHA256(), 32, salt=ephemeral + recipient, info=_INFO).derive(shared)


@dataclass(frozen=True)
class Header:
    fingerprint: bytes
    ephemeral: bytes

    def bytes(self) -> bytes:
        return MAGIC + self.fingerprint + self.ephemeral

    @classmethod
    def read(cls, source: BinaryIO) -> Header:
        raw = _read_exactly(source, HEADER_LEN)
        if len(raw) < HEADER_LEN or not raw.startswith(MAGIC):
            raise ArchiveTampered("not an encrypted Quietline backup (its header is missing or cut short)")
        return cls(raw[len(MAGIC):len(MAGIC) + _FP_LEN], raw[len(MAGIC) + _FP_LEN:])


class Opener(Protocol):
    """Something that gives an archive's file key from its header: a private key, or the key kept by
    ``seal`` (``backup create --verify`` checks the archive it just wrote without the private half)."""

    def file_key(self, header: Header) -> bytes: ...


@dataclass(frozen=True)
class SealedKey:
    """The file key of one archive, known to the process that wrote it (kept in memory only)."""

    header: Header
    key: bytes = field(repr=False)

    def file_key(self, header: Header) -> bytes:
        if header != self.header:
            raise WrongBackupKey("this is not the archive just written")
        return self.key


def is_encrypted(path: os.PathLike[str] | str) -> bool:
    """Whether the file starts like an encrypted archive."""
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts, left = [], size
    while left:
        part = source.read(left)
        if not part:
            break
        parts.append(part)
        left -= len(part)
    return b"".join(parts)


class SealingWriter(io.RawIOBase):
    """A write-only stream: what is written goes to ``sink`` encrypted for ``recipient``; ``close()`` writes the
    last chunk (it does not close ``sink``). ``sealed_key`` opens what was written (see SealedKey)."""

    def __init__(self, sink: BinaryIO, recipient: BackupPublicKey):
        super().__init__()
        ephemeral = X25519PrivateKey.generate()
        eph_pub = ephemeral.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.header = Header(fingerprint(recipient.raw), eph_pub)
        key = _derive(ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.raw)), eph_pub, recipient.raw)
        self.sealed_key = SealedKey(self.header, key)
        self._aead, self._aad = AESGCM(key), self.header.bytes()
        self._sink, self._buffer, self._counter = sink, bytearray(), 0
        sink.write(self._aad)

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._buffer += data
        # Keep at least one byte back: the last chunk must be written by close(), flagged as last.
        while len(self._buffer) > CHUNK:
            self._emit(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _emit(self, plain: bytes, last: bool) -> None:
        self._sink.write(self._aead.encrypt(_nonce(self._counter, last), plain, self._aad))
        self._counter += 1

    def close(self) -> None:
        if not self.closed:
            self._emit(bytes(self._buffer), last=True)
            self._buffer.clear()
        super().close()


class OpeningReader(io.RawIOBase):
    """A read-only stream of the plaintext of an encrypted archive read from ``source``; every chunk is
    authenticated before any of its bytes are returned. Raises ArchiveTampered, WrongBackupKey."""

    def __init__(self, source: BinaryIO, opener: Opener):
        super().__init__()
        self.header = Header.read(source)
        self._aead, self._aad = AESGCM(opener.file_key(self.header)), self.header.bytes()
        self._source, self._counter = source, 0
        self._pending = _read_exactly(source, CHUNK + TAG)
        self._plain, self._done = b"", False
        if not self._pending:
            raise ArchiveTampered("the encrypted archive has a header and no data (cut short)")

    def readable(self) -> bool:
        return True

    def _next(self) -> None:
        current = self._pending
        self._pending = _read_exactly(self._source, CHUNK + TAG)
        last = not self._pending
        try:
            self._plain = self._aead.decrypt(_nonce(self._counter, last), current, self._aad)
        except InvalidTag:
            raise ArchiveTampered(f"the encrypted archive was altered or cut short (chunk {self._counter} fails "
                                  "its authentication): refused") from None
        self._counter += 1
        self._done = last

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._plain and not self._done:
            self._next()
        size = min(len(buffer), len(self._plain))
        buffer[:size] = self._plain[:size]
        self._plain = self._plain[size:]
        return size

    def drain(self) -> None:
        """Read (and authenticate) to the end: a reader that stopped early has not seen a truncation."""
        while not self._done:
            self._next()
        self._plain = b""


def private_key_notice(private: BackupPrivateKey) -> str:
    """What the installer (or ``backup new-key``) shows ONCE, on the terminal only, never in a log: the private
    half and what to do with it."""
    return (f"BACKUP PRIVATE KEY (fingerprint {private.public().fingerprint}), shown this once:\n\n"
            f"    {private.text()}\n\n"
            "Store it OFF this machine now (a password manager, a printed copy in a safe). This machine keeps only the "
            "public half: it can make backups but not read them. Without the private key no backup can be restored; "
            "with it, anyone holding an archive can read it. Restore drill: docs/ops-backup.md.")


def load_private_key(key_file: str | None, environ: dict[str, str] | os._Environ[str],
                     stdin: BinaryIO | None = None) -> BackupPrivateKey | None:
    """The private key from ``key_file`` (a path, or ``-`` for ``stdin``), else ``IVR_BACKUP_PRIVATE_KEY``; None
    when neither is given. BackupKeyError when what is given is not a private backup key or cannot be read."""
    if key_file == "-":
        if stdin is None:
            raise BackupKeyError("no standard input to read the backup key from")
        return BackupPrivateKey.parse(stdin.read().decode("utf-8", "replace"), "standard input")
    if key_file:
        try:
            text = open(key_file, encoding="utf-8", errors="replace").read()
        except OSError as exc:
            raise BackupKeyError(f"cannot read the backup key file {key_file}: {exc.strerror}") from None
        return BackupPrivateKey.parse(text, key_file)
    if environ.get(PRIVATE_ENV_NAME):
        return BackupPrivateKey.parse(environ[PRIVATE_ENV_NAME], PRIVATE_ENV_NAME)
    return None
