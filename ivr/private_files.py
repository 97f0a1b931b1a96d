"""Files only the service's own user may read: 0600 files, 0700 folders, whatever the umask.

Everything under ``instance/`` (the SQLite database, Redis's append-only file and
snapshots, keys, the demo password), the recordings folder (voicemails and their
transcripts) and ``.env`` hold client details or secrets.  Three layers keep them
owner-only:

* ``restrict_umask``: the service's processes (and what they start: Redis, gunicorn,
  RQ's work horses) create files without group or other bits, even for libraries
  that create files their own way (SQLite, redis-server);
* ``private_dir`` / ``private_file`` / ``write_atomically``: our own files are created with
  explicit modes, not left to whatever umask the process was started with;
* ``tighten``: at start, files left readable by an older version (a 0644 database or
  append-only file) are made owner-only, with one log line that counts them.
"""
from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

OWNER_ONLY_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def restrict_umask() -> int:
    """Add group and other to the process's umask (files it creates get no bits for them); returns the old one."""
    old = os.umask(OWNER_ONLY_UMASK)
    os.umask(old | OWNER_ONLY_UMASK)
    return old


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` (and missing parents) 0700; make it 0700 if it exists and is ours to change.

    Only folders this call creates, and ``path`` itself, are changed: an existing parent
    (``/var/lib``, the project folder) is left as it is.
    """
    target = Path(path)
    missing: list[Path] = []
    for folder in (target, *target.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            pass
        os.chmod(folder, DIR_MODE)  # mkdir's mode is masked by the umask
    if target.is_dir():
        st = target.stat()
        # Ours only: a folder another user owns (root's /etc/quietline) is theirs to set; chmod would fail.
        if stat.S_IMODE(st.st_mode) != DIR_MODE and st.st_uid == os.geteuid():
            os.chmod(target, DIR_MODE)
    return target


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create an empty ``path`` 0600 if it does not exist (its folder 0700 if missing); make it 0600 if it does.

    For files another library fills (SQLite's database: its journal and WAL files
    take the database file's mode).
    """
    target = Path(path)
    if not target.parent.exists():
        private_dir(target.parent)
    existed = target.exists()
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
            if existed:
                log.warning("%s was readable by other users; now owner-only", target)
    finally:
        os.close(fd)
    return target


def tighten(root: str | os.PathLike[str]) -> int:
    """Make ``root`` (a file or a folder and everything under it) owner-only; returns how many entries changed.

    Folders become 0700 and files lose their group and other bits (0644 → 0600); symbolic
    links are not followed, sockets and the like are left alone.  Logs one line (a
    count and ``root``, never a file name) when anything changed.
    """
    top = Path(root)
    if not top.exists():
        return 0
    changed = 0
    entries = [top] if not top.is_dir() else [top] + [Path(d) / n for d, dirs, files in os.walk(top)
                                                      for n in dirs + files]
    for entry in entries:
        try:
            st = entry.lstat()
        except FileNotFoundError:
            continue
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISDIR(st.st_mode):
            wanted = DIR_MODE
        elif stat.S_ISREG(st.st_mode):
            wanted = mode & ~OWNER_ONLY_UMASK
        else:
            continue
        if mode != wanted:
            try:
                os.chmod(entry, wanted)
            except PermissionError:
                log.warning("%s: an entry owned by another user is not owner-only and could not be changed", top)
                continue
            changed += 1
    if changed:
        log.warning("%s: %d file(s) or folder(s) were readable by other users; now owner-only", top, changed)
    return changed


def write_atomically(path: str | os.PathLike[str], data: bytes, *, suffix: str = "") -> None:
    """Write ``data`` to ``path`` (an existing folder) through an owner-only (0600) temporary file beside it
    (``.<name>.<random><suffix>``), flushed, renamed into place, and the folder flushed so the rename survives a
    power cut. Nothing half-written is ever at ``path``; the temporary file is removed on any error."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
