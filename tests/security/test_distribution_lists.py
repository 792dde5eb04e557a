"""Verification for recipients that are distribution lists, under both policies."""

from __future__ import annotations

import re

import pytest
import requests
from builders import make_share
from portal_helpers import csrf_token, events

from mailgrip.db import db

LIST = "sales@fabrikam.example"
MEMBER = "erin@fabrikam.example"
OTHER_MEMBER = "frank@fabrikam.example"
CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def list_share(app, sender):
    """A share whose message went to a list (expanded by message trace) and to a person."""
    built = make_share(sender, recipients=[LIST, "gina@contoso.example"])
    built.recipient(LIST).delivery_state = "expanded"
    db.session.commit()
    return built


def _outbox_to(emulator, address: str) -> list[dict]:
    outbox = requests.get(
        f"{emulator.base_url}/_emulator/outbox", verify=str(emulator.ca_path), timeout=30
    ).json()["value"]
    return [mail for mail in outbox if address in mail["to"]]


def _latest_code(emulator, address: str) -> str:
    mails = _outbox_to(emulator, address)
    assert mails, f"no mail to {address}"
    return CODE.search(mails[-1]["body"]).group(1)


def _request_code(client, built, address: str):
    token = csrf_token(client, built.path)
    return client.post(f"{built.path}/code", data={"address": address, "csrf_token": token})


def _enter_code(client, built, address: str, code: str):
    token = csrf_token(client, built.path)
    return client.post(
        f"{built.path}/verify", data={"address": address, "code": code, "csrf_token": token}
    )


def _assert_refused_as_list(response) -> None:
    assert response.status_code == 403
    assert "distribution list" in response.get_data(as_text=True)
    (refused,) = events("verification_refused")
    assert refused.detail == {"domain": "fabrikam.example", "reason": "distribution_list"}
    assert events("code_sent") == []


def test_refuse_policy_rejects_member(client, emulator, list_share):
    response = _request_code(client, list_share, MEMBER)

    _assert_refused_as_list(response)


@pytest.mark.parametrize("policy", ["refuse", "domain"])
def test_list_address_itself_refused(make_app, emulator, list_share, policy):
    client = make_app(DISTRIBUTION_LIST_POLICY=policy).test_client()

    response = _request_code(client, list_share, LIST)

    assert response.status_code == 403
    assert events("code_sent") == []


def test_domain_policy_verifies_member(make_app, emulator, list_share):
    client = make_app(DISTRIBUTION_LIST_POLICY="domain").test_client()
    sales = list_share.recipient(LIST)

    requested = _request_code(client, list_share, MEMBER.upper())
    verified = _enter_code(client, list_share, MEMBER, _latest_code(emulator, MEMBER.upper()))
    page = client.get(list_share.path).get_data(as_text=True)

    assert requested.status_code == 303
    assert verified.status_code == 303
    (sent,) = events("code_sent")
    assert sent.recipient_id == sales.id
    assert sent.detail == {"member_domain": "fabrikam.example"}
    (done,) = events("verified")
    assert done.recipient_id == sales.id
    assert done.detail == {"member": MEMBER}
    assert f"/files/{list_share.files[0].id}" in page


def test_domain_policy_rejects_other_domain(make_app, emulator, list_share):
    client = make_app(DISTRIBUTION_LIST_POLICY="domain").test_client()

    response = _request_code(client, list_share, "mallory@evil.example")

    assert response.status_code == 403
    (refused,) = events("verification_refused")
    assert refused.detail == {"domain": "evil.example", "reason": "not_recipient"}


def test_members_have_codes_of_their_own(make_app, emulator, list_share):
    app = make_app(DISTRIBUTION_LIST_POLICY="domain")
    erin, frank = app.test_client(), app.test_client()

    _request_code(erin, list_share, MEMBER)
    _request_code(frank, list_share, OTHER_MEMBER)
    erin_code = _latest_code(emulator, MEMBER)
    frank_code = _latest_code(emulator, OTHER_MEMBER)
    wrong_member = _enter_code(erin, list_share, MEMBER, frank_code)
    erin_verified = _enter_code(erin, list_share, MEMBER, erin_code)
    frank_verified = _enter_code(frank, list_share, OTHER_MEMBER, frank_code)

    # Two random six-digit codes are equal once in a million runs, and then this fails.
    assert wrong_member.status_code == 400
    assert erin_verified.status_code == 303
    assert frank_verified.status_code == 303


def test_person_recipient_unaffected_by_policy(client, emulator, list_share):
    requested = _request_code(client, list_share, "gina@contoso.example")
    verified = _enter_code(
        client, list_share, "gina@contoso.example", _latest_code(emulator, "gina@contoso.example")
    )

    assert requested.status_code == 303
    assert verified.status_code == 303


@pytest.fixture
def unknown_list_share(app, sender):
    """A share whose message went to a list that message trace has not reported yet."""
    built = make_share(sender, recipients=[LIST])
    assert built.recipient(LIST).delivery_state == "unknown"
    return built


def _declare_list(emulator) -> None:
    """Make LIST a distribution list of the emulated tenant, which Graph's groups then list."""
    response = requests.post(
        f"{emulator.base_url}/_emulator/delivery-outcomes",
        json={"address": LIST, "status": "expanded", "members": [MEMBER, OTHER_MEMBER]},
        verify=str(emulator.ca_path),
        timeout=30,
    )
    assert response.status_code == 201, response.text


def _download(client, built) -> int:
    """Download the share's first file and return the status, with the body read and closed.

    A streamed body left open is closed by the garbage collector later, outside the app
    context that the download's generator needs.
    """
    token = csrf_token(client, built.path)
    response = client.post(f"{built.path}/files/{built.files[0].id}", data={"csrf_token": token})
    response.get_data()
    response.close()
    return response.status_code


def test_tenant_group_refused_before_trace(client, emulator, unknown_list_share):
    _declare_list(emulator)

    response = _request_code(client, unknown_list_share, LIST)

    _assert_refused_as_list(response)
    assert _outbox_to(emulator, LIST) == []


@pytest.mark.parametrize("status", [403, 503])
def test_group_lookup_failure_fails_closed(client, emulator, unknown_list_share, caplog, status):
    emulator.add_fault(status=status, path="/v1.0/groups")

    response = _request_code(client, unknown_list_share, LIST)

    assert response.status_code == 503
    assert "Try again in a few minutes" in response.get_data(as_text=True)
    assert events("code_sent") == []
    assert _outbox_to(emulator, LIST) == []
    assert "checking for a distribution list failed" in caplog.text


def test_final_state_skips_group_lookup(client, emulator, list_share):
    # gina's delivery is final, so Graph is not asked; a fault on groups would refuse her.
    list_share.recipient("gina@contoso.example").delivery_state = "delivered"
    db.session.commit()
    emulator.add_fault(status=503, path="/v1.0/groups")

    response = _request_code(client, list_share, "gina@contoso.example")

    assert response.status_code == 303


def test_domain_policy_skips_group_lookup(make_app, emulator, unknown_list_share):
    client = make_app(DISTRIBUTION_LIST_POLICY="domain").test_client()
    emulator.add_fault(status=503, path="/v1.0/groups")

    response = _request_code(client, unknown_list_share, LIST)

    assert response.status_code == 303


def test_list_session_loses_access_when_expanded(client, emulator, unknown_list_share):
    # Verified before any source reported LIST as a list, because Graph has no such group here.
    _request_code(client, unknown_list_share, LIST)
    verified = _enter_code(client, unknown_list_share, LIST, _latest_code(emulator, LIST))
    before = _download(client, unknown_list_share)
    unknown_list_share.recipient(LIST).delivery_state = "expanded"
    db.session.commit()

    after = _download(client, unknown_list_share)
    page = client.get(unknown_list_share.path).get_data(as_text=True)

    assert verified.status_code == 303
    assert before == 200
    assert after == 403
    (denied,) = events("download_denied")
    assert denied.recipient_id is None
    assert f'action="{unknown_list_share.path}/code"' in page


def test_member_session_kept_under_domain_policy(make_app, emulator, list_share):
    client = make_app(DISTRIBUTION_LIST_POLICY="domain").test_client()
    _request_code(client, list_share, MEMBER)
    _enter_code(client, list_share, MEMBER, _latest_code(emulator, MEMBER))

    assert _download(client, list_share) == 200


def test_invalid_policy_names_setting(make_app):
    from mailgrip.config import ConfigError

    with pytest.raises(ConfigError, match="MAILGRIP_DISTRIBUTION_LIST_POLICY='everyone'"):
        make_app(DISTRIBUTION_LIST_POLICY="everyone")
