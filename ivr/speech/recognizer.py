"""Offline speech recognition: a small recogniser interface and its vosk implementation.

Audio arrives in whatever shape Twilio (or a person) hands us: 8 kHz mono voicemails,
mu-law WAVs, 44.1 kHz stereo uploads.  Everything is normalised here to mono 16-bit
PCM at the model's rate before vosk sees it, because a vosk model only decodes well at
the rate it was trained for.

Decoding keeps up with the calls (issue 13):

* a model is loaded once per process (``load_recognizer``);
* vosk builds its decoding graph lazily and caches it in each KaldiRecognizer, so a fresh recogniser costs
  about three times the CPU of a used one on a short message: recognisers are kept and reused across
  messages (reset between them; vosk keeps counting time across a reset, so word times are corrected by
  what the recogniser had heard before);
* a message of ``SPLIT_SECONDS`` or more is cut at its pauses (``pause_cuts``) into ``threads`` pieces
  decoded at once, one thread and recogniser each (vosk releases the GIL while it decodes); every word
  keeps its time in the whole message.

Transcripts are patient speech: this module never logs them.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
import struct
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ivr.config import INSTANCE_DIR
from ivr.exceptions import AudioFormatError, ModelNotFound
from ivr.speech_decoder import DEFAULT_DECODER, decoder_options, tuned_conf

with warnings.catch_warnings():
    # audioop is deprecated in 3.11 and gone in 3.13 (the audioop-lts package restores it
    # there).  It is still the only stdlib way to do these conversions at C speed.
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import audioop
    except ImportError:  # pragma: no cover - only on 3.13+ without audioop-lts
        audioop = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

DEFAULT_MODEL_NAME = "vosk-model-small-en-us-0.15"
MODELS_DIR = INSTANCE_DIR / "models"
DEFAULT_MODEL_DIR = MODELS_DIR / DEFAULT_MODEL_NAME
MODEL_PATH_ENV = "VOSK_MODEL_PATH"
DOWNLOAD_COMMAND = "flask --app app speech download-model"

# A quarter of a second per AcceptWaveform call: small enough that vosk's endpointing
# sees pauses promptly, large enough that Python call overhead doesn't matter.
_CHUNK_SECONDS = 0.25
# A message this long or longer is decoded in pieces at once (shorter ones gain too little to pay for a cut).
SPLIT_SECONDS = 20.0
# A kept recogniser is replaced after this much audio: vosk's word times count from its creation and are
# printed with a few decimals, which would lose precision over a day of messages.
_RECYCLE_SECONDS = 3600.0
# Pause finding: energy in 20 ms frames, the quietest 0.4 s within a tenth of the message of each even cut.
_FRAME_SECONDS = 0.02
_PAUSE_SECONDS = 0.4

_WAVE_FORMAT_PCM = 0x0001
_WAVE_FORMAT_ALAW = 0x0006
_WAVE_FORMAT_MULAW = 0x0007
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE


@dataclass(frozen=True)
class Word:
    """One recognised word with its timing (seconds from the start) and vosk's confidence (0..1)."""

    word: str
    start: float
    end: float
    conf: float


@dataclass(frozen=True)
class Transcript:
    """What a recogniser heard in one recording."""

    text: str
    confidence: float
    words: tuple[Word, ...]
    duration_seconds: float

    def __repr__(self) -> str:
        # Keep transcripts out of tracebacks and accidental log lines.
        return (
            f"Transcript(<{len(self.words)} words>, confidence={self.confidence:.2f}, "
            f"duration_seconds={self.duration_seconds:.2f})"
        )


@runtime_checkable
class Recognizer(Protocol):
    """Anything that can turn a WAV file into a Transcript."""

    sample_rate: int

    def transcribe(self, wav_path: str | os.PathLike[str]) -> Transcript:
        ...


@dataclass(frozen=True)
class _Audio:
    pcm: bytes  # mono, signed 16-bit little-endian
    rate: int


def find_model(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the vosk model directory: explicit path, else $VOSK_MODEL_PATH, else the default download location."""
    if explicit:
        path, source = Path(explicit), "the path given"
    elif os.environ.get(MODEL_PATH_ENV):
        path, source = Path(os.environ[MODEL_PATH_ENV]), MODEL_PATH_ENV
    else:
        path, source = DEFAULT_MODEL_DIR, "the default location"
    path = path.expanduser()
    if not path.is_dir():
        raise ModelNotFound(_missing_model_message(path, f"no vosk model directory at {path} ({source})"))
    return path


def _missing_model_message(path: Path, problem: str) -> str:
    return (
        f"{problem}. Download the English model with `{DOWNLOAD_COMMAND}` "
        f"(it installs into {DEFAULT_MODEL_DIR}), or set {MODEL_PATH_ENV} to an unpacked vosk model directory."
    )


@contextmanager
def _model_view(path: Path, options: dict[str, float]) -> Iterator[Path]:
    """The model folder as vosk should load it: ``path`` itself when ``options`` is empty, else a temporary folder of
    links to the model's parts with its own ``conf/model.conf`` (the model's, with ``options`` set). The model's
    folder is never written (it may be a read-only package). vosk reads every file while loading, so the folder is
    removed as soon as the model is loaded."""
    conf = path / "conf" / "model.conf"
    if not options or not conf.is_file():  # a model without model.conf (an old layout) is loaded as it is
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="quietline-vosk-") as tmp:
        view = Path(tmp)
        for entry in path.iterdir():
            if entry.name != "conf":
                (view / entry.name).symlink_to(entry.resolve())
        (view / "conf").mkdir()
        for entry in conf.parent.iterdir():
            if entry.name != "model.conf":
                (view / "conf" / entry.name).symlink_to(entry.resolve())
        (view / "conf" / "model.conf").write_text(tuned_conf(conf.read_text(), options))
        yield view


@dataclass
class _Kept:
    """A KaldiRecognizer kept between messages and how many samples (at the model's rate) it has heard."""

    rec: Any
    heard: int = 0


class VoskRecognizer:
    """A vosk model loaded once, transcribing WAV files or raw PCM at the model's sample rate.

    Safe to use from several threads: each message (or piece of one) takes a recogniser of its own from the
    kept ones, or a new one when all are busy.
    """

    def __init__(self, model_path: str | os.PathLike[str], *, sample_rate: int = 16000,
                 decoder: str | None = DEFAULT_DECODER) -> None:
        """``decoder``: the search settings (``ivr.speech_decoder``: a preset, ``fast`` by default, or values);
        ValueError when they are not ones it accepts."""
        import vosk  # imported here so importing ivr.speech.recognizer stays cheap for the web process

        path = Path(model_path)
        if not path.is_dir():
            raise ModelNotFound(_missing_model_message(path, f"no vosk model directory at {path}"))
        if _audioop_missing():
            raise RuntimeError("audioop is unavailable: on Python 3.13+ install the audioop-lts package")
        options = decoder_options(decoder)
        vosk.SetLogLevel(-1)
        started = time.monotonic()
        try:
            with _model_view(path, options) as view:
                self._model = vosk.Model(str(view))
        except Exception as exc:  # vosk raises a bare Exception("Failed to create a model"); OSError: the view
            raise ModelNotFound(_missing_model_message(path, f"{path} is not a loadable vosk model ({exc})")) from exc
        log.info("loaded vosk model %s in %.1f s (decoder %s)", path, time.monotonic() - started,
                 ", ".join(f"{k}={v:g}" for k, v in options.items()) or "as the model's conf/model.conf")
        self._vosk = vosk
        self.model_path = path
        self.decoder = dict(options)
        self.sample_rate = int(sample_rate)
        self._kept: list[_Kept] = []
        self._kept_lock = threading.Lock()

    def warm_up(self, recognisers: int = 1, speech: tuple[bytes, int] | None = None) -> None:
        """Make ``recognisers`` recognisers now and run a second of silence through each, so that the first
        message (and each of its pieces) does not pay for making them; then ``speech`` (mono 16-bit PCM and its
        rate: ``ivr.speech.warmup.warmup_speech``) through the one the next message takes, so that it does not
        pay for the part of the decoding graph ordinary speech expands either (silence expands almost none).

        Only that one hears the speech: each recogniser composes the graph for itself, so warming them all would
        cost ``recognisers`` times as much at start, for the pieces of long messages, whose real-time factor
        meets the target without it (bench-s23: 0.24 for 60 s on a cold start).
        """
        silence = _Audio(bytes(2 * self.sample_rate), self.sample_rate)
        with ExitStack() as held:  # all taken at once, so that as many are made (and then kept)
            taken = [held.enter_context(self._recogniser()) for _ in range(max(1, recognisers))]
            for kept in taken:
                self._feed(kept, silence, 0.0, lambda _text, _done: None)
            if speech:
                # taken[0] is given back last, so the next message takes it (``_recogniser`` pops the last kept)
                self._feed(taken[0], _Audio(speech[0], speech[1]), 0.0, lambda _text, _done: None)

    @property
    def kept(self) -> int:
        """How many recognisers are kept for reuse (idle)."""
        return len(self._kept)

    @contextmanager
    def _recogniser(self) -> Iterator[_Kept]:
        with self._kept_lock:
            kept = self._kept.pop() if self._kept else None
        if kept is None:
            rec = self._vosk.KaldiRecognizer(self._model, self.sample_rate)
            rec.SetWords(True)
            kept = _Kept(rec)
        yield kept  # an error while decoding drops the recogniser: its state is unknown
        kept.rec.Reset()
        if kept.heard < _RECYCLE_SECONDS * self.sample_rate:
            with self._kept_lock:
                self._kept.append(kept)

    def transcribe(self, wav_path: str | os.PathLike[str]) -> Transcript:
        """Transcribe a PCM (8/16/24/32-bit), mu-law or A-law WAV file, mono or stereo, at any rate."""
        try:
            data = Path(wav_path).read_bytes()
        except OSError as exc:
            raise AudioFormatError(f"cannot read audio file {wav_path}: {exc.strerror or exc}") from exc
        audio = _decode_wav(data, str(wav_path))
        return self._recognise(audio)

    def transcribe_wav(self, data: bytes, name: str = "recording",
                       on_segment: Callable[[str], None] | None = None, *, threads: int = 1) -> Transcript:
        """Transcribe a WAV file's bytes (a decrypted voicemail: it never touches the disk in clear).

        ``on_segment`` is called with the text heard so far, from the message's start, each time vosk closes an
        utterance (a pause), while the rest is still being decoded: a caller's sentence can be acted on before
        the message's end is heard. A later piece's words are told only after every earlier piece's (``_SoFar``),
        so a sentence cut at a piece boundary is never judged by its second half. Calls come from the decoding
        threads, one at a time.
        ``threads``: a message of ``SPLIT_SECONDS`` or more is cut at its pauses into this many pieces,
        decoded at once.
        """
        return self._recognise(_decode_wav(data, name), on_segment, threads=threads)

    def transcribe_bytes(self, pcm: bytes, rate: int) -> Transcript:
        """Transcribe raw mono signed 16-bit little-endian PCM sampled at `rate` Hz."""
        if rate <= 0:
            raise AudioFormatError(f"sample rate must be positive, got {rate}")
        if len(pcm) % 2:
            raise AudioFormatError("16-bit PCM must have an even number of bytes")
        return self._recognise(_Audio(bytes(pcm), int(rate)))

    def _recognise(self, audio: _Audio, on_segment: Callable[[str], None] | None = None, *,
                   threads: int = 1) -> Transcript:
        duration = len(audio.pcm) / 2 / audio.rate
        samples = len(audio.pcm) // 2
        cuts = pause_cuts(audio.pcm, audio.rate, threads) if threads > 1 and duration >= SPLIT_SECONDS else []
        bounds = list(zip([0, *cuts], [*cuts, samples], strict=True))
        heard = _SoFar(len(bounds), on_segment)

        def piece(n: int, bound: tuple[int, int]) -> list[dict]:
            start, end = bound
            return self._decode(_Audio(audio.pcm[2 * start:2 * end], audio.rate), start / audio.rate,
                                functools.partial(heard, n))

        if len(bounds) == 1:
            segments = piece(0, bounds[0])
        else:
            # A thread per piece ("speech-piece-<n>"), all at once; an error in any is raised here.
            with ThreadPoolExecutor(max_workers=len(bounds)) as pool:
                futures = [pool.submit(_named, f"speech-piece-{n}", functools.partial(piece, n), bound)
                           for n, bound in enumerate(bounds)]
                segments = [seg for future in futures for seg in future.result()]
        return _to_transcript(segments, duration)

    def _decode(self, audio: _Audio, at: float, heard: Callable[[str, bool], None]) -> list[dict]:
        """vosk's utterances in ``audio`` (a message, or the piece of one starting ``at`` seconds in), their word
        times counted from the message's start."""
        with self._recogniser() as kept:
            return self._feed(kept, audio, at, heard)

    def _feed(self, kept: _Kept, audio: _Audio, at: float, heard: Callable[[str, bool], None]) -> list[dict]:
        segments: list[dict] = []
        # vosk's times run on across resets: from what this recogniser heard before, not from this audio.
        shift = at - kept.heard / self.sample_rate
        rec = kept.rec
        for chunk in _chunks(audio, self.sample_rate):
            kept.heard += len(chunk) // 2
            if rec.AcceptWaveform(chunk):
                # An endpoint (a pause) closes an utterance; its words are only in Result().
                segments.append(_shifted(json.loads(rec.Result()), shift))
                if segments[-1].get("text"):
                    heard(" ".join(t for t in (s.get("text", "").strip() for s in segments) if t), False)
        segments.append(_shifted(json.loads(rec.FinalResult()), shift))
        # The piece's end (its last utterance, if any): the pieces after it may now be told.
        heard(" ".join(t for t in (s.get("text", "").strip() for s in segments) if t), True)
        return segments


class _SoFar:
    """What a message said so far, for ``on_segment``: always from the message's start, without a gap.

    A piece's utterances are told only once every piece before it is decoded to its end, joined after their text,
    so a sentence cut at a piece boundary ("I would never … | kill myself") is always judged whole, never by its
    second half alone. Called from the decoding threads (piece number, its text so far, whether it is done).
    """

    def __init__(self, pieces: int, on_segment: Callable[[str], None] | None) -> None:
        self.texts = [""] * pieces
        self.done = [False] * pieces
        self.told = ""
        self.on_segment = on_segment
        self.lock = threading.Lock()

    def __call__(self, piece: int, text: str, done: bool) -> None:
        if self.on_segment is None:
            return
        with self.lock:  # one at a time: the caller's check need not be thread-safe
            self.texts[piece] = text
            self.done[piece] = self.done[piece] or done
            known = []
            for n, said in enumerate(self.texts):
                if said:
                    known.append(said)
                if not self.done[n]:
                    break  # what comes after an undecoded stretch waits for it
            joined = " ".join(known)
            if joined and joined != self.told:
                self.told = joined
                self.on_segment(joined)


def _named(name: str, work: Callable[[tuple[int, int]], list[dict]], bound: tuple[int, int]) -> list[dict]:
    threading.current_thread().name = name
    return work(bound)


def _shifted(segment: dict, seconds: float) -> dict:
    """A vosk result with its word times moved by ``seconds`` (rounded to the millisecond, as vosk gives them)."""
    for w in segment.get("result", ()):
        w["start"] = round(float(w["start"]) + seconds, 3) + 0.0  # + 0.0: never "-0.0"
        w["end"] = round(float(w["end"]) + seconds, 3) + 0.0
    return segment


def pause_cuts(pcm: bytes, rate: int, pieces: int) -> list[int]:
    """Where to cut mono 16-bit PCM into ``pieces`` pieces of about equal length, each cut in a pause.

    Returns the cuts as sample offsets, ascending (``pieces - 1`` of them, fewer when the audio is too short to
    cut). Each is the middle of the quietest ``_PAUSE_SECONDS`` (lowest mean energy) within a tenth of the
    audio's length of the even cut, so that no word is cut in two and every piece begins and ends in silence.
    """
    frame = max(1, int(rate * _FRAME_SECONDS))
    frames = len(pcm) // 2 // frame
    span = max(1, int(_PAUSE_SECONDS / _FRAME_SECONDS))
    if pieces < 2 or frames < pieces * span * 2:
        return []
    energy = [audioop.rms(pcm[2 * frame * i:2 * frame * (i + 1)], 2) for i in range(frames)]
    total = [0]
    for e in energy:
        total.append(total[-1] + e)
    reach = max(span, frames // 10)
    cuts: list[int] = []
    for n in range(1, pieces):
        target = frames * n // pieces
        low = max(cuts[-1] // frame + span if cuts else span, target - reach)
        high = min(frames - span, target + reach) - span
        if high < low:
            continue
        # The quietest window; nearest the even cut among equals, so pieces stay about the same length.
        best = min(range(low, high + 1), key=lambda i: (total[i + span] - total[i], abs(i + span // 2 - target)))
        cuts.append((best + span // 2) * frame)
    return cuts


def _chunks(audio: _Audio, rate: int) -> Iterator[bytes]:
    """The audio at ``rate`` in 0.25 s chunks, converted as it is fed (a long message is never copied whole
    at the model's rate). Going down in rate the low-pass filter needs the whole signal, so that rarer
    direction converts first."""
    if audio.rate > rate:
        pcm = _resample(audio.pcm, audio.rate, rate)
        step = max(2, int(rate * _CHUNK_SECONDS) * 2)
        for i in range(0, len(pcm), step):
            yield pcm[i:i + step]
        return
    step = max(2, int(audio.rate * _CHUNK_SECONDS) * 2)
    state = None
    for i in range(0, len(audio.pcm), step):
        piece = audio.pcm[i:i + step]
        if audio.rate == rate:
            yield piece
        else:  # ratecv carries its state, so chunk edges resample exactly as one pass would
            out, state = audioop.ratecv(piece, 2, 1, audio.rate, rate, state)
            yield out


def probe_wav(data: bytes, name: str = "recording") -> float:
    """The length in seconds of a WAV file's audio, once decoded as the recogniser would.

    Raises AudioFormatError when it is not a WAV this module decodes, or holds no audio.
    """
    audio = _decode_wav(data, name)
    if not audio.pcm:
        raise AudioFormatError(f"{name} holds no audio")
    return len(audio.pcm) / 2 / audio.rate


def wav_declared_seconds(data: bytes) -> float | None:
    """The length in seconds a WAV file's header declares (its ``data`` chunk's size), whatever the file holds.

    None when it declares none: no RIFF/WAVE header or ``fmt `` chunk, or a streaming header's placeholder
    size (0, or 0x7FFFFFFF and up: written before the length was known). A copy cut short still declares
    the whole length, which is how it is caught (``probe_wav`` measures what is there).
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    byte_rate = 0
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        if chunk_id == b"fmt " and size >= 16 and pos + 8 + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, pos + 8 + 8)[0]
        elif chunk_id == b"data":
            if not byte_rate or size == 0 or size >= 0x7FFF0000:
                return None
            return size / byte_rate
        pos += 8 + size + (size & 1)
    return None


def _to_transcript(segments: list[dict], duration: float) -> Transcript:
    words = tuple(
        Word(word=str(w["word"]), start=float(w["start"]), end=float(w["end"]), conf=float(w.get("conf", 0.0)))
        for seg in segments
        for w in seg.get("result", ())
    )
    text = " ".join(t for t in (seg.get("text", "").strip() for seg in segments) if t)
    confidence = sum(w.conf for w in words) / len(words) if words else 0.0
    return Transcript(text=text, confidence=confidence, words=words, duration_seconds=duration)


_load_lock = threading.Lock()


def load_recognizer(model_path: str | os.PathLike[str], decoder: str | None = DEFAULT_DECODER) -> VoskRecognizer:
    """The process-wide VoskRecognizer for this model directory and decoder setting, loading it on first use."""
    # Resolve first so "models/x" and "/abs/models/x" share one loaded model.
    key = str(Path(model_path).expanduser().resolve())
    with _load_lock:  # two threads asking at once must not load a few hundred MB twice
        return _load_cached(key, decoder or DEFAULT_DECODER)


@functools.lru_cache(maxsize=4)
def _load_cached(resolved_path: str, decoder: str) -> VoskRecognizer:
    return VoskRecognizer(resolved_path, decoder=decoder)


load_recognizer.cache_clear = _load_cached.cache_clear  # type: ignore[attr-defined]


# --- audio decoding -------------------------------------------------------------------------


def _audioop_missing() -> bool:
    return audioop is None


def _decode_wav(data: bytes, name: str) -> _Audio:
    """Parse a RIFF/WAVE file by hand: the stdlib wave module rejects mu-law and extensible headers."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioFormatError(f"{name} is not a WAV file (no RIFF/WAVE header)")
    fmt: bytes | None = None
    payload: bytes | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + size]  # streamed WAVs can claim more than the file has
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            payload = body
        if fmt is not None and payload is not None:
            break
        pos += 8 + size + (size & 1)  # chunks are word-aligned
    if fmt is None or len(fmt) < 16:
        raise AudioFormatError(f"{name} has no usable 'fmt ' chunk")
    if payload is None:
        raise AudioFormatError(f"{name} has no 'data' chunk")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAVE_FORMAT_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the sub-format GUID
    if channels not in (1, 2):
        raise AudioFormatError(f"{name} has {channels} channels; only mono and stereo are supported")
    if rate <= 0:
        raise AudioFormatError(f"{name} has an invalid sample rate {rate}")

    if tag == _WAVE_FORMAT_PCM and bits in (8, 16, 24, 32):
        width = bits // 8
    elif tag in (_WAVE_FORMAT_MULAW, _WAVE_FORMAT_ALAW) and bits == 8:
        width = 1
    else:
        raise AudioFormatError(f"{name} uses WAV format tag {tag:#06x} with {bits}-bit samples, which is not supported")
    frame = width * channels
    if block_align and block_align != frame:
        raise AudioFormatError(f"{name} has an inconsistent block alignment ({block_align} for {frame}-byte frames)")
    payload = payload[: len(payload) - len(payload) % frame]

    if tag == _WAVE_FORMAT_MULAW:
        pcm = audioop.ulaw2lin(payload, 2)
    elif tag == _WAVE_FORMAT_ALAW:
        pcm = audioop.alaw2lin(payload, 2)
    elif width == 1:
        pcm = audioop.lin2lin(audioop.bias(payload, 1, -128), 1, 2)  # 8-bit WAV is unsigned
    else:
        pcm = audioop.lin2lin(payload, width, 2) if width != 2 else payload
    if channels == 2:
        # Average, not pick a side: Twilio's dual-channel recordings put each party on its own channel.
        pcm = audioop.tomono(pcm, 2, 0.5, 0.5)
    return _Audio(pcm, rate)


def _resample(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """Convert mono 16-bit PCM between rates.

    audioop.ratecv interpolates linearly between neighbouring samples, which is plenty for
    speech going up (8 kHz telephone audio to 16 kHz).  Going down it would fold everything
    above the new Nyquist frequency back into the speech band, so a low-pass filter runs
    first in that direction.
    """
    if src_rate == dst_rate or not pcm:
        return pcm
    if src_rate > dst_rate:
        pcm = _lowpass(pcm, src_rate, cutoff_hz=0.45 * dst_rate)
    out, _state = audioop.ratecv(pcm, 2, 1, src_rate, dst_rate, None)
    return out


def _lowpass(pcm: bytes, rate: int, *, cutoff_hz: float, taps: int = 63) -> bytes:
    """Windowed-sinc FIR low-pass on mono 16-bit PCM.

    Each tap is one audioop pass over the whole buffer (C speed), so a minute of 44.1 kHz
    audio filters in well under a second without numpy.
    """
    fc = cutoff_hz / rate
    mid = taps // 2
    coefs = []
    for n in range(taps):
        k = n - mid
        sinc = 2 * fc if k == 0 else math.sin(2 * math.pi * fc * k) / (math.pi * k)
        blackman = 0.42 - 0.5 * math.cos(2 * math.pi * n / (taps - 1)) + 0.08 * math.cos(4 * math.pi * n / (taps - 1))
        coefs.append(sinc * blackman)
    gain = sum(coefs)
    # Halved so the running sum of overshooting taps can't saturate the 32-bit accumulator;
    # the final *2 restores the level (and clips exactly where the true output would).
    coefs = [c / gain / 2 for c in coefs]

    samples = len(pcm) // 2
    wide = audioop.lin2lin(pcm, 2, 4)  # 16 bits of headroom for the products
    pad = bytes(4 * mid)
    padded = pad + wide + pad
    acc = bytes(4 * samples)
    for n, c in enumerate(coefs):
        acc = audioop.add(acc, audioop.mul(padded[4 * n : 4 * (n + samples)], 4, c), 4)
    return audioop.mul(audioop.lin2lin(acc, 4, 2), 2, 2.0)
