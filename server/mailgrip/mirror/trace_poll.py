"""The job that polls message trace about sent messages until every recipient's state is final.

Each message has a time for its next poll. A poll that leaves a recipient without a final
state doubles the delay, up to a maximum. Every request takes one request from the tenant's
budget first, so the job is safe to run in many processes at once and to retry.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..config import Settings
from ..db import db, utcnow
from ..graph.client import GraphClient, GraphError
from .addresses import address_key
from .delivery import (
    DELIVERED,
    EXPANDED,
    FAILED,
    FILTERED_AS_SPAM,
    PENDING,
    QUARANTINED,
    SOURCE_TRACE,
    is_final,
    record_delivery,
    reported_time,
)
from .models import Message, Recipient
from .trace import (
    TraceBudgetExhausted,
    TraceResponseInvalid,
    TraceRow,
    failure_detail,
    list_message_traces,
    trace_window,
)
from .trace_budget import pause_budget, take_trace_request

log = logging.getLogger(__name__)

# Message trace statuses and the state each one sets. "gettingStatus" means that message
# trace does not know yet, so it sets nothing; neither does a value added to Graph later.
STATE_OF_STATUS = {
    "pending": PENDING,
    "delivered": DELIVERED,
    "failed": FAILED,
    "quarantined": QUARANTINED,
    "filteredasspam": FILTERED_AS_SPAM,
    "expanded": EXPANDED,
}
MESSAGES_PER_ROUND = 50
# How long a poll may take before another process may poll the same message, in seconds.
CLAIM_SECONDS = 120


@dataclass
class TracePollResult:
    """Counts of one round of ``poll_delivery``."""

    polled: int = 0
    requests: int = 0
    changed_recipients: int = 0
    finished: int = 0
    budget_exhausted: bool = False
    failed: list[int] = field(default_factory=list)  # ids of messages whose poll failed


def poll_delivery(settings: Settings, graph: GraphClient) -> TracePollResult:
    """Poll message trace for every message that is due, within the tenant's budget.

    Idempotent: a state is stored only when it changes, and a message that fails is polled
    again after its backoff. One message's failure never stops the others.
    """
    result = TracePollResult()
    now = utcnow()
    due = db.session.execute(
        sa.select(Message.id, Message.trace_poll_after)
        .where(Message.trace_poll_after.is_not(None), Message.trace_poll_after <= now)
        .order_by(Message.trace_poll_after, Message.id)
        .limit(MESSAGES_PER_ROUND)
    ).all()
    for message_id, poll_after in due:
        if not _claim(message_id, poll_after):
            continue
        message = db.session.get(Message, message_id)
        if message is None:
            continue
        try:
            if not _poll_message(message, settings, graph, result):
                break
        except Exception:
            # A job boundary: an unexpected failure of one message must not skip the others.
            log.exception("Message %s: message trace poll failed unexpectedly", message.id)
            db.session.rollback()
            _schedule_retry(message, settings)
            result.failed.append(message.id)
    return result


def _claim(message_id: int, poll_after: datetime) -> bool:
    """Move the message's next poll past the lease, unless another process did so first.

    The UPDATE compares the poll time with the one read in the due list, so only one process
    polls a message. A process that dies while polling leaves the message to the others once
    the lease ends.
    """
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == message_id, Message.trace_poll_after == poll_after)
        .values(trace_poll_after=utcnow() + timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return claimed.rowcount == 1


def _poll_message(
    message: Message, settings: Settings, graph: GraphClient, result: TracePollResult
) -> bool:
    """Poll one message and schedule its next poll.

    :return: False when the budget is spent and the round must stop.
    """
    now = utcnow()
    sent_at = message.sent_at or message.mirrored_at
    if now - sent_at > timedelta(hours=settings.trace_max_age_hours):
        _stop_polling(message, "older than MAILGRIP_TRACE_MAX_AGE_HOURS")
        return True
    if not message.internet_message_id or not message.sender_address:
        _stop_polling(message, "no internetMessageId or sender to trace it by")
        return True
    if not _needs_trace(message):
        _stop_polling(message, "every recipient's state is final")
        return True

    tenant_id = message.mailbox.tenant_id

    def take_request() -> bool:
        taken = take_trace_request(
            tenant_id, settings.trace_budget_requests, settings.trace_budget_window_seconds
        )
        if taken:
            result.requests += 1
        return taken

    result.polled += 1
    try:
        rows = list_message_traces(
            graph,
            message.sender_address,
            message.internet_message_id,
            trace_window(sent_at, now),
            take_request,
        )
        result.changed_recipients += _apply_rows(message, rows, now)
        db.session.commit()
        result.changed_recipients += _fetch_failure_details(message, graph, take_request)
    except TraceBudgetExhausted:
        # Give up the claim, so that the message is among the first once the budget refills.
        message.trace_poll_after = utcnow()
        db.session.commit()
        result.budget_exhausted = True
        log.info("Message trace budget of tenant %s is spent for now", tenant_id)
        return False
    except GraphError as error:
        db.session.rollback()
        if error.http_status == 429:
            pause_budget(
                tenant_id,
                settings.trace_budget_requests,
                settings.trace_budget_window_seconds,
                error.retry_after,
            )
            result.budget_exhausted = True
            _schedule_retry(message, settings)
            return False
        log.error("Message %s: message trace failed: %s", message.id, error)
        _schedule_retry(message, settings)
        result.failed.append(message.id)
        return True
    except TraceResponseInvalid as error:
        db.session.rollback()
        log.error("Message %s: message trace returned an invalid body: %s", message.id, error)
        _schedule_retry(message, settings)
        result.failed.append(message.id)
        return True

    if _needs_trace(message):
        _schedule_retry(message, settings)
    else:
        _stop_polling(message, "every recipient's state is final")
        result.finished += 1
    return True


def _needs_trace(message: Message) -> bool:
    """Tell whether a recipient lacks a final state, or a failure lacks its detail."""
    return any(
        not is_final(recipient.delivery_state) or _detail_missing(recipient)
        for recipient in message.recipients
    )


def _detail_missing(recipient: Recipient) -> bool:
    return (
        recipient.delivery_state == FAILED
        and recipient.delivery_source == SOURCE_TRACE
        and recipient.trace_id is not None
        and not recipient.trace_detail_fetched
    )


def _apply_rows(message: Message, rows: list[TraceRow], now: datetime) -> int:
    """Store the state of each recipient that message trace reports on, at the row's time.

    Rows of addresses that are not recipients are members of a distribution list that
    Exchange expanded; the list itself keeps its own row's state, "expanded".
    """
    best: dict[str, TraceRow] = {}
    for row in rows:
        key = address_key(row.recipient_address)
        kept = best.get(key)
        if kept is None or _rank(row.status) > _rank(kept.status):
            best[key] = row
    changed = 0
    for recipient in message.recipients:
        row = best.get(recipient.address_key)
        if row is None:
            continue
        state = STATE_OF_STATUS.get(row.status.lower())
        if state is None:
            log.debug("Message %s: trace status %r sets no state", message.id, row.status)
            continue
        if recipient.trace_id != row.trace_id:
            recipient.trace_id = row.trace_id[:64]
            recipient.trace_detail_fetched = False
        at = reported_time(row.received_at, message.sent_at, now)
        if record_delivery(recipient, state, SOURCE_TRACE, at):
            changed += 1
    return changed


def _rank(status: str) -> int:
    """Order statuses so that a final one wins over a pending one for the same address."""
    state = STATE_OF_STATUS.get(status.lower())
    if state is None:
        return 0
    return 2 if is_final(state) else 1


def _fetch_failure_details(message: Message, graph: GraphClient, take_request) -> int:
    """Store the reason of each failure that message trace reported, one request each."""
    changed = 0
    for recipient in message.recipients:
        if not _detail_missing(recipient):
            continue
        detail = failure_detail(graph, recipient.trace_id, recipient.address, take_request)
        recipient.trace_detail_fetched = True
        if detail and record_delivery(recipient, FAILED, SOURCE_TRACE, utcnow(), detail):
            changed += 1
        db.session.commit()
    return changed


def _schedule_retry(message: Message, settings: Settings) -> None:
    """Set the next poll after a delay that doubles with each attempt, with some jitter."""
    message.trace_poll_attempts += 1
    delay = min(
        settings.trace_backoff_seconds * 2 ** (message.trace_poll_attempts - 1),
        settings.trace_backoff_max_seconds,
    )
    # Jitter spreads messages sent together over the window instead of polling them together.
    delay *= random.uniform(0.8, 1.2)
    message.trace_poll_after = utcnow() + timedelta(seconds=delay)
    db.session.commit()


def _stop_polling(message: Message, reason: str) -> None:
    message.trace_poll_after = None
    db.session.commit()
    log.debug("Message %s: message trace polling stopped: %s", message.id, reason)
