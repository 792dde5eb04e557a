"""Delta sync of Sent Items from the emulator into messages and recipients."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
import requests
import sqlalchemy as sa
from emulator_control import control

from mailgrip.db import db
from mailgrip.graph.client import GraphError, GraphUnavailable
from mailgrip.mirror.models import Mailbox, Message, Recipient
from mailgrip.mirror.sync import sync_mailbox
from mailgrip.services import services
from mailgrip.settings import current_settings


def _file_raw(emulator, address: str, raw: bytes) -> dict:
    return control(
        emulator,
        "POST",
        f"mailboxes/{address}/sent-items",
        data=raw,
        headers={"Content-Type": "message/rfc822"},
    ).json()


def _raw(subject: str, to: str, cc: str = "", body: str = "Hello") -> bytes:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = "Fri, 04 Dec 2026 10:00:00 +0100"
    message.set_content(body)
    return message.as_bytes()


@pytest.fixture
def mailbox(app, emulator, alice) -> Mailbox:
    row = Mailbox(tenant_id=emulator.tenant_id, object_id=alice.id, address=alice.address)
    db.session.add(row)
    db.session.commit()
    return row


def _sync(mailbox: Mailbox, **kwargs):
    return sync_mailbox(mailbox, services().graph, current_settings(), **kwargs)


def _messages(mailbox: Mailbox) -> list[Message]:
    return list(db.session.scalars(sa.select(Message).where(Message.mailbox_id == mailbox.id)))


def test_sync_mirrors_fixture_messages(app, emulator, alice, mailbox, fixtures_dir):
    paths = sorted((fixtures_dir / "eml" / "mikel-mail" / "attachment_emails").glob("*.eml"))
    files = [("files", (path.name, path.read_bytes(), "message/rfc822")) for path in paths]
    results = control(emulator, "POST", f"mailboxes/{alice.address}/import", files=files).json()
    imported = [r for r in results["results"] if r["status"] == "imported"]

    result = _sync(mailbox)

    assert imported, results
    assert result.created == len(imported)
    assert len(_messages(mailbox)) == len(imported)
    assert mailbox.delta_link
    assert mailbox.last_synced_at is not None
    assert mailbox.last_sync_error is None


def test_sync_rerun_creates_no_duplicates(app, emulator, alice, mailbox):
    for number in range(3):
        _file_raw(emulator, alice.address, _raw(f"Report {number}", "bob@fabrikam.example"))
    _sync(mailbox)
    mailbox.delta_link = None  # a full resync walks every message again
    db.session.commit()

    second = _sync(mailbox)

    assert second.created == 0
    assert second.updated == 3
    assert len(_messages(mailbox)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recipient)) == 3


def test_sync_follows_pages(app, emulator, alice, mailbox):
    for number in range(5):
        _file_raw(emulator, alice.address, _raw(f"Paged {number}", "bob@fabrikam.example"))

    result = _sync(mailbox, page_size=2)

    assert result.pages == 3
    assert result.created == 5


def test_sync_delta_link_fetches_only_changes(app, emulator, alice, mailbox):
    _file_raw(emulator, alice.address, _raw("First", "bob@fabrikam.example"))
    _sync(mailbox)
    _file_raw(emulator, alice.address, _raw("Second", "bob@fabrikam.example"))

    result = _sync(mailbox)

    assert result.created == 1
    assert result.updated == 0
    assert sorted(m.subject for m in _messages(mailbox)) == ["First", "Second"]


def test_sync_saves_delta_link_only_after_last_page(app, emulator, alice, mailbox, monkeypatch):
    for number in range(4):
        _file_raw(emulator, alice.address, _raw(f"Cut {number}", "bob@fabrikam.example"))
    session = services().session
    real_request = session.request

    # The emulator's faults match a URL path, and every delta page has the same path. So a
    # connection reset on the second page is raised here, and every other request reaches it.
    def reset_on_second_page(method, url, *args, **kwargs):
        if "$skiptoken=" in url or "%24skiptoken=" in url:
            raise requests.ConnectionError("connection reset by peer")
        return real_request(method, url, *args, **kwargs)

    monkeypatch.setattr(session, "request", reset_on_second_page)
    with pytest.raises(GraphUnavailable):
        _sync(mailbox, page_size=2)
    assert mailbox.delta_link is None
    assert "connection reset" in mailbox.last_sync_error
    assert len(_messages(mailbox)) == 2

    monkeypatch.undo()
    result = _sync(mailbox, page_size=2)
    assert mailbox.delta_link
    assert result.created == 2
    assert len(_messages(mailbox)) == 4


def test_sync_merges_recipient_spellings(app, emulator, alice, mailbox):
    raw = _raw(
        "Spellings",
        to="Alice Example <Alice@Example.COM>, Bob <bob@fabrikam.example>",
        cc="alice@example.com, BOB@FABRIKAM.EXAMPLE",
    )
    _file_raw(emulator, alice.address, raw)

    _sync(mailbox)

    (message,) = _messages(mailbox)
    addresses = [(r.address, r.kind) for r in message.recipients]
    assert addresses == [("Alice@Example.COM", "to"), ("bob@fabrikam.example", "to")]


def test_sync_marks_moved_message(app, emulator, alice, mailbox):
    filed = _file_raw(emulator, alice.address, _raw("Moved", "bob@fabrikam.example"))
    _sync(mailbox)
    control(
        emulator,
        "POST",
        f"mailboxes/{alice.address}/messages/{filed['id']}/move",
        json={"destination": "deleteditems"},
    )

    result = _sync(mailbox)

    (message,) = _messages(mailbox)
    assert result.removed == 1
    assert message.in_sent_items is False


def test_sync_recovers_from_lost_sync_state(app, emulator, alice, mailbox):
    _file_raw(emulator, alice.address, _raw("Kept", "bob@fabrikam.example"))
    _sync(mailbox)
    mailbox.delta_link = mailbox.delta_link.split("$deltatoken=")[0] + "$deltatoken=garbled"
    db.session.commit()

    result = _sync(mailbox)

    assert result.full_resync is True
    assert result.created == 0
    assert len(_messages(mailbox)) == 1


def test_sync_failure_recorded_on_mailbox(app, emulator, mailbox):
    mailbox.object_id = "00000000-0000-0000-0000-000000000000"
    db.session.commit()

    with pytest.raises(GraphError) as raised:
        _sync(mailbox)

    assert raised.value.request_id
    assert mailbox.last_sync_error
    assert mailbox.delta_link is None


def test_sync_retries_throttled_request(app, emulator, alice, mailbox):
    _file_raw(emulator, alice.address, _raw("Throttled", "bob@fabrikam.example"))
    emulator.add_fault(status=429, path="messages/delta", retryAfter=1, count=2)

    result = _sync(mailbox)

    assert result.created == 1
    assert mailbox.last_sync_error is None


def test_sync_outage_recorded_then_resumed(app, emulator, alice, mailbox):
    _file_raw(emulator, alice.address, _raw("Outage", "bob@fabrikam.example"))
    emulator.add_fault(status=503, path="messages/delta", retryAfter=0, count=4)

    with pytest.raises(GraphError) as raised:
        _sync(mailbox)
    assert raised.value.http_status == 503
    assert "503" in mailbox.last_sync_error
    assert mailbox.delta_link is None

    result = _sync(mailbox)
    assert result.created == 1
    assert mailbox.last_sync_error is None
