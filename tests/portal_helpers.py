"""Helpers for tests of shares and the portal: the sender fixture, CSRF tokens, events."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa
from builders import make_mailbox

from mailgrip.audit import AuditRecord
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.tracking.models import Event

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def sender(app, emulator, alice) -> Mailbox:
    """Alice's mailbox, known to the emulator, so Graph can send codes from it."""
    return make_mailbox(
        alice.address,
        display_name=alice.display_name,
        object_id=alice.id,
        tenant_id=emulator.tenant_id,
    )


def csrf_token(client, path: str) -> str:
    """Open a portal page with the test client and return the CSRF token of its forms."""
    page = client.get(path)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}: {page.status_code}"
    return unescape(match.group(1))


def events(kind: str | None = None) -> list[Event]:
    """Return the recorded events, only those of ``kind`` when given, oldest first."""
    query = sa.select(Event).order_by(Event.id)
    if kind is not None:
        query = query.where(Event.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query))


def audit_actions() -> list[str]:
    """Return the actions of the audit log, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)))
