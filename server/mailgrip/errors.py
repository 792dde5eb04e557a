"""Mailgrip's exception hierarchy; every error carries its HTTP status and its JSON form."""

from __future__ import annotations

from typing import Any


class MailgripError(Exception):
    """Base of every error that Mailgrip reports to a client."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body


class BadRequest(MailgripError):
    status = 400
    code = "bad_request"


class NotFound(MailgripError):
    status = 404
    code = "not_found"


class Conflict(MailgripError):
    """The request does not fit the resource's current state, such as a chunk at a wrong offset."""

    status = 409
    code = "conflict"


class PayloadTooLarge(MailgripError):
    status = 413
    code = "payload_too_large"


class TokenInvalid(MailgripError):
    """A bearer token is missing, malformed, expired or not meant for Mailgrip."""

    status = 401
    code = "invalid_token"


class AccessDenied(MailgripError):
    """The access decision refused a file; ``reason`` is one of ``access.REASONS``."""

    status = 403
    code = "access_denied"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.reason = reason


class VerificationFailed(MailgripError):
    status = 400
    code = "verification_failed"
