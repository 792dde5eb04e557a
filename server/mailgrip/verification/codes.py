"""One-time codes that let a recipient prove their address at the portal.

A code goes by mail, through Graph or SMTP, only to an address that a message of the share was
sent to, or to a member of a distribution list when the policy allows it. Only a keyed hash of
the code is stored, and codes are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..access.decision import decide
from ..db import db, utcnow
from ..mirror.models import Recipient
from ..settings import current_settings
from ..shares.models import Share
from ..shares.service import linked_message
from ..text import has_control_character
from ..tracking.events import record_event
from .delivery import CodeNotSent, compose_code_mail, send_code_mail
from .groups import GroupLookupFailed, is_tenant_group
from .lockouts import record_lockout
from .models import VerificationCode
from .recipients import RecipientMatch, address_domain, match_recipient, may_be_unknown_list

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
    ``not_recipient``, ``distribution_list`` (a list or its member, refused by the policy),
    ``list_check_failed`` (Graph could not say whether the address is a list),
    ``not_ready`` (no mirrored message is linked to the share yet, so its
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
    ``exhausted``, ``expired`` (the code expired), ``no_code``, ``not_recipient``,
    ``distribution_list`` or ``unavailable`` (no file can be downloaded, for the access
    reason in ``denial``).
    ``attempts_left`` counts the entries still allowed.
    """

    ok: bool
    recipient: Recipient | None = None
    reason: str | None = None
    attempts_left: int = 0
    denial: str | None = None
    # True when this entry used up the code's last attempt.
    locked_now: bool = False


def request_code(share: Share, address: str, now: datetime | None = None) -> CodeRequest:
    """Mail a new code to ``address`` if the share's message went there; the caller commits.

    Earlier codes of that recipient (or list member) stop working. Records ``code_sent``,
    ``verification_refused`` or ``verification_locked``; when sending fails, the session is
    rolled back instead, so nothing of the attempt remains but the log line.
    """
    now = now or utcnow()
    if has_control_character(address):
        return CodeRequest("invalid_address")
    match = match_recipient(share, address)
    denial = share_wide_denial(share, match.recipient, now)
    if denial is not None:
        log.info("Code request for share %s rejected, because no file is available: %s",
                 share.id, denial)
        return CodeRequest("unavailable", match.recipient, denial)
    if match.recipient is None and linked_message(share) is None:
        log.info("Code requested for share %s before its message was mirrored", share.id)
        return CodeRequest("not_ready")
    if match.recipient is None:
        return _refuse(share, address, match.refusal or "not_recipient")
    recipient = match.recipient
    if match.member is None and may_be_unknown_list(recipient):
        try:
            is_list = is_tenant_group(recipient.address)
        except GroupLookupFailed as error:
            log.error("Code request for recipient %s of share %s rejected, because checking "
                      "for a distribution list failed: %s", recipient.id, share.id, error.message)
            return CodeRequest("list_check_failed", recipient)
        if is_list:
            log.info("Code request for recipient %s of share %s rejected: a group of the tenant",
                     recipient.id, share.id)
            return _refuse(share, address, "distribution_list")
    _lock_recipient(recipient)
    sent = _codes_sent_since(share, match, now - timedelta(hours=1))
    if sent >= MAX_CODES_PER_HOUR:
        log.warning("Code request for recipient %s of share %s over the hourly cap",
                    recipient.id, share.id)
        record_lockout(share, recipient, "code_requests", member=match.member, now=now)
        return CodeRequest("too_many", recipient)

    code = issue_code(share, recipient, now, member=match.member)
    try:
        # A list member's code goes to the address they typed, anyone else's to the address
        # the message was sent to.
        to = address.strip() if match.member else recipient.address
        send_code_mail(share, compose_code_mail(share, to, code))
    except CodeNotSent as error:
        db.session.rollback()
        log.error("Sending a code to recipient %s of share %s failed: %s",
                  recipient.id, share.id, error.message)
        return CodeRequest("not_sent", recipient)
    log.info("Code mailed to recipient %s of share %s", recipient.id, share.id)
    record_event("code_sent", share, recipient=recipient, detail=_member_detail(match))
    return CodeRequest("sent", recipient)


def _refuse(share: Share, address: str, refusal: str) -> CodeRequest:
    # Only the domain is kept: the address was typed by someone who may not own it.
    detail = {"domain": address_domain(address), "reason": refusal}
    record_event("verification_refused", share, detail=detail)
    return CodeRequest(refusal)


def issue_code(
    share: Share, recipient: Recipient, now: datetime | None = None, member: str | None = None
) -> str:
    """Add a new code for ``recipient`` and cancel the earlier ones; return it in clear.

    :param member: comparison form of the list member's address the code is for, if any;
        members of one list each have codes of their own.
    """
    now = now or utcnow()
    db.session.execute(
        sa.update(VerificationCode)
        .where(
            VerificationCode.share_id == share.id,
            VerificationCode.recipient_id == recipient.id,
            _same_member(member),
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
            member_key=member,
            code_hash=hash_code(code, share.id, recipient.id, member),
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    db.session.flush()
    return code


def check_code(share: Share, address: str, code: str, now: datetime | None = None) -> CodeCheck:
    """Check a code entered for ``address``; the caller commits.

    Each entry of six digits counts as an attempt, whether right or wrong; a code works once.
    Records ``verified`` or ``verification_failed``, and ``verification_locked`` when the
    entry used up the code's last attempt.
    """
    now = now or utcnow()
    if has_control_character(address):
        result = CodeCheck(False, None, "invalid_address")
        record_event("verification_failed", share, detail={"reason": result.reason})
        return result
    match = match_recipient(share, address)
    recipient = match.recipient
    denial = share_wide_denial(share, recipient, now)
    if denial is not None:
        # Checked before the code, so the entry does not count as an attempt.
        result = CodeCheck(False, recipient, "unavailable", denial=denial)
    elif recipient is None:
        result = CodeCheck(False, None, match.refusal or "not_recipient")
    else:
        result = _check(share, match, _CODE_SEPARATORS.sub("", code or ""), now)
    if result.ok:
        detail = {"member": match.member} if match.member else {}
        record_event("verified", share, recipient=recipient, detail=detail)
        return result
    detail = {"reason": result.reason, **_member_detail(match)}
    if result.denial is not None:
        detail["denial"] = result.denial
    record_event("verification_failed", share, recipient=recipient, detail=detail)
    if result.locked_now and recipient is not None:
        record_lockout(share, recipient, "attempts", member=match.member, now=now)
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


def hash_code(code: str, share_id: str, recipient_id: int, member: str | None = None) -> str:
    """Return the HMAC-SHA256 of a code, keyed with the app's secret key.

    The share, recipient and list member are part of the message, so equal codes never share
    a hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    scope = f"{share_id}:{recipient_id}"
    if member is not None:
        scope += f":{member}"
    message = f"{scope}:{code}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _check(share: Share, match: RecipientMatch, code: str, now: datetime) -> CodeCheck:
    recipient = match.recipient
    assert recipient is not None
    current = db.session.scalar(
        sa.select(VerificationCode)
        .where(
            VerificationCode.share_id == share.id,
            VerificationCode.recipient_id == recipient.id,
            _same_member(match.member),
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
    expected = hash_code(code, share.id, recipient.id, match.member)
    if not hmac.compare_digest(current.code_hash, expected):
        if attempts_left:
            return CodeCheck(False, recipient, "wrong", attempts_left)
        return CodeCheck(False, recipient, "exhausted", 0, locked_now=True)

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


def _codes_sent_since(share: Share, match: RecipientMatch, since: datetime) -> int:
    assert match.recipient is not None
    return db.session.scalar(
        sa.select(sa.func.count(VerificationCode.id)).where(
            VerificationCode.share_id == share.id,
            VerificationCode.recipient_id == match.recipient.id,
            _same_member(match.member),
            VerificationCode.created_at >= since,
        )
    ) or 0


def _same_member(member: str | None) -> sa.ColumnElement[bool]:
    if member is None:
        return VerificationCode.member_key.is_(None)
    return VerificationCode.member_key == member


def _member_detail(match: RecipientMatch) -> dict[str, str]:
    """Return the event detail of a list member before verification: the domain only."""
    return {"member_domain": match.member.rpartition("@")[2]} if match.member else {}
