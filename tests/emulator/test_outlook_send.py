"""Send from Outlook: upload to Mailgrip, rewritten body, custom property, Sent Items.

These tests run against a small fake of Mailgrip's ``POST /api/shares`` so that they test the
emulator alone; Mailgrip's real share API has its own tests, which use this emulator.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import jwt
import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
REPORT = b"%PDF-1.4 quarterly figures"


class FakeMailgrip:
    """Accepts share uploads like Mailgrip and records what arrived."""

    def __init__(self) -> None:
        self.status = 201
        self.uploads: list[dict] = []
        self.url = ""
        app = Flask("fake_mailgrip")

        @app.post("/api/shares")
        def create_share():
            files = [
                {"name": item.filename, "type": item.mimetype, "bytes": item.read()}
                for item in request.files.getlist("files")
            ]
            self.uploads.append(
                {"authorization": request.headers.get("Authorization", ""), "files": files}
            )
            if self.status != 201:
                return jsonify({"error": "storage_unavailable"}), self.status
            return (
                jsonify(
                    {
                        "id": "shr_42",
                        "link": f"{self.url}/s/tok42",
                        "openTrackingUrl": f"{self.url}/o/tok42.gif",
                        "files": [{"name": item["name"]} for item in files],
                    }
                ),
                201,
            )

        self.app = app


@pytest.fixture
def mailgrip(emulator) -> Iterator[FakeMailgrip]:
    fake = FakeMailgrip()
    server = make_server("127.0.0.1", 0, fake.app, threaded=True)
    fake.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    emulator.configure(mailgrip_url=fake.url)
    yield fake
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


def _outlook_message(with_files: bool = True) -> bytes:
    message = EmailMessage()
    message["From"] = "Adele Vance <adele@contoso.example>"
    message["To"] = "Alex Wilber <alex@fabrikam.example>, megan@fabrikam.example"
    message["Cc"] = "Lee <lee@fabrikam.example>"
    message["Subject"] = "Quarterly figures"
    message["Message-ID"] = "<quarterly.42@contoso.example>"
    message.set_content("Figures attached.")
    message.add_alternative(
        '<html><body><p>Figures attached.</p><img src="cid:logo@contoso"></body></html>',
        subtype="html",
    )
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<logo@contoso>", filename="logo.png")
    if with_files:
        message.add_attachment(REPORT, "application", "pdf", filename="Q3 report.pdf")
        message.add_attachment(b"a,b\n1,2\n", "text", "csv", filename="data.csv")
    return message.as_bytes()


def _send(emulator, http, sender, raw: bytes):
    return http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/send-from-outlook",
        data=raw,
        headers={"Content-Type": "message/rfc822"},
        timeout=30,
    )


def test_upload_carries_files_and_api_token(emulator, http, sender, mailgrip):
    response = _send(emulator, http, sender, _outlook_message())
    upload = mailgrip.uploads[0]
    token = upload["authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert response.status_code == 201
    assert [item["name"] for item in upload["files"]] == ["Q3 report.pdf", "data.csv"]
    assert upload["files"][0]["type"] == "application/pdf"
    assert upload["files"][0]["bytes"] == REPORT
    assert claims["aud"] == emulator.client_id
    assert claims["scp"] == "access_as_user"
    assert claims["oid"] == sender["id"]


def test_filed_message_has_share_property_link_and_image(emulator, http, graph, sender, mailgrip):
    result = _send(emulator, http, sender, _outlook_message()).json()
    property_id = emulator.custom_property_id
    message = graph(
        "GET",
        f"users/{sender['mail']}/messages/{result['messageId']}",
        params={"$expand": f"singleValueExtendedProperties($filter=id eq '{property_id}')"},
    ).json()
    content = message["body"]["content"]
    assert result["shareId"] == "shr_42"
    assert result["link"] == f"{mailgrip.url}/s/tok42"
    assert message["singleValueExtendedProperties"] == [
        {"id": property_id, "value": json.dumps({"mailgripShareId": "shr_42"})}
    ]
    assert f'href="{mailgrip.url}/s/tok42"' in content
    assert f'<img src="{mailgrip.url}/o/tok42.gif" width="1" height="1" alt="">' in content
    assert "Q3 report.pdf (" in content
    assert "data.csv (8 bytes)" in content
    assert content.index("Secure files") < content.index("</body>")
    assert message["internetMessageId"] == "<quarterly.42@contoso.example>"
    assert [item["emailAddress"]["address"] for item in message["ccRecipients"]] == [
        "lee@fabrikam.example"
    ]


def test_filed_message_keeps_inline_parts_only(emulator, http, graph, sender, mailgrip):
    result = _send(emulator, http, sender, _outlook_message()).json()
    attachments = graph(
        "GET", f"users/{sender['mail']}/messages/{result['messageId']}/attachments"
    ).json()["value"]
    message = graph("GET", f"users/{sender['mail']}/messages/{result['messageId']}").json()
    assert [item["name"] for item in attachments] == ["logo.png"]
    assert attachments[0]["isInline"] is True
    assert attachments[0]["contentId"] == "logo@contoso"
    assert message["hasAttachments"] is False


def test_filed_message_is_new_in_delta(emulator, http, graph, sender, mailgrip):
    result = _send(emulator, http, sender, _outlook_message()).json()
    body = graph("GET", f"users/{sender['mail']}/mailFolders/sentitems/messages/delta").json()
    entry = body["value"][0]
    assert entry["id"] == result["messageId"]
    assert entry["sentDateTime"] != "2024-01-01T10:00:00Z"
    assert emulator.outbox()[0]["subject"] == "Quarterly figures"


def test_text_only_message_gets_text_block(emulator, http, graph, sender, mailgrip):
    message = EmailMessage()
    message["From"] = "adele@contoso.example"
    message["To"] = "alex@fabrikam.example"
    message["Subject"] = "Plain"
    message.set_content("See the file.")
    message.add_attachment(b"plain bytes", "application", "octet-stream", filename="a.bin")
    result = _send(emulator, http, sender, message.as_bytes()).json()
    body = graph("GET", f"users/{sender['mail']}/messages/{result['messageId']}").json()["body"]
    assert body["contentType"] == "text"
    assert f"Open the secure files: {mailgrip.url}/s/tok42" in body["content"]
    assert "<img" not in body["content"]


def test_no_files_means_no_upload(emulator, http, sender, mailgrip):
    result = _send(emulator, http, sender, _outlook_message(with_files=False)).json()
    assert mailgrip.uploads == []
    assert result["shareId"] is None
    assert len(emulator.messages(sender["mail"])) == 1


def test_mailgrip_failure_files_nothing(emulator, http, sender, mailgrip):
    mailgrip.status = 503
    response = _send(emulator, http, sender, _outlook_message())
    assert response.status_code == 502
    assert response.json()["error"] == "mailgrip_failed"
    assert "503" in response.json()["message"]
    assert "storage_unavailable" in response.json()["message"]
    assert emulator.messages(sender["mail"]) == []
    assert emulator.outbox() == []


def test_mailgrip_unreachable(emulator, http, sender):
    # Port 9 (discard) on loopback has no listener on a normal machine.
    emulator.configure(mailgrip_url="http://127.0.0.1:9")
    response = _send(emulator, http, sender, _outlook_message())
    assert response.status_code == 502
    assert emulator.messages(sender["mail"]) == []


def test_send_from_outlook_rejects_bad_message(emulator, http, sender, mailgrip):
    response = _send(emulator, http, sender, b"")
    assert response.status_code == 422
    assert mailgrip.uploads == []
