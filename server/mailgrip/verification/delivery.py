"""Mailing one-time codes: the translated message, and its delivery by Graph or SMTP."""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from html import escape

import requests
from flask_babel import gettext

from ..config import Settings
from ..errors import MailgripError
from ..services import services
from ..settings import current_settings
from ..shares.models import Share

log = logging.getLogger(__name__)


class CodeNotSent(MailgripError):
    """The code mail could not be handed to Graph or to the SMTP server."""

    status = 502
    code = "code_not_sent"


@dataclass(frozen=True)
class CodeMail:
    """A code mail in the recipient's language, as plain text and as HTML."""

    to: str
    subject: str
    text: str
    html: str


def compose_code_mail(share: Share, to: str, code: str) -> CodeMail:
    """Write the code mail; it carries no link, so the code alone does not lead to the files."""
    owner = share.owner
    sender = owner.display_name or owner.address
    minutes = current_settings().code_lifetime_minutes
    subject = gettext("Your code for the files from %(sender)s", sender=sender)
    paragraphs = [
        gettext("Your code to open the files that %(sender)s sent you is %(code)s.",
                sender=sender, code=code),
        gettext("It works once, for %(minutes)s minutes. Enter it on the page where you asked "
                "for it.", minutes=minutes),
        gettext("If you did not ask for a code, you can ignore this message."),
    ]
    # Every value is escaped, because the sender's display name comes from the directory and
    # may contain markup.
    html = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
    html = f'<!doctype html><html><body style="font-family:sans-serif">{html}</body></html>'
    return CodeMail(to=to, subject=subject, text="\n\n".join(paragraphs) + "\n", html=html)


def send_code_mail(share: Share, mail: CodeMail) -> None:
    """Send ``mail`` by the configured delivery.

    :raise CodeNotSent: Graph or the SMTP server failed; the error names no code.
    """
    settings = current_settings()
    if settings.code_delivery == "smtp":
        send_by_smtp(settings, mail)
    else:
        _send_by_graph(settings, share, mail)


def _send_by_graph(settings: Settings, share: Share, mail: CodeMail) -> None:
    """Send from the configured service mailbox, or from the share owner's mailbox.

    Graph's ``sendMail`` takes one body, so the plain-text form is sent.
    """
    mailbox = settings.code_mailbox or share.owner.object_id
    message = {
        "subject": mail.subject,
        "body": {"contentType": "Text", "content": mail.text},
        "toRecipients": [{"emailAddress": {"address": mail.to}}],
    }
    try:
        services().graph.send_mail(mailbox, message)
    except (MailgripError, requests.RequestException) as error:
        raise CodeNotSent(f"Graph sendMail from mailbox {mailbox} failed: {error}") from error


def send_by_smtp(settings: Settings, mail: CodeMail) -> None:
    """Send ``mail`` as multipart/alternative (text, then HTML) through the SMTP server.

    :raise CodeNotSent: connecting, TLS, authentication or the transaction failed.
    """
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = formataddr(("Mailgrip", settings.smtp_from))
    message["To"] = mail.to
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2] or None)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")

    context = ssl.create_default_context(cafile=settings.ca_bundle or None)
    host, port, timeout = settings.smtp_host, settings.smtp_port, settings.smtp_timeout
    try:
        if settings.smtp_security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if settings.smtp_security == "starttls":
                # starttls() raises SMTPNotSupportedError when the server does not offer it,
                # so the password never crosses a plain connection.
                client.starttls(context=context)
            if settings.smtp_username:
                client.login(settings.smtp_username, settings.smtp_password)
            client.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        raise CodeNotSent(
            f"SMTP delivery through {host}:{port} failed: {_smtp_error(error)}"
        ) from None


def _smtp_error(error: Exception) -> str:
    """Describe an SMTP failure without the message text, which contains the code."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "the server refused the recipient: " + "; ".join(
            f"{code} {reply.decode(errors='replace')}"
            for code, reply in error.recipients.values()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {error.smtp_error.decode(errors='replace')}"
    return f"{type(error).__name__}: {error}"
