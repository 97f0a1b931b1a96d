"""Download and install a vosk model zip, safely and all-or-nothing.

The zip is streamed to a hidden temporary file in the destination folder, checked (size,
optional SHA-256, that it is a zip, that no member escapes the folder, that it holds a
vosk model), unpacked into a hidden staging folder beside the destination and only then
renamed into place.  A rename within one folder is atomic, so an interrupted or failed
download never leaves a half-installed model where `ivr.speech.recognizer.find_model` looks.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import stat
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from ivr.exceptions import ModelDownloadError
from ivr.private_files import private_dir
from ivr.speech.recognizer import DEFAULT_MODEL_NAME, MODELS_DIR

DEFAULT_MODEL_URL = f"https://alphacephei.com/vosk/models/{DEFAULT_MODEL_NAME}.zip"
# Size and digest of the published vosk-model-small-en-us-0.15.zip (the archive has not
# changed since its release; several independent projects pin these same values).
DEFAULT_MODEL_SIZE = 41_205_931
DEFAULT_MODEL_SHA256 = "30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498"

# Limits (each configurable per call, and by ``speech download-model --max-download-mb/--max-unpacked-mb``): a
# download or an archive past them would otherwise fill the disk the practice's recordings live on. The largest
# published vosk models are about 2.3 GB zipped and under 4 GB unpacked.
MAX_DOWNLOAD_BYTES = 2560 * 1024**2
MAX_UNPACKED_BYTES = 5 * 1024**3
# A zip bomb packs huge runs of nothing into little: a member of more than ``_RATIO_FLOOR`` bytes that unpacks
# to more than this many times its packed size is refused (a vosk model's files pack 1.1-5 times).
MAX_RATIO = 100
_RATIO_FLOOR = 1024**2

_READ_SIZE = 1 << 16
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

Progress = Callable[[int, int | None], None]
"""Called as progress(bytes_received, total_bytes_or_None) after each chunk."""


def download_default_model(
    dest_dir: str | os.PathLike[str] | None = None, *, progress: Progress | None = None, timeout: float = 60
) -> Path:
    """Download the small English model into instance/models (or dest_dir), checking its published SHA-256."""
    return download_model(
        DEFAULT_MODEL_URL,
        MODELS_DIR if dest_dir is None else dest_dir,
        sha256=DEFAULT_MODEL_SHA256,
        progress=progress,
        timeout=timeout,
    )


def download_model(
    url: str,
    dest_dir: str | os.PathLike[str],
    *,
    sha256: str | None = None,
    progress: Progress | None = None,
    timeout: float = 60,
    max_download_bytes: int = MAX_DOWNLOAD_BYTES,
    max_unpacked_bytes: int | None = None,
) -> Path:
    """Download a vosk model zip from url and install it as dest_dir/<model-name>; returns that path.

    `timeout` bounds each network wait (connect, each read), not the whole download.
    An existing model of the same name is replaced only once the new one is complete.
    `max_download_bytes`: a larger download is stopped (as soon as its Content-Length, or the bytes received,
    say so); `max_unpacked_bytes` (default ``MAX_UNPACKED_BYTES``): see `install_model_zip`.
    Raises ModelDownloadError, saying which limit and how to raise it.
    """
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ModelDownloadError(f"refusing to download from {url!r}: only http and https URLs are supported")
    dest = Path(dest_dir)
    try:
        private_dir(dest)  # owner-only, as docs/speech.md says (was 0755 under the umask)
        fd, tmp_name = tempfile.mkstemp(prefix=".download-", suffix=".zip.part", dir=dest)
    except OSError as exc:
        raise ModelDownloadError(f"cannot write to {dest}: {exc.strerror or exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest = _fetch(url, out, progress=progress, timeout=timeout, limit=max_download_bytes)
        if sha256 is not None and digest != sha256.strip().lower():
            raise ModelDownloadError(
                f"checksum mismatch for {url}: expected SHA-256 {sha256.strip().lower()}, got {digest}"
            )
        return install_model_zip(tmp, dest, name=None, name_hint=_name_from_url(url),
                                 max_unpacked_bytes=max_unpacked_bytes, source=url)
    finally:
        tmp.unlink(missing_ok=True)


def install_model_zip(
    zip_path: str | os.PathLike[str],
    dest_dir: str | os.PathLike[str],
    *,
    name: str | None = None,
    name_hint: str | None = None,
    max_unpacked_bytes: int | None = None,
    source: str | None = None,
) -> Path:
    """Unpack a vosk model zip already on disk into dest_dir/<name> (all or nothing); returns that path.

    Without `name`, the model keeps the name of its folder inside the zip, or `name_hint`
    (else the zip's file name) when the zip holds the model files at its top level.
    Refused (ModelDownloadError, nothing installed): a member that would land outside the folder (``..``, an
    absolute path, a symlink), more than `max_unpacked_bytes` (default ``MAX_UNPACKED_BYTES``) in all, whether
    the archive says so or only its unpacking shows it, and a member packed more than ``MAX_RATIO`` to 1.
    """
    limit = MAX_UNPACKED_BYTES if max_unpacked_bytes is None else max_unpacked_bytes
    zip_path = Path(zip_path)
    label = source or zip_path.name  # ``source``: what messages call the archive (the URL, not a temporary file)
    dest = Path(dest_dir)
    try:
        private_dir(dest)  # owner-only, as docs/speech.md says (was 0755 under the umask)
    except OSError as exc:
        raise ModelDownloadError(f"cannot write to {dest}: {exc.strerror or exc}") from exc
    if name is not None and not _SAFE_NAME.match(name):
        raise ModelDownloadError(f"invalid model name {name!r}")
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelDownloadError(f"{label} is not a zip archive ({exc})") from exc
    with archive:
        members = archive.infolist()
        for info in members:
            _check_member(info)
        unpacked = sum(info.file_size for info in members)
        if unpacked > limit:
            raise ModelDownloadError(
                f"{label} would unpack to {_mb(unpacked)}, more than the {_mb(limit)} limit "
                f"(a zip bomb, or a model larger than expected: raise it with --max-unpacked-mb)"
            )
        for info in members:
            if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise ModelDownloadError(
                    f"{label} would unpack {info.filename!r} from {_mb(info.compress_size)} to "
                    f"{_mb(info.file_size)}: packed far tighter than any model file (a zip bomb); refused"
                )
        try:
            staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        except OSError as exc:
            raise ModelDownloadError(f"cannot unpack into {dest}: {exc.strerror or exc}") from exc
        try:
            try:
                _extract(archive, members, staging, limit, label)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise ModelDownloadError(f"{label} is corrupt ({exc})") from exc
            except OSError as exc:
                raise ModelDownloadError(f"cannot unpack into {dest}: {exc.strerror or exc}") from exc
            root = _find_model_root(staging)
            if root is None:
                raise ModelDownloadError(
                    f"{label} does not contain a vosk model (expected am/final.mdl or final.mdl next to a "
                    f"conf/ folder)"
                )
            if name is None:
                name = root.name if root != staging else _safe_name(name_hint) or _safe_name(zip_path.stem)
            if not name:
                name = "vosk-model"
            target = dest / name
            try:
                _move_into_place(root, target)
            except OSError as exc:
                raise ModelDownloadError(f"cannot install the model as {target}: {exc.strerror or exc}") from exc
            return target
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _mb(count: int) -> str:
    return f"{count / 1024**2:.1f} MB"


def _extract(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], staging: Path, limit: int,
             label: str) -> None:
    """Unpack ``members`` into ``staging`` (each checked by ``_check_member``), counting the bytes actually written:
    an archive whose headers understate what it unpacks to is stopped at ``limit``, not trusted."""
    written = 0
    # Owner-only, as everything under instance/ (docs/security.md): folders 0700, files 0600, whatever the zip's
    # own modes or the process's umask say.
    for info in members:
        target = staging.joinpath(*PurePosixPath(info.filename).parts)
        if info.is_dir():
            _private_dirs(staging, target)
            continue
        _private_dirs(staging, target.parent)
        with archive.open(info) as src, open(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
                                             "wb") as dst:
            while chunk := src.read(_READ_SIZE):
                written += len(chunk)
                if written > limit:
                    raise ModelDownloadError(
                        f"{label} unpacks to more than the {_mb(limit)} limit (more than its own listing says: "
                        f"a zip bomb); refused")
                dst.write(chunk)


def _private_dirs(top: Path, folder: Path) -> None:
    """``folder`` and every missing folder between ``top`` and it, made 0700."""
    missing = []
    while folder != top and not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for made in reversed(missing):
        made.mkdir(mode=0o700)
        made.chmod(0o700)  # mkdir's mode is masked by the umask


def _fetch(url: str, out: BinaryIO, *, progress: Progress | None, timeout: float,
           limit: int = MAX_DOWNLOAD_BYTES) -> str:
    """Stream url into out, at most ``limit`` bytes; return the SHA-256 hex digest of what was received."""
    too_big = (f"download of {url} refused: larger than the {_mb(limit)} limit (a vosk model is at most about "
               f"2.3 GB; raise the limit with --max-download-mb if this one really is larger)")
    request = urllib.request.Request(url, headers={"User-Agent": "quietline-model-download"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ModelDownloadError(f"download failed: {url} answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ModelDownloadError(f"download failed: could not reach {url} ({exc.reason})") from exc
    except (OSError, http.client.HTTPException) as exc:  # timeouts, resets before any response
        raise ModelDownloadError(f"download failed: could not reach {url} ({exc})") from exc

    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise ModelDownloadError(too_big)
        digest = hashlib.sha256()
        received = 0
        while True:
            try:
                chunk = response.read(_READ_SIZE)
            except (OSError, http.client.HTTPException) as exc:
                raise ModelDownloadError(
                    f"download of {url} interrupted after {received} bytes ({exc or type(exc).__name__})"
                ) from exc
            if not chunk:
                break
            try:
                out.write(chunk)
            except OSError as exc:
                raise ModelDownloadError(f"cannot save the download: {exc.strerror or exc}") from exc
            digest.update(chunk)
            received += len(chunk)
            if received > limit:
                raise ModelDownloadError(too_big)
            if progress is not None:
                progress(received, total)
    # http.client returns a short body without complaint when the server hangs up early,
    # so the length check has to be ours.
    if total is not None and received != total:
        raise ModelDownloadError(f"download of {url} incomplete: received {received} of {total} bytes")
    return digest.hexdigest()


def _check_member(info: zipfile.ZipInfo) -> None:
    """Reject any member that could land outside the folder it is unpacked into."""
    name = info.filename
    path = PurePosixPath(name)
    unsafe = (
        not name
        or "\\" in name  # a Windows separator would smuggle '..' past PurePosixPath
        or "\x00" in name
        or path.is_absolute()
        or ".." in path.parts
        or re.match(r"^[A-Za-z]:", name) is not None  # drive-qualified path
        or stat.S_ISLNK(info.external_attr >> 16)  # a symlink could point anywhere
    )
    if unsafe:
        raise ModelDownloadError(f"refusing to unpack unsafe archive member {name!r}")


def _find_model_root(staging: Path) -> Path | None:
    """The shallowest folder holding final.mdl (directly or in am/) next to a conf/ folder."""
    for mdl in sorted(staging.rglob("final.mdl"), key=lambda p: len(p.parts)):
        if not mdl.is_file():
            continue
        root = mdl.parent.parent if mdl.parent.name == "am" else mdl.parent
        if (root / "conf").is_dir():
            return root
    return None


def _move_into_place(new: Path, target: Path) -> None:
    if not target.exists() and not target.is_symlink():
        os.rename(new, target)
        return
    # Two renames leave a moment with no model, but never a mixed or half-written one,
    # and the old model comes back if the second rename fails.
    old = target.with_name(f".old-{target.name}-{uuid.uuid4().hex[:8]}")
    os.rename(target, old)
    try:
        os.rename(new, target)
    except OSError:
        os.rename(old, target)
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink(missing_ok=True)


def _name_from_url(url: str) -> str | None:
    base = PurePosixPath(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return _safe_name(base[:-4] if base.lower().endswith(".zip") else base)


def _safe_name(candidate: str | None) -> str | None:
    return candidate if candidate and _SAFE_NAME.match(candidate) else None
