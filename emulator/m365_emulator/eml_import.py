"""Import of RFC 5322 files as Graph messages, tolerant of the malformed mail found in the wild.

A file is rejected only when it cannot stand for a message: it is empty, has no header fields,
or has neither a From nor any recipient. Everything else imports, and what had to be guessed is
listed in the result's notes (a Date that cannot be parsed becomes the import time).
"""

from __future__ import annotations

import datetime as dt
import email
import email.errors
import email.utils
import logging
import mimetypes
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header, make_header
from email.message import Message as MimeMessage

from .model import Attachment, EmailAddress, Message, new_internet_message_id, utc_now

log = logging.getLogger(__name__)

# Attached messages nest; deeper levels stay as raw MIME without a parsed item.
MAX_ITEM_DEPTH = 3
_CRLF_DEFAULT = policy.default.clone(linesep="\r\n")
_CRLF_COMPAT = policy.compat32.clone(linesep="\r\n")


class RejectedMessage(ValueError):
    """A file cannot be imported; ``str()`` names the file and the reason."""

    def __init__(self, filename: str, reason: str) -> None:
        super().__init__(f"{filename}: {reason}")
        self.filename = filename
        self.reason = reason


@dataclass
class ImportResult:
    """An imported message and the guesses made while importing it."""

    message: Message
    notes: list[str] = field(default_factory=list)


def _repair(text: str) -> str:
    """Decode raw 8-bit header bytes that the parser kept as surrogates.

    RFC 6532 allows UTF-8 in headers; older mail used a legacy charset, most often
    Windows-1252, which is the fallback.
    """
    if not any("\udc80" <= char <= "\udcff" for char in text):
        return text
    data = text.encode("utf-8", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _unfold(text: str) -> str:
    return " ".join(text.replace("\r", "").split("\n")).strip()


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; text that is not valid stays as it is."""
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
        return text


def _raw_header(mime: MimeMessage, name: str) -> str | None:
    """Return the first value of a header as it was in the file, before any parsing."""
    for key, value in mime.raw_items():
        if key.lower() == name.lower():
            return value
    return None


def _text_header(mime: MimeMessage, name: str) -> str | None:
    raw = _raw_header(mime, name)
    if raw is None:
        return None
    if raw != _repair(raw):
        return _unfold(_decode_words(_repair(raw)))
    # The stdlib parser raises assorted exceptions on malformed headers, so any failure falls
    # back to decoding the raw value here.
    try:
        return _unfold(str(mime[name]))
    except Exception:
        return _unfold(_decode_words(raw))


def _address(name: str, address: str) -> EmailAddress | None:
    address = _unfold(_repair(address))
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        return None
    return EmailAddress(_unfold(_decode_words(_repair(name))) or address, address)


def _addresses(mime: MimeMessage, name: str) -> list[EmailAddress]:
    """Return the mailboxes of an address header; empty groups and garbled entries are skipped."""
    raws = [_repair(value) for key, value in mime.raw_items() if key.lower() == name.lower()]
    lenient = email.utils.getaddresses(raws)
    found: list[EmailAddress | None] = []
    try:
        for header in mime.get_all(name) or []:
            found += [_address(item.display_name, item.addr_spec) for item in header.addresses]
    except Exception:
        # The structured parser gave up on this header, so the lenient one decides.
        found = [_address(display, address) for display, address in lenient]

    # Only the lenient parser reads a name written as a comment: "addr@example.com (Name)".
    comment_names = {address.lower(): display for display, address in lenient if display}
    result = []
    for item in found:
        if item is None:
            continue
        if item.name == item.address and item.address.lower() in comment_names:
            item = EmailAddress(_decode_words(comment_names[item.address.lower()]), item.address)
        result.append(item)
    return result


def _sent_time(mime: MimeMessage, now: dt.datetime, notes: list[str]) -> dt.datetime:
    raw = _raw_header(mime, "Date")
    if raw is None or not raw.strip():
        notes.append("The message has no Date header, so sentDateTime is the import time.")
        return now
    try:
        parsed = email.utils.parsedate_to_datetime(_unfold(_repair(raw)))
    except (TypeError, ValueError, IndexError):
        notes.append(
            f"The Date header {_unfold(raw)[:60]!r} is invalid, so sentDateTime is the import time."
        )
        return now
    # RFC 5322 "-0000" means the zone is unknown; the parser returns a naive time for it.
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).replace(microsecond=0)


def _importance(mime: MimeMessage) -> str:
    importance = (_text_header(mime, "Importance") or "").lower()
    if importance in ("high", "low", "normal"):
        return importance
    priority = (_text_header(mime, "X-Priority") or "").strip()[:1]
    return {"1": "high", "2": "high", "4": "low", "5": "low"}.get(priority, "normal")


def _text_content(part: MimeMessage) -> str:
    try:
        return part.get_content()
    except Exception:
        # Unknown charsets and broken transfer encodings: decode the bytes as best we can.
        data = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            return data.decode(charset, "replace")
        except LookupError:
            return data.decode("utf-8", "replace")


def _filename(part: MimeMessage) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        name = part.get_param("filename", header="content-disposition") or part.get_param("name")
        name = name if isinstance(name, str) else None
    if not name:
        return None
    return _unfold(_decode_words(_repair(name))) or None


def _default_name(content_type: str) -> str:
    extension = mimetypes.guess_extension(content_type) or (
        ".txt" if content_type.startswith(("text/", "message/")) else ".bin"
    )
    return f"Untitled attachment{extension}"


def _mime_bytes(mime: MimeMessage) -> bytes:
    """Serialise a parsed message back to CRLF MIME, as close to the original as possible."""
    # compat32 writes headers back as they were read; the default policy refolds them but
    # copes with some structures compat32 cannot write.
    try:
        return mime.as_bytes(policy=_CRLF_COMPAT)
    except Exception:
        log.debug("compat32 could not serialise an attached message", exc_info=True)
    try:
        return mime.as_bytes(policy=_CRLF_DEFAULT)
    except Exception:
        log.debug("The default policy could not serialise an attached message", exc_info=True)
    return str(mime).encode("utf-8", "surrogateescape")


def _file_attachment(part: MimeMessage, filename: str | None) -> Attachment:
    content_type = part.get_content_type()
    if part.is_multipart():
        # message/delivery-status and similar types parse as lists of header blocks.
        content = b"".join(_mime_bytes(block) for block in part.get_payload())
    else:
        try:
            content = part.get_payload(decode=True) or b""
        except Exception:
            content = str(part.get_payload()).encode("utf-8", "surrogateescape")
    content_id = (_text_header(part, "Content-ID") or "").strip().strip("<>") or None
    disposition = part.get_content_disposition()
    return Attachment(
        kind="file",
        name=filename or _default_name(content_type),
        content_type=content_type,
        content=content,
        # Outlook shows a part in the body, not as an attachment, when the HTML refers to it by
        # Content-ID and it is not marked as an attachment.
        is_inline=content_id is not None and disposition != "attachment",
        content_id=content_id,
        content_location=_text_header(part, "Content-Location") or None,
    )


def _item_attachment(part: MimeMessage, filename: str | None, depth: int) -> Attachment:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(inner, MimeMessage):
        return _file_attachment(part, filename)
    content = _mime_bytes(inner)
    item = None
    if depth < MAX_ITEM_DEPTH:
        try:
            item = _parse(content, filename or "attached message", depth + 1, utc_now()).message
        except RejectedMessage:
            item = None
    subject = item.subject if item is not None else _text_header(inner, "Subject")
    return Attachment(
        kind="item",
        name=subject or filename or "Untitled message",
        content_type="message/rfc822",
        content=content,
        item=item,
    )


def _collect(
    part: MimeMessage, body: MimeMessage | None, attachments: list[Attachment], depth: int
) -> None:
    """Add the attachments under ``part``; the chosen body and alternative texts are not."""
    if part is body:
        return
    content_type = part.get_content_type()
    filename = _filename(part)
    if content_type == "message/rfc822":
        attachments.append(_item_attachment(part, filename, depth))
        return
    if part.get_content_maintype() == "multipart":
        # A multipart without parts (a missing or wrong boundary) carries nothing to attach.
        if part.is_multipart():
            for child in part.iter_parts():
                _collect(child, body, attachments, depth)
        return
    disposition = part.get_content_disposition()
    if content_type in ("text/plain", "text/html") and not filename and disposition != "attachment":
        return
    attachments.append(_file_attachment(part, filename))


def _body(mime: MimeMessage) -> MimeMessage | None:
    try:
        return mime.get_body(preferencelist=("html", "plain"))
    except Exception:
        return None


def _parse(raw: bytes, filename: str, depth: int, now: dt.datetime) -> ImportResult:
    if not raw.strip():
        raise RejectedMessage(filename, "The file is empty.")
    try:
        mime = email.message_from_bytes(raw, policy=policy.default)
    except Exception as error:
        raise RejectedMessage(
            filename, f"The file cannot be parsed as RFC 5322 mail: {error}."
        ) from error
    if not mime.keys():
        raise RejectedMessage(
            filename, "The file has no header fields, so it is not an RFC 5322 message."
        )
    notes: list[str] = []
    senders = _addresses(mime, "From")
    to, cc, bcc = (_addresses(mime, name) for name in ("To", "Cc", "Bcc"))
    if not senders and not (to or cc or bcc):
        raise RejectedMessage(
            filename,
            "The message has no From address and no recipients, so it cannot be a sent message.",
        )
    if not (to or cc or bcc):
        notes.append("The message has no recipients; To, Cc and Bcc are empty or unreadable.")
    sent = _sent_time(mime, now, notes)
    # A msg-id has no spaces (RFC 5322 section 3.6.4), so folding whitespace is dropped.
    internet_message_id = "".join(_repair(_raw_header(mime, "Message-ID") or "").split())
    if not internet_message_id:
        internet_message_id = new_internet_message_id()
        notes.append(f"The message has no Message-ID, so it was given {internet_message_id}.")

    body_part = _body(mime)
    body_content = _text_content(body_part) if body_part is not None else ""
    body_type = (
        "html" if body_part is not None and body_part.get_content_subtype() == "html" else "text"
    )
    attachments: list[Attachment] = []
    if body_part is not mime:
        _collect(mime, body_part, attachments, depth)
    if body_type == "html":
        # Outlook also shows a part marked as an attachment inline when the HTML body
        # refers to it by Content-ID.
        referenced = body_content.lower()
        for attachment in attachments:
            cid = attachment.content_id
            if cid and f"cid:{cid.lower()}" in referenced:
                attachment.is_inline = True

    # Sender names who sent the message on behalf of From; without it, From sent it.
    sender = _addresses(mime, "Sender") or senders
    message = Message(
        subject=_text_header(mime, "Subject") or "",
        body_content=body_content,
        body_type=body_type,
        from_=senders[0] if senders else None,
        sender=sender[0] if sender else None,
        to_recipients=to,
        cc_recipients=cc,
        bcc_recipients=bcc,
        reply_to=_addresses(mime, "Reply-To"),
        internet_message_id=internet_message_id,
        sent=sent,
        received=sent,
        created=now,
        last_modified=now,
        importance=_importance(mime),
        is_read_receipt_requested=_raw_header(mime, "Disposition-Notification-To") is not None,
        is_delivery_receipt_requested=_raw_header(mime, "Return-Receipt-To") is not None,
        attachments=attachments,
    )
    return ImportResult(message, notes)


def parse_eml(raw: bytes, filename: str, now: dt.datetime | None = None) -> ImportResult:
    """Turn the bytes of an RFC 5322 file into a message.

    :param filename: named in the rejection message, so a batch import reports which file failed.
    :raise RejectedMessage: the file is empty, has no header fields, or has neither a From
        address nor a recipient.
    """
    return _parse(raw, filename, 0, now or utc_now())
