"""Delivery per recipient from message trace and non-delivery reports, through the emulator."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from delivery_control import (
    configure_trace,
    raw_message,
    serve_trace_row,
    set_outcome,
    trace_requests,
)
from emulator_control import control, post_message

from mailgrip.config import Settings
from mailgrip.db import db, utcnow
from mailgrip.mirror.models import Mailbox, Message, Recipient
from mailgrip.mirror.reports import scan_non_delivery_reports
from mailgrip.mirror.sync import sync_mailbox
from mailgrip.mirror.trace_budget import take_trace_request
from mailgrip.mirror.trace_poll import poll_delivery
from mailgrip.services import services
from mailgrip.settings import current_settings


@pytest.fixture
def mailbox(app, emulator, alice) -> Mailbox:
    row = Mailbox(tenant_id=emulator.tenant_id, object_id=alice.id, address=alice.address)
    db.session.add(row)
    db.session.commit()
    return row


def _settings(**overrides) -> Settings:
    """The app's settings with a backoff of zero, so that every poll is due at once."""
    return Settings({**current_settings().values, "trace_backoff_seconds": 0.0, **overrides})


def _send(emulator, subject: str, to: list[str], cc: list[str] | None = None) -> dict:
    return post_message(
        emulator, "alice@contoso.example", "send-from-outlook", raw_message(subject, to, cc)
    )


def _mirror(mailbox: Mailbox, sent: dict) -> Message:
    sync_mailbox(mailbox, services().graph, current_settings())
    return db.session.scalar(sa.select(Message).where(Message.graph_id == sent["messageId"]))


def _states(message: Message) -> dict[str, tuple[str, str | None, str | None]]:
    db.session.refresh(message)
    return {
        r.address: (r.delivery_state, r.delivery_source, r.delivery_detail)
        for r in message.recipients
    }


def _one_delivered_one_pending(emulator, mailbox: Mailbox) -> Message:
    """Send to Bob (delivered) and to Slow (pending for ever) and poll once."""
    configure_trace(emulator, pendingPolls=0)
    set_outcome(emulator, "slow@fabrikam.example", "pending")
    message = _mirror(
        mailbox, _send(emulator, "Mixed", ["bob@fabrikam.example", "slow@fabrikam.example"])
    )
    poll_delivery(_settings(), services().graph)
    return message


def _make_due(message: Message) -> None:
    message.trace_poll_after = utcnow()
    db.session.commit()


def test_pending_polls_back_off_then_deliver(app, emulator, mailbox):
    configure_trace(emulator, pendingPolls=3)
    message = _mirror(mailbox, _send(emulator, "Slow", ["bob@fabrikam.example"]))
    settings = _settings(trace_backoff_seconds=10.0, trace_backoff_max_seconds=1000.0)
    seen = []

    for attempt in range(1, 4):
        before = utcnow()
        poll_delivery(settings, services().graph)
        db.session.refresh(message)
        seen.append(message.recipients[0].delivery_state)
        delay = (message.trace_poll_after - before).total_seconds()
        expected = 10.0 * 2 ** (attempt - 1)
        assert message.trace_poll_attempts == attempt
        assert expected * 0.8 - 1 <= delay <= expected * 1.2 + 1, (attempt, delay)
        _make_due(message)
    poll_delivery(settings, services().graph)
    db.session.refresh(message)

    assert seen == ["unknown", "pending", "pending"]
    assert message.recipients[0].delivery_state == "delivered"
    assert message.recipients[0].delivery_source == "trace"
    assert message.recipients[0].delivery_at is not None
    assert message.trace_poll_after is None
    assert trace_requests(emulator) == 4


def test_not_due_message_not_polled(app, emulator, mailbox):
    message = _mirror(mailbox, _send(emulator, "Later", ["bob@fabrikam.example"]))
    message.trace_poll_after = utcnow() + timedelta(minutes=5)
    db.session.commit()

    result = poll_delivery(_settings(), services().graph)

    assert result.polled == 0
    assert trace_requests(emulator) == 0


def test_trace_failure_keeps_detail(app, emulator, mailbox):
    configure_trace(emulator, pendingPolls=0)
    set_outcome(
        emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown", report=False
    )
    message = _mirror(mailbox, _send(emulator, "Bounce", ["gone@fabrikam.example"]))

    result = poll_delivery(_settings(), services().graph)

    assert _states(message) == {
        "gone@fabrikam.example": ("failed", "trace", "550 5.1.1 user unknown")
    }
    assert message.recipients[0].trace_detail_fetched is True
    assert result.requests == 2
    assert message.trace_poll_after is None


def test_report_failure_wins_over_trace(app, emulator, mailbox):
    configure_trace(emulator, pendingPolls=0)
    # The next server accepted the message and bounced it later, so trace reports delivered.
    set_outcome(
        emulator,
        "far@remote.example",
        "delivered",
        detail="550 5.7.1 rejected by policy",
        report=True,
    )
    message = _mirror(mailbox, _send(emulator, "Far away", ["far@remote.example"]))

    poll_delivery(_settings(), services().graph)
    after_trace = _states(message)
    result = scan_non_delivery_reports(_settings(), services().graph)
    again = scan_non_delivery_reports(_settings(), services().graph)

    assert after_trace == {"far@remote.example": ("delivered", "trace", None)}
    assert _states(message) == {
        "far@remote.example": ("failed", "ndr", "550 5.7.1 rejected by policy")
    }
    assert result.reports == 1
    assert result.changed_recipients == 1
    assert again.changed_recipients == 0


def test_report_matches_address_spelling(app, emulator, mailbox):
    set_outcome(emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown")
    message = _mirror(mailbox, _send(emulator, "Spelling", ["Gone@FABRIKAM.example"]))

    scan_non_delivery_reports(_settings(), services().graph)

    assert _states(message) == {
        "Gone@FABRIKAM.example": ("failed", "ndr", "550 5.1.1 user unknown")
    }


def test_list_shows_expanded_not_members(app, emulator, mailbox):
    configure_trace(emulator, pendingPolls=0)
    set_outcome(
        emulator,
        "team@contoso.example",
        "expanded",
        members=["ann@contoso.example", "gone@fabrikam.example"],
    )
    set_outcome(emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown")
    message = _mirror(mailbox, _send(emulator, "Team news", ["team@contoso.example"]))

    poll_delivery(_settings(), services().graph)
    scan_non_delivery_reports(_settings(), services().graph)

    assert _states(message) == {"team@contoso.example": ("expanded", "trace", None)}


def test_budget_shared_by_threads(app):
    taken = []
    lock = threading.Lock()

    def worker() -> None:
        with app.app_context():
            for _ in range(5):
                result = take_trace_request("tenant-a", 10, 300.0)
                with lock:
                    taken.append(result)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert taken.count(True) == 10
    assert len(taken) == 40
    assert take_trace_request("tenant-b", 10, 300.0) is True


def test_budget_holds_under_many_mailboxes(app, emulator, make_user, mailbox):
    configure_trace(emulator, pendingPolls=0, throttleRequests=12)
    messages = []
    for number in range(6):
        user = make_user(f"user{number}@contoso.example")
        row = Mailbox(tenant_id=emulator.tenant_id, object_id=user.id, address=user.address)
        db.session.add(row)
        db.session.commit()
        for index in range(3):
            raw = raw_message(f"Report {index}", ["bob@fabrikam.example"])
            raw = raw.replace(b"alice@contoso.example", user.address.encode())
            sent = post_message(emulator, user.address, "send-from-outlook", raw)
            messages.append(_mirror(row, sent))
    settings = _settings(trace_budget_requests=12)

    def worker() -> None:
        with app.app_context():
            for _ in range(3):
                poll_delivery(settings, services().graph)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The emulator throttles at 12 too, so one request more would have been a 429.
    assert trace_requests(emulator) == 12
    delivered = db.session.scalar(
        sa.select(sa.func.count(Recipient.id)).where(Recipient.delivery_state == "delivered")
    )
    assert delivered == 12


def test_throttled_trace_spends_budget(app, emulator, mailbox):
    configure_trace(emulator, pendingPolls=0, throttleRequests=1)
    first = _mirror(mailbox, _send(emulator, "One", ["bob@fabrikam.example"]))
    second = _mirror(mailbox, _send(emulator, "Two", ["bob@fabrikam.example"]))

    result = poll_delivery(_settings(), services().graph)

    assert result.budget_exhausted is True
    assert trace_requests(emulator) == 2
    assert take_trace_request(emulator.tenant_id, 100, 300.0) is False
    assert _states(first)["bob@fabrikam.example"][0] == "delivered"
    assert _states(second)["bob@fabrikam.example"][0] == "unknown"
    assert second.trace_poll_after is not None


def test_throttled_trace_waits_for_retry_after(app, emulator, mailbox):
    # The emulator throttles for the rest of a 40 s window and sends those seconds in Retry-After.
    configure_trace(emulator, pendingPolls=0, throttleRequests=1, throttleWindowSeconds=40)
    _mirror(mailbox, _send(emulator, "One", ["bob@fabrikam.example"]))
    _mirror(mailbox, _send(emulator, "Two", ["bob@fabrikam.example"]))

    throttled_at = utcnow()
    result = poll_delivery(_settings(), services().graph)

    assert result.budget_exhausted is True
    tenant = emulator.tenant_id
    # Not before Retry-After (at most 40 s) has passed...
    assert take_trace_request(tenant, 100, 300.0, now=throttled_at + timedelta(seconds=25)) is False
    # ...and not a whole 300 s budget window either.
    assert take_trace_request(tenant, 100, 300.0, now=throttled_at + timedelta(seconds=45)) is True


@pytest.mark.parametrize(
    "body",
    [
        "this is not JSON",
        "[]",
        '{"value": "rows"}',
        '{"value": [{"id": 5, "recipientAddress": null, "status": ["delivered"]}, "row"]}',
    ],
    ids=["not-json", "array", "value-not-list", "invalid-rows"],
)
def test_malformed_trace_keeps_states(app, emulator, mailbox, body):
    message = _one_delivered_one_pending(emulator, mailbox)
    before = _states(message)
    control(emulator, "POST", "message-traces/malformed", json={"body": body})
    _make_due(message)

    result = poll_delivery(_settings(), services().graph)

    assert before == {
        "bob@fabrikam.example": ("delivered", "trace", None),
        "slow@fabrikam.example": ("pending", "trace", None),
    }
    assert _states(message) == before
    assert message.trace_poll_after is not None
    if body.startswith('{"value": ['):
        assert result.failed == []
    else:
        assert result.failed == [message.id]


def test_unavailable_trace_keeps_states(app, emulator, mailbox):
    message = _one_delivered_one_pending(emulator, mailbox)
    before = _states(message)
    emulator.add_fault(status=503, path="messageTraces")
    _make_due(message)

    result = poll_delivery(_settings(), services().graph)

    assert result.failed == [message.id]
    assert _states(message) == before
    assert message.trace_poll_attempts == 2


def test_report_without_message_ignored(app, emulator, mailbox):
    message = _one_delivered_one_pending(emulator, mailbox)
    before = _states(message)
    set_outcome(emulator, "gone@fabrikam.example", "failed", detail="550 5.1.1 user unknown")
    # Sent but never mirrored, so the report names no message in Mailgrip's database.
    _send(emulator, "Unknown", ["gone@fabrikam.example", "bob@fabrikam.example"])

    result = scan_non_delivery_reports(_settings(), services().graph)

    assert result.reports == 1
    assert result.unmatched == 1
    assert result.failed == []
    assert mailbox.reports_scanned_through is not None
    assert _states(message) == before


def test_postmaster_mail_that_is_no_report(app, emulator, make_user, mailbox):
    postmaster = make_user("postmaster@contoso.example")
    message = {
        "subject": "Mailbox quota",
        "body": {"contentType": "Text", "content": "Your mailbox is almost full."},
        "toRecipients": [{"emailAddress": {"address": "alice@contoso.example"}}],
    }
    services().graph.send_mail(postmaster.id, message)

    result = scan_non_delivery_reports(_settings(), services().graph)

    assert result.reports == 0
    assert result.failed == []


def test_inbox_unavailable_keeps_mark(app, emulator, mailbox):
    emulator.add_fault(status=503, path="inbox", count=4)

    result = scan_non_delivery_reports(_settings(), services().graph)

    assert result.failed == [mailbox.id]
    db.session.refresh(mailbox)
    assert mailbox.reports_scanned_through is None


def test_old_message_not_traced(app, emulator, mailbox):
    message = _mirror(mailbox, _send(emulator, "Old", ["bob@fabrikam.example"]))
    message.sent_at = utcnow() - timedelta(hours=80)
    db.session.commit()

    poll_delivery(_settings(), services().graph)

    assert trace_requests(emulator) == 0
    assert message.trace_poll_after is None
    assert _states(message) == {"bob@fabrikam.example": ("unknown", None, None)}


def _sent_ten_minutes_ago(emulator, mailbox: Mailbox) -> Message:
    """Send and mirror a message, then date it ten minutes back, as if Mailgrip polled late."""
    message = _mirror(mailbox, _send(emulator, "Timed", ["bob@fabrikam.example"]))
    message.sent_at = utcnow().replace(microsecond=0) - timedelta(minutes=10)
    db.session.commit()
    return message


def test_trace_row_time_is_delivery_time(app, emulator, mailbox):
    message = _sent_ten_minutes_ago(emulator, mailbox)
    delivered = message.sent_at + timedelta(seconds=3)
    serve_trace_row(emulator, "bob@fabrikam.example", delivered.strftime("%Y-%m-%dT%H:%M:%SZ"))

    poll_delivery(_settings(), services().graph)

    db.session.refresh(message)
    (bob,) = message.recipients
    assert bob.delivery_state == "delivered"
    assert bob.delivery_at == delivered


def test_trace_row_time_before_sending_clamped(app, emulator, mailbox):
    message = _sent_ten_minutes_ago(emulator, mailbox)
    early = message.sent_at - timedelta(minutes=2)
    serve_trace_row(emulator, "bob@fabrikam.example", early.strftime("%Y-%m-%dT%H:%M:%SZ"))

    poll_delivery(_settings(), services().graph)

    db.session.refresh(message)
    assert message.recipients[0].delivery_at == message.sent_at


@pytest.mark.parametrize(
    "received",
    [
        None,
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-01-05T09:30:00",
        "2026-01-05",
        "2999-01-05T09:30:00Z",
    ],
    ids=["missing", "text", "month-13", "no-offset", "date-only", "future"],
)
def test_trace_row_without_usable_time_uses_poll(app, emulator, mailbox, received):
    message = _sent_ten_minutes_ago(emulator, mailbox)
    serve_trace_row(emulator, "bob@fabrikam.example", received)

    before = utcnow()
    poll_delivery(_settings(), services().graph)
    after = utcnow()

    db.session.refresh(message)
    (bob,) = message.recipients
    assert bob.delivery_state == "delivered"
    assert before <= bob.delivery_at <= after
