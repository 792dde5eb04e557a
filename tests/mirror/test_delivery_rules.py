"""Which source's delivery state a recipient keeps when message trace and a report disagree."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailgrip.mirror.delivery import record_delivery
from mailgrip.mirror.models import Recipient

AT = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def _recipient(state: str = "unknown", source: str | None = None) -> Recipient:
    return Recipient(
        address="bob@fabrikam.example",
        address_key="bob@fabrikam.example",
        kind="to",
        delivery_state=state,
        delivery_source=source,
        delivery_detail=None,
        delivery_at=None,
    )


# (current state, current source, new state, new source, expected state, expected source)
CASES = [
    ("unknown", None, "pending", "trace", "pending", "trace"),
    ("pending", "trace", "delivered", "trace", "delivered", "trace"),
    ("delivered", "trace", "pending", "trace", "delivered", "trace"),
    ("delivered", "trace", "failed", "ndr", "failed", "ndr"),
    ("failed", "ndr", "delivered", "trace", "failed", "ndr"),
    ("failed", "ndr", "failed", "trace", "failed", "ndr"),
    ("delivered", "trace", "pending", "ndr", "delivered", "trace"),
    ("pending", "trace", "delivered", "ndr", "pending", "trace"),
    ("unknown", None, "pending", "ndr", "pending", "ndr"),
    ("pending", "ndr", "delivered", "trace", "delivered", "trace"),
    ("quarantined", "trace", "delivered", "trace", "delivered", "trace"),
]


@pytest.mark.parametrize(
    ("state", "source", "new_state", "new_source", "kept", "kept_source"), CASES
)
def test_state_kept_by_rule(state, source, new_state, new_source, kept, kept_source):
    recipient = _recipient(state, source)

    changed = record_delivery(recipient, new_state, new_source, AT)

    assert recipient.delivery_state == kept
    assert recipient.delivery_source == kept_source
    expected_change = (kept, kept_source) != (state, source)
    assert changed is expected_change


def test_same_state_adds_detail():
    recipient = _recipient("failed", "trace")

    changed = record_delivery(recipient, "failed", "trace", AT, "550 5.1.1\x00 user\n unknown")

    assert changed is True
    assert recipient.delivery_detail == "550 5.1.1 user unknown"
    assert recipient.delivery_at is None


def test_unknown_state_rejected():
    with pytest.raises(ValueError, match="bounced"):
        record_delivery(_recipient(), "bounced", "trace", AT)


def test_long_detail_cut():
    recipient = _recipient()

    record_delivery(recipient, "failed", "ndr", AT, "x" * 5000)

    assert len(recipient.delivery_detail) == 2000
