"""Is this request really from Twilio?  Checked against the public URL Twilio used."""
from __future__ import annotations

from collections.abc import Mapping

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


def refuse_oversized_streams() -> None:
    """``before_request``: a body sent without a length (chunked) is read up to MAX_CONTENT_LENGTH, no further.

    Flask refuses a declared length over the limit itself (413).  A streamed body is
    only cut off at the limit, and werkzeug then parses the truncated start as if it
    were whole; here it is read (kept for the form parser) and refused with 413 when
    it reaches the limit.
    """
    from flask import abort, request

    limit = request.max_content_length
    if limit is None or request.content_length is not None or "wsgi.input_terminated" not in request.environ:
        return
    if len(request.get_data(cache=True)) >= limit:
        abort(413)
