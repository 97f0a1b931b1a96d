"""Is this request really from Twilio?  Checked against the public URL Twilio used."""
from __future__ import annotations

from typing import Mapping

from twilio.request_validator import RequestValidator, compare


class SignatureChecker:
    """Validates ``X-Twilio-Signature`` for requests that reached us through any proxy or tunnel."""

    def __init__(self, auth_token: str, public_base_url: str):
        self._validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url.rstrip("/")

    def public_url(self, path: str, query: str = "") -> str:
        """The URL Twilio signed: our public base + the path (and query) it requested."""
        return f"{self.public_base_url}{path}" + (f"?{query}" if query else "")

    def valid(self, path: str, query: str, params: Mapping[str, str], signature: str | None) -> bool:
        """True when the signature matches what Twilio would compute for this request."""
        if not signature:
            return False
        url, form = self.public_url(path, query), dict(params)
        # Twilio signs the URL it was given, PUBLIC_BASE_URL's: that matches at once. The library's
        # full check (the URL with and without an explicit port: two HMACs) runs only when it does not.
        if compare(self._validator.compute_signature(url, form), signature):
            return True
        return bool(self._validator.validate(url, form, signature))
