"""The log masker (ivr.core.privacy.mask_text, MaskingFilter): phone numbers and dates of birth masked in the
forms they take; job ids, Redis keys, pids and timestamps left as they are, so logs can be matched to Redis."""
from __future__ import annotations

import io
import logging

import pytest

from ivr.core.privacy import MaskingFilter, mask_text

KEPT = [
    "reconciliation job reconcile-1764530400 scheduled",  # epoch seconds in a job id
    "rq:job:reconcile-1764530400",
    "Worker rq:worker:3f1c: calls: Job OK (escalation-1234567-new-L1)",
    "sms-CA0123456789abcdef0123456789abcdef-text-3-0 enqueued",
    "ql:call:CA5551230001aaaaaaaaaaaaaaaaaaaaaa",  # a CallSid whose hex starts with digits
    "18:27:10.123456 job started",  # microseconds
    "enqueued at 2026-11-30T18:27:10.123456+00:00",
    "2026-11-30 18:27:10,123 INFO rq.worker",
    "Result is kept for 86400 seconds",
    "started worker (pid 1234567)",
    "at 1764530400 and 1764530400123",
]

MASKED = [
    ("call from +15551230001", "call from +1******0001"),
    ("caller=+15551230001,", "caller=+1******0001,"),
    ("typed 5551230001 as the number on file", "typed 5*****0001 as the number on file"),
    ("typed 15551230001", "typed 1******0001"),
    ("call 555-123-4567 or (555) 123-4567 or 555.123.4567.", "call 5*****4567 or 5*****4567 or 5*****4567."),
    ("+1 555 123 4567", "+1******4567"),
    ("dob 04151985#", "dob #########"),
    ("born 1985-04-15.", "born ####-##-##."),
    ("born 04/15/1985 or 4/15/85", "born ##/##/#### or #/##/##"),
    ("card 4111 1111 1111 1111", "card #### #### #### ####"),
    ("card 4111111111111111", "card ################"),
]


@pytest.mark.parametrize("text", KEPT)
def test_job_ids_keys_and_timestamps_are_left_alone(text):
    assert mask_text(text) == text


@pytest.mark.parametrize("text, masked", MASKED)
def test_phone_numbers_and_dates_of_birth_are_masked(text, masked):
    assert mask_text(text) == masked


def test_the_logging_filter_masks_the_rendered_message_only():
    out = io.StringIO()
    logger = logging.getLogger("tests.masking")
    logger.propagate = False
    handler = logging.StreamHandler(out)
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("job %s for %s at %s", "reconcile-1764530400", "+15551230001", "18:27:10.123456")
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == "job reconcile-1764530400 for +1******0001 at 18:27:10.123456\n"
