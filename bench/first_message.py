"""A speech worker's FIRST message, per decoder setting and warm-up: its real-time factor, and whether the crisis
word at its start is heard (issue 13).

    .venv/bin/python bench/first_message.py --decoders model,beam=9 --runs 5           # alternating, fresh workers
    .venv/bin/python bench/first_message.py --decoders model,beam=9 --variants 24      # crisis audio variants

A script, not a test. Two parts:

* **first** (``--runs``): for each run and each decoder in turn (alternating, so that every setting sees the same
  load), a fresh process does what a speech worker does at start (``VoskRecognizer``, ``warm_up`` on the warm-up
  sentences of Korean, two recognisers) and then decodes its first message: the voicemail bench's 10 s message with
  the crisis words at its start (``bench/voicemail.py`` ``with_crisis``: what the CI smoke sends). Printed: the
  warm-up's CPU, the first message's CPU and real-time factor, and whether 위기 starts the transcript.
* **variants** (``--variants``): the crisis caller said ``--variants`` ways (espeak-ng's Indonesian voice at 140-180
  words a minute, pitch 35-65, with ordinary Korean speech after it, or alone as tests/speech says it), each decoded
  as the first message of a freshly warmed recogniser AND as a message after the others (a different history of the
  lazily composed graph: its state numbering, and so the order in which equal-cost tokens are pruned, differs).
  Printed: how many times 위기 was heard, per decoder.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import voicemail  # noqa: E402 - bench/voicemail.py: the same audio as the voicemail bench


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def crisis_variant(n: int, tmp: Path) -> bytes:
    """The n-th way the crisis caller says 위기입니다: n = 0 is the voicemail bench's 10 s message (the smoke's)."""
    if n == 0:
        return voicemail.with_crisis(10, tmp, "start")
    speed, pitch = 140 + (n * 7) % 41, 35 + (n * 11) % 31
    raw, said = tmp / f"v{n}-raw.wav", tmp / f"v{n}.wav"
    subprocess.run(["espeak-ng", "-v", "id", "-s", str(speed), "-p", str(pitch), "-w", str(raw),
                    voicemail.CRISIS_WORDS], check=True)
    subprocess.run(["sox", "-R", str(raw), "-r", "8000", "-c", "1", "-b", "16", str(said)], check=True)
    if n % 2:  # alone, as tests/speech leaves it
        return said.read_bytes()
    pause, ordinary, out = tmp / f"v{n}-pause.wav", tmp / f"v{n}-ordinary.wav", tmp / f"v{n}-all.wav"
    subprocess.run(["sox", "-R", "-n", "-r", "8000", "-c", "1", "-b", "16", str(pause), "synth",
                    str(0.8 + (n % 5) * 0.1), "whitenoise", "vol", "0.002"], check=True)
    ordinary.write_bytes(voicemail.speech(4.0 + n % 6, tmp))
    subprocess.run(["sox", "-R", str(said), str(pause), str(ordinary), str(out)], check=True)
    return out.read_bytes()


def heard_crisis(text: str) -> bool:
    return text.split()[:1] == ["위기"] or text.startswith("위기")


def one_first(decoder: str, warmup: str) -> dict[str, object]:
    """In this (fresh) process: a worker's start, then its first message. Returns the figures."""
    from ivr.speech.recognizer import VoskRecognizer
    from ivr.speech.warmup import warmup_speech

    with tempfile.TemporaryDirectory(prefix="qlfm-") as name:
        tmp = Path(name)
        audio = crisis_variant(0, tmp)
        recognizer = VoskRecognizer(voicemail.korean_model(), decoder=decoder)
        used = cpu()
        os.environ["IVR_WARMUP"] = warmup
        recognizer.warm_up(2, warmup_speech("ko-KR"))
        warm_cpu = cpu() - used
        used = cpu()
        transcript = recognizer.transcribe_wav(audio, threads=2)
        took = cpu() - used
    return {"decoder": decoder, "warm_cpu": warm_cpu, "cpu": took, "seconds": transcript.duration_seconds,
            "crisis": heard_crisis(transcript.text), "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            // 1024}


def variants(decoders: list[str], count: int) -> None:
    from ivr.speech.recognizer import VoskRecognizer
    from ivr.speech.warmup import warmup_speech

    warm = warmup_speech("ko-KR")
    with tempfile.TemporaryDirectory(prefix="qlfm-") as name:
        tmp = Path(name)
        audios = [crisis_variant(n, tmp) for n in range(count)]
        for decoder in decoders:
            recognizer = VoskRecognizer(voicemail.korean_model(), decoder=decoder)
            recognizer.warm_up(1, warm)
            # After the others: one warmed recogniser hears every variant in turn.
            after = [heard_crisis(recognizer.transcribe_wav(a).text) for a in audios]
            # First: a fresh recogniser per variant, warmed on silence only (cheap; the first of them on the sentences
            # too), so the first messages see different histories too.
            first = []
            for n, audio in enumerate(audios):
                recognizer._kept.clear()  # a new KaldiRecognizer on the same model next: nothing composed yet
                recognizer.warm_up(1, warm if n == 0 else None)
                first.append(heard_crisis(recognizer.transcribe_wav(audio).text))
            missed = [n for n in range(count) if not (after[n] and first[n])]
            print(f"  {decoder:40} heard as a first message {sum(first)}/{count}, after others {sum(after)}/{count}"
                  f"  missed: {missed or 'none'}  [{voicemail.load()}]", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decoders", default="model", help="decoder settings separated by ';' or ',' between presets")
    parser.add_argument("--runs", type=int, default=0, help="fresh-worker first messages per decoder (alternating)")
    parser.add_argument("--variants", type=int, default=0, help="crisis audio variants per decoder")
    parser.add_argument("--warmup", default="", help="IVR_WARMUP for the fresh workers")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # a fresh worker's run (internal)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_first(args.one, args.warmup)))
        return 0
    decoders = [d.strip() for d in args.decoders.split(";") if d.strip()]
    if args.runs:
        print(f"== a worker's first message (the voicemail bench's 10 s crisis message), {args.runs} fresh worker(s) "
              f"per decoder, alternating  [{voicemail.load()}]")
        print(f"  {'run':>3} {'decoder':40} {'warm-up CPU s':>13} {'CPU s':>6} {'RTF CPU':>8} {'위기':>5}  load")
        results: dict[str, list[dict]] = {d: [] for d in decoders}
        for run in range(args.runs):
            for decoder in decoders:
                done = subprocess.run([sys.executable, __file__, "--one", decoder, "--warmup", args.warmup],
                                      capture_output=True, text=True, check=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                results[decoder].append(row)
                print(f"  {run:3d} {decoder:40} {row['warm_cpu']:13.2f} {row['cpu']:6.2f} "
                      f"{row['cpu'] / row['seconds']:8.3f} {'yes' if row['crisis'] else 'NO':>5}  "
                      f"[{voicemail.load()}]", flush=True)
        for decoder, rows in results.items():
            rtfs = sorted(r["cpu"] / r["seconds"] for r in rows)
            print(f"  {decoder:40} RTF CPU median {rtfs[len(rtfs) // 2]:.3f} (min {rtfs[0]:.3f}, max {rtfs[-1]:.3f});"
                  f" warm-up CPU median {sorted(r['warm_cpu'] for r in rows)[len(rows) // 2]:.1f} s; crisis heard "
                  f"{sum(r['crisis'] for r in rows)}/{len(rows)}")
    if args.variants:
        print(f"== the crisis caller said {args.variants} ways, per decoder  [{voicemail.load()}]")
        variants(decoders, args.variants)
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    raise SystemExit(code)
