"""IVR_TEST_NOW: the service's clock, fixed for tests, and refused anywhere it could reach the real Twilio.

``python -m ivr.dev.serve``, gunicorn's ``app:app`` and ``python -m workers.run`` all build their app with
``create_app()``, so the variable reaches each of them (tests/dev/test_serve.py runs them).
"""
from __future__ import annotations

import datetime as dt

import pytest

from ivr.app import create_app
from ivr.config import load_settings
from ivr.exceptions import ConfigError
from tests.helpers.service import DATA_KEY, RECORDINGS_KEY

LOCAL = {"TWILIO_AUTH_TOKEN": "t" * 32, "TWILIO_API_URL": "http://127.0.0.1:8010", "IVR_DATA_KEY": DATA_KEY,
         "IVR_RECORDINGS_KEY": RECORDINGS_KEY}


@pytest.mark.parametrize("value, instant", [
    ("2026-11-23T11:00:00-05:00", dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC)),
    ("2026-11-01T01:50:00-04:00", dt.datetime(2026, 11, 1, 5, 50, tzinfo=dt.UTC)),
    ("2026-03-08T07:30:00+00:00", dt.datetime(2026, 3, 8, 7, 30, tzinfo=dt.UTC)),
])
def test_a_fixed_instant_with_its_offset(value, instant):
    settings = load_settings({**LOCAL, "IVR_TEST_NOW": value})
    settings.validate()
    clock = settings.clock()
    assert clock() == instant and clock() == instant  # fixed: it does not move


@pytest.mark.parametrize("api_url", ["https://api.twilio.com", "https://proxy.example.org", ""])
def test_refused_unless_rest_calls_go_to_a_local_standin(api_url):
    environ = {"TWILIO_AUTH_TOKEN": "t" * 32, "IVR_TEST_NOW": "2026-11-23T11:00:00-05:00", "IVR_DATA_KEY": DATA_KEY,
               "IVR_RECORDINGS_KEY": RECORDINGS_KEY}
    if api_url:
        environ["TWILIO_API_URL"] = api_url
    with pytest.raises(ConfigError, match="IVR_TEST_NOW is for tests only"):
        load_settings(environ).validate()


@pytest.mark.parametrize("value", ["2026-11-23T11:00:00", "next monday", "2026-13-01T00:00:00Z"])
def test_an_instant_without_offset_or_unreadable_is_a_clear_error(value):
    with pytest.raises(ConfigError, match="IVR_TEST_NOW must be an ISO 8601 instant with its UTC offset"):
        load_settings({**LOCAL, "IVR_TEST_NOW": value}).validate()


def test_unset_means_the_real_clock():
    assert load_settings(LOCAL).clock() is None


def test_the_app_runs_on_it(settings_overrides, redis_conn, database, monkeypatch, caplog):
    monkeypatch.setenv("IVR_TEST_NOW", "2026-11-28T03:00:00-05:00")  # a Saturday night: closed
    app = create_app(settings_overrides, redis=redis_conn, database=database)
    assert app.extensions["quietline"].clock() == dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
    assert "IVR_TEST_NOW: the clock is fixed at 2026-11-28T03:00:00-05:00 (tests only)" in caplog.text
    from tests.helpers.webhooks import post, start_params

    body = post(app.test_client(), "/twilio/voice", start_params()).get_data(as_text=True)
    assert "Our office is closed right now, and we open again Monday at 9 AM." in body
