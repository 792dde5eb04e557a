"""Bearer-token authentication for the task-pane API."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.exc import IntegrityError

from ...db import db
from ...errors import TokenInvalid
from ...identity.tokens import Caller
from ...mirror.models import MAX_ADDRESS, MAX_DISPLAY_NAME, Mailbox
from ...services import services
from ...text import remove_control_characters
from ...worker import tasks
from ...worker.queue import current_queue

log = logging.getLogger(__name__)


def require_caller(view: Callable[..., Any]) -> Callable[..., Any]:
    """Validate the bearer token, then set ``g.caller`` and the caller's ``g.mailbox``.

    :raise 401: the token is missing or invalid.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise TokenInvalid("Send an Authorization header of the form 'Bearer <token>'.")
        caller = services().tokens.validate(token.strip())
        g.caller = caller
        # Kept for the on-behalf-of exchange when the caller opens a shared mailbox.
        g.bearer_token = token.strip()
        g.mailbox = mailbox_for(caller)
        return view(*args, **kwargs)

    return wrapper


def mailbox_for(caller: Caller) -> Mailbox:
    """Return the caller's mailbox, created on first use so that its Sent Items get mirrored."""
    mailbox = db.session.scalar(
        sa.select(Mailbox).where(
            Mailbox.tenant_id == caller.tenant_id, Mailbox.object_id == caller.object_id
        )
    )
    if mailbox is None:
        mailbox = Mailbox(
            tenant_id=caller.tenant_id,
            object_id=caller.object_id,
            address=caller.address[:MAX_ADDRESS],
            display_name=remove_control_characters(caller.name)[:MAX_DISPLAY_NAME],
        )
        db.session.add(mailbox)
        try:
            db.session.commit()
        except IntegrityError:
            # The user's first two requests arrived together and the other one won.
            db.session.rollback()
            return db.session.scalars(
                sa.select(Mailbox).where(
                    Mailbox.tenant_id == caller.tenant_id, Mailbox.object_id == caller.object_id
                )
            ).one()
        _start_mirroring(mailbox)
    return mailbox


def _start_mirroring(mailbox: Mailbox) -> None:
    """Queue the new mailbox's subscription and first sync; the periodic jobs catch up if the
    queue is unreachable now."""
    queue = current_queue()
    try:
        queue.enqueue(tasks.renew_subscription, mailbox.id)
        queue.enqueue(tasks.sync_mailbox, mailbox.id)
    except Exception:
        # A boundary: the caller's request must not fail because the queue is down.
        log.exception("Mailbox %s: queueing its first sync failed", mailbox.id)
