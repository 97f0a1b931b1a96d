"""The webhook URLs Twilio is given: stable public paths, absolute against ``PUBLIC_BASE_URL``."""
from __future__ import annotations

# Stable, public paths: Twilio numbers and in-flight calls point at these.
PATHS = {
    "voice": "/twilio/voice",
    "input": "/twilio/voice/input",
    "timeout": "/twilio/voice/timeout",
    "recorded": "/twilio/voice/recorded",
    "dialed": "/twilio/voice/dialed",
    "paid": "/twilio/voice/paid",
    "screen": "/twilio/voice/screen",
    "screen_accept": "/twilio/voice/screen/accept",
    "recording_status": "/twilio/voice/recording-status",
    "status": "/twilio/status",
    "fallback": "/twilio/fallback",
    "fallback_voicemail": "/twilio/fallback/voicemail",
    "sms": "/twilio/sms",
    "audio": "/audio",
}


def public_url(base_url: str, name: str, turn: int | None = None) -> str:
    """Absolute URL of one of our routes; ``turn`` marks which answer of the call it follows."""
    url = base_url + PATHS[name]
    return f"{url}?turn={turn}" if turn is not None else url
