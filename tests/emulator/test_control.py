"""The control API: loopback-only access, users, outbox, moves, configuration, faults."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from m365_emulator.control import is_loopback


def _eml(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = "adele@contoso.example"
    message["To"] = "alex@fabrikam.example"
    message["Subject"] = subject
    message.set_content("Body.")
    return message.as_bytes()


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.0.0.8", False),
        ("192.168.1.20", False),
        ("2001:db8::1", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback(address, expected):
    assert is_loopback(address) is expected


def test_control_rejects_remote_client(emulator):
    client = emulator.app.test_client()
    remote = client.get("/_emulator/users", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    local = client.get("/_emulator/users", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert remote.status_code == 403
    assert remote.get_json()["error"] == "forbidden"
    assert local.status_code == 200


def test_create_user_is_idempotent(emulator, http):
    url = f"{emulator.base_url}/_emulator/users"
    body = {"address": "Alice@Contoso.example", "displayName": "Alice", "password": "pw-1"}
    first = http.post(url, json=body, timeout=10)
    second = http.post(url, json={**body, "address": "alice@contoso.example"}, timeout=10)
    listed = http.get(url, timeout=10).json()["value"]
    assert first.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert set(first.json()) == {"id", "userPrincipalName", "mail", "displayName"}
    assert len(listed) == 1


def test_create_user_invalid(emulator, http):
    response = http.post(
        f"{emulator.base_url}/_emulator/users",
        json={"address": "no-at-sign", "password": "pw"},
        timeout=10,
    )
    assert response.status_code == 400
    assert "no-at-sign" in response.json()["message"]


def test_unknown_mailbox(emulator, http):
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/ghost@contoso.example/sent-items",
        data=_eml("x"),
        timeout=10,
    )
    assert response.status_code == 404
    assert response.json()["error"] == "user_not_found"


def test_move_message_out_of_sent_items(emulator, http, sender):
    message_id = emulator.import_sent_item(sender["mail"], _eml("Moved"))["id"]
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/messages/{message_id}/move",
        json={"destination": "deleteditems"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["folder"] == "deleteditems"
    assert emulator.messages(sender["mail"]) == []
    assert [item["id"] for item in emulator.messages(sender["mail"], "deleteditems")] == [
        message_id
    ]


def test_move_to_unknown_folder(emulator, http, sender):
    message_id = emulator.import_sent_item(sender["mail"], _eml("Stays"))["id"]
    response = http.post(
        f"{emulator.base_url}/_emulator/mailboxes/{sender['mail']}/messages/{message_id}/move",
        json={"destination": "nowhere"},
        timeout=10,
    )
    assert response.status_code == 404


def test_outbox_list_and_clear(emulator, http, graph, sender):
    graph(
        "POST",
        f"users/{sender['mail']}/sendMail",
        json={
            "message": {
                "subject": "Code 123456",
                "body": {"contentType": "Text", "content": "Your code is 123456."},
                "toRecipients": [{"emailAddress": {"address": "alex@fabrikam.example"}}],
            },
            "saveToSentItems": False,
        },
    )
    listed = http.get(f"{emulator.base_url}/_emulator/outbox", timeout=10).json()["value"]
    cleared = http.delete(f"{emulator.base_url}/_emulator/outbox", timeout=10)
    assert {"from", "to", "subject", "body", "contentType", "sentDateTime"} <= set(listed[0])
    assert listed[0]["body"] == "Your code is 123456."
    assert listed[0]["sentDateTime"].endswith("Z")
    assert cleared.status_code == 204
    assert emulator.outbox() == []


def test_reset_forgets_users_and_mail(emulator, http, sender):
    emulator.import_sent_item(sender["mail"], _eml("Gone after reset"))
    kid = emulator.current_kid
    response = http.post(f"{emulator.base_url}/_emulator/reset", timeout=10)
    users = http.get(f"{emulator.base_url}/_emulator/users", timeout=10).json()["value"]
    assert response.status_code == 204
    assert users == []
    assert emulator.current_kid == kid


def test_config_rejects_non_loopback_mailgrip(emulator, http):
    response = http.post(
        f"{emulator.base_url}/_emulator/config",
        json={"mailgripUrl": "https://mailgrip.example.com"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_config"


def test_config_sets_mailgrip_and_addin(emulator, http):
    response = http.post(
        f"{emulator.base_url}/_emulator/config",
        json={
            "mailgripUrl": "http://127.0.0.1:5999/",
            "addinId": "{ABCDEF00-1111-2222-3333-444455556666}",
        },
        timeout=10,
    )
    body = response.json()
    emulator.configure(
        mailgrip_url="http://127.0.0.1:5000", addin_id="8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f"
    )
    assert body == {
        "mailgripUrl": "http://127.0.0.1:5999",
        "addinId": "abcdef00-1111-2222-3333-444455556666",
    }


def test_fault_endpoint_validates(emulator, http):
    response = http.post(f"{emulator.base_url}/_emulator/faults", json={"status": 418}, timeout=10)
    assert response.status_code == 400
    assert "418" in response.json()["message"]


def test_fault_endpoint_slow_response(emulator, http, graph, sender):
    http.post(
        f"{emulator.base_url}/_emulator/faults",
        json={"status": 503, "delaySeconds": 0.2, "count": 2},
        timeout=10,
    )
    pending = http.get(f"{emulator.base_url}/_emulator/faults", timeout=10).json()["value"]
    first = graph("GET", f"users/{sender['mail']}/messages")
    second = graph("GET", f"users/{sender['mail']}/messages")
    third = graph("GET", f"users/{sender['mail']}/messages")
    assert pending[0]["remaining"] == 2
    assert [first.status_code, second.status_code, third.status_code] == [503, 503, 200]
    assert first.elapsed.total_seconds() >= 0.2
    assert first.headers["Retry-After"] == "1"


def test_fault_unknown_field_rejected(emulator):
    with pytest.raises(ValueError) as raised:
        emulator.add_fault(status=429, retry_after=1)
    assert "retry_after" in str(raised.value)
