"""Shared by the dashboard's browser tests: where Chromium is and how it is started, signing in, screenshots,
and axe-core run on a page (``Axe``).  The fixtures that start them are in tests/dashboard/conftest.py.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE = {"width": 390, "height": 844}


AXE = Path(__file__).resolve().parents[1] / "dashboard" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]
STRICT_CSP = "script-src 'self'"



def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: QUIETLINE_SCREENSHOTS if set (to look at them), else the test's tmp dir."""
    target = Path(os.environ.get("QUIETLINE_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target


def sign_in(page, base: str, email: str, password: str) -> None:
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/staff/**")


class Axe:
    """Runs axe on the page as it is and keeps every violation, named by the state it was found in."""

    def __init__(self, page):
        self.page = page
        self.source = AXE.read_text(encoding="utf-8")
        self.checked: list[str] = []
        self.violations: list[str] = []

    def check(self, state: str) -> None:
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            self.page.add_script_tag(content=self.source)
        found = self.page.evaluate("""async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
            return result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} -> ` +
                v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | '));
        }""", TAGS)
        self.checked.append(state)
        self.violations += [f"{state}: {v}" for v in found]

    def visit(self, url: str, state: str, status: int = 200) -> None:
        response = self.page.goto(url)
        assert response is not None and response.status == status, (state, response and response.status)
        # The CSP the app sends stays strict; only this browser ignores it.
        assert STRICT_CSP in response.headers["content-security-policy"], state
        self.page.wait_for_function("() => document.readyState === 'complete'")
        self.check(state)
