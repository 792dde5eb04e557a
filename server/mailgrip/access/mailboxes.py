"""Which mailboxes a signed-in user may see: their own, shared ones Graph opens for them.

Exchange decides who may open a shared mailbox (full-access grants), so Mailgrip asks Graph on
the user's behalf instead of keeping its own copy of those grants. A delegated GET of the
mailbox's Sent Items folder returns 200 when the user may open it, and 403 or 404 when not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import quote

import requests

from ..config import Settings
from ..errors import MailgripError
from ..graph.client import GraphClient, GraphError
from ..identity.msal_app import GraphTokenProvider
from ..identity.tokens import Caller
from ..mirror.models import Mailbox

log = logging.getLogger(__name__)

# Maximum number of cached results; the oldest are dropped first.
MAX_CACHED_ANSWERS = 10_000


def is_admin(caller: Caller, settings: Settings) -> bool:
    """Tell whether the caller's token carries the admin app role."""
    return bool(settings.admin_role) and settings.admin_role in caller.roles


class MailboxAccess:
    """Decides whether a caller may open a mailbox, caching Graph's results for a short time."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session,
        graph_tokens: GraphTokenProvider,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._session = session
        self._graph_tokens = graph_tokens
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple[str, str, str], tuple[bool, float]] = OrderedDict()

    def may_open(self, caller: Caller, bearer_token: str, mailbox: Mailbox) -> bool:
        """Tell whether the caller owns ``mailbox`` or Graph lets them open it.

        :param bearer_token: the caller's validated API token, exchanged on-behalf-of for Graph.
        """
        if (mailbox.tenant_id, mailbox.object_id) == (caller.tenant_id, caller.object_id):
            return True
        if mailbox.tenant_id != caller.tenant_id:
            return False
        key = (caller.tenant_id, caller.object_id, mailbox.object_id)
        cached = self._cached(key)
        if cached is not None:
            return cached
        allowed = self._ask_graph(caller, bearer_token, mailbox)
        if allowed is not None:
            self._store(key, allowed)
        return bool(allowed)

    def _ask_graph(self, caller: Caller, bearer_token: str, mailbox: Mailbox) -> bool | None:
        """Return whether Graph opened the folder, or None when Graph or msal failed."""
        try:
            token = self._graph_tokens.token_on_behalf_of(
                bearer_token, f"{caller.object_id}.{caller.tenant_id}"
            )
            client = GraphClient(self._session, self._settings.graph_url, lambda: token)
            client.request("GET", f"users/{quote(mailbox.object_id)}/mailFolders/sentitems")
        except GraphError as error:
            if error.http_status in (403, 404):
                return False
            self._log_failure(caller, mailbox, error)
            return None
        except MailgripError as error:
            self._log_failure(caller, mailbox, error)
            return None
        return True

    def _log_failure(self, caller: Caller, mailbox: Mailbox, error: MailgripError) -> None:
        # Denying keeps the response a 404 like any other, so nothing about the mailbox leaks.
        # The result is not cached, so the next request checks again.
        log.warning(
            "Checking access of user %s to mailbox %s failed, access denied for now: %s",
            caller.object_id,
            mailbox.id,
            error.message,
        )

    def _cached(self, key: tuple[str, str, str]) -> bool | None:
        with self._lock:
            entry = self._answers.get(key)
            if entry is None:
                return None
            allowed, stored_at = entry
            if self._clock() - stored_at >= self._settings.mailbox_access_cache_seconds:
                del self._answers[key]
                return None
            return allowed

    def _store(self, key: tuple[str, str, str], allowed: bool) -> None:
        with self._lock:
            self._answers[key] = (allowed, self._clock())
            self._answers.move_to_end(key)
            while len(self._answers) > MAX_CACHED_ANSWERS:
                self._answers.popitem(last=False)
