"""Portal visits confirmed by the page's own script.

The portal page carries a signed id of its ``link_opened`` event, and its script posts that id
back. Link checkers that fetch the page without running its script never post it, so a visit
without a confirmation within ``PAGE_SCRIPT_SECONDS`` counts against "person".
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..db import db
from ..mirror.models import Recipient
from ..shares.models import Share
from .events import record_event
from .models import Event

log = logging.getLogger(__name__)

_SALT = "mailgrip.portal-visit"
# The script runs when the page loads. A minute covers a slow phone; after that a visit whose
# script has not reported counts as one whose script never ran.
PAGE_SCRIPT_SECONDS = 60
# A page left open for a day and then reloaded is a new visit with a new id.
MAX_VISIT_AGE_SECONDS = 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_SALT)


def visit_token(visit: Event) -> str:
    """Return the signed id of a ``link_opened`` event, for the page's script to post back."""
    return _serializer().dumps(visit.id)


def confirm_visit(share: Share, token: str, recipient: Recipient | None) -> bool:
    """Record ``page_script_ran`` for the visit that ``token`` names; the caller commits.

    :return: False when the token is invalid, too old, or names a visit of another share.
        A second confirmation of the same visit returns True and records nothing.
    """
    try:
        visit_id = _serializer().loads(token, max_age=MAX_VISIT_AGE_SECONDS)
    except BadSignature as error:
        log.info("Rejected a page confirmation for share %s: %s", share.id, type(error).__name__)
        return False
    visit = db.session.get(Event, visit_id) if isinstance(visit_id, int) else None
    if visit is None or visit.share_id != share.id or visit.kind != "link_opened":
        log.info("Rejected a page confirmation for share %s: unknown visit", share.id)
        return False
    if confirmed_visit_ids(share.id, [visit.id]):
        return True
    record_event("page_script_ran", share, recipient=recipient, detail={"visit": visit.id})
    return True


def confirmed_visit_ids(share_id: str, visit_ids: list[int] | None = None) -> set[int]:
    """Return the ids of ``share_id``'s visits that their page's script confirmed."""
    query = sa.select(Event.detail).where(
        Event.share_id == share_id, Event.kind == "page_script_ran"
    )
    confirmed = {detail.get("visit") for detail in db.session.scalars(query)}
    if visit_ids is not None:
        confirmed &= set(visit_ids)
    return {visit for visit in confirmed if isinstance(visit, int)}
