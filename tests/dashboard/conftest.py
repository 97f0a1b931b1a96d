"""The dashboard tests' fixtures: a fixed secret key (no instance/secret_key file), cheap password hashes
(argon2's real cost is not under test here), three staff accounts, and for the browser tests the app on a
real HTTP server (``live_server``) and a phone-sized headless Chromium page (``browser_page``, ``axe_page``)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from ivr import passwords
from ivr.app import create_app
from tests.helpers.browser import AXE, CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.helpers.dashboard import (
    OWNER_PASSWORD,
    SECRET,
    STAFF_PASSWORD,
    Person,
    add_user,
)


@pytest.fixture
def settings_overrides(settings_overrides):
    """A fixed secret key: no instance/secret_key file is created by these tests."""
    return {**settings_overrides, "secret_key": SECRET}


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """argon2's real cost (~0.3 s a hash) would make this module slow; the parameters are not under test here."""
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(passwords, "_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@pytest.fixture
def people(database) -> dict[str, Person]:
    return {
        "owner": add_user(database, "olive.owner@quietline.test", "Olive Owner", "owner", OWNER_PASSWORD),
        "sam": add_user(database, "sam.staff@quietline.test", "Sam Staff", "staff", STAFF_PASSWORD),
        "tess": add_user(database, "tess.staff@quietline.test", "Tess Staff", "staff", STAFF_PASSWORD),
    }


# --------------------------------------------------------------------------- the browser tests


@pytest.fixture
def live_server(settings_overrides, redis_conn, clock, database) -> Iterator[str]:
    """The app on 127.0.0.1 at a free port, in a thread; plain http, so the cookie is not Secure-only."""
    app = create_app({**settings_overrides, "public_base_url": "http://127.0.0.1", "secret_key": SECRET},
                     redis=redis_conn, clock=clock, database=database)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def browser_page(tmp_path):
    """A phone-sized page in a fresh Chromium profile; fails (never skips) when Chromium is missing."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package "
                    "(apt-get install chromium; `make test` does) or set CHROMIUM_PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -r requirements-test.txt")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        context.set_default_timeout(5000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


@pytest.fixture
def axe_page(tmp_path):
    """A phone-sized Chromium page that may run axe's script despite the page's CSP (this browser only)."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run `make deps-test` (npm ci in tests/dashboard/axe)")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport=PHONE, is_mobile=True, has_touch=True,
            device_scale_factor=2, bypass_csp=True)
        context.set_default_timeout(10_000)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
