"""Labels stored for image fetches, portal visits and downloads over real HTTP."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import requests
from delivery_control import serve_trace_row
from portal_helpers import events
from recipient import Recipient
from tracking_helpers import (
    GMAIL_PROXY,
    HEADLESS,
    VISIT_FIELD,
    post_beacon,
    share_sent_earlier,
)

from mailgrip.db import db, utcnow
from mailgrip.mirror.trace_poll import poll_delivery
from mailgrip.services import services
from mailgrip.settings import current_settings
from mailgrip.tracking.evaluation import evaluate_events
from mailgrip.tracking.states import derive_states


def _labels(share_id: str, now=None) -> list[tuple[str, str]]:
    db.session.expire_all()
    return [(e.event.kind, e.label) for e in evaluate_events(share_id, now)]


def test_gmail_proxy_fetch_stored_as_proxy(live_server, app, sender):
    built = share_sent_earlier(sender, hours=0)

    requests.get(built.open_tracking_url, headers={"User-Agent": GMAIL_PROXY}, timeout=30)

    (opened,) = events("opened")
    assert opened.classification == "proxy"
    assert "user agent of the Gmail image proxy" in opened.classification_reasons
    assert opened.request_facts["method"] == "GET"
    assert 0 <= opened.request_facts["seconds_since_delivery"] < 60
    states = derive_states(built.message)
    assert states.opened.value is False
    assert states.opened.label == "proxy"


OUTLOOK_DESKTOP = (
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17029; Pro)"
)


def test_fetch_timed_from_trace_delivery(live_server, app, emulator, sender):
    built = share_sent_earlier(sender, hours=10 / 60)
    delivered = utcnow().replace(microsecond=0) - timedelta(seconds=75)
    built.message.trace_poll_after = utcnow()
    db.session.commit()
    # Message trace reports delivery 75 s ago; Mailgrip polls only now.
    serve_trace_row(emulator, "bob@fabrikam.example", delivered.strftime("%Y-%m-%dT%H:%M:%SZ"))
    poll_delivery(current_settings(), services().graph)

    requests.get(built.open_tracking_url, headers={"User-Agent": OUTLOOK_DESKTOP}, timeout=30)

    (opened,) = events("opened")
    assert built.message.recipients[0].delivery_at == delivered
    assert opened.request_facts["seconds_since_delivery"] >= 75
    assert not [r for r in opened.classification_reasons if "after delivery" in r]
    assert opened.classification != "scanner"


def test_visit_confirmed_by_page_script(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    reader = Recipient(built.link, "bob@fabrikam.example", emulator)

    page = reader.open_link()
    beacon = post_beacon(reader, page.text)

    assert beacon.status_code == 204
    (script,) = events("page_script_ran")
    assert script.classification == "person"
    (evaluated,) = [e for e in evaluate_events(built.share.id) if e.event.kind == "link_opened"]
    assert evaluated.label == "person"
    assert "the portal page's script ran in the visitor's browser" in evaluated.reasons


def test_visit_without_script_counts_against_person(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    reader = Recipient(built.link, "bob@fabrikam.example", emulator)

    reader.open_link()

    (visit,) = events("link_opened")
    assert visit.classification == "person"
    later = utcnow() + timedelta(minutes=2)
    assert _labels(built.share.id, later) == [("link_opened", "unknown")]
    assert _labels(built.share.id) == [("link_opened", "person")]


def test_visit_without_images_means_opened(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    reader = Recipient(built.link, "bob@fabrikam.example", emulator)

    post_beacon(reader, reader.open_link().text)

    assert events("opened") == []
    states = derive_states(built.message)
    assert states.opened.value is True
    assert states.opened.evidence == "link"
    assert states.link_opened.value is True


def test_beacon_rejects_forged_visit(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    other = share_sent_earlier(sender)
    reader = Recipient(built.link, "bob@fabrikam.example", emulator)
    other_reader = Recipient(other.link, "bob@fabrikam.example", emulator)
    other_visit_field = VISIT_FIELD.search(other_reader.open_link().text).group(1)
    own_token = reader.csrf_token()

    forged = reader.session.post(
        f"{built.link}/seen", data={"visit": "1", "csrf_token": own_token}, timeout=30
    )
    other_visit = reader.session.post(
        f"{built.link}/seen",
        data={"visit": unescape(other_visit_field), "csrf_token": own_token},
        timeout=30,
    )

    assert forged.status_code == 400
    assert other_visit.status_code == 400
    assert events("page_script_ran") == []


def test_beacon_needs_csrf_token(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    reader = Recipient(built.link, "bob@fabrikam.example", emulator)
    reader.open_link()

    response = requests.post(f"{built.link}/seen", data={"visit": "x"}, timeout=30)

    assert response.status_code == 400
    assert events("page_script_ran") == []


def test_sender_cookie_marks_portal_visit(live_server, app, emulator, sender, alice_headers):
    built = share_sent_earlier(sender)
    pane_browser = Recipient(built.link, sender.address, emulator)

    marked = pane_browser.session.post(
        f"{live_server.url}/api/sender-cookie", headers=alice_headers, timeout=30
    )
    pane_browser.open_link()

    assert marked.status_code == 204
    assert "mailgrip_sender" in pane_browser.session.cookies
    (visit,) = events("link_opened")
    assert visit.classification == "sender"
    states = derive_states(built.message)
    assert states.link_opened.value is False
    assert states.link_opened.evidence is None


def test_sender_cookie_of_other_mailbox_ignored(
    live_server, app, emulator, sender, make_user, api_token
):
    built = share_sent_earlier(sender)
    colleague = make_user("dana@contoso.example", "Dana Colleague")
    browser = Recipient(built.link, "bob@fabrikam.example", emulator)

    browser.session.post(
        f"{live_server.url}/api/sender-cookie",
        headers={"Authorization": f"Bearer {api_token(colleague)}"},
        timeout=30,
    )
    browser.open_link()

    (visit,) = events("link_opened")
    assert visit.classification == "person"


def test_scanner_download_never_counts(live_server, app, emulator, sender):
    built = share_sent_earlier(sender, verification="none")
    scanner = Recipient(built.link, "bob@fabrikam.example", emulator)
    scanner.session.headers["User-Agent"] = HEADLESS

    download = scanner.download(built.files[0].id)

    assert download.status_code == 200
    (downloaded,) = events("downloaded")
    assert downloaded.classification == "scanner"
    states = derive_states(built.message)
    assert states.download_count == 0
    assert states.downloaded.value is False
    assert states.downloaded.label == "scanner"
    assert ("downloaded", "scanner") in _labels(built.share.id)


def test_non_recipient_shows_as_forwarded(live_server, app, emulator, sender):
    built = share_sent_earlier(sender)
    stranger = Recipient(built.link, "mallory@evil.example", emulator)

    refused = stranger.request_code()

    assert refused.status_code == 403
    evaluated = [e for e in evaluate_events(built.share.id) if e.event.kind != "link_opened"]
    assert [(e.event.kind, e.actor) for e in evaluated] == [("verification_refused", "forwarded")]
    states = derive_states(built.message)
    assert states.forwarded.count == 1
    assert all(not r.verified.value for r in states.recipients)
