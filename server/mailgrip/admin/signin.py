"""Admin sign-in: a bearer token with the admin app role starts a session in the database.

Every admin request is authorized either by an ``Authorization: Bearer`` token that passes the
API's token validation and carries the admin role, or by the session that such a token started.
The session cookie holds only a random token whose hash names the session row.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import request, session

from ..access.mailboxes import is_admin
from ..db import db, utcnow
from ..errors import TokenInvalid
from ..mirror.models import MAX_ADDRESS, MAX_DISPLAY_NAME
from ..services import services
from ..settings import current_settings
from .models import AdminSession

log = logging.getLogger(__name__)

SESSION_KEY = "admin"
# An admin session ends after this many seconds even while the browser stays open, so a
# removed role stops working within a working day.
ADMIN_SESSION_SECONDS = 8 * 3600


class NotAdmin(Exception):
    """The token is invalid, or valid but without the admin app role."""


@dataclass(frozen=True)
class Admin:
    """The signed-in administrator."""

    tenant_id: str
    object_id: str
    address: str
    name: str


def admin_from_token(token: str) -> Admin:
    """Validate an API access token and require the admin app role in it.

    :raise NotAdmin: the token is invalid or lacks the role.
    """
    try:
        caller = services().tokens.validate(token)
    except TokenInvalid as error:
        log.info("Admin sign-in with an invalid token: %s", error.message)
        raise NotAdmin(error.message) from None
    if not is_admin(caller, current_settings()):
        log.warning("Admin sign-in rejected for user %s: no admin role", caller.object_id)
        raise NotAdmin("The account does not have the admin role.")
    return Admin(caller.tenant_id, caller.object_id, caller.address, caller.name)


def start_session(admin: Admin) -> None:
    """Record a new admin session and put its random token in the signed session cookie.

    The caller commits. A token from an earlier session in this browser is replaced, so a
    session token planted before sign-in never becomes an admin's.
    """
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AdminSession(
            token_hash=_hash(token),
            tenant_id=admin.tenant_id,
            object_id=admin.object_id,
            address=admin.address[:MAX_ADDRESS],
            name=admin.name[:MAX_DISPLAY_NAME],
            created_at=now,
            expires_at=now + timedelta(seconds=ADMIN_SESSION_SECONDS),
        )
    )
    session[SESSION_KEY] = token
    log.info("Admin %s signed in", admin.object_id)


def end_session() -> None:
    """End the browser's admin session in the database and forget its token; the caller commits.

    A copy of the cookie taken before sign-out no longer works, because the session row is
    marked as ended.
    """
    record = _stored_session()
    if record is not None:
        record.ended_at = utcnow()
        log.info("Admin %s signed out", record.object_id)
    session.pop(SESSION_KEY, None)


def current_admin() -> Admin | None:
    """Return the admin behind the request's bearer token or session, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return admin_from_token(token.strip())
        except NotAdmin:
            return None
    record = _stored_session()
    if record is None or record.ended_at is not None or record.expires_at <= utcnow():
        return None
    return Admin(record.tenant_id, record.object_id, record.address, record.name)


def _stored_session() -> AdminSession | None:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        return None
    return db.session.scalar(sa.select(AdminSession).where(AdminSession.token_hash == _hash(token)))


def _hash(token: str) -> str:
    # The token has 256 random bits, so a plain SHA-256 is enough to make stored rows useless.
    return hashlib.sha256(token.encode()).hexdigest()
