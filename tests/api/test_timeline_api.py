"""Task-pane API: each state's evidence with its own time, and the message timeline."""

from __future__ import annotations

import requests
from builders import make_share
from portal_helpers import events
from recipient import Recipient
from tracking_helpers import GMAIL_PROXY, THUNDERBIRD, post_beacon, share_sent_earlier

from mailgrip.db import db
from mailgrip.tracking.models import Event

# An address outside private ranges, which the sender-network rule ignores.
SENDER_NETWORK = {"REMOTE_ADDR": "100.64.7.9"}


def _tracking(client, headers, message_id: int) -> dict:
    response = client.get(f"/api/messages/{message_id}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def _timeline(client, headers, message_id: int) -> list[dict]:
    response = client.get(f"/api/messages/{message_id}/timeline", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["value"]


def test_opened_pairs_evidence_with_its_time(client, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    requests.get(built.open_tracking_url, headers={"User-Agent": THUNDERBIRD}, timeout=30)
    bob = Recipient(built.link, "bob@fabrikam.example", emulator)
    assert bob.verify().status_code == 200
    assert bob.download(built.files[0].id).status_code == 200

    opened = _tracking(client, alice_headers, built.message.id)["message"]["opened"]

    (image,) = events("opened")
    (download,) = events("downloaded")
    assert opened["value"] is True
    assert opened["evidence"] == "download"
    assert opened["label"] == "person"
    assert opened["by"] == "bob@fabrikam.example"
    assert opened["at"] == download.occurred_at.isoformat().replace("+00:00", "Z")
    assert opened["at"] != image.occurred_at.isoformat().replace("+00:00", "Z")


def test_recipient_states_name_verified_address(client, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    bob = Recipient(built.link, "bob@fabrikam.example", emulator)
    assert bob.verify().status_code == 200
    assert bob.download(built.files[0].id).status_code == 200

    tracking = _tracking(client, alice_headers, built.message.id)

    (reader,) = tracking["recipients"]
    assert reader["verified"] == {
        "value": True,
        "at": reader["verified"]["at"],
        "evidence": "verified",
        "label": "person",
        "by": "bob@fabrikam.example",
    }
    assert reader["opened"]["evidence"] == "download"
    assert tracking["message"]["downloaded"]["by"] == "bob@fabrikam.example"
    assert tracking["message"]["downloadCount"] == 1


def test_proxy_image_is_weak_evidence(client, sender, alice_headers):
    built = make_share(sender)
    requests.get(built.open_tracking_url, headers={"User-Agent": GMAIL_PROXY}, timeout=30)

    opened = _tracking(client, alice_headers, built.message.id)["message"]["opened"]

    assert opened["value"] is False
    assert opened["evidence"] == "image"
    assert opened["label"] == "proxy"


def test_scanner_link_check_is_weak_evidence(client, sender, alice_headers):
    built = make_share(sender)
    requests.get(built.link, timeout=30)  # python-requests is on the crawler list

    message = _tracking(client, alice_headers, built.message.id)["message"]

    assert message["linkOpened"]["value"] is False
    assert message["linkOpened"]["label"] == "scanner"
    assert message["opened"]["value"] is False


def test_timeline_newest_first_with_labels(client, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    requests.get(built.open_tracking_url, headers={"User-Agent": GMAIL_PROXY}, timeout=30)
    requests.head(built.link, timeout=30)
    bob = Recipient(built.link, "bob@fabrikam.example", emulator)
    post_beacon(bob, bob.open_link().text)

    timeline = _timeline(client, alice_headers, built.message.id)

    assert [(e["kind"], e["label"]) for e in timeline] == [
        ("link_opened", "person"),
        ("link_opened", "scanner"),
        ("opened", "proxy"),
    ]
    newest = timeline[0]
    assert "the portal page's script ran in the visitor's browser" in newest["reasons"]
    assert newest["recipient"] is None
    assert newest["actor"] is None
    assert set(newest) == {
        "id", "kind", "at", "label", "reasons", "actor", "recipient", "file", "detail"
    }
    assert [e["at"] for e in timeline] == sorted((e["at"] for e in timeline), reverse=True)


def test_timeline_names_recipient_file_and_forwarding(client, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    bob = Recipient(built.link, "bob@fabrikam.example", emulator)
    assert bob.verify().status_code == 200
    assert bob.download(built.files[0].id).status_code == 200
    assert Recipient(built.link, "mallory@evil.example", emulator).request_code().status_code == 403

    timeline = _timeline(client, alice_headers, built.message.id)
    tracking = _tracking(client, alice_headers, built.message.id)

    downloaded = next(e for e in timeline if e["kind"] == "downloaded")
    assert downloaded["recipient"]["address"] == "bob@fabrikam.example"
    assert downloaded["actor"] == "recipient"
    assert downloaded["file"] == {"id": built.files[0].id, "name": "report.pdf"}
    refused = next(e for e in timeline if e["kind"] == "verification_refused")
    assert refused["actor"] == "forwarded"
    assert refused["detail"] == {"domain": "evil.example", "reason": "not_recipient"}
    assert tracking["message"]["forwardedAccess"]["value"] is True
    assert tracking["message"]["forwardedAccess"]["count"] == 1


def test_timeline_hides_supporting_events(client, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    bob = Recipient(built.link, "bob@fabrikam.example", emulator)
    post_beacon(bob, bob.open_link().text)
    _tracking(client, alice_headers, built.message.id)

    kinds = [e["kind"] for e in _timeline(client, alice_headers, built.message.id)]

    assert kinds == ["link_opened"]
    assert len(events("page_script_ran")) == 1
    assert len(events("sender_viewed")) == 1


def test_timeline_lists_unknown_kinds(client, sender, alice_headers):
    built = make_share(sender)
    # A kind that a newer Mailgrip may add; the timeline passes it on unchanged.
    db.session.add(Event(kind="future_kind", share_id=built.share.id,
                         message_id=built.message.id, classification="person",
                         classification_reasons=["form submitted from the portal page"],
                         detail={}))
    db.session.commit()

    (entry,) = _timeline(client, alice_headers, built.message.id)

    assert entry["kind"] == "future_kind"
    assert entry["label"] == "person"


def test_sender_network_view_is_sender(client, sender, alice_headers):
    built = share_sent_earlier(sender)
    client.get(built.image_path, headers={"User-Agent": THUNDERBIRD}, environ_base=SENDER_NETWORK)
    client.get(f"/api/messages/{built.message.id}", headers=alice_headers,
               environ_base=SENDER_NETWORK)

    timeline = client.get(
        f"/api/messages/{built.message.id}/timeline", headers=alice_headers
    ).get_json()["value"]
    tracking = _tracking(client, alice_headers, built.message.id)

    (opened,) = timeline
    assert opened["label"] == "sender"
    assert opened["actor"] == "sender"
    assert "sender's task pane" in opened["reasons"][0]
    assert tracking["message"]["opened"]["evidence"] is None


def test_sender_view_recorded_once_per_repeat(client, sender, alice_headers):
    built = make_share(sender)

    for _ in range(3):
        _tracking(client, alice_headers, built.message.id)

    (view,) = events("sender_viewed")
    assert view.classification == "sender"


def test_loopback_reader_not_taken_for_sender(client, sender, alice_headers):
    built = share_sent_earlier(sender)
    _tracking(client, alice_headers, built.message.id)
    requests.get(built.open_tracking_url, headers={"User-Agent": THUNDERBIRD}, timeout=30)

    (opened,) = _timeline(client, alice_headers, built.message.id)

    assert opened["label"] == "person"


def test_timeline_of_other_user_is_404(client, sender, make_user, api_token):
    built = make_share(sender)
    colleague = make_user("dana@contoso.example", "Dana Colleague")
    headers = {"Authorization": f"Bearer {api_token(colleague)}"}

    response = client.get(f"/api/messages/{built.message.id}/timeline", headers=headers)

    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_timeline_needs_token(client, sender):
    built = make_share(sender)

    response = client.get(f"/api/messages/{built.message.id}/timeline")

    assert response.status_code == 401


def test_sender_cookie_needs_token(client):
    response = client.post("/api/sender-cookie")

    assert response.status_code == 401
    assert "mailgrip_sender" not in response.headers.get("Set-Cookie", "")


def test_openapi_lists_timeline(client):
    document = client.get("/api/openapi.json").get_json()

    assert "/api/messages/{messageId}/timeline" in document["paths"]
    assert "/api/sender-cookie" in document["paths"]
    assert "TimelineEntry" in document["components"]["schemas"]
