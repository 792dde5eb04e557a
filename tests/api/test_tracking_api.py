"""Task-pane API: listing, tracking lookups, blocks, and who may see what."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from mailgrip.access.models import Block
from mailgrip.audit import AuditRecord
from mailgrip.db import db
from mailgrip.mirror.addresses import address_key
from mailgrip.mirror.models import Mailbox, Message, Recipient
from mailgrip.shares.models import File, Share


def _mailbox_of(client, headers) -> Mailbox:
    """The caller's mailbox, created by the API on the first authenticated call."""
    assert client.get("/api/messages", headers=headers).status_code == 200
    return db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id.desc())).first()


def _message(mailbox: Mailbox, subject: str = "Q3 figures", files=("a.pdf", "b.csv")) -> Message:
    share = Share(
        id=secrets.token_hex(16),
        owner_mailbox_id=mailbox.id,
        link_token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        open_token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        expires_at=datetime.now(UTC) + timedelta(days=30),
    )
    for name in files:
        share.files.append(
            File(
                display_name=name,
                size=10,
                content_type="application/octet-stream",
                sha256="0" * 64,
                storage_key=secrets.token_hex(16),
            )
        )
    message = Message(
        mailbox_id=mailbox.id,
        graph_id=f"AAMk{secrets.token_hex(8)}=",
        internet_message_id=f"<{secrets.token_hex(6)}@contoso.example>",
        subject=subject,
        sent_at=datetime.now(UTC),
        share=share,
    )
    for address, kind in (("Bob@Fabrikam.example", "to"), ("carol@northwind.example", "cc")):
        message.recipients.append(
            Recipient(address=address, address_key=address_key(address), kind=kind)
        )
    db.session.add(message)
    db.session.commit()
    return message


@pytest.fixture
def bob_headers(make_user, api_token) -> dict[str, str]:
    bob = make_user("bob@contoso.example", "Bob Colleague")
    return {"Authorization": f"Bearer {api_token(bob)}"}


def test_list_shows_own_messages(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))

    body = client.get("/api/messages", headers=alice_headers).get_json()

    assert [m["id"] for m in body["value"]] == [message.id]
    assert body["value"][0]["recipientCount"] == 2
    assert body["value"][0]["hasShare"] is True


@pytest.mark.parametrize("limit", ["0", "201", "ten"])
def test_list_rejects_bad_limit(client, alice_headers, limit):
    response = client.get(f"/api/messages?limit={limit}", headers=alice_headers)
    assert response.status_code == 400
    assert repr(limit) in response.get_json()["message"]


def test_tracking_by_each_id(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    urls = [
        f"/api/messages/{message.id}",
        f"/api/messages/lookup?graphId={message.graph_id}",
        f"/api/messages/lookup?internetMessageId={message.internet_message_id}",
    ]
    for url in urls:
        response = client.get(url, headers=alice_headers)
        assert response.status_code == 200, url
        assert response.get_json()["id"] == message.id, url


def test_tracking_initial_states(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))

    body = client.get(f"/api/messages/{message.id}", headers=alice_headers).get_json()

    bob = body["recipients"][0]
    assert bob["address"] == "Bob@Fabrikam.example"
    assert bob["sent"]["value"] is True
    assert bob["received"]["state"] == "unknown"
    assert bob["opened"]["value"] is False
    assert bob["linkOpened"]["value"] is False
    assert bob["downloads"] == []
    assert [f["name"] for f in body["files"]] == ["a.pdf", "b.csv"]
    assert body["blockAll"] is None


def test_lookup_needs_an_id(client, alice_headers):
    response = client.get("/api/messages/lookup", headers=alice_headers)
    assert response.status_code == 400
    assert "graphId" in response.get_json()["message"]


def test_lookup_unknown_message_is_404(client, alice_headers):
    response = client.get("/api/messages/lookup?graphId=AAMkunknown", headers=alice_headers)
    assert response.status_code == 404


def test_block_each_scope_and_lift(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    recipient_id = message.recipients[0].id
    file_id = message.share.files[0].id
    requests_ = [
        {"scope": "all"},
        {"scope": "recipient", "recipientId": recipient_id},
        {"scope": "file", "fileId": file_id},
    ]
    for body in requests_:
        created = client.post(
            f"/api/messages/{message.id}/blocks", json=body, headers=alice_headers
        )
        assert created.status_code == 201, created.get_json()
        block = created.get_json()
        assert block["active"] is True
        assert block["createdBy"] == "alice@contoso.example"

        lifted = client.post(f"/api/blocks/{block['id']}/lift", headers=alice_headers)
        assert lifted.status_code == 200
        assert lifted.get_json()["active"] is False
        assert lifted.get_json()["liftedBy"] == "alice@contoso.example"

    history = client.get(f"/api/messages/{message.id}", headers=alice_headers).get_json()["blocks"]
    assert len(history) == 3
    actions = db.session.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.id)).all()
    assert actions == ["block", "unblock"] * 3


def test_block_same_scope_twice_reuses_block(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    url = f"/api/messages/{message.id}/blocks"

    first = client.post(url, json={"scope": "all"}, headers=alice_headers)
    second = client.post(url, json={"scope": "all"}, headers=alice_headers)

    assert first.status_code == 201
    assert second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]


def test_block_shown_in_tracking(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    file_id = message.share.files[1].id
    client.post(
        f"/api/messages/{message.id}/blocks",
        json={"scope": "file", "fileId": file_id},
        headers=alice_headers,
    )

    body = client.get(f"/api/messages/{message.id}", headers=alice_headers).get_json()

    assert body["files"][0]["block"] is None
    assert body["files"][1]["block"]["scope"] == "file"


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"scope": "everything"}, 400, "'everything'"),
        ({"scope": "recipient"}, 400, "recipientId"),
        ({"scope": "file", "fileId": "3"}, 400, "fileId='3'"),
        ({"scope": "recipient", "recipientId": 999999}, 404, "999999"),
        ({"scope": "file", "fileId": 999999}, 404, "999999"),
        ({"scope": "all", "fileId": 1}, 400, "fileId does not fit scope 'all'"),
        ({"scope": "all", "recipientId": None}, 400, "recipientId does not fit scope 'all'"),
        (
            {"scope": "recipient", "recipientId": 1, "fileId": 2},
            400,
            "fileId does not fit scope 'recipient'",
        ),
        (
            {"scope": "file", "fileId": 1, "recipientId": 2},
            400,
            "recipientId does not fit scope 'file'",
        ),
    ],
)
def test_block_rejects_bad_request(client, alice_headers, body, status, fragment):
    message = _message(_mailbox_of(client, alice_headers))

    response = client.post(f"/api/messages/{message.id}/blocks", json=body, headers=alice_headers)

    assert response.status_code == status
    assert fragment in response.get_json()["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Block)) == 0


def test_block_rejects_non_json_body(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    response = client.post(
        f"/api/messages/{message.id}/blocks", data="scope=all", headers=alice_headers
    )
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["message"]


def test_block_recipient_of_other_message_is_404(client, alice_headers):
    mailbox = _mailbox_of(client, alice_headers)
    first, second = _message(mailbox), _message(mailbox, subject="Other")

    response = client.post(
        f"/api/messages/{first.id}/blocks",
        json={"scope": "recipient", "recipientId": second.recipients[0].id},
        headers=alice_headers,
    )

    assert response.status_code == 404


def test_other_user_sees_nothing(client, alice_headers, bob_headers):
    message = _message(_mailbox_of(client, alice_headers))
    block = client.post(
        f"/api/messages/{message.id}/blocks", json={"scope": "all"}, headers=alice_headers
    ).get_json()

    listed = client.get("/api/messages", headers=bob_headers).get_json()
    tracking = client.get(f"/api/messages/{message.id}", headers=bob_headers)
    by_graph = client.get(f"/api/messages/lookup?graphId={message.graph_id}", headers=bob_headers)
    blocked = client.post(
        f"/api/messages/{message.id}/blocks", json={"scope": "all"}, headers=bob_headers
    )
    lifted = client.post(f"/api/blocks/{block['id']}/lift", headers=bob_headers)

    assert listed["value"] == []
    assert tracking.status_code == 404
    assert by_graph.status_code == 404
    assert blocked.status_code == 404
    assert lifted.status_code == 404
    assert db.session.get(Block, block["id"]).lifted_at is None


def test_missing_token_is_401(client):
    response = client.get("/api/messages")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    # RFC 6750 3.1: no error code when the request carried no bearer token.
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mailgrip"'


@pytest.mark.parametrize("header", ["Basic YWxpY2U6cHc=", "Bearer ", "Bearer"])
def test_other_scheme_gets_plain_challenge(client, header):
    response = client.get("/api/messages", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mailgrip"'


@pytest.mark.parametrize(
    ("case", "fragment"),
    [
        ("expired", "expired"),
        ("wrong_audience", "not issued for Mailgrip"),
        ("foreign_key", "unknown key"),
        ("altered", "invalid"),
        ("garbled", "not a well-formed JWT"),
        ("no_scope", "lacks the scope"),
    ],
)
def test_bad_token_is_401(client, emulator, alice, case, fragment):
    if case == "garbled":
        token = "not.a.jwt"
    elif case == "expired":
        token = emulator.mint_token(user=alice.address, lifetime=-3600)
    elif case == "wrong_audience":
        token = emulator.mint_token({"aud": "api://someone-else"}, user=alice.address)
    elif case == "foreign_key":
        token = emulator.mint_token(user=alice.address, key=emulator.foreign_key)
    elif case == "no_scope":
        token = emulator.mint_token({"scp": "User.Read"}, user=alice.address)
    else:
        header, payload, signature = emulator.mint_token(user=alice.address).split(".")
        token = ".".join(
            [header, payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB"), signature]
        )

    response = client.get("/api/messages", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert fragment in response.get_json()["message"]
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="mailgrip", error="invalid_token"'


def test_openapi_document_lists_contract(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    for path in (
        "/api/messages",
        "/api/messages/{messageId}",
        "/api/messages/lookup",
        "/api/messages/{messageId}/blocks",
        "/api/blocks/{blockId}/lift",
        "/api/shares",
    ):
        assert path in document["paths"], path


@pytest.mark.parametrize(
    "url", ["/api/messages/2147483648", "/api/messages/99999999999999999999999", "/api/messages/0"]
)
def test_out_of_range_message_id_is_404(client, alice_headers, url):
    assert client.get(url, headers=alice_headers).status_code == 404


def test_out_of_range_block_id_is_404(client, alice_headers):
    response = client.post("/api/blocks/99999999999999999999999/lift", headers=alice_headers)
    assert response.status_code == 404


@pytest.mark.parametrize("value", [2147483648, 99999999999999999999999, 0, -1])
def test_block_rejects_out_of_range_ids(client, alice_headers, value):
    message = _message(_mailbox_of(client, alice_headers))

    for body in ({"scope": "file", "fileId": value}, {"scope": "recipient", "recipientId": value}):
        response = client.post(
            f"/api/messages/{message.id}/blocks", json=body, headers=alice_headers
        )
        assert response.status_code == 400, body
        assert str(value) in response.get_json()["message"]


@pytest.mark.parametrize("query", ["graphId=%00", "internetMessageId=a%00b", "graphId=a%0Db"])
def test_lookup_rejects_control_characters(client, alice_headers, query):
    response = client.get(f"/api/messages/lookup?{query}", headers=alice_headers)
    assert response.status_code == 400
    assert "control character" in response.get_json()["message"]


def test_parallel_identical_blocks_make_one(live_server, alice_headers):
    from concurrent.futures import ThreadPoolExecutor

    import requests as http

    with live_server.app.app_context():
        mailbox = _mailbox_of(live_server.app.test_client(), alice_headers)
        message_id = _message(mailbox).id
    url = f"{live_server.url}/api/messages/{message_id}/blocks"

    def block(_: int) -> int:
        return http.post(url, json={"scope": "all"}, headers=alice_headers, timeout=30).json()["id"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = set(pool.map(block, range(10)))

    assert len(ids) == 1
    with live_server.app.app_context():
        active = db.session.scalar(
            sa.select(sa.func.count()).select_from(Block).where(Block.lifted_at.is_(None))
        )
    assert active == 1


def test_recipient_block_needs_verification(client, alice_headers):
    message = _message(_mailbox_of(client, alice_headers))
    message.share.verification = "none"
    db.session.commit()

    response = client.post(
        f"/api/messages/{message.id}/blocks",
        json={"scope": "recipient", "recipientId": message.recipients[0].id},
        headers=alice_headers,
    )

    assert response.status_code == 400
    assert "without verifying" in response.get_json()["message"]


def test_long_display_name_user_can_use_api(client, emulator, make_user, api_token):
    user = make_user("longname@contoso.example", "L" * 300)
    headers = {"Authorization": f"Bearer {api_token(user)}"}

    response = client.get("/api/messages", headers=headers)

    assert response.status_code == 200
    mailbox = db.session.scalars(sa.select(Mailbox).where(Mailbox.object_id == user.id)).one()
    assert len(mailbox.display_name) == 256
