"""The job that reads non-delivery reports in each mailbox's Inbox, a second delivery source.

Each round lists the Inbox messages received since the mailbox's mark and fetches the MIME of
those that look like delivery reports. A report is matched to a sent message by the
Message-ID it quotes (or its Original-Envelope-Id). Its recipients are matched to that
message's recipients by address key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

from ..config import Settings
from ..db import db, utcnow
from ..graph.client import GraphClient, GraphError
from ..graph.times import parse_graph_time
from .addresses import address_key
from .delivery import (
    DELIVERED,
    EXPANDED,
    FAILED,
    PENDING,
    SOURCE_REPORT,
    record_delivery,
    reported_time,
)
from .dsn import DeliveryReport, NotADeliveryReport, RecipientStatus, parse_delivery_report
from .models import Mailbox, Message

log = logging.getLogger(__name__)

INBOX_FIELDS = "subject,from,receivedDateTime,internetMessageHeaders"
PAGE_SIZE = 50
# RFC 3464 actions and the state each sets. "relayed" reports nothing about delivery.
STATE_OF_ACTION = {
    "failed": FAILED,
    "delayed": PENDING,
    "delivered": DELIVERED,
    "expanded": EXPANDED,
}
# Local parts of the addresses that send reports: RFC 5321 postmaster, the traditional
# MAILER-DAEMON, and Exchange's "MicrosoftExchange<hex>" system mailbox.
REPORT_SENDERS = ("postmaster", "mailer-daemon")
EXCHANGE_REPORT_SENDER = "microsoftexchange"


@dataclass
class ReportScanResult:
    """Counts of one round of ``scan_non_delivery_reports``."""

    mailboxes: int = 0
    reports: int = 0
    unmatched: int = 0
    changed_recipients: int = 0
    failed: list[int] = field(default_factory=list)  # ids of mailboxes whose scan failed


def scan_non_delivery_reports(settings: Settings, graph: GraphClient) -> ReportScanResult:
    """Read new delivery reports of every mailbox and store each reported recipient's state.

    Idempotent: a report read twice stores nothing new. A mailbox's mark moves only past
    messages that were read or are not reports, so a failed fetch is retried next round.
    """
    result = ReportScanResult()
    for mailbox in db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id)).all():
        result.mailboxes += 1
        try:
            _scan_mailbox(mailbox, settings, graph, result)
        except GraphError as error:
            db.session.rollback()
            log.error("Mailbox %s: reading delivery reports failed: %s", mailbox.id, error)
            result.failed.append(mailbox.id)
        except Exception:
            # A job boundary: one mailbox's failure must not skip the others.
            log.exception("Mailbox %s: reading delivery reports failed unexpectedly", mailbox.id)
            db.session.rollback()
            result.failed.append(mailbox.id)
    return result


def _scan_mailbox(
    mailbox: Mailbox, settings: Settings, graph: GraphClient, result: ReportScanResult
) -> None:
    now = utcnow()
    oldest = now - timedelta(hours=settings.trace_max_age_hours)
    since = max(mailbox.reports_scanned_through or oldest, oldest)
    path = f"users/{quote(mailbox.object_id)}/mailFolders/inbox/messages"
    params = {
        "$filter": f"receivedDateTime ge {since.strftime('%Y-%m-%dT%H:%M:%SZ')}",
        "$orderby": "receivedDateTime asc",
        "$select": INBOX_FIELDS,
        "$top": str(PAGE_SIZE),
    }
    mark = since
    for page in graph.iter_pages(path, params=params):
        for item in page.get("value") or []:
            received = _received_at(item)
            if received is None:
                continue
            if _looks_like_report(item):
                try:
                    _read_report(mailbox, item, received, graph, result)
                except GraphError as error:
                    # Keep the mark before this report, so that the next round reads it again.
                    log.error(
                        "Mailbox %s: delivery report %s could not be fetched: %s",
                        mailbox.id,
                        item.get("id"),
                        error,
                    )
                    _save_mark(mailbox, mark)
                    result.failed.append(mailbox.id)
                    return
            mark = max(mark, received)
    _save_mark(mailbox, mark)


def _save_mark(mailbox: Mailbox, mark: datetime) -> None:
    mailbox.reports_scanned_through = mark
    db.session.commit()


def _read_report(
    mailbox: Mailbox,
    item: dict[str, Any],
    received: datetime,
    graph: GraphClient,
    result: ReportScanResult,
) -> None:
    message_id = str(item.get("id", ""))
    response = graph.request(
        "GET", f"users/{quote(mailbox.object_id)}/messages/{quote(message_id, safe='')}/$value"
    )
    try:
        report = parse_delivery_report(response.content)
    except NotADeliveryReport:
        log.debug("Mailbox %s: Inbox message %s is not a delivery report", mailbox.id, message_id)
        return
    result.reports += 1
    messages = _reported_messages(mailbox, report)
    if not messages:
        result.unmatched += 1
        log.info(
            "Mailbox %s: delivery report %s names no mirrored message (Message-ID %s)",
            mailbox.id,
            message_id,
            report.original_message_id,
        )
        return
    for message in messages:
        for status in report.recipients:
            result.changed_recipients += _apply_status(message, status, received)
    db.session.commit()


def _reported_messages(mailbox: Mailbox, report: DeliveryReport) -> list[Message]:
    """Return the mailbox's messages that the report is about.

    The Original-Envelope-Id is whatever the sending server chose; when it carries the
    Message-ID, with or without angle brackets, it names the message too.
    """
    candidates = set()
    if report.original_message_id:
        candidates.add(report.original_message_id)
    if report.original_envelope_id:
        envelope_id = report.original_envelope_id.strip("<>")
        candidates.update({envelope_id, f"<{envelope_id}>"})
    if not candidates:
        return []
    return list(
        db.session.scalars(
            sa.select(Message).where(
                Message.mailbox_id == mailbox.id, Message.internet_message_id.in_(candidates)
            )
        )
    )


def _apply_status(message: Message, status: RecipientStatus, received: datetime) -> int:
    state = STATE_OF_ACTION.get(status.action)
    if state is None:
        return 0
    keys = {address_key(address) for address in status.addresses}
    for recipient in message.recipients:
        if recipient.address_key not in keys:
            continue
        detail = status.diagnostic_code or status.status or None
        if status.diagnostic_code and status.status and status.status not in status.diagnostic_code:
            detail = f"{status.status} {status.diagnostic_code}"
        # The report's arrival in the Inbox dates the state, as a trace row's time does.
        at = reported_time(received, message.sent_at, utcnow())
        return int(record_delivery(recipient, state, SOURCE_REPORT, at, detail))
    # A report on an address that is not a recipient is about a member of a distribution
    # list; the list keeps its own state.
    return 0


def _looks_like_report(item: dict[str, Any]) -> bool:
    """Tell from the listed fields whether an Inbox message may be a delivery report."""
    for header in item.get("internetMessageHeaders") or []:
        if not isinstance(header, dict):
            continue
        if str(header.get("name", "")).lower() == "content-type":
            value = str(header.get("value", "")).lower()
            if "multipart/report" in value and "delivery-status" in value:
                return True
    sender = ((item.get("from") or {}).get("emailAddress") or {}).get("address") or ""
    local_part = str(sender).rpartition("@")[0].lower()
    return local_part in REPORT_SENDERS or local_part.startswith(EXCHANGE_REPORT_SENDER)


def _received_at(item: dict[str, Any]) -> datetime | None:
    return parse_graph_time(item.get("receivedDateTime"))
