"""Sent items that a database would reject must not stop the mirror."""

from __future__ import annotations

from email.message import EmailMessage

import sqlalchemy as sa
from emulator_control import post_message

import mailgrip.mirror.sync as sync_module
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox, Message
from mailgrip.mirror.sync import sync_all
from mailgrip.services import services
from mailgrip.settings import current_settings


def _file(emulator, address: str, subject: str, to: str) -> None:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Hello")
    post_message(emulator, address, "sent-items", message.as_bytes())


def _mailbox(emulator, user) -> Mailbox:
    mailbox = Mailbox(tenant_id=emulator.tenant_id, object_id=user.id, address=user.address)
    db.session.add(mailbox)
    db.session.commit()
    return mailbox


def _subjects() -> list[str]:
    return sorted(db.session.scalars(sa.select(Message.subject)))


def test_long_display_name_is_cut(app, emulator, alice):
    mailbox = _mailbox(emulator, alice)
    _file(emulator, alice.address, "Long name", f'"{"N" * 300}" <long@example.test>')
    _file(emulator, alice.address, "After", "bob@fabrikam.example")

    (result,) = sync_all(services().graph, current_settings())

    assert result.created == 2
    assert result.failed == []
    recipient = (
        db.session.scalars(sa.select(Message).where(Message.subject == "Long name"))
        .one()
        .recipients[0]
    )
    assert recipient.address == "long@example.test"
    assert len(recipient.display_name) == 256
    assert mailbox.last_sync_error is None


def test_rejected_item_skips_only_itself(app, emulator, alice, monkeypatch):
    mailbox = _mailbox(emulator, alice)
    for subject in ("Before", "Poison", "After"):
        _file(emulator, alice.address, subject, "bob@fabrikam.example")
    real_upsert = sync_module.upsert_message

    # A statement the database rejects, run for one item, represents any row the database
    # refuses; the failure and the rollback to the savepoint are the database's own.
    def upsert_or_fail(mailbox, item, graph, settings, *args):
        if item.get("subject") == "Poison":
            db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return real_upsert(mailbox, item, graph, settings, *args)

    monkeypatch.setattr(sync_module, "upsert_message", upsert_or_fail)

    (result,) = sync_all(services().graph, current_settings())

    assert _subjects() == ["After", "Before"]
    assert len(result.failed) == 1
    assert mailbox.delta_link
    assert "1 sent items could not be mirrored" in mailbox.last_sync_error


def test_unexpected_failure_skips_only_mailbox(app, emulator, alice, make_user, monkeypatch):
    bob = make_user("bob@contoso.example", "Bob Colleague")
    first, second = _mailbox(emulator, alice), _mailbox(emulator, bob)
    _file(emulator, bob.address, "From Bob", "carol@northwind.example")
    real_run_delta = sync_module._run_delta

    # A bug in the sync of one mailbox represents any unexpected error at this boundary.
    def run_delta_failing_first(mailbox, *args):
        if mailbox.id == first.id:
            raise ValueError("simulated bug")
        return real_run_delta(mailbox, *args)

    monkeypatch.setattr(sync_module, "_run_delta", run_delta_failing_first)

    results = sync_all(services().graph, current_settings())

    assert [(r.mailbox_id, r.error is None) for r in results] == [
        (first.id, False),
        (second.id, True),
    ]
    assert _subjects() == ["From Bob"]
    assert "ValueError" in first.last_sync_error
    assert second.last_sync_error is None


def test_sync_command_reports_failed_mailbox(app, runner, emulator, alice):
    mailbox = _mailbox(emulator, alice)
    mailbox.object_id = "00000000-0000-0000-0000-000000000000"  # unknown to Graph
    db.session.commit()

    result = runner.invoke(args=["sync"])

    assert result.exit_code == 1
    assert f"mailbox {mailbox.id}: sync failed" in result.output


def test_control_characters_removed_before_storing(app, emulator, alice):
    _mailbox(emulator, alice)
    _file(emulator, alice.address, "Sub\x00ject", '"Bo\x00b" <bob2@fabrikam.example>')

    (result,) = sync_all(services().graph, current_settings())

    message = db.session.scalars(sa.select(Message)).one()
    assert result.failed == []
    assert message.subject == "Subject"
    assert message.recipients[0].display_name == "Bob"
