"""Secrets given as files: ``<NAME>_FILE`` = the path of a file holding the value of setting ``NAME``.

The Docker and PostgreSQL convention: compose mounts each secret under ``/run/secrets``, systemd's
``LoadCredential=`` under ``$CREDENTIALS_DIRECTORY``, so a secret never sits in a process's environment
(``docker inspect``, ``/proc/<pid>/environ``, crash reports and child processes all show environments).

Read once, by ``ivr.config.load_settings``. Every refusal is a ConfigError naming the setting and the path,
never the value.
"""
from __future__ import annotations

import os
import stat
from collections.abc import Mapping

from ivr.exceptions import ConfigError

FILE_SUFFIX = "_FILE"

# The settings (environment names) that hold secrets and may therefore be given as NAME_FILE. The backup's public
# key is not secret; IVR_BACKUP_PRIVATE_KEY is never a setting of the service (`backup verify --key-file` reads it).
SECRET_NAMES = (
    "TWILIO_AUTH_TOKEN",
    "DATABASE_URL",
    "DATABASE_PASSWORD",
    "REDIS_URL",
    "REDIS_PASSWORD",
    "IVR_DATA_KEY",
    "IVR_RECORDINGS_KEY",
    "SECRET_KEY",
    "IVR_VIDEO_WEBHOOK_SECRET",
    "SMTP_PASSWORD",
)


class LooseSecretFile(ConfigError):
    """A secret file its group or other users may read (``flask doctor`` reports it under "permissions")."""


# A secret file may be read by its owner only: any group or other permission bit refuses it.
LOOSE_BITS = 0o077


def file_variable(name: str) -> str:
    """``TWILIO_AUTH_TOKEN`` → ``TWILIO_AUTH_TOKEN_FILE``."""
    return name + FILE_SUFFIX


def read_secret_file(name: str, path: str, credentials_dir: str | None = None) -> str:
    """The secret held in the file at ``path`` for setting ``name``.

    One trailing line ending (``\\n`` or ``\\r\\n``) is removed, as editors and ``echo`` add it, and a leading
    UTF-8 byte-order mark; the rest is the value. ConfigError when the file is missing or unreadable, is not a
    regular file, may be read by its group or others (any bit of 0o077), is empty, or holds more than one line.

    ``credentials_dir``: systemd's ``$CREDENTIALS_DIRECTORY``. A file in it may show group bits, since systemd
    may grant the service user read access through a POSIX ACL (whose mask stat reports as the group bits) on a
    root-owned 0400 copy in a folder private to the service; only bits for others are refused there.
    """
    where = f"{file_variable(name)} ({path})"
    if not path.strip():
        raise ConfigError(f"{file_variable(name)} is set but empty: give the path of the file holding {name}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY)
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such file") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be opened: {exc.strerror}") from None
    try:
        info = os.fstat(fd)  # the file opened, not whatever the path names a moment later
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{where} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        loose = LOOSE_BITS
        if credentials_dir and os.path.dirname(os.path.realpath(path)) == os.path.realpath(credentials_dir):
            loose = 0o007
        if mode & loose:
            raise LooseSecretFile(f"{where} is {mode:04o}: its group or other users may read it; make it 0400 or "
                                  f"0600 (chmod go= {path})")
        with os.fdopen(fd, "rb", closefd=False) as f:
            raw = f.read()
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        # utf-8-sig: a byte-order mark (Windows editors write one) is never part of a secret.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{where} is not UTF-8 text") from None
    text = text.removesuffix("\n").removesuffix("\r") if text.endswith("\n") else text
    if not text:
        raise ConfigError(f"{where} is empty: put the value of {name} in it")
    if "\n" in text or "\r" in text:
        raise ConfigError(f"{where} holds more than one line: put the value of {name} alone in it "
                          "(one trailing line ending is allowed)")
    return text


def resolve_secret_files(environ: Mapping[str, str]) -> dict[str, str]:
    """The secrets given as files in ``environ``: {NAME: value} for each NAME of SECRET_NAMES whose NAME_FILE is
    set (non-empty). ConfigError when NAME is set too (which one wins would be a guess) or a file is refused."""
    values: dict[str, str] = {}
    for name in SECRET_NAMES:
        path = environ.get(file_variable(name))
        if path is None or path == "":
            continue
        if environ.get(name):
            raise ConfigError(f"both {name} and {file_variable(name)} are set: keep only {file_variable(name)} "
                              f"(the file) and remove {name} from the environment")
        values[name] = read_secret_file(name, path, environ.get("CREDENTIALS_DIRECTORY"))
    return values


def secrets_in_environment(environ: Mapping[str, str]) -> list[str]:
    """The secret settings given directly (non-empty) in ``environ`` instead of as NAME_FILE, in SECRET_NAMES order."""
    return [name for name in SECRET_NAMES if environ.get(name)]


def secret_file_paths(environ: Mapping[str, str]) -> dict[str, str]:
    """{NAME_FILE: path} for every secret given as a file in ``environ``."""
    return {file_variable(n): environ[file_variable(n)] for n in SECRET_NAMES if environ.get(file_variable(n))}
