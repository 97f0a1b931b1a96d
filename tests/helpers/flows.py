"""The corpus of broken flow directories (tests/broken_flows), how their expected problems are matched, and the
owner's ``flask --app app flows check`` run as a real command."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "broken_flows"
ROOT = Path(__file__).resolve().parents[2]


def expected_patterns(case: str) -> list[str]:
    """The expected problem lines of one corpus case (comments and blank lines dropped)."""
    text = (CORPUS / case / "expected.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def unmatched(patterns: list[str], lines: list[str]) -> tuple[list[str], list[str]]:
    """Pair each pattern with one line it matches; return (patterns left over, lines left over)."""
    left = list(lines)
    missing = []
    for pattern in patterns:
        rx = pattern_regex(pattern)
        hit = next((line for line in left if rx.fullmatch(line)), None)
        if hit is None:
            missing.append(pattern)
        else:
            left.remove(hit)
    return missing, left


def pattern_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)


def owner_command(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``flask --app app <args>`` as on a fresh clone: no secrets at all (fix14-left finding 7), and no instance
    database (a developer's instance/quietline.db must not change results) unless ``extra_env`` gives one."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IVR_", "TWILIO_", "PUBLIC_BASE_URL", "SECRET_KEY", "REDIS_URL", "DATABASE_URL"))}
    env["FLASK_SKIP_DOTENV"] = "1"  # a developer's .env (make run writes one) must not change results
    env["IVR_INSTANCE_DIR"] = str(ROOT / "tests" / "fixtures" / "no-instance")
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def flows_check(*args: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return owner_command("flows", "check", *args, extra_env=extra_env)
