"""Who may see what through the API: owners, shared-mailbox delegates and admins.

Every ``/api/`` route is listed in ``OWNED_ROUTES`` or ``OTHER_ROUTES``. A route on another
user's resource must return 404 with the same body as for an id that does not exist.
``test_every_api_route_listed`` fails when a route is added without an entry here.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from builders import make_share

from mailgrip.access.models import Block
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.models import Share

MISSING_ID = 2_000_000_000


@dataclass
class World:
    """Alice's message with a share and an active block, seen by Bob."""

    message_id: int
    graph_id: str
    internet_message_id: str
    block_id: int
    file_id: int
    recipient_id: int


@dataclass
class Probe:
    """One request on Alice's resource, and the same request on an id that does not exist."""

    method: str
    path: str
    missing_path: str
    body: dict | None = None


def _message_probes(world: World) -> list[Probe]:
    return [
        Probe("GET", f"/api/messages/{world.message_id}", f"/api/messages/{MISSING_ID}"),
    ]


def _lookup_probes(world: World) -> list[Probe]:
    return [
        Probe(
            "GET",
            f"/api/messages/lookup?graphId={world.graph_id}",
            "/api/messages/lookup?graphId=AAMkAGdoesnotexist=",
        ),
        Probe(
            "GET",
            f"/api/messages/lookup?internetMessageId={world.internet_message_id}",
            "/api/messages/lookup?internetMessageId=%3Cnone@contoso.example%3E",
        ),
    ]


def _timeline_probes(world: World) -> list[Probe]:
    return [
        Probe(
            "GET",
            f"/api/messages/{world.message_id}/timeline",
            f"/api/messages/{MISSING_ID}/timeline",
        ),
    ]


def _block_probes(world: World) -> list[Probe]:
    return [
        Probe(
            "POST",
            f"/api/messages/{world.message_id}/blocks",
            f"/api/messages/{MISSING_ID}/blocks",
            body,
        )
        for body in (
            {"scope": "all"},
            {"scope": "file", "fileId": world.file_id},
            {"scope": "recipient", "recipientId": world.recipient_id},
        )
    ]


def _lift_probes(world: World) -> list[Probe]:
    return [Probe("POST", f"/api/blocks/{world.block_id}/lift", f"/api/blocks/{MISSING_ID}/lift")]


# Routes on a resource of one user: another user gets 404, exactly as for a missing id.
OWNED_ROUTES: dict[tuple[str, str], Callable[[World], list[Probe]]] = {
    ("GET", "/api/messages/<id:message_id>"): _message_probes,
    ("GET", "/api/messages/lookup"): _lookup_probes,
    ("GET", "/api/messages/<id:message_id>/timeline"): _timeline_probes,
    ("POST", "/api/messages/<id:message_id>/blocks"): _block_probes,
    ("POST", "/api/blocks/<id:block_id>/lift"): _lift_probes,
}
# Routes without a resource id, each with its own test below.
OTHER_ROUTES = {
    ("GET", "/api/messages"): "test_list_shows_only_own_messages",
    ("POST", "/api/shares"): "test_share_created_for_caller_only",
    ("GET", "/api/openapi.json"): "public: describes shapes only, test_openapi_needs_no_token",
    ("POST", "/api/sender-cookie"): "marks the caller's browser, test_sender_cookie_needs_token",
    # Draft shares and their uploads belong to the caller only; another user's get 404 in
    # tests/shares/test_resumable_upload.py.
    ("GET", "/api/shares/<share_id>"): "test_other_users_share_not_found",
    ("POST", "/api/shares/<share_id>/uploads"): "test_other_users_share_not_found",
    ("GET", "/api/shares/<share_id>/uploads/<id:upload_id>"): "test_other_users_share_not_found",
    ("PUT", "/api/shares/<share_id>/uploads/<id:upload_id>"): "test_other_users_share_not_found",
    ("DELETE", "/api/shares/<share_id>/uploads/<id:upload_id>"): (
        "test_other_users_share_not_found"
    ),
}


def test_every_api_route_listed(app):
    listed = set(OWNED_ROUTES) | set(OTHER_ROUTES)
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            assert (method, rule.rule) in listed, f"{method} {rule.rule} has no authorization test"


@pytest.fixture
def bob(make_user):
    return make_user("bob@contoso.example", "Bob Colleague")


@pytest.fixture
def bob_headers(bob, api_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token(bob)}"}


def _mailbox(client, headers) -> Mailbox:
    """Return the caller's mailbox, registered by the API on the first call."""
    assert client.get("/api/messages", headers=headers).status_code == 200
    return db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id.desc())).first()


@pytest.fixture
def world(client, alice_headers) -> World:
    built = make_share(_mailbox(client, alice_headers), recipients=["carol@fabrikam.example"])
    message = built.message
    block = client.post(
        f"/api/messages/{message.id}/blocks", json={"scope": "all"}, headers=alice_headers
    )
    assert block.status_code == 201
    return World(
        message_id=message.id,
        graph_id=message.graph_id,
        internet_message_id=message.internet_message_id,
        block_id=block.get_json()["id"],
        file_id=built.files[0].id,
        recipient_id=message.recipients[0].id,
    )


def _send(client, headers, method: str, path: str, body: dict | None):
    return client.open(path, method=method, json=body, headers=headers)


def _all_probes(world: World) -> list[tuple[str, Probe]]:
    return [
        (f"{route[0]} {route[1]}", probe)
        for route, probes in OWNED_ROUTES.items()
        for probe in probes(world)
    ]


@pytest.mark.parametrize("route", list(OWNED_ROUTES), ids=lambda route: f"{route[0]} {route[1]}")
def test_other_users_resource_is_404(client, world, bob_headers, route):
    for probe in OWNED_ROUTES[route](world):
        other = _send(client, bob_headers, probe.method, probe.path, probe.body)
        missing = _send(client, bob_headers, probe.method, probe.missing_path, probe.body)

        assert other.status_code == 404, probe.path
        assert missing.status_code == 404, probe.missing_path
        # The body names the requested id, which the caller sent. Everything else must match.
        other_text = other.get_data(as_text=True).replace(str(world.message_id), "ID")
        other_text = other_text.replace(str(world.block_id), "ID")
        assert other_text == missing.get_data(as_text=True).replace(str(MISSING_ID), "ID")


def test_other_user_changes_nothing(client, world, bob_headers):
    for _, probe in _all_probes(world):
        _send(client, bob_headers, probe.method, probe.path, probe.body)

    blocks = db.session.scalars(sa.select(Block)).all()
    assert [block.id for block in blocks] == [world.block_id]
    assert blocks[0].lifted_at is None


def test_owner_reaches_every_route(client, world, alice_headers):
    for name, probe in _all_probes(world):
        response = _send(client, alice_headers, probe.method, probe.path, probe.body)

        assert response.status_code in (200, 201), name


def test_list_shows_only_own_messages(client, world, bob_headers, alice_headers):
    bob_list = client.get("/api/messages", headers=bob_headers).get_json()["value"]
    alice_list = client.get("/api/messages", headers=alice_headers).get_json()["value"]

    assert bob_list == []
    assert [entry["id"] for entry in alice_list] == [world.message_id]


def test_share_created_for_caller_only(client, world, bob_headers):
    response = client.post(
        "/api/shares",
        data={"files": (io.BytesIO(b"bob's notes"), "notes.txt")},
        headers=bob_headers,
        content_type="multipart/form-data",
    )

    share = db.session.get(Share, response.get_json()["id"])
    bob_mailbox = db.session.scalar(
        sa.select(Mailbox).where(Mailbox.address == "bob@contoso.example")
    )
    assert response.status_code == 201
    assert share.owner_mailbox_id == bob_mailbox.id


def test_openapi_needs_no_token(client):
    assert client.get("/api/openapi.json").status_code == 200


def test_admin_role_sees_other_mailboxes(client, world, emulator, bob):
    token = emulator.mint_token({"roles": ["Mailgrip.Admin"]}, user=bob.address)
    headers = {"Authorization": f"Bearer {token}"}

    tracking = client.get(f"/api/messages/{world.message_id}", headers=headers)
    lifted = client.post(f"/api/blocks/{world.block_id}/lift", headers=headers)

    assert tracking.status_code == 200
    assert lifted.status_code == 200
    assert lifted.get_json()["liftedBy"] == bob.address


def test_other_role_is_not_admin(client, world, emulator, bob):
    token = emulator.mint_token({"roles": ["Mailgrip.Reader"]}, user=bob.address)

    response = client.get(
        f"/api/messages/{world.message_id}", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 404


def test_full_access_delegate_sees_shared_mailbox(client, world, emulator, alice, bob_headers):
    emulator.set_mailbox_access(alice.address, "bob@contoso.example")

    tracking = client.get(f"/api/messages/{world.message_id}", headers=bob_headers)
    lookup = client.get(f"/api/messages/lookup?graphId={world.graph_id}", headers=bob_headers)
    blocked = client.post(
        f"/api/messages/{world.message_id}/blocks",
        json={"scope": "file", "fileId": world.file_id},
        headers=bob_headers,
    )

    assert tracking.status_code == 200
    assert lookup.get_json()["id"] == world.message_id
    assert blocked.status_code == 201
    assert blocked.get_json()["createdBy"] == "bob@contoso.example"


def test_graph_failure_hides_shared_mailbox(client, world, emulator, alice, bob_headers):
    emulator.set_mailbox_access(alice.address, "bob@contoso.example")
    emulator.add_fault(status=503, path="/mailFolders/sentitems", count=10)

    response = client.get(f"/api/messages/{world.message_id}", headers=bob_headers)

    assert response.status_code == 404
