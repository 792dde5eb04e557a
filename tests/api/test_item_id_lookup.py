"""Finding a message by the item id that Outlook reports, in either spelling."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import sqlalchemy as sa
from builders import make_message

from mailgrip.db import db
from mailgrip.mirror.item_ids import rest_item_id
from mailgrip.mirror.models import Mailbox

# Ids shaped like Exchange's: base64 of the same bytes in the EWS (standard) and REST (URL-safe)
# alphabets.
EWS_ID = "AAMkADg3+NTk0/ZmE1LTg5Zj+AAA="
REST_ID = "AAMkADg3_NTk0-ZmE1LTg5Zj_AAA="


def _mailbox_of(client, headers) -> Mailbox:
    """The caller's mailbox, created by the API on the first authenticated call."""
    assert client.get("/api/messages", headers=headers).status_code == 200
    return db.session.scalars(sa.select(Mailbox).order_by(Mailbox.id.desc())).first()


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        (EWS_ID, REST_ID),
        (REST_ID, REST_ID),
        ("AAMkAD//++==", "AAMkAD--__=="),
        ("AAMkADabc", "AAMkADabc"),
        ("", ""),
    ],
)
def test_rest_item_id(item_id, expected):
    assert rest_item_id(item_id) == expected


def test_lookup_accepts_ews_spelling(client, alice_headers):
    message = make_message(_mailbox_of(client, alice_headers))
    message.graph_id = REST_ID
    db.session.commit()

    for spelling in (EWS_ID, REST_ID):
        response = client.get(
            f"/api/messages/lookup?graphId={quote(spelling, safe='')}", headers=alice_headers
        )
        assert response.status_code == 200, spelling
        assert response.get_json()["id"] == message.id, spelling


def test_lookup_falls_back_to_internet_message_id(client, alice_headers):
    message = make_message(_mailbox_of(client, alice_headers))
    query = (
        f"graphId={quote(EWS_ID, safe='')}"
        f"&internetMessageId={quote(message.internet_message_id, safe='')}"
    )

    response = client.get(f"/api/messages/lookup?{query}", headers=alice_headers)

    assert response.status_code == 200
    assert response.get_json()["id"] == message.id


def test_lookup_prefers_graph_id(client, alice_headers):
    mailbox = _mailbox_of(client, alice_headers)
    first = make_message(mailbox, subject="first")
    second = make_message(mailbox, subject="second")
    query = (
        f"graphId={quote(first.graph_id, safe='')}"
        f"&internetMessageId={quote(second.internet_message_id, safe='')}"
    )

    response = client.get(f"/api/messages/lookup?{query}", headers=alice_headers)

    assert response.get_json()["id"] == first.id


def test_lookup_of_unknown_item_is_404(client, alice_headers):
    make_message(_mailbox_of(client, alice_headers))
    query = f"graphId={quote(EWS_ID, safe='')}&internetMessageId=%3Cunknown%40contoso.example%3E"

    response = client.get(f"/api/messages/lookup?{query}", headers=alice_headers)

    assert response.status_code == 404
