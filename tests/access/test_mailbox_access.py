"""Shared-mailbox access: Graph's result for a delegate, cached for a short time."""

from __future__ import annotations

import pytest
from http_helpers import Clock, CountingSession

from mailgrip.access.mailboxes import MailboxAccess
from mailgrip.config import Settings
from mailgrip.demo.run import emulator_environ
from mailgrip.identity.msal_app import GraphTokenProvider
from mailgrip.identity.tokens import Caller
from mailgrip.mirror.models import Mailbox

CACHE_SECONDS = 300.0


@pytest.fixture
def people(emulator):
    emulator.reset()
    owner = emulator.create_user("desk@contoso.example", "Shared Desk", "pw-owner")
    delegate = emulator.create_user("erin@contoso.example", "Erin Delegate", "pw-delegate")
    yield owner, delegate
    emulator.reset()


@pytest.fixture
def parts(emulator, tmp_path):
    environ = emulator_environ(emulator, tmp_path / "files", "http://127.0.0.1:5000")
    environ["MAILGRIP_MAILBOX_ACCESS_CACHE_SECONDS"] = str(CACHE_SECONDS)
    settings = Settings.from_env(tmp_path, environ)
    session = CountingSession(str(emulator.ca_path))
    clock = Clock()
    access = MailboxAccess(settings, session, GraphTokenProvider(settings, session), clock=clock)
    return access, session, clock


def _graph_requests(session: CountingSession) -> list[str]:
    return [url for url in session.urls if "/mailFolders/sentitems" in url]


def _caller(user: dict, tenant_id: str) -> Caller:
    return Caller(tenant_id, user["id"], user["mail"], user["displayName"])


def _mailbox(user: dict, tenant_id: str) -> Mailbox:
    return Mailbox(id=1, tenant_id=tenant_id, object_id=user["id"], address=user["mail"])


def test_own_mailbox_needs_no_graph(emulator, parts, people):
    access, session, _ = parts
    owner, _ = people
    caller = _caller(owner, emulator.tenant_id)

    allowed = access.may_open(caller, "unused", _mailbox(owner, emulator.tenant_id))

    assert allowed
    assert session.urls == []


def test_delegate_answer_cached_then_refreshed(emulator, parts, people):
    access, session, clock = parts
    owner, delegate = people
    caller = _caller(delegate, emulator.tenant_id)
    mailbox = _mailbox(owner, emulator.tenant_id)
    token = emulator.api_token(delegate["mail"])

    without_grant = access.may_open(caller, token, mailbox)
    emulator.set_mailbox_access(owner["mail"], delegate["mail"])
    still_cached = access.may_open(caller, token, mailbox)
    clock.now += CACHE_SECONDS
    refreshed = access.may_open(caller, token, mailbox)

    assert without_grant is False
    assert still_cached is False
    assert refreshed is True
    assert len(_graph_requests(session)) == 2


def test_other_tenant_mailbox_never_opened(emulator, parts, people):
    access, session, _ = parts
    owner, delegate = people
    mailbox = _mailbox(owner, "another-tenant")

    allowed = access.may_open(_caller(delegate, emulator.tenant_id), "unused", mailbox)

    assert allowed is False
    assert session.urls == []


def test_failed_check_not_cached(emulator, parts, people, caplog):
    access, session, _ = parts
    owner, delegate = people
    emulator.set_mailbox_access(owner["mail"], delegate["mail"])
    caller = _caller(delegate, emulator.tenant_id)
    mailbox = _mailbox(owner, emulator.tenant_id)
    token = emulator.api_token(delegate["mail"])
    # The Graph client tries four times before it gives up.
    emulator.add_fault(status=503, path="/mailFolders/sentitems", count=4)

    during_outage = access.may_open(caller, token, mailbox)
    after_outage = access.may_open(caller, token, mailbox)

    assert during_outage is False
    assert after_outage is True
    assert "access denied for now" in caplog.text
