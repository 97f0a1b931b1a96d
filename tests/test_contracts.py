"""The package's floors, enforced: import-linter's contracts (pyproject.toml) and what they cannot see.

The contracts replace the hand-written AST checks of the core's and the outbound planner's imports:
import-linter follows every import (a function's own included), so a core module that reached
SQLAlchemy at call time through another module breaks a contract.  What an import graph cannot
show is checked here too: that the pure modules read no clock, and that no module imports a
module of the package from inside a function (the way cycles used to be dodged).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.helpers.service import ROOT

CONTRACTS = [
    c["name"] for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
]
# Pure: data and the caller's ``now`` in, data out.  (The running flow store polls files on a monotonic clock.)
PURE = sorted(p for folder in ("core", "flowlang", "outbound") for p in (ROOT / "ivr" / folder).glob("*.py")
              if p.name != "store.py")
CLOCK_CALLS = {"now", "utcnow", "today"}  # datetime.now(), date.today(), …
TIME_CALLS = {"time", "monotonic", "perf_counter"}  # time.time(), …


@pytest.fixture(scope="module")
def lint_imports() -> str:
    """One run of ``lint-imports`` over ivr and workers, exactly as `make lint` runs it."""
    done = subprocess.run([sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()",
                           "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_contract_is_checked(lint_imports: str) -> None:
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in lint_imports
    assert len(CONTRACTS) >= 7


@pytest.mark.parametrize("name", CONTRACTS)
def test_contract_is_kept(lint_imports: str, name: str) -> None:
    assert f"{name} KEPT" in lint_imports


@pytest.mark.parametrize("path", PURE, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_modules_read_no_clock(path: Path) -> None:
    """``datetime.now()``, ``date.today()``, ``time.time()``…: the caller passes ``now`` in instead."""
    def reads_clock(func: ast.expr) -> bool:
        if not isinstance(func, ast.Attribute):
            return False
        module = func.value.id if isinstance(func.value, ast.Name) else None
        return func.attr in CLOCK_CALLS or (func.attr in TIME_CALLS and module == "time")

    calls = [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and reads_clock(node.func)]
    assert [f"line {c.lineno}" for c in calls] == []


def test_no_module_imports_the_package_from_inside_a_function() -> None:
    offenders = []
    for path in sorted(list((ROOT / "ivr").rglob("*.py")) + list((ROOT / "workers").rglob("*.py"))):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    module = inner.module if isinstance(inner, ast.ImportFrom) else (
                        inner.names[0].name if isinstance(inner, ast.Import) else None)
                    if module and module.split(".")[0] in ("ivr", "workers"):
                        offenders.append(f"{path.relative_to(ROOT)}:{inner.lineno} {module}")
    assert offenders == []


def test_tests_share_code_only_through_helpers_and_plugins() -> None:
    """Issue 9: shared fixtures live in conftest plugins and shared helpers in tests/helpers; a test module
    (or a conftest) imported by another test would run its tests twice and tie unrelated files together."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} relative import")
                continue
            modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            if isinstance(node, ast.ImportFrom) and node.module == "tests":
                modules = [f"tests.{alias.name}" for alias in node.names]
            for module in modules:
                parts = module.split(".")
                if parts[0] == "tests" and len(parts) > 1 and parts[1] not in ("helpers", "plugins"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {module}")
    assert offenders == []
