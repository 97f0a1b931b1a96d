"""Where a call's voicemail and its transcript are kept, encrypted: written by the recording jobs, played by the
dashboard.

Both are sealed files (``ivr.encryption.FileCipher``: AES-256-GCM under IVR_RECORDINGS_KEY, the file's
name as associated data) in the recordings folder, owner-only:

* ``<CallSid>-<RecordingSid>.wav.sealed``: the WAV exactly as Twilio gave it;
* ``<CallSid>-<RecordingSid>.transcript.sealed``: JSON ``{"text", "confidence", "words": [[word, conf], …]}``.

Without the key they are noise: no RIFF header, no word of the transcript. Older versions
left plain ``.wav`` and ``.txt`` files: they are still read (the dashboard plays them) until ``rotate`` seals
them. Every write goes to an owner-only
temporary file in the same folder, is flushed to disk and renamed into place, so a file is either the old
one or the new one, never half of either (which is what makes ``rotate`` safe to interrupt).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ivr.encryption import FileCipher
from ivr.exceptions import RecordingUnreadable
from ivr.private_files import private_dir, write_atomically

log = logging.getLogger(__name__)

# Twilio SIDs are two letters and 32 hex digits; anything else must never become part of a path.
_SID = re.compile(r"[A-Za-z]{2}[0-9A-Za-z]{1,62}")
AUDIO_SUFFIX = ".wav.sealed"
TRANSCRIPT_SUFFIX = ".transcript.sealed"
_LEGACY_AUDIO, _LEGACY_TEXT = ".wav", ".txt"
_NAME = re.compile(r"(?P<stem>[A-Za-z]{2}[0-9A-Za-z]{1,62}-[A-Za-z]{2}[0-9A-Za-z]{1,62})"
                   r"(?P<suffix>\.wav\.sealed|\.transcript\.sealed|\.wav|\.txt)")
# A word vosk gave less confidence than this is marked on the dashboard as possibly misheard.
UNSURE_BELOW = 0.6
# A temporary file this old is what a killed writer left (a live write takes well under a second).
_STALE_PART_SECONDS = 3600


def _stem(call_sid: str, recording_sid: str) -> str:
    for sid in (call_sid, recording_sid):
        if not _SID.fullmatch(sid or ""):
            raise ValueError("not a Twilio SID")
    return f"{call_sid}-{recording_sid}"


def recording_path(recordings_dir: str | Path, call_sid: str, recording_sid: str) -> Path:
    """The sealed WAV file of one recording of one call (ValueError for a malformed SID)."""
    return Path(recordings_dir) / (_stem(call_sid, recording_sid) + AUDIO_SUFFIX)


def transcript_path(audio: Path) -> Path:
    """The sealed transcript beside a recording's sealed audio."""
    return audio.with_name(audio.name.removesuffix(AUDIO_SUFFIX) + TRANSCRIPT_SUFFIX)


@dataclass(frozen=True)
class StoredTranscript:
    """A transcript as kept: the text, vosk's mean confidence and each word with its confidence (0..1)."""

    text: str
    confidence: float
    words: tuple[tuple[str, float], ...]

    def __repr__(self) -> str:  # a client's words: never in a traceback or a log line
        return f"StoredTranscript(<{len(self.words)} words>, confidence={self.confidence:.2f})"

    def marked(self, below: float = UNSURE_BELOW) -> list[tuple[str, bool]]:
        """(word, unsure) in order: unsure when vosk's confidence was below ``below``."""
        if not self.words:
            return [(w, False) for w in self.text.split()]
        return [(w, conf < below) for w, conf in self.words]

    def to_bytes(self) -> bytes:
        return json.dumps({"text": self.text, "confidence": round(self.confidence, 4),
                           "words": [[w, round(c, 4)] for w, c in self.words]}, ensure_ascii=False).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> StoredTranscript:
        raw = json.loads(data)
        return cls(str(raw["text"]), float(raw.get("confidence", 0.0)),
                   tuple((str(w), float(c)) for w, c in raw.get("words", ())))


def write_private_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` in an owner-only folder, atomically; the temporary file ends
    ``.pid<writer's pid>.part``, so one a killed writer left is known as such at once (``remove_stale_parts``)."""
    private_dir(path.parent)
    write_atomically(path, data, suffix=f".pid{os.getpid()}.part")


# The writer's process id in a temporary file's name (``write_private_atomically``).
_PART_PID = re.compile(r"\.pid(?P<pid>[0-9]+)\.part$")


def _writer_gone(name: str) -> bool:
    """Whether the process that wrote the temporary file ``name`` is no longer running (False when unknown: a
    file of an older version, or a process id in use, perhaps by another process since)."""
    found = _PART_PID.search(name)
    if found is None:
        return False
    pid = int(found["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: alive
        return False
    return False


@dataclass(frozen=True)
class RecordingFiles:
    """The recordings folder and the cipher its files are sealed with."""

    directory: Path
    cipher: FileCipher

    @classmethod
    def from_settings(cls, recordings_dir: str | Path, recordings_key: str) -> RecordingFiles:
        return cls(Path(recordings_dir), FileCipher.from_setting(recordings_key))

    def audio_path(self, call_sid: str, recording_sid: str) -> Path:
        return recording_path(self.directory, call_sid, recording_sid)

    def transcript_path(self, call_sid: str, recording_sid: str) -> Path:
        return transcript_path(self.audio_path(call_sid, recording_sid))

    def has_audio(self, call_sid: str, recording_sid: str) -> bool:
        return self.audio_path(call_sid, recording_sid).is_file() or self._legacy(call_sid, recording_sid,
                                                                                  _LEGACY_AUDIO).is_file()

    def _legacy(self, call_sid: str, recording_sid: str, suffix: str) -> Path:
        return self.directory / (_stem(call_sid, recording_sid) + suffix)

    def write_audio(self, call_sid: str, recording_sid: str, wav: bytes) -> Path:
        """Seal and store a recording's WAV; returns its path."""
        path = self.audio_path(call_sid, recording_sid)
        write_private_atomically(path, self.cipher.seal(wav, path.name))
        return path

    def read_audio(self, call_sid: str, recording_sid: str) -> bytes:
        """The WAV bytes; FileNotFoundError when absent, RecordingUnreadable when the key does not open it."""
        path = self.audio_path(call_sid, recording_sid)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            # An older version's plain file, until ``rotate`` seals it: it must still play.
            return self._legacy(call_sid, recording_sid, _LEGACY_AUDIO).read_bytes()
        return self.cipher.open(sealed, path.name)

    def key_refuses_audio(self, call_sid: str, recording_sid: str) -> bool:
        """Whether our sealed copy was sealed with a key this server lacks (IVR_RECORDINGS_KEY), read from its
        header alone (nothing is decrypted); False when there is no sealed copy."""
        try:
            with self.audio_path(call_sid, recording_sid).open("rb") as sealed:
                return self.cipher.refuses(sealed.read(8))
        except FileNotFoundError:
            return False

    def write_transcript(self, call_sid: str, recording_sid: str, transcript: StoredTranscript) -> Path:
        path = self.transcript_path(call_sid, recording_sid)
        write_private_atomically(path, self.cipher.seal(transcript.to_bytes(), path.name))
        return path

    def read_transcript(self, call_sid: str, recording_sid: str) -> StoredTranscript | None:
        """The transcript, or None when there is none (no model, not transcribed yet)."""
        path = self.transcript_path(call_sid, recording_sid)
        try:
            sealed = path.read_bytes()
        except FileNotFoundError:
            legacy = self._legacy(call_sid, recording_sid, _LEGACY_TEXT)
            if legacy.is_file():
                return StoredTranscript(legacy.read_text(encoding="utf-8", errors="replace").strip(), 0.0, ())
            return None
        return StoredTranscript.from_bytes(self.cipher.open(sealed, path.name))

    def delete_transcript(self, call_sid: str, recording_sid: str) -> None:
        """Remove a recording's transcript (sealed), if any: it was made from a copy replaced since."""
        self.transcript_path(call_sid, recording_sid).unlink(missing_ok=True)

    def delete(self, call_sid: str, recording_sid: str) -> int:
        """Remove a recording's audio and transcript (sealed, and any plain file an older version left);
        returns how many files were removed. Under the folder's lock: a rotation never writes them back."""
        stem = _stem(call_sid, recording_sid)
        removed = 0
        if not self.directory.is_dir():
            return 0
        with self.locked():
            for suffix in (AUDIO_SUFFIX, TRANSCRIPT_SUFFIX, _LEGACY_AUDIO, _LEGACY_TEXT):
                try:
                    (self.directory / (stem + suffix)).unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
        return removed

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the recordings folder's exclusive lock (``flock`` on the folder itself, any process on this machine).

        A rotation holds it from reading a file to replacing it, a purge while deleting: without it a rotation
        that read a file just before the purge deleted it would write it back (a purged voicemail returns).
        """
        private_dir(self.directory)
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    # ----------------------------------------------------------------------- key rotation

    def rotate(self, *, limit: int | None = None,
               progress: Callable[[Path], None] | None = None) -> RotationReport:
        """Re-seal every file not sealed with the first key (and seal plain files older versions left).

        Each file is replaced atomically, one at a time, so stopping at any moment (Ctrl-C, a crash, a
        kill, ``limit`` files done) leaves every file readable with the keys configured; running it again
        goes on where it stopped (files already under the first key are skipped). ``progress`` is called
        after each file changed. A file no configured key opens is left as it is and counted.
        """
        report = RotationReport()
        if not self.directory.is_dir():
            return report
        report.leftovers = self.remove_stale_parts(time.time())
        for path in self._files():
            if limit is not None and report.changed >= limit:
                report.stopped_early = True
                break
            try:
                with self.locked():  # read and replace as one step against a purge (``delete``)
                    changed = self._rotate_one(path, report)
            except RecordingUnreadable as exc:
                log.error("%s", exc)
                report.unreadable += 1
                continue
            except FileNotFoundError:
                continue  # purged meanwhile
            if changed and progress is not None:
                progress(path)
        return report

    def _files(self) -> Iterator[Path]:
        for path in sorted(self.directory.iterdir()):
            if _NAME.fullmatch(path.name) and path.is_file():
                yield path

    def _rotate_one(self, path: Path, report: RotationReport) -> bool:
        match = _NAME.fullmatch(path.name)
        assert match is not None
        stem, suffix = match["stem"], match["suffix"]
        if suffix in (_LEGACY_AUDIO, _LEGACY_TEXT):
            return self._seal_legacy(path, stem, suffix, report)
        sealed = path.read_bytes()  # FileNotFoundError when purged before the lock was ours: skipped
        if self.cipher.key_id_of(sealed) == self.cipher.sealing_id:
            self.cipher.open(sealed, path.name)  # sealed with the first key: only check that it opens
            report.current += 1
            return False
        plain = self.cipher.open(sealed, path.name)
        write_private_atomically(path, self.cipher.seal(plain, path.name))
        report.resealed += 1
        return True

    def _seal_legacy(self, path: Path, stem: str, suffix: str, report: RotationReport) -> bool:
        plain = path.read_bytes()
        if suffix == _LEGACY_TEXT:
            target = self.directory / (stem + TRANSCRIPT_SUFFIX)
            text = plain.decode("utf-8", errors="replace").strip()
            plain = StoredTranscript(text, 0.0, ()).to_bytes()
        else:
            target = self.directory / (stem + AUDIO_SUFFIX)
        if target.exists():
            # A run stopped between sealing and removing the plain file: the sealed copy must open first.
            self.cipher.open(target.read_bytes(), target.name)
        else:
            write_private_atomically(target, self.cipher.seal(plain, target.name))
        path.unlink()
        report.sealed_plain += 1
        return True

    def remove_stale_parts(self, now: float, older_than: float = _STALE_PART_SECONDS) -> int:
        """Delete half-written files (``.<name>.<random>.pid<pid>.part``: a write, download or rotation killed
        mid-way) whose writer process is gone, at once, and any other last modified more than ``older_than``
        seconds before ``now`` (epoch seconds); returns how many.

        One whose writer is alive (or unknown: an older version's name) and younger may be a write in progress, so
        it is left for a later pass. Called by every rotation, at worker start and by the hourly purge.
        """
        if not self.directory.is_dir():
            return 0
        cutoff = now - older_than
        removed = 0
        for path in self.directory.glob(".*.part"):
            try:
                if path.is_file() and (_writer_gone(path.name) or path.stat().st_mtime < cutoff):
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # renamed into place or removed by another pass meanwhile
        return removed


@dataclass
class RotationReport:
    """What one ``rotate`` run did (counts only: never a file name of a client's message in a log)."""

    resealed: int = 0  # sealed with an older key, now with the first
    sealed_plain: int = 0  # plain files of an older version, now sealed (and the plain file removed)
    current: int = 0  # already sealed with the first key
    unreadable: int = 0  # no configured key opens them: left as they are
    stopped_early: bool = False  # ``limit`` reached: run again to go on
    leftovers: int = 0  # half-written files an earlier, killed run (or write) left: removed

    @property
    def changed(self) -> int:
        return self.resealed + self.sealed_plain
