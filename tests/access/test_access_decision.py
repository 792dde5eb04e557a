"""The access decision: the order of its reasons, fresh reads of blocks, and expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from builders import make_share

from mailgrip.access.decision import REASONS, Decision, decide
from mailgrip.access.models import Block
from mailgrip.db import db

BOB = "bob@fabrikam.example"
CAROL = "carol@northwind.example"
PAST = datetime(2020, 1, 1, tzinfo=UTC)

# Each case: blocks to add as (scope, target) with target "bob", "carol", "this file" or
# "other file"; whether the share is expired; its verification policy; the requester (None:
# not verified); the expected reason.
CASES = [
    ("allowed", [], False, "code", "bob", None),
    ("no verification needed", [], False, "none", None, None),
    ("not verified", [], False, "code", None, "not_verified"),
    ("expired before not verified", [], True, "code", None, "expired"),
    ("expired", [], True, "code", "bob", "expired"),
    ("recipient before expired", [("recipient", "bob")], True, "code", "bob", "blocked_recipient"),
    ("other recipient blocked", [("recipient", "carol")], False, "code", "bob", None),
    ("other file blocked", [("file", "other file")], False, "code", "bob", None),
    ("file before recipient", [("recipient", "bob"), ("file", "this file")], False, "code",
     "bob", "blocked_file"),
    ("file before not verified", [("file", "this file")], False, "code", None, "blocked_file"),
    ("all before file", [("file", "this file"), ("all", None)], False, "code", "bob",
     "blocked_all"),
    ("all before expired", [("all", None)], True, "none", None, "blocked_all"),
    ("all when unverified", [("all", None)], False, "code", None, "blocked_all"),
]


def _add_block(built, scope: str, target: str | None, lifted: bool = False) -> Block:
    block = Block(share_id=built.share.id, scope=scope, created_by="alice@contoso.example")
    if target in ("bob", "carol"):
        block.recipient_id = built.recipient(BOB if target == "bob" else CAROL).id
    if target == "this file":
        block.file_id = built.files[0].id
    if target == "other file":
        block.file_id = built.files[1].id
    if lifted:
        block.lifted_at = datetime.now(UTC)
        block.lifted_by = "alice@contoso.example"
    db.session.add(block)
    db.session.commit()
    return block


@pytest.mark.parametrize(
    ("case", "blocks", "is_expired", "verification", "requester", "reason"),
    CASES,
    ids=[case[0] for case in CASES],
)
def test_decision_order_table(sender, case, blocks, is_expired, verification, requester, reason):
    built = make_share(
        sender,
        {"a.txt": b"a", "b.txt": b"b"},
        recipients=[BOB, (CAROL, "cc")],
        verification=verification,
        expires_at=PAST if is_expired else None,
    )
    for scope, target in blocks:
        _add_block(built, scope, target)
    recipient = built.recipient(BOB) if requester == "bob" else None

    decision = decide(built.share, built.files[0], recipient)

    assert decision == Decision(allowed=reason is None, reason=reason)


def test_missing_share_not_found(sender):
    built = make_share(sender)

    assert decide(None, built.files[0], None) == Decision(False, "not_found")


def test_missing_file_not_found(sender):
    built = make_share(sender)

    assert decide(built.share, None, None) == Decision(False, "not_found")


def test_file_of_other_share_not_found(sender):
    built = make_share(sender, verification="none")
    other = make_share(sender, verification="none")
    _add_block(built, "all", None)

    assert decide(built.share, other.files[0], None) == Decision(False, "not_found")


def test_lifted_block_ignored(sender):
    built = make_share(sender, verification="none")
    _add_block(built, "all", None, lifted=True)

    assert decide(built.share, built.files[0], None).allowed


def test_block_of_other_share_ignored(sender):
    built = make_share(sender, verification="none")
    other = make_share(sender, verification="none")
    _add_block(other, "all", None)

    assert decide(built.share, built.files[0], None).allowed


def test_blocks_read_fresh_every_call(sender):
    built = make_share(sender, verification="none")
    before = decide(built.share, built.files[0], None)

    # Written on another connection, as the task pane's request would.
    with db.engine.begin() as connection:
        connection.execute(
            sa.insert(Block).values(
                share_id=built.share.id,
                scope="all",
                created_by="alice@contoso.example",
                created_at=datetime.now(UTC),
            )
        )
    after = decide(built.share, built.files[0], None)

    assert before.allowed
    assert after == Decision(False, "blocked_all")


def test_now_decides_expiry(sender):
    built = make_share(sender, verification="none")
    expires = built.share.expires_at

    assert decide(built.share, built.files[0], None, now=expires - timedelta(seconds=1)).allowed
    assert decide(built.share, built.files[0], None, now=expires).reason == "expired"


def test_reasons_listed():
    assert REASONS == (
        "blocked_all",
        "blocked_recipient",
        "blocked_file",
        "expired",
        "not_verified",
        "limit_reached",
        "not_found",
    )
