"""fix14-bt blocker 1: every per-process table is built when the app (or a worker) is built, never by the
first request. Counted (compiled lists, cache misses), never timed."""
from __future__ import annotations

from ivr.app import create_app
from ivr.config import load_settings
from ivr.core import crisis
from ivr.services import build_services
from tests.helpers.webhooks import post, start_params


def test_the_app_factory_compiles_the_crisis_lists_before_the_first_request(
        settings_overrides, redis_conn, clock, standin, database):
    standin.reset()
    crisis.compiled_list.cache_clear()
    app = create_app(settings_overrides, redis=redis_conn, clock=clock, strict_flows=True, database=database)
    built = crisis.compiled_list.cache_info()
    assert built.currsize == len(crisis.languages()) == 2  # en and ko, compiled by the factory
    client = app.test_client()
    sid = "CA" + "7" * 32
    post(client, "/twilio/voice", start_params(sid))
    response = post(client, "/twilio/voice/input?turn=1",
                    {**start_params(sid), "SpeechResult": "I keep thinking about dying", "Confidence": "0.9"})
    assert response.status_code == 200
    after = crisis.compiled_list.cache_info()
    assert (after.misses, after.currsize) == (built.misses, built.currsize)  # no compile on the first answer
    assert after.hits > built.hits  # the answer was graded, with the lists built at start


def test_worker_services_compile_the_crisis_lists(settings_overrides, redis_conn, clock, database):
    crisis.compiled_list.cache_clear()
    settings = load_settings(overrides=settings_overrides)
    build_services(settings, redis=redis_conn, clock=clock, database=database)
    assert crisis.compiled_list.cache_info().currsize == len(crisis.languages())
