"""Which recipient, if any, an address typed at the portal may verify as.

Only addresses that a message of the share went to can verify. A recipient whose message trace
status is ``Expanded`` is a distribution list, whose members Mailgrip cannot know, so
``MAILGRIP_DISTRIBUTION_LIST_POLICY`` decides: ``refuse`` lets nobody verify for a list, and
``domain`` lets any address in the list's domain verify as a member of that list. Under
``refuse``, a recipient without a final state is looked up in Graph before a code goes out
(see ``groups``), and a session verified as a recipient that later turns out to be a list
loses its verification.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..db import db
from ..mirror.addresses import address_key
from ..mirror.delivery import is_final
from ..mirror.models import MAX_ADDRESS, Message, Recipient
from ..settings import current_settings
from ..shares.models import Share
from ..text import has_control_character

# Message trace reports a distribution list as delivered to its members under this status.
LIST_DELIVERY_STATE = "expanded"


@dataclass(frozen=True)
class RecipientMatch:
    """The recipient an address verifies as, or why it cannot verify.

    ``member`` is the address's comparison form when it verifies as a member of the list
    ``recipient``, else None. ``refusal`` is None, ``not_recipient`` or ``distribution_list``
    (the address is a list, or a member of one, and the policy refuses it).
    """

    recipient: Recipient | None
    member: str | None = None
    refusal: str | None = None


def is_distribution_list(recipient: Recipient) -> bool:
    return recipient.delivery_state == LIST_DELIVERY_STATE


def may_be_unknown_list(recipient: Recipient) -> bool:
    """Tell whether the ``refuse`` policy must ask Graph if ``recipient`` is a list.

    Message trace has not given a final state yet, so a list still looks like a person.
    """
    return current_settings().distribution_list_policy == "refuse" and not is_final(
        recipient.delivery_state
    )


def keeps_verification(recipient: Recipient) -> bool:
    """Tell whether a session verified as ``recipient`` still counts as verified.

    Under ``refuse`` nobody may act as a distribution list. A session that verified as a list
    before message trace reported it as ``Expanded`` loses its verification then.
    """
    return not (
        current_settings().distribution_list_policy == "refuse"
        and is_distribution_list(recipient)
    )


def address_domain(address: str) -> str:
    """Return the domain of ``address`` in comparison form, "" when it has none."""
    return address_key(address).rpartition("@")[2][:255] if "@" in address else ""


def find_recipient(share: Share, address: str) -> Recipient | None:
    """Return the recipient of the share's messages whose address compares equal to ``address``."""
    if not address or len(address) > MAX_ADDRESS or has_control_character(address):
        return None
    return db.session.scalar(
        sa.select(Recipient)
        .join(Message, Recipient.message_id == Message.id)
        .where(Message.share_id == share.id, Recipient.address_key == address_key(address))
        .order_by(Recipient.id)
        .limit(1)
    )


def match_recipient(share: Share, address: str) -> RecipientMatch:
    """Return the recipient that ``address`` may verify as under the distribution-list policy."""
    recipient = find_recipient(share, address)
    if recipient is not None:
        if is_distribution_list(recipient):
            # A code mailed to a list reaches every member, so the list's own address never
            # verifies, whatever the policy.
            return RecipientMatch(None, refusal="distribution_list")
        return RecipientMatch(recipient)
    if not address or len(address) > MAX_ADDRESS or has_control_character(address):
        return RecipientMatch(None, refusal="not_recipient")

    domain = address_domain(address)
    lists = [r for r in _share_lists(share) if address_domain(r.address) == domain and domain]
    if not lists:
        return RecipientMatch(None, refusal="not_recipient")
    if current_settings().distribution_list_policy != "domain":
        return RecipientMatch(None, refusal="distribution_list")
    return RecipientMatch(lists[0], member=address_key(address))


def _share_lists(share: Share) -> list[Recipient]:
    return list(
        db.session.scalars(
            sa.select(Recipient)
            .join(Message, Recipient.message_id == Message.id)
            .where(
                Message.share_id == share.id,
                Recipient.delivery_state == LIST_DELIVERY_STATE,
            )
            .order_by(Recipient.id)
        )
    )
