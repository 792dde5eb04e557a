"""The whole loop on real messages: send from Outlook, mirror, verify, open, download, block.

Everything runs for real: the emulator over HTTPS, Mailgrip on a loopback port, msal tokens,
the database, and recipients as HTTP clients of the portal.
"""

from __future__ import annotations

import requests
import sqlalchemy as sa
from emulator_control import post_message
from recipient import BROWSER_USER_AGENT, Recipient

from mailgrip.audit import AuditRecord
from mailgrip.db import db
from mailgrip.tracking.models import Event

ATTACHMENT_FIXTURES = (
    "attachment_pdf.eml",
    "attachment_nonascii_filename.eml",
    "attachment_with_quoted_filename.eml",
)
SECOND_READER = "Second Reader <second.reader@example.net>"


def _tracking(client, headers, message_id: int) -> dict:
    response = client.get(f"/api/messages/{message_id}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def _by_address(tracking: dict, address: str) -> dict:
    return next(r for r in tracking["recipients"] if r["address"].lower() == address.lower())


def _block(client, headers, message_id: int, body: dict) -> int:
    response = client.post(f"/api/messages/{message_id}/blocks", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _lift(client, headers, block_id: int) -> None:
    assert client.post(f"/api/blocks/{block_id}/lift", headers=headers).status_code == 200


def test_walking_skeleton(client, runner, emulator, alice, alice_headers, fixtures_dir):
    folder = fixtures_dir / "eml" / "mikel-mail" / "attachment_emails"
    assert (
        client.get("/api/messages", headers=alice_headers).status_code == 200
    )  # registers mailbox

    # 1. Send the fixture messages the way the add-in does; the PDF one gets a second reader.
    sent = {}
    for name in ATTACHMENT_FIXTURES:
        raw = (folder / name).read_bytes()
        if name == "attachment_pdf.eml":
            raw = f"Cc: {SECOND_READER}\r\n".encode() + raw
        sent[name] = post_message(emulator, alice.address, "send-from-outlook", raw)

    # 2. Mirror Sent Items.
    result = runner.invoke(args=["sync"])
    assert result.exit_code == 0, result.output
    assert f"{len(ATTACHMENT_FIXTURES)} new" in result.output
    listed = client.get("/api/messages", headers=alice_headers).get_json()["value"]
    assert len(listed) == len(ATTACHMENT_FIXTURES)
    assert all(m["hasShare"] for m in listed)

    lookup = client.get(
        f"/api/messages/lookup?graphId={sent['attachment_pdf.eml']['messageId']}",
        headers=alice_headers,
    )
    assert lookup.status_code == 200
    tracking = lookup.get_json()
    message_id = tracking["id"]
    assert tracking["share"]["id"] == sent["attachment_pdf.eml"]["shareId"]
    assert len(tracking["recipients"]) == 2  # the fixture names xxxx@xxxx.com twice in To
    assert len(tracking["files"]) == 1
    first_address = tracking["recipients"][0]["address"]
    assert all(r["received"]["state"] == "unknown" for r in tracking["recipients"])
    assert all(r["opened"]["value"] is False for r in tracking["recipients"])

    # 3. The open-tracking image means "opened by someone", at message level only. Fetched a
    # second after sending, it is weak evidence: gateways render messages as they deliver.
    image = requests.get(
        sent["attachment_pdf.eml"]["openTrackingUrl"],
        headers={"User-Agent": BROWSER_USER_AGENT},
        timeout=30,
    )
    assert image.headers["Content-Type"] == "image/gif"
    tracking = _tracking(client, alice_headers, message_id)
    assert tracking["message"]["opened"] == {
        "value": False,
        "at": tracking["message"]["opened"]["at"],
        "evidence": "image",
        "label": "unknown",
        "by": None,
    }
    assert all(r["opened"]["value"] is False for r in tracking["recipients"])

    # 4. Both recipients follow the link and verify with a one-time code.
    link = sent["attachment_pdf.eml"]["link"]
    first = Recipient(link, first_address, emulator)
    second = Recipient(link, "second.reader@example.net", emulator)
    assert first.open_link().status_code == 200
    assert first.verify().status_code == 200
    assert second.verify().status_code == 200
    (file_id,) = first.file_ids()
    file_size = tracking["files"][0]["size"]

    # 5. Downloads: whole, and a Range request.
    whole = first.download(file_id)
    assert whole.status_code == 200
    assert len(whole.content) == file_size
    assert whole.content.startswith(b"%PDF")
    part = second.download(file_id, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.content == whole.content[:100]

    tracking = _tracking(client, alice_headers, message_id)
    reader = _by_address(tracking, first_address)
    assert reader["opened"]["value"] is True
    assert reader["opened"]["evidence"] == "download"
    assert reader["linkOpened"]["value"] is True
    assert reader["verified"]["value"] is True
    assert reader["downloads"][0]["fileId"] == file_id
    assert tracking["files"][0]["downloadedBy"][0]["address"] == reader["address"]

    # 6. Block the file, then one recipient, then everything; lift each again.
    def allowed(recipient: Recipient) -> bool:
        status = recipient.download(file_id).status_code
        assert status in (200, 403), status
        return status == 200

    block_id = _block(client, alice_headers, message_id, {"scope": "file", "fileId": file_id})
    assert not allowed(first)
    assert not allowed(second)
    _lift(client, alice_headers, block_id)
    assert allowed(first)

    block_id = _block(
        client, alice_headers, message_id, {"scope": "recipient", "recipientId": reader["id"]}
    )
    assert not allowed(first)
    assert allowed(second)
    _lift(client, alice_headers, block_id)
    assert allowed(first)

    block_id = _block(client, alice_headers, message_id, {"scope": "all"})
    refused = first.download(file_id)
    assert refused.status_code == 403
    assert "blocked" in refused.text.lower()
    assert not allowed(second)
    _lift(client, alice_headers, block_id)
    assert allowed(first)
    assert allowed(second)

    # 7. Every refusal is an event, and every block, unblock and download is audited.
    denied = db.session.scalars(
        sa.select(Event.detail).where(Event.kind == "download_denied")
    ).all()
    assert len(denied) == 5
    actions = db.session.scalars(sa.select(AuditRecord.action)).all()
    assert actions.count("block") == 3
    assert actions.count("unblock") == 3
    assert actions.count("download_denied") == 5
    assert actions.count("download") >= 6
