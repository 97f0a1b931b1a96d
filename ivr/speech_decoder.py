"""The speech decoder's search settings (IVR_SPEECH_DECODER): how widely vosk searches its graph for each frame.

A vosk model carries them in ``conf/model.conf`` (``--beam``, ``--max-active``, ``--lattice-beam``, ``--min-active``;
vosk has no API for them: alphacep/vosk-api#112). The small models ship a wide search (beam 10, 3000 active
states, lattice beam 2). vosk composes the small models' graph lazily (``HCLr.fst`` with ``Gr.fst``), state by state,
as the search reaches it, so a wide search both decodes slower and expands far more of the graph for a message with
new words: a speech worker's first message paid for that (bench-s24: real-time factor 0.38 on a quiet machine).

Presets (docs/speech.md gives the measurements):

* ``middle`` (the default): beam 9, the model's max-active and lattice beam (3000, 2 for the small models). On a
  worker's first message with the crisis words at its start (bench-s26, ``bench/first_message.py --runs 20
  --variants 24``): CPU real-time factor median 0.174 (max 0.228) against 0.236 (max 0.290) for the model's own, 위기
  heard in 20 of 20 fresh workers (the model's own: 20 of 20), and in exactly the same 11 of 24 ways of saying it as
  the model's own search (the same 13 missed); the voicemail bench's first 10 s message 0.15-0.18 against 0.21-0.23.
* ``model``: the model's own ``conf/model.conf``, unchanged.
* ``fast``: beam 8, max-active 1500, lattice beam 1. A worker's first message (new words): CPU real-time factor
  0.447 -> 0.202 at the same load, but in one CI run of the bench its narrower search did not hear the crisis word
  of a worker's first message (heard in the later one): speed never at the price of a missed crisis, so it is a
  choice, not the default.
* or the values themselves: ``beam=8,max-active=1500,lattice-beam=1`` (any of the four; the rest stay the model's).

Pure: text in, options out. Raises ValueError with the reason for anything else. A module of its own beside
``ivr.config`` (which checks the setting at start) rather than in ``ivr.speech``, which reads the configuration.
"""
from __future__ import annotations

DEFAULT_DECODER = "middle"
PRESETS: dict[str, dict[str, float]] = {
    "fast": {"beam": 8.0, "max-active": 1500, "lattice-beam": 1.0},
    "middle": {"beam": 9.0},
    "model": {},
}
# Each option and its allowed range (inclusive): wide enough for any sensible search, narrow enough that a typo
# (beam=70) is refused instead of making every message take minutes.
_RANGES: dict[str, tuple[float, float, bool]] = {  # (low, high, whole number)
    "beam": (2.0, 30.0, False),
    "lattice-beam": (0.5, 16.0, False),
    "max-active": (100, 20000, True),
    "min-active": (10, 5000, True),
}


def decoder_options(spec: str | None) -> dict[str, float]:
    """The ``model.conf`` options (name without dashes -> value) a setting asks for; {} keeps the model's own.

    ``spec``: a preset name (``fast``, ``model``), or ``name=value`` pairs separated by commas; None or empty is
    the default preset. Raises ValueError naming the part that is wrong.
    """
    text = (spec or DEFAULT_DECODER).strip().lower()
    if text in PRESETS:
        return dict(PRESETS[text])
    if "=" not in text:
        raise ValueError(f"{spec!r} is neither a preset ({', '.join(PRESETS)}) nor name=value pairs "
                         f"({', '.join(_RANGES)})")
    options: dict[str, float] = {}
    for part in text.split(","):
        name, _, raw = (p.strip() for p in part.partition("="))
        if name not in _RANGES:
            raise ValueError(f"unknown decoder option {name!r} (known: {', '.join(_RANGES)})")
        low, high, whole = _RANGES[name]
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a number") from None
        if whole and value != int(value):
            raise ValueError(f"{name} must be a whole number, not {raw}")
        if not low <= value <= high:
            raise ValueError(f"{name}={raw} is out of range ({low:g} to {high:g})")
        options[name] = int(value) if whole else value
    return options


def tuned_conf(conf: str, options: dict[str, float]) -> str:
    """``conf`` (a model.conf's text) with ``options`` set: lines for them replaced, missing ones added."""
    lines = [line for line in conf.splitlines()
             if not any(line.strip().startswith(f"--{name}=") for name in options)]
    lines += [f"--{name}={value:g}" for name, value in options.items()]
    return "\n".join(lines) + "\n"
