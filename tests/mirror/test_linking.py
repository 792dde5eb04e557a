"""Linking mirrored messages to shares: one message per share, whatever quotes the link."""

from __future__ import annotations

import io
from email.message import EmailMessage

import requests
import sqlalchemy as sa
from emulator_control import post_message
from recipient import Recipient

from mailgrip.db import db
from mailgrip.mirror.models import Message


def _message(subject: str, to: str, cc: str = "", body: str = "See below.") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message.set_content(body)
    return message


def test_reply_quoting_link_gets_no_share(client, runner, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    original = _message("Contract", to="bob@fabrikam.example")
    original.add_attachment(
        b"%PDF-1.4 contract", maintype="application", subtype="pdf", filename="contract.pdf"
    )
    sent = post_message(emulator, alice.address, "send-from-outlook", original.as_bytes())
    reply = _message(
        "RE: Contract",
        to="bob@fabrikam.example",
        cc="zed@outsider.example",
        body=f"Forwarding the thread.\n\n> Files: {sent['link']}\n",
    )
    filed = post_message(emulator, alice.address, "sent-items", reply.as_bytes())

    assert runner.invoke(args=["sync"]).exit_code == 0

    messages = {m.graph_id: m for m in db.session.scalars(sa.select(Message))}
    assert messages[sent["messageId"]].share_id == sent["shareId"]
    assert messages[filed["id"]].share_id is None


def test_reply_recipient_cannot_verify(client, runner, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    original = _message("Plans", to="bob@fabrikam.example")
    original.add_attachment(b"plans", maintype="text", subtype="plain", filename="plans.txt")
    sent = post_message(emulator, alice.address, "send-from-outlook", original.as_bytes())
    reply = _message("RE: Plans", to="zed@outsider.example", body=f"Link: {sent['link']}")
    post_message(emulator, alice.address, "sent-items", reply.as_bytes())
    assert runner.invoke(args=["sync"]).exit_code == 0

    zed = Recipient(sent["link"], "zed@outsider.example", emulator)
    refused = zed.request_code()

    assert refused.status_code == 403
    outbox = requests.get(
        f"{emulator.base_url}/_emulator/outbox", verify=str(emulator.ca_path), timeout=30
    ).json()["value"]
    assert not any("zed@outsider.example" in mail["to"] for mail in outbox)


def test_body_link_found_after_quoted_link(client, runner, emulator, alice, alice_headers):
    assert client.get("/api/messages", headers=alice_headers).status_code == 200
    first = _message("First", to="bob@fabrikam.example")
    first.add_attachment(b"one", maintype="text", subtype="plain", filename="one.txt")
    old = post_message(emulator, alice.address, "send-from-outlook", first.as_bytes())
    assert runner.invoke(args=["sync"]).exit_code == 0
    created = client.post(
        "/api/shares", data={"files": (io.BytesIO(b"two"), "two.txt")}, headers=alice_headers
    ).get_json()
    second = _message(
        "Second",
        to="carol@northwind.example",
        body=f"Earlier: {old['link']}\n\nNew files: {created['link']}\n",
    )
    filed = post_message(emulator, alice.address, "sent-items", second.as_bytes())

    assert runner.invoke(args=["sync"]).exit_code == 0

    message = db.session.scalars(sa.select(Message).where(Message.graph_id == filed["id"])).one()
    assert message.share_id == created["id"]
