"""Background jobs, each a small function that the job queue runs in an app context.

Jobs are safe to run twice and to retry: they read the current state from the database and
Graph, and mirror by Graph id. A job that Graph throttles schedules itself again and is never
given up. To add a job, write its function here and list it in ``JOBS``; to run a function
periodically, add one line to ``PERIODIC_JOBS``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from ..db import db, utcnow
from ..graph.client import GraphError
from ..mirror import sync
from ..mirror.models import Mailbox
from ..mirror.notifications import apply_change_notifications, lifecycle_events
from ..mirror.reports import scan_non_delivery_reports
from ..mirror.subscriptions import (
    create_subscription,
    ensure_subscription,
    has_active_subscription,
    needs_renewal,
)
from ..mirror.trace_poll import poll_delivery
from ..services import services
from ..settings import current_settings
from ..shares.retention import delete_stale_drafts
from ..shares.storage import current_storage
from .queue import current_queue

log = logging.getLogger(__name__)

MAX_RESUME_DELAY_SECONDS = 900.0


@dataclass(frozen=True)
class PeriodicJob:
    """A job without arguments that the consumer runs every ``every_minutes`` minutes."""

    job: Callable[[], None]
    every_minutes: int  # a divisor of 60, because Huey schedules by crontab minute


def sync_mailbox(mailbox_id: int, attempt: int = 0) -> None:
    """Apply the changes in a mailbox's Sent Items since its delta link."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        log.info("Mailbox %s no longer exists; sync skipped", mailbox_id)
        return
    try:
        sync.sync_mailbox(mailbox, services().graph, current_settings())
    except GraphError as error:
        if not error.transient:
            log.error("Mailbox %s: sync failed: %s", mailbox_id, error)
            return
        _resume_later(sync_mailbox, error, attempt, mailbox_id)


def process_notifications(notifications: list[dict[str, Any]], attempt: int = 0) -> None:
    """Mirror the messages named by a batch of change notifications."""
    try:
        apply_change_notifications(notifications, services().graph, current_settings())
    except GraphError as error:
        if not error.transient:
            log.error("Change notifications failed: %s", error)
            return
        _resume_later(process_notifications, error, attempt, notifications)


def process_lifecycle_notifications(notifications: list[dict[str, Any]]) -> None:
    """Renew, recreate or resync after Graph's lifecycle notifications."""
    queue = current_queue()
    for mailbox_id, event in lifecycle_events(notifications):
        if event == "reauthorizationRequired":
            queue.enqueue(renew_subscription, mailbox_id)
        elif event == "subscriptionRemoved":
            queue.enqueue(recreate_subscription, mailbox_id)
            queue.enqueue(sync_mailbox, mailbox_id)
        else:
            # "missed": Graph dropped notifications, so only a delta sync can find the changes.
            queue.enqueue(sync_mailbox, mailbox_id)


def renew_subscription(mailbox_id: int, attempt: int = 0) -> None:
    """Renew the mailbox's subscription, or create one when Graph has none."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return
    try:
        ensure_subscription(mailbox, services().graph, current_settings())
    except GraphError as error:
        if error.transient:
            _resume_later(renew_subscription, error, attempt, mailbox_id)
        else:
            # Delta polling keeps the mailbox mirrored until a later renewal succeeds.
            log.error("Mailbox %s: subscription failed: %s", mailbox_id, error)


def recreate_subscription(mailbox_id: int, attempt: int = 0) -> None:
    """Create a new subscription after Graph removed the old one."""
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return
    try:
        create_subscription(mailbox, services().graph, current_settings())
    except GraphError as error:
        if error.transient:
            _resume_later(recreate_subscription, error, attempt, mailbox_id)
        else:
            log.error("Mailbox %s: creating a subscription failed: %s", mailbox_id, error)


def renew_subscriptions() -> None:
    """Queue a renewal for every mailbox whose subscription is missing or half expired."""
    settings = current_settings()
    for mailbox in db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id)):
        if needs_renewal(mailbox, settings):
            current_queue().enqueue(renew_subscription, mailbox.id)


def sync_quiet_mailboxes() -> None:
    """Queue a delta sync for mailboxes whose notifications may have stopped arriving.

    A mailbox without an active subscription is synced on every run; one with a subscription
    once no notification or sync has touched it for ``delta_fallback_minutes``. A quiet
    mailbox's subscription is renewed as well, because a renewal is how Mailgrip learns that
    Graph dropped or expired it (404) and creates a new one.
    """
    quiet_since = utcnow() - timedelta(minutes=current_settings().delta_fallback_minutes)
    for mailbox in db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id)):
        touched = [t for t in (mailbox.last_synced_at, mailbox.last_notification_at) if t]
        quiet = not touched or max(touched) <= quiet_since
        if quiet or not has_active_subscription(mailbox):
            current_queue().enqueue(sync_mailbox, mailbox.id)
        if quiet and mailbox.subscription_id is not None:
            current_queue().enqueue(renew_subscription, mailbox.id)


def poll_message_traces() -> None:
    """Ask message trace about messages whose recipients' delivery is not final yet.

    The poll keeps its own backoff per message and the tenant's request budget, so running it
    every minute sends only the requests that are due.
    """
    poll_delivery(current_settings(), services().graph)


def scan_delivery_reports() -> None:
    """Read new non-delivery reports in the mirrored mailboxes' Inboxes."""
    scan_non_delivery_reports(current_settings(), services().graph)


def delete_stale_draft_shares() -> None:
    """Delete draft shares never sent within ``MAILGRIP_DRAFT_RETENTION_DAYS``, with their files."""
    delete_stale_drafts(current_storage(), current_settings().draft_retention_days)


def _resume_later(job: Callable[..., None], error: GraphError, attempt: int, *args: Any) -> None:
    """Schedule ``job`` again after Graph's Retry-After, or an exponential backoff with jitter."""
    delay = error.retry_after
    if delay is None:
        delay = random.uniform(0.5, 1.0) * min(2.0 ** (attempt + 1), MAX_RESUME_DELAY_SECONDS)
    log.warning(
        "Job %s attempt %d: Graph throttled or unavailable (%s); resuming in %.1f s",
        job.__name__,
        attempt + 1,
        error.http_status or "no response",
        delay,
    )
    current_queue().enqueue(job, *args, attempt + 1, delay=max(delay, 0.1))


JOBS: tuple[Callable[..., None], ...] = (
    sync_mailbox,
    process_notifications,
    process_lifecycle_notifications,
    renew_subscription,
    recreate_subscription,
)

# The registration point for periodic jobs: one PeriodicJob line per job.
PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(sync_quiet_mailboxes, every_minutes=1),
    PeriodicJob(renew_subscriptions, every_minutes=5),
    PeriodicJob(poll_message_traces, every_minutes=1),
    PeriodicJob(scan_delivery_reports, every_minutes=1),
    PeriodicJob(delete_stale_draft_shares, every_minutes=60),
)
