"""Imports every model so that Alembic and ``db.create_all`` see the whole schema."""

from .access.models import Block
from .admin.models import AdminSession
from .audit import AuditRecord
from .mirror.models import Mailbox, Message, Recipient
from .mirror.trace_budget import TraceBudgetSlot
from .shares.models import File, Share, Upload
from .tracking.models import Event
from .verification.models import VerificationCode

__all__ = [
    "AdminSession",
    "AuditRecord",
    "Block",
    "Event",
    "File",
    "Mailbox",
    "Message",
    "Recipient",
    "Share",
    "TraceBudgetSlot",
    "Upload",
    "VerificationCode",
]
