"""What the API caller may see: messages of their own mailbox, of shared mailboxes Graph opens
for them, and of every mailbox for holders of the admin app role.

Whatever the caller may not see is reported exactly like what does not exist, so that nobody
learns which ids belong to others.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from ...access.mailboxes import is_admin
from ...db import db
from ...errors import NotFound
from ...mirror.models import Mailbox, Message
from ...services import services
from ...settings import current_settings

# A Graph id or internetMessageId rarely matches messages of many mailboxes, and each match
# in a mailbox of someone else may cost a Graph request.
MAX_LOOKUP_CANDIDATES = 20


def may_see_mailbox(mailbox_id: int) -> bool:
    """Tell whether the caller may see and block the messages of a mailbox."""
    if mailbox_id == g.mailbox.id or is_admin(g.caller, current_settings()):
        return True
    mailbox = db.session.get(Mailbox, mailbox_id)
    if mailbox is None:
        return False
    return services().mailbox_access.may_open(g.caller, g.bearer_token, mailbox)


def visible_message(message_id: int) -> Message:
    """Return a message the caller may see.

    :raise 404: the message does not exist or the caller may not see it.
    """
    message = db.session.get(Message, message_id)
    if message is None or not may_see_mailbox(message.mailbox_id):
        raise NotFound(f"Message {message_id} was not found.")
    return message


def find_visible_message(condition: sa.ColumnElement[bool]) -> Message | None:
    """Return the newest message matching ``condition`` that the caller may see.

    The caller's own mailbox is searched first, so a shared mailbox costs Graph requests only
    when the caller's own copy does not match.
    """
    own_first = sa.case((Message.mailbox_id == g.mailbox.id, 0), else_=1)
    candidates = db.session.scalars(
        sa.select(Message)
        .where(condition)
        .order_by(own_first, Message.id.desc())
        .limit(MAX_LOOKUP_CANDIDATES)
    )
    for message in candidates:
        if may_see_mailbox(message.mailbox_id):
            return message
    return None
