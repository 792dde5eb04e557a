"""MIME of messages: what ``GET /messages/{id}/$value`` returns, and non-delivery reports."""

from __future__ import annotations

import email.utils
import re
import secrets
from email.message import EmailMessage
from email.policy import SMTP

from .model import EmailAddress, Message, User, utc_now

# Exchange Online sends its reports from a system mailbox of the sender's domain; the
# hexadecimal part differs between tenants.
REPORT_SENDER_LOCAL_PART = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"
REPORTING_MTA = "emulator.prod.outlook.example"
_STATUS_CODE = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")


def _address_header(addresses: list[EmailAddress]) -> str:
    return ", ".join(email.utils.formataddr((item.name, item.address)) for item in addresses)


def message_mime(message: Message) -> bytes:
    """Return the message as RFC 5322 bytes, built from its properties unless it came as MIME."""
    if message.mime is not None:
        return message.mime

    mime = EmailMessage()
    if message.from_ is not None:
        mime["From"] = _address_header([message.from_])
    if message.to_recipients:
        mime["To"] = _address_header(message.to_recipients)
    if message.cc_recipients:
        mime["Cc"] = _address_header(message.cc_recipients)
    if message.bcc_recipients:
        # Exchange keeps Bcc in the sender's copy of a message.
        mime["Bcc"] = _address_header(message.bcc_recipients)
    mime["Subject"] = message.subject
    mime["Date"] = email.utils.format_datetime(message.sent or message.created)
    mime["Message-ID"] = message.internet_message_id

    subtype = "html" if message.body_type == "html" else "plain"
    mime.set_content(message.body_content, subtype=subtype)

    for attachment in message.attachments:
        if attachment.kind != "file":
            continue
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition(
            "/"
        )
        mime.add_attachment(
            attachment.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=attachment.name,
        )
    return mime.as_bytes(policy=SMTP)


def status_code(detail: str) -> str:
    """Return the RFC 3463 status code in an SMTP reply such as ``550 5.1.1 user unknown``."""
    match = _STATUS_CODE.search(detail)
    return match.group(1) if match else "5.0.0"


def non_delivery_report(
    sender: User, original: Message, failures: list[tuple[str, str]]
) -> Message:
    """Build the report that Exchange puts in the sender's Inbox when recipients failed.

    :param failures: ``(address, SMTP reply)`` of each recipient that failed.
    :return: an Inbox message that carries the report's MIME (RFC 3464 multipart/report).
    """
    now = utc_now()
    domain = sender.address.rpartition("@")[2]
    report_from = EmailAddress("Microsoft Outlook", f"{REPORT_SENDER_LOCAL_PART}@{domain}")
    boundary = f"_ndr_{secrets.token_hex(12)}_"
    message_id = f"<{secrets.token_hex(16)}@{REPORTING_MTA}>"
    subject = f"Undeliverable: {original.subject}"
    content_type = f'multipart/report; report-type=delivery-status; boundary="{boundary}"'
    headers = [
        ("From", _address_header([report_from])),
        ("To", _address_header([EmailAddress(sender.display_name, sender.address)])),
        ("Subject", subject),
        ("Date", email.utils.format_datetime(now)),
        ("Message-ID", message_id),
        ("Auto-Submitted", "auto-replied"),
        ("MIME-Version", "1.0"),
        ("Content-Type", content_type),
    ]
    explanation = "Your message couldn't be delivered to these recipients:\r\n\r\n" + "".join(
        f"{address}\r\n    {reply}\r\n\r\n" for address, reply in failures
    )
    fields = (
        f"Reporting-MTA: dns;{REPORTING_MTA}\r\n"
        f"Received-From-MTA: dns;{REPORTING_MTA}\r\n"
        f"Arrival-Date: {email.utils.format_datetime(original.sent or now)}\r\n"
    )
    for address, reply in failures:
        fields += (
            "\r\n"
            f"Original-Recipient: rfc822;{address}\r\n"
            f"Final-Recipient: rfc822;{address}\r\n"
            "Action: failed\r\n"
            f"Status: {status_code(reply)}\r\n"
            f"Diagnostic-Code: smtp;{reply}\r\n"
        )
    original_mime = message_mime(original).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    body = (
        (
            f"--{boundary}\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            f"{explanation}"
            f"--{boundary}\r\n"
            "Content-Type: message/delivery-status\r\n\r\n"
            f"{fields}\r\n"
            f"--{boundary}\r\n"
            "Content-Type: message/rfc822\r\n\r\n"
        ).encode("ascii", "replace")
        + original_mime
        + f"\r\n--{boundary}--\r\n".encode("ascii")
    )
    raw = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("utf-8") + b"\r\n"
    report = Message(
        subject=subject,
        body_content=explanation.replace("\r\n", "\n"),
        body_type="text",
        sender=report_from,
        from_=report_from,
        to_recipients=[EmailAddress(sender.display_name, sender.address)],
        internet_message_id=message_id,
        sent=now,
        received=now,
        is_read=False,
        mime=raw + body,
        internet_headers=headers,
    )
    return report
