"""The recipient portal under ``/s/<token>``: the files page, address verification, downloads.

Link scanners (Safe Links, Mimecast, Proofpoint) fetch every URL in a message. A GET or HEAD
therefore only shows a page and records ``link_opened``, and codes and downloads need a POST
with a CSRF token. The page's script reports back that it ran, which most link checkers never
let it do, and the visit's label weighs that.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from babel.dates import format_date, format_time
from babel.units import format_unit
from flask import Blueprint, Response, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext, lazy_gettext, ngettext
from flask_wtf.csrf import CSRFError

from ..access.decision import Decision, decide
from ..db import db
from ..errors import NotFound
from ..mirror.models import Recipient
from ..settings import current_settings
from ..shares.models import File, Share
from ..shares.service import find_share_by_link_token, share_recipient
from ..tracking.events import record_event
from ..tracking.visits import confirm_visit, visit_token
from ..verification import codes
from ..verification.recipients import keeps_verification
from .downloads import reason_message, send_download

log = logging.getLogger(__name__)

bp = Blueprint("portal", __name__)

# Session keys: share id -> verified recipient id, and share id -> address a code went to.
VERIFIED_KEY = "verified"
CODE_ADDRESS_KEY = "code_address"
# Keeps the signed session cookie well under the 4 KB that browsers store per cookie.
MAX_SHARES_IN_SESSION = 20
# Reasons that apply to every file alike, shown once above the list instead of per file. When
# files are denied for several of them, the first in this order is shown.
_SHARE_WIDE_REASONS = ("blocked_all", "blocked_recipient", "expired")
# Decimal units with CLDR names, as the task pane prints sizes through Intl.NumberFormat.
_SIZE_UNITS = ("digital-kilobyte", "digital-megabyte", "digital-gigabyte", "digital-terabyte")
# Status, title and message of the page for each outcome of a code request except "sent".
_CODE_REQUEST_PAGES = {
    "invalid_address": (400, lazy_gettext("This email address is not valid"), lazy_gettext(
        "The address contains an invisible control character, which email addresses cannot "
        "contain. Type the address again instead of pasting it."
    )),
    "not_recipient": (403, lazy_gettext("This address cannot receive a code"), lazy_gettext(
        "This address is not one that the message was sent to. Use the address the message "
        "reached you at, or ask the sender to send the files to this address."
    )),
    "distribution_list": (403, lazy_gettext("This address cannot receive a code"), lazy_gettext(
        "The message went to a distribution list, and the sender's organisation does not let "
        "members of a list confirm their address. Ask the sender to send the files to your "
        "own address."
    )),
    "list_check_failed": (503, lazy_gettext("Try again later"), lazy_gettext(
        "We could not check whether this address is a distribution list, so no code was "
        "sent. Try again in a few minutes."
    )),
    "not_ready": (503, lazy_gettext("Not ready yet"), lazy_gettext(
        "The message with these files is still being processed, so codes cannot be sent yet. "
        "Try again in a few minutes."
    )),
    "too_many": (429, lazy_gettext("Too many codes requested"), lazy_gettext(
        "Several codes were sent to this address in the last hour. Use the latest one, or try "
        "again in an hour."
    )),
    "not_sent": (502, lazy_gettext("The code could not be sent"), lazy_gettext(
        "Sending the code failed on our side. Wait a moment and try again."
    )),
}


@dataclass(frozen=True)
class FileRow:
    """One file on the portal page with the access decision for the current visitor."""

    file: File
    decision: Decision
    status: str | None


@bp.app_context_processor
def inject_locale() -> dict[str, Any]:
    """Give templates the language of the page for ``<html lang>``."""
    locale = get_locale()
    return {"page_locale": str(locale) if locale else "en"}


@bp.app_template_filter("file_size")
def format_file_size(size: int) -> str:
    """Format a size in bytes as "1 byte", "588 bytes", "2 kB" or "1.2 MB" in the page's language.

    Flask-Babel 4 has no unit formatter, so Babel's is called with the request's locale.
    """
    locale = get_locale() or "en"
    if size < 1000:
        return format_unit(size, "digital-byte", length="long", locale=locale)
    value = size / 1000
    unit_index = 0
    while value >= 1000 and unit_index < len(_SIZE_UNITS) - 1:
        value /= 1000
        unit_index += 1
    return format_unit(
        value, _SIZE_UNITS[unit_index], length="short", format="#,##0.#", locale=locale
    )


def format_utc_date_time(moment: datetime) -> tuple[str, str]:
    """Format ``moment`` as a date and a time of day in UTC, in the page's language.

    The portal does not know the visitor's time zone, so the page names UTC rather than show a
    local date that could differ by a day from the one the sender's task pane shows.
    """
    locale = get_locale() or "en"
    in_utc = moment.astimezone(UTC)
    return (
        format_date(in_utc, "medium", locale=locale),
        format_time(in_utc, "short", tzinfo=UTC, locale=locale),
    )


@bp.errorhandler(CSRFError)
def show_expired_page(error: CSRFError):
    """Ask the visitor to reload when a form's CSRF token is missing, invalid or expired.

    Registered on the blueprint, so it only handles portal routes. Flask-WTF checks the token
    before the view runs, once the URL has matched, so the link token is in ``view_args``.
    """
    log.info("CSRF check failed on %s %s: %s",
             request.method, request.url_rule.rule if request.url_rule else "?", error.description)
    token = (request.view_args or {}).get("token")
    page = render_template(
        "portal/notice.html",
        title=gettext("Page expired"),
        message=gettext("This page has expired. Reload the page and try again."),
        back_url=url_for("portal.show_share", token=token) if token else None,
    )
    return page, 400


@bp.get("/s/<token>")
def show_share(token: str):
    """Show the files of a share with a verification form or download buttons.

    A HEAD request gets the same headers, and its ``link_opened`` is labelled as the probe
    it is.

    :raise 404: the token matches no share.
    """
    share = _share_or_404(token)
    recipient = _verified_recipient(share)
    visit = record_event("link_opened", share, recipient=recipient)
    db.session.commit()
    page = _share_page(token, share, recipient)
    return render_template("portal/share.html", visit=visit_token(visit), **page)


@bp.post("/s/<token>/seen")
def page_seen(token: str):
    """Record that the portal page's script ran after a visit; the page posts this itself.

    :raise 404: the token matches no share.
    :return: 204, or 400 when the visit field is missing, forged or too old.
    """
    share = _share_or_404(token)
    if not confirm_visit(share, request.form.get("visit", ""), _verified_recipient(share)):
        message = gettext("The visit field is missing, invalid or expired. Reload the page.")
        return Response(message, 400, content_type="text/plain; charset=utf-8")
    db.session.commit()
    return Response(status=204)


@bp.post("/s/<token>/code")
def request_code(token: str):
    """Mail a one-time code to the address in the form, if the message was sent there.

    :raise 404: the token matches no share.
    """
    share = _share_or_404(token)
    address = request.form.get("address", "").strip()
    if not address:
        return _notice(400, gettext("Enter your email address"),
                       gettext("Enter the email address that the message was sent to."), token)

    result = codes.request_code(share, address)
    db.session.commit()
    if result.outcome == "sent":
        _remember(CODE_ADDRESS_KEY, share.id, address)
        return redirect(url_for("portal.enter_code", token=token), 303)
    if result.outcome == "unavailable" and result.denial is not None:
        return _unavailable(result.denial, token)
    status, title, message = _CODE_REQUEST_PAGES[result.outcome]
    return _notice(status, str(title), str(message), token)


@bp.get("/s/<token>/verify")
def enter_code(token: str):
    """Show the form for the code that was just mailed; records nothing.

    :raise 404: the token matches no share.
    """
    share = _share_or_404(token)
    address = (session.get(CODE_ADDRESS_KEY) or {}).get(share.id, "")
    return _code_form(token, address)


@bp.post("/s/<token>/verify")
def verify(token: str):
    """Check the code; on success, remember the recipient for this share in the session.

    :raise 404: the token matches no share.
    """
    share = _share_or_404(token)
    address = request.form.get("address", "").strip()
    result = codes.check_code(share, address, request.form.get("code", ""))
    db.session.commit()
    if result.ok and result.recipient is not None:
        _remember(VERIFIED_KEY, share.id, result.recipient.id)
        log.info("Recipient %s verified for share %s", result.recipient.id, share.id)
        return redirect(url_for("portal.show_share", token=token), 303)
    if result.reason == "unavailable" and result.denial is not None:
        return _unavailable(result.denial, token)
    # The form shows the address back, except one that no mail could have gone to.
    shown_address = "" if result.reason == "invalid_address" else address
    return _code_form(token, shown_address, error=_check_error(result)), 400


@bp.post("/s/<token>/files/<id:file_id>")
def download(token: str, file_id: int):
    """Download one file after the access decision allows it.

    :raise 404: the token matches no share, or the file is not one of its files.
    """
    share = _share_or_404(token)
    return send_download(
        share, file_id, _verified_recipient(share), url_for("portal.show_share", token=token)
    )


def _share_or_404(token: str) -> Share:
    share = find_share_by_link_token(token)
    if share is None:
        raise NotFound(gettext(
            "This link is not valid. Check that you opened the whole link from the message, "
            "or ask the sender to send it again."
        ))
    return share


def _verified_recipient(share: Share) -> Recipient | None:
    """Return the recipient this browser verified as for ``share``, if any."""
    recipient_id = (session.get(VERIFIED_KEY) or {}).get(share.id)
    if not isinstance(recipient_id, int):
        return None
    # The message may have been relinked since; only a current recipient counts.
    recipient = share_recipient(share, recipient_id)
    if recipient is not None and not keeps_verification(recipient):
        log.info("Session verified as recipient %s of share %s no longer counts: the "
                 "recipient is a distribution list", recipient.id, share.id)
        return None
    return recipient


def _remember(key: str, share_id: str, value: Any) -> None:
    entries = dict(session.get(key) or {})
    entries.pop(share_id, None)
    entries[share_id] = value
    while len(entries) > MAX_SHARES_IN_SESSION:
        entries.pop(next(iter(entries)))
    session[key] = entries


def _share_page(token: str, share: Share, recipient: Recipient | None) -> dict[str, Any]:
    """Return the template values of the files page: each file's decision and the notices.

    A share-wide reason is shown once above the list if any file is denied for it, because
    ``decide`` reports a file's own block first, and that must not hide a block of the
    recipient or of the whole share.
    """
    rows = [_file_row(file, decide(share, file, recipient)) for file in share.files]
    reasons = {row.decision.reason for row in rows}
    shared_reason = next((reason for reason in _SHARE_WIDE_REASONS if reason in reasons), None)
    notice = reason_message(shared_reason) if shared_reason else None
    needs_verification = notice is None and any(
        row.decision.reason == "not_verified" for row in rows
    )
    expiry_date, expiry_time = format_utc_date_time(share.expires_at)
    return {
        "token": token,
        "share": share,
        "expiry_date": expiry_date,
        "expiry_time": expiry_time,
        "sender": share.owner,
        "recipient": recipient,
        "rows": rows,
        "notice": notice,
        "needs_verification": needs_verification,
    }


def _file_row(file: File, decision: Decision) -> FileRow:
    # An unverified visitor sees the verification form below the list, so only a block
    # needs a word next to the file.
    status = gettext("Blocked by the sender") if decision.reason == "blocked_file" else None
    return FileRow(file, decision, status)


def _code_form(token: str, address: str, error: str | None = None) -> str:
    return render_template(
        "portal/verify.html",
        token=token,
        address=address,
        error=error,
        minutes=current_settings().code_lifetime_minutes,
    )


def _check_error(result: codes.CodeCheck) -> str:
    if result.reason == "wrong":
        return ngettext(
            "The code is not correct. You can try %(num)d more time.",
            "The code is not correct. You can try %(num)d more times.",
            result.attempts_left,
        )
    messages = {
        "invalid_address": gettext(
            "This email address is not valid, because it contains an invisible control "
            "character. Type the address again instead of pasting it."
        ),
        "malformed": gettext("Enter the six-digit code from the mail."),
        "exhausted": gettext("The code was entered wrongly too many times. Ask for a new code."),
        "expired": gettext("The code has expired. Ask for a new code."),
        "no_code": gettext("There is no valid code for this address. Ask for a new code."),
        "not_recipient": gettext("This address is not one that the message was sent to."),
        "distribution_list": gettext(
            "The message went to this address through a distribution list, whose members "
            "cannot confirm their address. Ask the sender to send the files to you directly."
        ),
    }
    return messages.get(result.reason or "", messages["no_code"])


def _unavailable(reason: str, token: str) -> tuple[str, int]:
    """Return the 403 page that a download denied for ``reason`` gets."""
    return _notice(403, gettext("Download not possible"), reason_message(reason), token)


def _notice(status: int, title: str, message: str, token: str) -> tuple[str, int]:
    page = render_template(
        "portal/notice.html",
        title=title,
        message=message,
        back_url=url_for("portal.show_share", token=token),
    )
    return page, status
