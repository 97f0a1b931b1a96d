"""The pure core (ivr/core) imports only the standard library, itself and the error base.

A later step turns this into an import contract; until then this test keeps Flask, Redis, RQ, Twilio,
SQLAlchemy and the rest out of the understanding modules.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parent.parent / "ivr" / "core"
ALLOWED_OUTSIDE_CORE = {"ivr.exceptions"}  # the one error base every module raises under


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
            elif node.level == 1:
                names.append(f"ivr.core.{node.module}" if node.module else "ivr.core")
            else:
                names.append(f"ivr.{node.module}")
    return names


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_only_the_standard_library(path: Path) -> None:
    for name in _imports(path):
        top = name.split(".")[0]
        if name.startswith("ivr.core") or name in ALLOWED_OUTSIDE_CORE or name == "__future__":
            continue
        assert top in sys.stdlib_module_names, f"{path.name} imports {name}"


def test_the_core_modules_are_all_checked() -> None:
    assert {p.name for p in CORE.glob("*.py")} >= {"spoken_values.py", "crisis.py", "intents.py", "text.py"}
