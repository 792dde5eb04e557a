"""Delta query state: snapshots paged by skip tokens, and delta tokens that mark a sync point.

Graph encodes this state in its tokens; the emulator keeps it server-side and hands out random
tokens. A garbled or forgotten token is therefore unknown and gets 410
``SyncStateNotFound``, the response Graph returns for an expired one.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .model import Message
from .state import EmulatorState

MAX_SESSIONS = 2_000
MAX_DELTA_TOKENS = 20_000


class SyncStateNotFound(LookupError):
    """A skip or delta token is unknown, expired or garbled."""


@dataclass(frozen=True)
class SyncPoint:
    """The resume point of a delta token: a folder of a mailbox after a change number."""

    user_id: str
    folder: str
    change_number: int
    select: tuple[str, ...] | None


@dataclass
class PageSession:
    """The entries of one delta round, fixed when the round starts, and its end point."""

    entries: list[dict[str, Any]]
    end: SyncPoint


@dataclass(frozen=True)
class DeltaPage:
    """One page of a round: entries, then either a skip token or a delta token."""

    entries: list[dict[str, Any]]
    skip_token: str | None
    delta_token: str | None
    select: tuple[str, ...] | None


def removed_entry(message_id: str) -> dict[str, Any]:
    """Return the delta entry for a message that left the folder or was deleted."""
    return {
        "@odata.type": "#microsoft.graph.message",
        "id": message_id,
        "@removed": {"reason": "deleted"},
    }


class DeltaTracker:
    """Starts delta rounds, pages through them, and resolves delta tokens."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._sessions: OrderedDict[str, PageSession] = OrderedDict()
        self._sync_points: OrderedDict[str, SyncPoint] = OrderedDict()

    def reset(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._sync_points.clear()

    def expire(self, user_id: str) -> int:
        """Forget every token of one mailbox, so its next delta request gets 410."""
        with self._lock:
            stale = [
                token for token, point in self._sync_points.items() if point.user_id == user_id
            ]
            for token in stale:
                del self._sync_points[token]
            stale_sessions = [
                token for token, session in self._sessions.items() if session.end.user_id == user_id
            ]
            for token in stale_sessions:
                del self._sessions[token]
            return len(stale) + len(stale_sessions)

    def start(
        self,
        user_id: str,
        folder: str,
        select: tuple[str, ...] | None,
        serialize: Callable[[Message], dict[str, Any]],
        delta_token: str | None = None,
        page_size: int = 10,
    ) -> DeltaPage:
        """Start a round: from scratch, or from the point a delta token marks.

        :raise SyncStateNotFound: the delta token is unknown or belongs to another folder.
        """
        since = 0
        if delta_token is not None:
            with self._lock:
                point = self._sync_points.get(delta_token)
            if point is None or (point.user_id, point.folder) != (user_id, folder):
                raise SyncStateNotFound(delta_token)
            since = point.change_number
            select = point.select if select is None else select

        def snapshot() -> tuple[list[dict[str, Any]], int]:
            changed, removed, mark = self._state.changes_since(user_id, folder, since)
            entries = [serialize(message) for message in changed]
            entries += [removed_entry(message_id) for message_id in removed]
            return entries, mark

        entries, mark = self._state.locked(snapshot)
        session = PageSession(entries, SyncPoint(user_id, folder, mark, select))
        session_id = secrets.token_urlsafe(18)
        with self._lock:
            self._sessions[session_id] = session
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        return self._page(session_id, session, 0, page_size)

    def follow(self, skip_token: str, page_size: int) -> DeltaPage:
        """Return the page that a skip token points at.

        :raise SyncStateNotFound: the skip token is unknown or garbled.
        """
        session_id, _, offset_text = skip_token.rpartition(".")
        if not offset_text.isdigit():
            raise SyncStateNotFound(skip_token)
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            raise SyncStateNotFound(skip_token)
        return self._page(session_id, session, int(offset_text), page_size)

    def sync_point(self, skip_or_delta_token: str) -> SyncPoint | None:
        """Return the mailbox and folder that a token belongs to, for authorization checks."""
        session_id = skip_or_delta_token.rpartition(".")[0]
        with self._lock:
            session = self._sessions.get(session_id)
            if session is not None:
                return session.end
            return self._sync_points.get(skip_or_delta_token)

    def _page(self, session_id: str, session: PageSession, offset: int, size: int) -> DeltaPage:
        entries = session.entries[offset : offset + size]
        end = offset + size
        if end < len(session.entries):
            return DeltaPage(entries, f"{session_id}.{end}", None, session.end.select)
        delta_token = secrets.token_urlsafe(24)
        with self._lock:
            self._sync_points[delta_token] = session.end
            while len(self._sync_points) > MAX_DELTA_TOKENS:
                self._sync_points.popitem(last=False)
        return DeltaPage(entries, None, delta_token, session.end.select)
