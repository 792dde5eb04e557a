"""What the Outlook add-in does when a user presses Send, followed by Exchange's send.

The add-in uploads the file attachments to Mailgrip as a share and replaces them with a
"secure files" block that links to the share, plus the open-tracking image. It tags the item
with the share id as a custom property. Outlook stores custom properties as one named property
in the PS_PUBLIC_STRINGS set, named ``cecp-<add-in id>``.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from .directory import API_SCOPE, MAILGRIP_CLIENT_ID, PUBLIC_CLIENT_ID
from .eml_import import parse_eml
from .mail import send
from .model import Attachment, EmailAddress, Message, User
from .tokens import TokenUser

if TYPE_CHECKING:
    from .context import Emulator

log = logging.getLogger(__name__)

PS_PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
UPLOAD_TIMEOUT_SECONDS = 30


class MailgripUploadFailed(Exception):
    """Mailgrip did not create the share; the message has its status and body."""


@dataclass(frozen=True)
class Share:
    """The share Mailgrip created for the attachments of one message."""

    id: str
    link: str
    open_tracking_url: str


def custom_property_id(addin_id: str) -> str:
    """Return the extended property id under which Outlook keeps an add-in's custom properties."""
    return f"String {PS_PUBLIC_STRINGS} Name cecp-{addin_id.strip('{}').lower()}"


def _format_size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _upload(
    mailgrip_url: str, token: str, files: list[Attachment], ca_file: str | None = None
) -> Share:
    url = f"{mailgrip_url}/api/shares"
    parts = [
        ("files", (item.name, item.content, item.content_type or "application/octet-stream"))
        for item in files
    ]
    try:
        response = requests.post(
            url,
            files=parts,
            headers={"Authorization": f"Bearer {token}"},
            timeout=UPLOAD_TIMEOUT_SECONDS,
            verify=ca_file or True,
        )
    except requests.RequestException as error:
        raise MailgripUploadFailed(f"POST {url} failed: {error}") from error
    if response.status_code != 201:
        raise MailgripUploadFailed(
            f"Mailgrip responded {response.status_code} to POST {url}: {response.text[:1000]}"
        )
    try:
        body = response.json()
        return Share(str(body["id"]), str(body["link"]), str(body["openTrackingUrl"]))
    except (ValueError, KeyError, TypeError):
        raise MailgripUploadFailed(
            f"Mailgrip responded 201 to POST {url} without id, link and openTrackingUrl: "
            f"{response.text[:1000]}"
        ) from None


def _html_block(share: Share, files: list[Attachment]) -> str:
    items = "".join(
        f"<li>{html.escape(item.name)} ({_format_size(item.size)})</li>" for item in files
    )
    link = html.escape(share.link, quote=True)
    image = html.escape(share.open_tracking_url, quote=True)
    return (
        '<div class="mailgrip-secure-files">'
        "<p><strong>Secure files</strong></p>"
        f"<ul>{items}</ul>"
        f'<p><a href="{link}">Open the secure files</a></p>'
        "</div>"
        f'<img src="{image}" width="1" height="1" alt="">'
    )


def _text_block(share: Share, files: list[Attachment]) -> str:
    lines = [f"- {item.name} ({_format_size(item.size)})" for item in files]
    return "\n\nSecure files:\n" + "\n".join(lines) + f"\nOpen the secure files: {share.link}\n"


def rewrite_for_share(message: Message, share: Share, files: list[Attachment], addin_id: str):
    """Replace the uploaded attachments by the secure-files block and tag the message."""
    uploaded = {id(item) for item in files}
    message.attachments = [item for item in message.attachments if id(item) not in uploaded]
    if message.body_type == "html":
        block = _html_block(share, files)
        position = message.body_content.lower().rfind("</body>")
        if position == -1:
            message.body_content += block
        else:
            content = message.body_content
            message.body_content = content[:position] + block + content[position:]
    else:
        message.body_content += _text_block(share, files)
    message.extended_properties[custom_property_id(addin_id)] = json.dumps(
        {"mailgripShareId": share.id}
    )


def send_from_outlook(emulator: Emulator, user: User, raw: bytes, filename: str) -> dict[str, Any]:
    """Upload the attachments to Mailgrip, rewrite the message, send it and file it.

    :return: the ids of the filed message and of the share (None without file attachments).
    :raise RejectedMessage: the raw message cannot be imported.
    :raise MailgripUploadFailed: Mailgrip did not create the share; nothing was sent.
    """
    message = parse_eml(raw, filename).message
    files = [item for item in message.attachments if item.kind == "file" and not item.is_inline]
    share = None
    if files:
        config = emulator.config
        token = emulator.tokens.user_access_token(
            TokenUser(user.id, user.address, user.display_name),
            emulator.apps[PUBLIC_CLIENT_ID],
            MAILGRIP_CLIENT_ID,
            [API_SCOPE],
        )
        share = _upload(config.mailgrip_url, token, files, config.mailgrip_ca)
        rewrite_for_share(message, share, files, config.addin_id)
    own_address = EmailAddress(user.display_name, user.address)
    message.from_ = message.from_ or own_address
    message.sender = own_address
    send(emulator.state, user, message, save_to_sent_items=True)
    log.info(
        "Sent from Outlook: message %s of %s, share %s",
        message.id,
        user.address,
        share.id if share else None,
    )
    return {
        "messageId": message.id,
        "internetMessageId": message.internet_message_id,
        "shareId": share.id if share else None,
        "link": share.link if share else None,
        "openTrackingUrl": share.open_tracking_url if share else None,
    }
