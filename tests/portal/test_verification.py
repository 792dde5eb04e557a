"""One-time codes at the portal, mailed through the emulator's Graph sendMail."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import requests
import sqlalchemy as sa
from builders import expired, make_share
from portal_helpers import CSRF_FIELD, csrf_token, events
from recipient import Recipient

from mailgrip.access.models import Block
from mailgrip.db import db
from mailgrip.verification.models import VerificationCode

BOB = "bob@fabrikam.example"
CODE = re.compile(r"\b(\d{6})\b")


def _outbox(emulator) -> list[dict]:
    response = requests.get(
        f"{emulator.base_url}/_emulator/outbox", verify=str(emulator.ca_path), timeout=30
    )
    return response.json()["value"]


def _mails_to(emulator, address: str) -> list[dict]:
    return [mail for mail in _outbox(emulator) if address in mail["to"]]


def _latest_code(emulator, address: str = BOB) -> str:
    match = CODE.search(_mails_to(emulator, address)[-1]["body"])
    assert match, "no six-digit code in the mail"
    return match.group(1)


def _request_code(client, built, address: str = BOB):
    token = csrf_token(client, built.path)
    return client.post(f"{built.path}/code", data={"address": address, "csrf_token": token})


def _enter_code(client, built, code: str, address: str = BOB):
    token = csrf_token(client, built.path)
    return client.post(
        f"{built.path}/verify", data={"address": address, "code": code, "csrf_token": token}
    )


def _codes() -> list[VerificationCode]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(VerificationCode).order_by(VerificationCode.id)))


def test_code_verifies_recipient(client, emulator, sender):
    built = make_share(sender, {"report.pdf": b"%PDF-1.7"})
    bob = built.recipient(BOB)

    requested = _request_code(client, built)
    form = client.get(f"{built.path}/verify").get_data(as_text=True)
    (mail,) = _mails_to(emulator, BOB)
    code = _latest_code(emulator)
    verified = _enter_code(client, built, code)
    page = client.get(built.path).get_data(as_text=True)

    assert requested.status_code == 303
    assert requested.headers["Location"].endswith(f"{built.path}/verify")
    assert BOB in form
    assert mail["from"] == sender.address
    assert "Alice Sender" in mail["subject"]
    assert built.link_token not in mail["body"]
    assert "/s/" not in mail["body"]
    assert verified.status_code == 303
    assert verified.headers["Location"].endswith(built.path)
    assert f"/files/{built.files[0].id}" in page
    assert f"Confirmed as {BOB}" in page
    assert [e.recipient_id for e in events("code_sent")] == [bob.id]
    assert [e.recipient_id for e in events("verified")] == [bob.id]


def test_code_stored_as_keyed_hash(client, emulator, sender):
    built = make_share(sender)

    _request_code(client, built)
    code = _latest_code(emulator)
    _enter_code(client, built, code)

    (stored,) = _codes()
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert stored.used_at is not None
    assert stored.attempts == 1


def test_address_matches_any_case(client, emulator, sender):
    built = make_share(sender)

    requested = _request_code(client, built, "  BOB@Fabrikam.EXAMPLE ")
    verified = _enter_code(client, built, _latest_code(emulator), "Bob@fabrikam.example")

    assert requested.status_code == 303
    assert verified.status_code == 303


def test_wrong_code_fails(client, emulator, sender):
    built = make_share(sender)
    _request_code(client, built)
    right = _latest_code(emulator)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = _enter_code(client, built, wrong)

    assert response.status_code == 400
    assert "You can try 4 more times." in response.get_data(as_text=True)
    assert [e.detail for e in events("verification_failed")] == [{"reason": "wrong"}]
    assert "/files/" not in client.get(built.path).get_data(as_text=True)


def test_five_wrong_attempts_lock_code(client, emulator, sender):
    built = make_share(sender)
    _request_code(client, built)
    right = _latest_code(emulator)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    answers = [_enter_code(client, built, wrong) for _ in range(5)]
    after = _enter_code(client, built, right)

    assert "You can try 1 more time." in answers[3].get_data(as_text=True)
    assert "entered wrongly too many times" in answers[4].get_data(as_text=True)
    assert after.status_code == 400
    assert "entered wrongly too many times" in after.get_data(as_text=True)
    assert _codes()[0].attempts == 5
    assert events("verified") == []


def test_malformed_code_is_not_an_attempt(client, emulator, sender):
    built = make_share(sender)
    _request_code(client, built)

    response = _enter_code(client, built, "12ab")

    assert response.status_code == 400
    assert "six-digit code" in response.get_data(as_text=True)
    assert _codes()[0].attempts == 0


def test_expired_code_fails(client, emulator, sender):
    built = make_share(sender)
    _request_code(client, built)
    (stored,) = _codes()
    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()

    response = _enter_code(client, built, _latest_code(emulator))

    assert response.status_code == 400
    assert "The code has expired." in response.get_data(as_text=True)
    assert [e.detail for e in events("verification_failed")] == [{"reason": "expired"}]


def test_new_code_cancels_old(client, emulator, sender):
    built = make_share(sender)
    _request_code(client, built)
    first = _latest_code(emulator)
    _request_code(client, built)
    second = _latest_code(emulator)

    old = _enter_code(client, built, first)
    new = _enter_code(client, built, second)

    earlier, latest = _codes()
    assert earlier.cancelled_at is not None
    assert latest.cancelled_at is None
    assert old.status_code == 400
    assert new.status_code == 303


def test_used_code_works_once(app, emulator, sender):
    built = make_share(sender)
    first_browser = app.test_client()
    _request_code(first_browser, built)
    code = _latest_code(emulator)

    first = _enter_code(first_browser, built, code)
    second = _enter_code(app.test_client(), built, code)

    assert first.status_code == 303
    assert second.status_code == 400


def test_non_recipient_refused(client, emulator, sender):
    built = make_share(sender)

    response = _request_code(client, built, "mallory@Evil.Example")

    assert response.status_code == 403
    assert "not one that the message was sent to" in response.get_data(as_text=True)
    assert [e.detail for e in events("verification_refused")] == [
        {"domain": "evil.example", "reason": "not_recipient"}
    ]
    assert _outbox(emulator) == []
    assert _codes() == []


def test_unlinked_share_not_ready(client, emulator, sender):
    built = make_share(sender, recipients=None)

    response = _request_code(client, built)

    assert response.status_code == 503
    assert "still being processed" in response.get_data(as_text=True)
    assert _outbox(emulator) == []
    assert events("verification_refused") == []


def test_send_failure_shows_page(client, emulator, sender):
    built = make_share(sender)
    fault = requests.post(
        f"{emulator.base_url}/_emulator/faults",
        json={"status": 500, "path": "sendMail"},
        verify=str(emulator.ca_path),
        timeout=30,
    )
    assert fault.status_code == 201

    response = _request_code(client, built)

    assert response.status_code == 502
    assert "The code could not be sent" in response.get_data(as_text=True)
    assert _codes() == []
    assert events("code_sent") == []


def test_code_requests_capped_per_hour(client, emulator, sender):
    built = make_share(sender)

    statuses = [_request_code(client, built).status_code for _ in range(6)]

    assert statuses == [303] * 5 + [429]
    assert len(_mails_to(emulator, BOB)) == 5


def test_code_request_needs_csrf(client, emulator, sender):
    built = make_share(sender)
    client.get(built.path)

    response = client.post(f"{built.path}/code", data={"address": BOB})

    assert response.status_code == 400
    assert _outbox(emulator) == []


def test_unknown_share_code_request_404(client, sender):
    built = make_share(sender)
    token = csrf_token(client, built.path)

    response = client.post("/s/not-a-token/code", data={"address": BOB, "csrf_token": token})

    assert response.status_code == 404


def test_browser_verifies_over_http(live_server, app, emulator, sender):
    built = make_share(sender, {"a.txt": b"a", "b.txt": b"b"})
    browser = Recipient(built.link, BOB, emulator)

    verified = browser.verify()

    assert verified.status_code == 200
    assert browser.file_ids() == [file.id for file in built.files]


@pytest.mark.parametrize("step", ["code", "verify"])
@pytest.mark.parametrize(
    "address",
    # NUL is rejected before the view for every form field (tests/security).
    ["bob@fabrikam\x07.example", "bob\x7f@fabrikam.example"],
    ids=["bell", "delete"],
)
def test_address_with_control_character_rejected(client, emulator, sender, step, address):
    built = make_share(sender)
    token = csrf_token(client, built.path)

    response = client.post(
        f"{built.path}/{step}", data={"address": address, "code": "123456", "csrf_token": token}
    )
    html = response.get_data(as_text=True)

    assert response.status_code == 400
    assert "This email address is not valid" in html
    assert "Type the address again" in html
    assert _outbox(emulator) == []
    assert _codes() == []


def test_parallel_code_requests_capped(live_server, app, emulator, sender):
    built = make_share(sender)
    browsers = [requests.Session() for _ in range(20)]
    tokens = [CSRF_FIELD.search(browser.get(built.link, timeout=30).text).group(1)
              for browser in browsers]
    start = threading.Barrier(len(browsers))

    def request_code(browser: requests.Session, token: str) -> int:
        start.wait(timeout=30)
        response = browser.post(
            f"{built.link}/code",
            data={"address": BOB, "csrf_token": token},
            allow_redirects=False,
            timeout=60,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        statuses = list(pool.map(request_code, browsers, tokens))

    assert len(_mails_to(emulator, BOB)) == 5
    assert sorted(statuses) == [303] * 5 + [429] * 15
    assert len(_codes()) == 5


def _make_unavailable(built, reason: str) -> None:
    """Expire the share, or block everything on it, as ``reason`` of ``decide`` names."""
    if reason == "expired":
        built.share.expires_at = expired()
    else:
        block = Block(share_id=built.share.id, scope="all", created_by="alice@contoso.example")
        db.session.add(block)
    db.session.commit()


_UNAVAILABLE_MESSAGES = {
    "expired": "This link has expired. Ask the sender to share the files again.",
    "blocked_all": "The sender has blocked access to these files.",
}


@pytest.mark.parametrize("reason", ["expired", "blocked_all"])
def test_code_not_mailed_for_unavailable_share(client, emulator, sender, reason):
    built = make_share(sender)
    _make_unavailable(built, reason)
    token = csrf_token(client, f"{built.path}/verify")

    response = client.post(f"{built.path}/code", data={"address": BOB, "csrf_token": token})

    assert response.status_code == 403
    assert _UNAVAILABLE_MESSAGES[reason] in response.get_data(as_text=True)
    assert _mails_to(emulator, BOB) == []
    assert _codes() == []
    assert events("code_sent") == []


@pytest.mark.parametrize("reason", ["expired", "blocked_all"])
def test_code_rejected_once_share_unavailable(client, emulator, sender, reason):
    built = make_share(sender)
    _request_code(client, built)
    code = _latest_code(emulator)
    _make_unavailable(built, reason)
    token = csrf_token(client, f"{built.path}/verify")

    response = client.post(
        f"{built.path}/verify", data={"address": BOB, "code": code, "csrf_token": token}
    )

    assert response.status_code == 403
    assert _UNAVAILABLE_MESSAGES[reason] in response.get_data(as_text=True)
    assert events("verified") == []
    assert [e.detail for e in events("verification_failed")] == [
        {"reason": "unavailable", "denial": reason}
    ]
    assert _codes()[0].attempts == 0
    assert _codes()[0].used_at is None
    assert "Confirmed as" not in client.get(built.path).get_data(as_text=True)


def test_code_not_mailed_when_expired_and_file_blocked(client, emulator, sender):
    built = make_share(sender, {"a.pdf": b"a", "b.pdf": b"b"}, expires_at=expired())
    db.session.add(Block(share_id=built.share.id, scope="file", file_id=built.files[0].id,
                         created_by=sender.address))
    db.session.commit()
    token = csrf_token(client, f"{built.path}/verify")

    response = client.post(f"{built.path}/code", data={"address": BOB, "csrf_token": token})

    assert response.status_code == 403
    assert _UNAVAILABLE_MESSAGES["expired"] in response.get_data(as_text=True)
    assert _mails_to(emulator, BOB) == []


def test_code_mailed_when_one_file_blocked(client, emulator, sender):
    built = make_share(sender, {"a.pdf": b"a", "b.pdf": b"b"})
    db.session.add(Block(share_id=built.share.id, scope="file", file_id=built.files[0].id,
                         created_by=sender.address))
    db.session.commit()

    response = _request_code(client, built)

    assert response.status_code == 303
    assert len(_mails_to(emulator, BOB)) == 1
