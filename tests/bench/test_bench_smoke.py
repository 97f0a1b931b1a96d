"""The webhook bench runs end to end and prints its figures (it asserts nothing on timing: only that
every field is there and every simulated call followed its path without a failed webhook)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PATHS = ("silence", "crisis", "operator", "keep", "reschedule", "cancel", "links", "withheld")


def run(args: list[str], tmp_path: Path, timeout: float = 300) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_profile_app_prints_cpu_per_webhook_of_every_path(tmp_path):
    out = run(["bench/profile_app.py", "--walk", "mixed", "--calls", "2", "--clients", "40", "--no-profile"], tmp_path)
    assert "CPU per webhook by caller path" in out
    for path in PATHS:
        assert re.search(rf"^  {path} +\d+\.\d +\d+\.\d+ +\d+\.\d\d$", out, re.M), (path, out)
    assert re.search(r"most expensive verifying path: \w+ at \d+\.\d\dx the silence path "
                     r"\(target <= 1\.3: (met|NOT met)\)", out), out


def test_webhooks_bench_prints_the_mixed_traffic_figures(tmp_path):
    out = run(["bench/webhooks.py", "-w", "1", "--sat-seconds", "1", "--rounds", "1", "--warmup", "0.2",
               "--path-seconds", "0.6", "--steps", "6", "--step-seconds", "2", "--clients", "60",
               "--results", str(tmp_path)], tmp_path)
    for heading in ("== saturation", "== CPU per webhook by caller path", "== capacity of the app",
                    "app latency by caller path (saturation):", "latency by caller path at 6 calls:"):
        assert heading in out, (heading, out)
    assert re.search(r"ratio app/floor webhooks/s: \d+\.\d\d  \(target >= 0\.70: (met|NOT met)\)", out), out
    assert re.search(r"most expensive verifying path: \w+ at \d+\.\d\dx the silence path's CPU per webhook "
                     r"\(target <= 1\.3: (met|NOT met)\)", out), out
    assert re.search(r"largest number of concurrent calls held \(p99 <= 50 ms, no errors\): \d+  "
                     r"\(target 1000: (met|NOT met)\)", out), out
    assert "generator CPU over the whole run:" in out
    assert "FAILED" not in out
    (result,) = tmp_path.glob("*.json")
    report = json.loads(result.read_text())
    assert set(report["paths"]) == set(PATHS)
    for figures in report["paths"].values():
        assert figures["errors"] == 0
        assert {"server_cpu_ms_per_webhook", "generator_cpu_ms_per_webhook", "p50_ms", "p95_ms", "p99_ms",
                "x_silence"} <= set(figures)
    assert {"p50_ms", "p95_ms", "p99_ms", "generator_cpu_pct"} <= set(report["capacity"]["steps"][0])
    assert report["flow"]["by_path"] and report["ratio_flow_to_floor"] > 0


def test_live_queue_bench_prints_the_delay_to_an_open_page(tmp_path):
    """bench/live_queue.py (issue 16): gunicorn, Redis, Chromium with the queue open; every escalation shows."""
    out = run(["bench/live_queue.py", "--escalations", "2", "--results", str(tmp_path)], tmp_path)
    assert re.search(r"^delay from creation to on the page: median \d+\.\d\d s, p95 \d+\.\d\d s, max \d+\.\d\d s  "
                     r"\(target <= 5 s: (met|NOT met)\)$", out, re.M), out
    assert "never shown within 30 s: 0" in out
    assert re.search(r"^poll request as the browser saw it: \d+ requests, median \d+\.\d ms, p95 \d+\.\d ms$", out,
                     re.M), out
    (result,) = tmp_path.glob("live-*.json")
    report = json.loads(result.read_text())
    assert report["missed"] == 0 and len(report["delay_s"]["all"]) == 2 and report["target_s"] == 5.0
    assert {"median", "p95", "max"} <= set(report["delay_s"]) and report["poll_interval_s"] == 2.0


def test_voicemail_bench_prints_model_load_real_time_factor_and_callback_to_notification(tmp_path):
    """bench/voicemail.py with a short message: every figure is printed (no assertion on their values)."""
    out = run(["bench/voicemail.py", "--lengths", "10", "--message-seconds", "10"], tmp_path, timeout=600)
    assert re.search(r"^  loaded in \d+\.\d\d s wall, \d+\.\d\d s CPU \(once per worker process\); decoder middle: "
                     r"beam=9$", out, re.M), out  # the default search (ivr/speech_decoder.py)
    for which in ("first", "later", "later, new words,"):
        assert re.search(rf"^ +10\.0 +\d+\.\d\d +\d+\.\d\d +\d+\.\d{{3}} +\d+\.\d{{3}} +\d+ +(\d+\.\d\d|-)  "
                         rf"a worker's {which} of 10 s$", out, re.M), out
    assert re.search(r"worst real-time factor \(CPU, every message, a worker's first included\): \d+\.\d{3}  "
                     r"\(target <= 0\.3: (met|NOT met)\)", out), out
    assert re.search(r"recording callback -> first staff text: +\d+\.\d\d s  \(target <= 30: (met|NOT met)\)",
                     out), out
    assert re.search(r"recording callback -> transcript and triage: +\d+\.\d\d s  \(\d+\.\d\d s of the worker's "
                     r"CPU; triage crisis grade: (crisis|unsure|none)\)", out), out
    # the message ends with a crisis said in Korean: the on-call page, or a plain NO PAGE when it is not heard
    assert out.count("recording callback -> on-call page (crisis):") == 2
    assert re.search(r"recording callback -> on-call page \(crisis\): +(\d+\.\d\d s  \(target <= 15: (met|NOT met)\)"
                     r"|NO PAGE: the model did not hear the crisis words)", out), out
    assert "the worker loaded the model 1 time(s) (once at start)" in out
    assert re.search(r"warm-up \(the graph composed for ordinary speech\): \d+\.\d\d s wall, \d+\.\d\d s CPU, at start "
                     r"\(2 recogniser\(s\), on \d+\.\d s of Korean speech\)", out), out
    assert out.count("[load average ") == 5
    assert out.count("recording callback -> first staff text:") == 2
    assert "the worker's first message" in out and "the worker's later message" in out


def test_outbound_io_bench_prints_the_planning_pass_and_sending_figures(tmp_path):
    """bench/outbound_io.py (issues 11 and 12) on a small practice: every figure and target is printed."""
    out = run(["bench/outbound_io.py", "--clients", "60", "--appointments", "600", "--send", "5", "--runs", "1"],
              tmp_path)
    assert re.search(r"^first pass \(inserts every touch\): total \d+\.\d\d s wall, \d+\.\d\d s CPU; "
                     r"load_facts .* plan .* record_plan .*; [\d,]+ appointments read, [\d,]+ touches, "
                     r"[\d,]+ inserted", out, re.M), out
    assert re.search(r"^steady pass 1 \(nothing changes\): .*, 0 inserted, [\d,]+ planned rows$", out, re.M), out
    assert re.search(r"steady pass median \d+\.\d\d s wall \(min \d+\.\d\d, max \d+\.\d\d\), median \d+\.\d\d s CPU "
                     r"over 1  \(target < 2 s: (met|NOT met)\)", out), out
    assert re.search(r"peak RSS of the planning process \d+ MB \(before the first pass \d+ MB\)  "
                     r"\(target < 200 MB: (met|NOT met)\)",
                     out), out
    assert re.search(r"^send: 5 due texts in \d+\.\d s wall \(\d+/s, one process\), \d+\.\d s CPU \(\d+\.\d ms CPU "
                     r"each, the stand-in's included\): \{.*'sent': \d+", out, re.M), out
    assert out.count("[load average ") == 4
