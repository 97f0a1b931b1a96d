"""The corpus of broken flow directories (tests/broken_flows) and how their expected problems are matched."""
from __future__ import annotations

import re
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "broken_flows"


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
