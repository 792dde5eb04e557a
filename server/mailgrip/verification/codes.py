"""One-time codes that let a recipient prove their address at the portal.

A code goes by mail, from the share owner's mailbox through Graph, only to an address that a
message of the share was sent to. Only a keyed hash of the code is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext

from ..access.decision import decide
from ..db import db, utcnow
from ..errors import MailgripError
from ..mirror.addresses import address_key
from ..mirror.models import MAX_ADDRESS, Message, Recipient
from ..services import services
from ..settings import current_settings
from ..shares.models import Share
from ..shares.service import linked_message
from ..text import has_control_character
from ..tracking.events import record_event
from .models import VerificationCode

log = logging.getLogger(__name__)

CODE_DIGITS = 6
MAX_ATTEMPTS = 5  # six-digit entries per code, right or wrong, before it stops working
# Caps the mail that a link holder can make Mailgrip send to one recipient.
MAX_CODES_PER_HOUR = 5
# Access reasons that deny every file of a share to everyone, in the order they are reported.
# A code is pointless while one of them denies all files, so none is mailed or accepted.
SHARE_WIDE_DENIALS = ("blocked_all", "expired")
_CODE_SEPARATORS = re.compile(r"[\s-]")


@dataclass(frozen=True)
class CodeRequest:
    """The outcome of asking for a code.

    ``outcome`` is ``sent``, ``invalid_address`` (the address contains a control character),
    ``not_recipient``, ``not_ready`` (no mirrored message is linked to the share yet, so its
    recipients are unknown), ``unavailable`` (no file can be downloaded, for the access reason
    in ``denial``), ``too_many`` (the hourly cap is reached) or ``not_sent`` (Graph failed and
    nothing changed).
    """

    outcome: str
    recipient: Recipient | None = None
    denial: str | None = None


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of entering a code.

    ``reason`` is None on success, else ``invalid_address``, ``malformed``, ``wrong``,
    ``exhausted``, ``expired`` (the code expired), ``no_code``, ``not_recipient`` or
    ``unavailable`` (no file can be downloaded, for the access reason in ``denial``).
    ``attempts_left`` counts the entries still allowed.
    """

    ok: bool
    recipient: Recipient | None = None
    reason: str | None = None
    attempts_left: int = 0
    denial: str | None = None


def find_recipient(share: Share, address: str) -> Recipient | None:
    """Return the recipient of the share's messages whose address compares equal to ``address``."""
    if not address or len(address) > MAX_ADDRESS or has_control_character(address):
        return None
    return db.session.scalar(
        sa.select(Recipient)
        .join(Message, Recipient.message_id == Message.id)
        .where(Message.share_id == share.id, Recipient.address_key == address_key(address))
        .order_by(Recipient.id)
        .limit(1)
    )


def request_code(share: Share, address: str, now: datetime | None = None) -> CodeRequest:
    """Mail a new code to ``address`` if the share's message went there; the caller commits.

    Earlier codes of that recipient stop working. Records ``code_sent`` or
    ``verification_refused``; when Graph fails, the session is rolled back instead.
    """
    now = now or utcnow()
    if has_control_character(address):
        return CodeRequest("invalid_address")
    recipient = find_recipient(share, address)
    denial = share_wide_denial(share, recipient, now)
    if denial is not None:
        log.info(
            "Code request for share %s rejected, because no file is available: %s", share.id, denial
        )
        return CodeRequest("unavailable", recipient, denial)
    if recipient is None and linked_message(share) is None:
        log.info("Code requested for share %s before its message was mirrored", share.id)
        return CodeRequest("not_ready")
    if recipient is None:
        # Only the domain is kept: the address was typed by someone who may not own it.
        domain = address_key(address).rpartition("@")[2][:255] if address else ""
        record_event("verification_refused", share, detail={"domain": domain})
        return CodeRequest("not_recipient")
    _lock_recipient(recipient)
    if _codes_sent_since(share, recipient, now - timedelta(hours=1)) >= MAX_CODES_PER_HOUR:
        log.warning(
            "Code request for recipient %s of share %s over the hourly cap", recipient.id, share.id
        )
        return CodeRequest("too_many", recipient)

    code = issue_code(share, recipient, now)
    try:
        _send_code(share, recipient, code)
    except (MailgripError, requests.RequestException) as error:
        db.session.rollback()
        log.error(
            "Sending a code to recipient %s of share %s failed: %s", recipient.id, share.id, error
        )
        return CodeRequest("not_sent", recipient)
    record_event("code_sent", share, recipient=recipient)
    return CodeRequest("sent", recipient)


def issue_code(share: Share, recipient: Recipient, now: datetime | None = None) -> str:
    """Add a new code for ``recipient`` and cancel the earlier ones; return it in clear."""
    now = now or utcnow()
    db.session.execute(
        sa.update(VerificationCode)
        .where(
            VerificationCode.share_id == share.id,
            VerificationCode.recipient_id == recipient.id,
            VerificationCode.used_at.is_(None),
            VerificationCode.cancelled_at.is_(None),
        )
        .values(cancelled_at=now)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    lifetime = timedelta(minutes=current_settings().code_lifetime_minutes)
    db.session.add(
        VerificationCode(
            share_id=share.id,
            recipient_id=recipient.id,
            code_hash=hash_code(code, share.id, recipient.id),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return code


def check_code(share: Share, address: str, code: str, now: datetime | None = None) -> CodeCheck:
    """Check a code entered for ``address``; the caller commits.

    Each entry of six digits counts as an attempt, whether right or wrong; a code works once.
    Records ``verified`` or ``verification_failed``.
    """
    now = now or utcnow()
    if has_control_character(address):
        result = CodeCheck(False, None, "invalid_address")
        record_event("verification_failed", share, detail={"reason": result.reason})
        return result
    recipient = find_recipient(share, address)
    denial = share_wide_denial(share, recipient, now)
    if denial is not None:
        # Checked before the code, so the entry does not count as an attempt.
        result = CodeCheck(False, recipient, "unavailable", denial=denial)
    else:
        result = _check(share, recipient, _CODE_SEPARATORS.sub("", code or ""), now)
    if result.ok:
        record_event("verified", share, recipient=recipient)
    else:
        detail = {"reason": result.reason}
        if result.denial is not None:
            detail["denial"] = result.denial
        record_event("verification_failed", share, recipient=recipient, detail=detail)
    return result


def share_wide_denial(
    share: Share, recipient: Recipient | None, now: datetime | None = None
) -> str | None:
    """Return the reason in ``SHARE_WIDE_DENIALS`` that keeps ``recipient`` from every file.

    Returns None when ``decide`` allows some file, or denies it only for lack of verification,
    and when every file is denied but for other reasons, such as blocks of single files or of
    this recipient. ``decide`` reports a file's own block before expiry, so an expired share
    whose other files are blocked one by one is still reported as expired.
    """
    reasons = {decide(share, file, recipient, now).reason for file in share.files}
    if not reasons or None in reasons or "not_verified" in reasons:
        return None
    return next((reason for reason in SHARE_WIDE_DENIALS if reason in reasons), None)


def hash_code(code: str, share_id: str, recipient_id: int) -> str:
    """Return the HMAC-SHA256 of a code, keyed with the app's secret key.

    The share and recipient are part of the message, so equal codes never share a hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    message = f"{share_id}:{recipient_id}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _check(share: Share, recipient: Recipient | None, code: str, now: datetime) -> CodeCheck:
    if recipient is None:
        return CodeCheck(False, None, "not_recipient")
    current = db.session.scalar(
        sa.select(VerificationCode)
        .where(
            VerificationCode.share_id == share.id,
            VerificationCode.recipient_id == recipient.id,
            VerificationCode.used_at.is_(None),
            VerificationCode.cancelled_at.is_(None),
        )
        .order_by(VerificationCode.id.desc())
        .limit(1)
    )
    if current is None:
        return CodeCheck(False, recipient, "no_code")
    if now >= current.expires_at:
        return CodeCheck(False, recipient, "expired")
    if current.attempts >= MAX_ATTEMPTS:
        return CodeCheck(False, recipient, "exhausted")
    if not (len(code) == CODE_DIGITS and code.isascii() and code.isdigit()):
        return CodeCheck(False, recipient, "malformed", MAX_ATTEMPTS - current.attempts)

    # Count the attempt in one UPDATE, so that parallel guesses cannot exceed the maximum.
    counted = db.session.execute(
        sa.update(VerificationCode)
        .where(VerificationCode.id == current.id, VerificationCode.attempts < MAX_ATTEMPTS)
        .values(attempts=VerificationCode.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(current)
    if counted.rowcount != 1:
        return CodeCheck(False, recipient, "exhausted")
    attempts_left = MAX_ATTEMPTS - current.attempts
    if not hmac.compare_digest(current.code_hash, hash_code(code, share.id, recipient.id)):
        return CodeCheck(False, recipient, "wrong" if attempts_left else "exhausted", attempts_left)

    # Mark it used in one UPDATE as well, so that a code cannot be redeemed twice in parallel.
    used = db.session.execute(
        sa.update(VerificationCode)
        .where(VerificationCode.id == current.id, VerificationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:
        return CodeCheck(False, recipient, "no_code")
    return CodeCheck(True, recipient, None, attempts_left)


def _lock_recipient(recipient: Recipient) -> None:
    """Lock the recipient's row until the transaction ends, so that code requests take turns.

    Counting and then inserting lets parallel requests all count below the cap. An UPDATE
    that changes nothing serialises them on both databases. PostgreSQL keeps the row locked
    until commit, and under READ COMMITTED the waiting request's count, a new statement,
    reads the committed codes. SQLite ignores SELECT ... FOR UPDATE, but an UPDATE takes its
    database-wide write lock. In its default transaction mode, Python's sqlite3 begins the
    transaction only at the first write, which is this one, so the count that follows reads
    the current data.
    """
    db.session.execute(
        sa.update(Recipient)
        .where(Recipient.id == recipient.id)
        .values(id=Recipient.id)
        .execution_options(synchronize_session=False)
    )


def _codes_sent_since(share: Share, recipient: Recipient, since: datetime) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(VerificationCode.id)).where(
                VerificationCode.share_id == share.id,
                VerificationCode.recipient_id == recipient.id,
                VerificationCode.created_at >= since,
            )
        )
        or 0
    )


def _send_code(share: Share, recipient: Recipient, code: str) -> None:
    """Mail ``code`` from the share owner's mailbox to the recipient's address.

    The mail carries no link, so the code alone does not lead to the files.
    """
    owner = share.owner
    sender = owner.display_name or owner.address
    minutes = current_settings().code_lifetime_minutes
    body = gettext(
        "Your code to open the files that %(sender)s sent you is %(code)s.\n\n"
        "It works once, for %(minutes)s minutes. Enter it on the page where you asked for it.\n\n"
        "If you did not ask for a code, you can ignore this message.",
        sender=sender,
        code=code,
        minutes=minutes,
    )
    message = {
        "subject": gettext("Your code for the files from %(sender)s", sender=sender),
        "body": {"contentType": "Text", "content": body},
        "toRecipients": [{"emailAddress": {"address": recipient.address}}],
    }
    services().graph.send_mail(owner.object_id, message)
    log.info("Code mailed to recipient %s of share %s", recipient.id, share.id)
