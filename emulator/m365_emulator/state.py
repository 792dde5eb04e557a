"""The emulator's in-memory directory and mailboxes, safe to use from many request threads."""

from __future__ import annotations

import base64
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .model import Message, SentMail, User, utc_now
from .trace_store import TraceStore

# Well-known folder names that Graph accepts in place of a folder id.
WELL_KNOWN_FOLDERS = (
    "inbox",
    "sentitems",
    "deleteditems",
    "drafts",
    "archive",
    "junkemail",
    "outbox",
)
FOLDER_DISPLAY_NAMES = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "deleteditems": "Deleted Items",
    "drafts": "Drafts",
    "archive": "Archive",
    "junkemail": "Junk Email",
    "outbox": "Outbox",
}

T = TypeVar("T")


class NotFound(LookupError):
    """A user, folder or message does not exist; the message names which."""


@dataclass(frozen=True)
class Tombstone:
    """A message that left a folder at a change number, reported by delta as ``@removed``."""

    message_id: str
    folder: str
    change_number: int


@dataclass
class Mailbox:
    """The folders and messages of one user."""

    folder_ids: dict[str, str]
    messages: dict[str, Message] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    # Object ids of users with Exchange "Full Access" to this mailbox (Add-MailboxPermission).
    full_access: set[str] = field(default_factory=set)

    @classmethod
    def create(cls) -> Mailbox:
        ids = {
            name: "AAMkAD" + base64.urlsafe_b64encode(secrets.token_bytes(18)).decode("ascii")
            for name in WELL_KNOWN_FOLDERS
        }
        return cls(folder_ids=ids)

    def resolve_folder(self, key: str) -> str | None:
        """Return the well-known name of a folder given by that name or by its id."""
        lowered = key.lower()
        if lowered in self.folder_ids:
            return lowered
        return next((name for name, value in self.folder_ids.items() if value == key), None)


class EmulatorState:
    """Users, mailboxes and the outbox behind one lock; every method takes the lock."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._users: dict[str, User] = {}
        self._mailboxes: dict[str, Mailbox] = {}
        self._outbox: list[SentMail] = []
        # One counter for the whole emulator orders every change that delta reports.
        self._change_number = 0
        self.traces = TraceStore()
        self._listeners: list[Callable[[str, Message, str], None]] = []

    def add_listener(self, listener: Callable[[str, Message, str], None]) -> None:
        """Call ``listener(user_id, message, folder)`` whenever a message lands in a folder.

        Listeners run under the state lock, so they must only queue work.
        """
        with self._lock:
            self._listeners.append(listener)

    def _filed(self, user_id: str, message: Message, folder: str) -> None:
        for listener in self._listeners:
            listener(user_id, message, folder)

    def reset(self) -> None:
        """Forget users, mailboxes and the outbox."""
        with self._lock:
            self._users.clear()
            self._mailboxes.clear()
            self._outbox.clear()
            self.traces.reset()

    def locked(self, action: Callable[[], T]) -> T:
        """Run ``action`` under the state lock, for reads that must see one consistent state."""
        with self._lock:
            return action()

    # Users

    def create_user(self, address: str, display_name: str, password: str) -> User:
        """Create a user, or update the name and password of the user with this address."""
        address = address.strip()
        if "@" not in address:
            raise ValueError(f"address {address!r} is invalid; use a form like user@example.com.")
        if not password:
            raise ValueError("password is empty; the password grant needs one.")
        salt = secrets.token_bytes(16)
        password_hash = User.hash_password(password, salt)
        with self._lock:
            existing = self._find_user(address)
            if existing is not None:
                existing.display_name = display_name or existing.display_name
                existing.password_salt = salt
                existing.password_hash = password_hash
                return existing
            user = User(
                id=str(uuid.uuid4()),
                address=address,
                display_name=display_name or address.split("@")[0],
                password_salt=salt,
                password_hash=password_hash,
            )
            self._users[user.id] = user
            self._mailboxes[user.id] = Mailbox.create()
            return user

    def set_app_roles(self, key: str, roles: frozenset[str]) -> User:
        """Replace the app roles of Mailgrip's API assigned to a user.

        :raise NotFound: no such user.
        """
        with self._lock:
            user = self.require_user(key)
            user.app_roles = roles
            return user

    def find_user(self, key: str) -> User | None:
        """Return the user with this object id or address (case-insensitive), or None."""
        with self._lock:
            return self._find_user(key)

    def _find_user(self, key: str) -> User | None:
        lowered = key.strip().lower()
        for user in self._users.values():
            if user.id == lowered or user.address.lower() == lowered:
                return user
        return None

    def require_user(self, key: str) -> User:
        """Return the user with this id or address.

        :raise NotFound: no such user.
        """
        user = self.find_user(key)
        if user is None:
            raise NotFound(f"The user {key!r} does not exist in the emulated tenant.")
        return user

    def users(self) -> list[User]:
        with self._lock:
            return list(self._users.values())

    def domains(self) -> set[str]:
        """Return the mail domains of the tenant's users, lower-case."""
        with self._lock:
            return {user.address.rsplit("@", 1)[1].lower() for user in self._users.values()}

    # Mailboxes

    def mailbox(self, user_id: str) -> Mailbox:
        """Return a user's mailbox; call under :meth:`locked` when reading messages from it."""
        with self._lock:
            try:
                return self._mailboxes[user_id]
            except KeyError:
                raise NotFound(f"The user {user_id!r} has no mailbox.") from None

    def set_full_access(self, owner_id: str, delegate_id: str, granted: bool) -> None:
        """Grant or remove a delegate's full access to the owner's mailbox."""
        with self._lock:
            delegates = self.mailbox(owner_id).full_access
            if granted:
                delegates.add(delegate_id)
            else:
                delegates.discard(delegate_id)

    def has_full_access(self, owner_id: str, delegate_id: str) -> bool:
        with self._lock:
            return delegate_id in self.mailbox(owner_id).full_access

    def folder_id(self, user_id: str, folder: str) -> str:
        return self.mailbox(user_id).folder_ids[folder]

    def resolve_folder(self, user_id: str, key: str) -> str:
        """Return the well-known name of a folder given by name or id.

        :raise NotFound: no such folder.
        """
        folder = self.mailbox(user_id).resolve_folder(key)
        if folder is None:
            raise NotFound(f"The folder {key!r} does not exist in this mailbox.")
        return folder

    def _next_change(self) -> int:
        self._change_number += 1
        return self._change_number

    def current_change_number(self) -> int:
        with self._lock:
            return self._change_number

    def add_message(self, user_id: str, message: Message, folder: str = "sentitems") -> Message:
        """File a message in a folder of the user's mailbox."""
        with self._lock:
            mailbox = self.mailbox(user_id)
            message.folder = folder
            message.change_number = self._next_change()
            mailbox.messages[message.id] = message
            self._filed(user_id, message, folder)
            return message

    def find_message(self, user_id: str, message_id: str) -> Message:
        """Return a message of the mailbox by id.

        :raise NotFound: the mailbox has no message with this id.
        """
        with self._lock:
            message = self.mailbox(user_id).messages.get(message_id)
            if message is None:
                raise NotFound(f"The message {message_id!r} does not exist in this mailbox.")
            return message

    def messages_in(self, user_id: str, folder: str | None) -> list[Message]:
        """Return the messages of one folder, or of the whole mailbox when ``folder`` is None."""
        with self._lock:
            messages = self.mailbox(user_id).messages.values()
            return [item for item in messages if folder is None or item.folder == folder]

    def move_message(self, user_id: str, message_id: str, destination: str) -> Message:
        """Move a message to another folder; delta on the old folder reports it as removed."""
        with self._lock:
            message = self.find_message(user_id, message_id)
            destination = self.resolve_folder(user_id, destination)
            if destination == message.folder:
                return message
            number = self._next_change()
            self.mailbox(user_id).tombstones.append(Tombstone(message.id, message.folder, number))
            message.folder = destination
            message.change_number = number
            message.touch()
            self._filed(user_id, message, destination)
            return message

    def delete_message(self, user_id: str, message_id: str) -> None:
        """Delete a message permanently."""
        with self._lock:
            message = self.find_message(user_id, message_id)
            mailbox = self.mailbox(user_id)
            number = self._next_change()
            mailbox.tombstones.append(Tombstone(message.id, message.folder, number))
            del mailbox.messages[message.id]

    def update_message(self, user_id: str, message_id: str, changes: dict[str, Any]) -> Message:
        """Change properties of a message (``isRead``, ``subject``, ``categories``...)."""
        setters: dict[str, Callable[[Message, Any], None]] = {
            "isRead": lambda item, value: setattr(item, "is_read", bool(value)),
            "subject": lambda item, value: setattr(item, "subject", str(value)),
            "categories": lambda item, value: setattr(item, "categories", [str(v) for v in value]),
            "importance": lambda item, value: setattr(item, "importance", str(value)),
            "flag": lambda item, value: setattr(item, "flag_status", str(value["flagStatus"])),
        }
        unknown = sorted(set(changes) - set(setters))
        if unknown:
            raise ValueError(
                f"Properties {', '.join(unknown)} cannot be changed; use {', '.join(setters)}."
            )
        with self._lock:
            message = self.find_message(user_id, message_id)
            for name, value in changes.items():
                setters[name](message, value)
            message.touch()
            message.change_number = self._next_change()
            return message

    def set_extended_property(
        self, user_id: str, message_id: str, prop_id: str, value: str
    ) -> Message:
        """Set a single-value extended property; delta reports the message as updated."""
        with self._lock:
            message = self.find_message(user_id, message_id)
            message.extended_properties[prop_id] = value
            message.touch()
            message.change_number = self._next_change()
            return message

    def changes_since(
        self, user_id: str, folder: str, since: int
    ) -> tuple[list[Message], list[str], int]:
        """Return messages changed in a folder after ``since``, removed ids, and the new mark.

        A ``since`` of 0 is the initial sync: every message now in the folder and no removals.
        Call under :meth:`locked` when the caller also serialises the returned messages.
        """
        with self._lock:
            mailbox = self.mailbox(user_id)
            changed = sorted(
                (
                    item
                    for item in mailbox.messages.values()
                    if item.folder == folder and item.change_number > since
                ),
                key=lambda item: item.change_number,
            )
            removed: list[str] = []
            if since:
                present = {item.id for item in mailbox.messages.values() if item.folder == folder}
                for tombstone in mailbox.tombstones:
                    if (
                        tombstone.folder == folder
                        and tombstone.change_number > since
                        and tombstone.message_id not in present
                        and tombstone.message_id not in removed
                    ):
                        removed.append(tombstone.message_id)
            return changed, removed, self._change_number

    # Outbox

    def record_sent(self, mail: SentMail) -> None:
        with self._lock:
            self._outbox.append(mail)

    def outbox(self) -> list[SentMail]:
        with self._lock:
            return list(self._outbox)

    def clear_outbox(self) -> None:
        with self._lock:
            self._outbox.clear()

    def stamp_sent(self, message: Message) -> None:
        """Give a message the times of a send that happens now."""
        now = utc_now()
        message.sent = now
        message.received = now
        message.created = now
        message.last_modified = now
