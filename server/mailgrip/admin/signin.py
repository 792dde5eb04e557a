"""Admin sign-in: a bearer token with the admin app role, remembered in the session cookie.

Every admin request is authorized either by an ``Authorization: Bearer`` token that passes the
API's token validation and carries the admin role, or by the session that such a token started.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import request, session

from ..access.mailboxes import is_admin
from ..errors import TokenInvalid
from ..services import services
from ..settings import current_settings

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
    """Remember the admin in the signed session cookie."""
    session[SESSION_KEY] = {
        "tid": admin.tenant_id,
        "oid": admin.object_id,
        "address": admin.address,
        "name": admin.name,
        "since": int(time.time()),
    }
    log.info("Admin %s signed in", admin.object_id)


def end_session() -> None:
    session.pop(SESSION_KEY, None)


def current_admin() -> Admin | None:
    """Return the admin behind the request's bearer token or session, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        try:
            return admin_from_token(token.strip())
        except NotAdmin:
            return None
    stored = session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return None
    if time.time() - stored.get("since", 0) >= ADMIN_SESSION_SECONDS:
        end_session()
        return None
    return Admin(stored["tid"], stored["oid"], stored["address"], stored["name"])
