"""The emulator as an HTTPS server on a loopback port, with a Python API for tests and the demo."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_app
from .auth_codes import register_redirect_uri
from .context import Emulator
from .control import import_sent_item, message_summary, register_certificate, reset_emulator
from .delta import DeltaTracker
from .directory import (
    API_SCOPE,
    GRAPH_APP_ROLES,
    GRAPH_RESOURCE,
    MAILGRIP_CLIENT_ID,
    PUBLIC_CLIENT_ID,
    EmulatorConfig,
    default_registrations,
    is_loopback_host,
    new_client_secret,
)
from .faults import FaultPlan, fault_from_json
from .keys import KeySet, SigningKey
from .model import User
from .outlook_send import custom_property_id, send_from_outlook
from .state import EmulatorState
from .subscriptions import SubscriptionStore
from .tls import ensure_tls_files
from .tokens import ACCESS_TOKEN_LIFETIME, TokenService, TokenUser, pairwise_subject

log = logging.getLogger(__name__)


class EmulatorServer:
    """A Microsoft 365 emulator serving HTTPS on a loopback address in a background thread.

    :param state_dir: folder for the CA and server certificate, reused across runs.
    :param host: a loopback address or ``localhost``; the control API needs no token.
    :param port: 0 picks a free port.
    """

    def __init__(self, state_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"host {host!r} is not a loopback address; use 127.0.0.1 or ::1.")
        self.state_dir = Path(state_dir)
        self._host = host
        self._port = port
        self._tls = ensure_tls_files(self.state_dir)
        self.client_secret = new_client_secret()
        config = EmulatorConfig()
        keys = KeySet()
        state = EmulatorState()
        self.emulator = Emulator(
            config=config,
            state=state,
            keys=keys,
            tokens=TokenService(config, keys),
            apps=default_registrations(self.client_secret),
            delta=DeltaTracker(state),
            faults=FaultPlan(),
            subscriptions=SubscriptionStore(config),
        )
        state.add_listener(self.emulator.subscriptions.message_filed)
        self.app = create_app(self.emulator)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._foreign_key: SigningKey | None = None

    # Lifecycle

    def start(self) -> None:
        """Bind the port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("The emulator is already running; call stop() first.")
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, ssl_context=self._tls.ssl_context()
        )
        host = f"[{self._host}]" if ":" in self._host else self._host
        self.emulator.config.base_url = f"https://{host}:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="m365-emulator", daemon=True
        )
        self._thread.start()
        log.info("Microsoft 365 emulator listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        log.info("Microsoft 365 emulator stopped")

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Facts a client needs

    @property
    def base_url(self) -> str:
        """``https://<host>:<port>``; the authority host and the Graph host at once."""
        if not self.emulator.config.base_url:
            raise RuntimeError("The emulator has no URL until start() binds its port.")
        return self.emulator.config.base_url

    @property
    def ca_path(self) -> Path:
        """PEM file of the CA that signed the server certificate, for ``verify=``."""
        return self._tls.ca_cert

    @property
    def tenant_id(self) -> str:
        return self.emulator.config.tenant_id

    @property
    def client_id(self) -> str:
        """Mailgrip's confidential app, and the audience of Mailgrip API tokens."""
        return MAILGRIP_CLIENT_ID

    @property
    def public_client_id(self) -> str:
        """The public client (task pane demo sign-in) allowed to use the password grant."""
        return PUBLIC_CLIENT_ID

    @property
    def custom_property_id(self) -> str:
        """The extended property id under which the add-in stores the share id."""
        return custom_property_id(self.emulator.config.addin_id)

    # Tenant and mailboxes

    def configure(
        self,
        mailgrip_url: str | None = None,
        addin_id: str | None = None,
        mailgrip_ca: str | None = None,
    ) -> None:
        """Set Mailgrip's base URL (loopback only), the CA of its certificate and the add-in id."""
        self.emulator.config.update(mailgrip_url, addin_id, mailgrip_ca)

    def register_spa_redirect_uri(self, uri: str, client_id: str = MAILGRIP_CLIENT_ID) -> None:
        """Let ``uri`` receive codes of the authorization code flow for an app (Mailgrip's)."""
        register_redirect_uri(self.emulator, client_id, uri, "spa")

    def register_web_redirect_uri(self, uri: str, client_id: str = MAILGRIP_CLIENT_ID) -> None:
        """Let ``uri`` receive codes that only the app's credentials redeem (a web app's)."""
        register_redirect_uri(self.emulator, client_id, uri, "web")

    def create_user(self, address: str, display_name: str, password: str) -> dict[str, str]:
        """Create a user with a mailbox, or update the name and password of an existing one."""
        return self.emulator.state.create_user(address, display_name, password).to_json()

    def set_app_roles(self, user: str, roles: list[str]) -> None:
        """Assign app roles of Mailgrip's API to a user, such as ``["Mailgrip.Admin"]``."""
        self.emulator.state.set_app_roles(user, frozenset(roles))

    def reset(self) -> None:
        """Forget users, mailboxes, messages and the outbox; keep keys, apps and TLS."""
        reset_emulator(self.emulator)

    def _user(self, key: str) -> User:
        return self.emulator.state.require_user(key)

    def import_sent_item(self, user: str, raw: bytes, filename: str = "message.eml") -> dict:
        """Import an RFC 5322 message into Sent Items; raises ``RejectedMessage`` if invalid."""
        return import_sent_item(self.emulator, self._user(user), raw, filename)

    def send_from_outlook(self, user: str, raw: bytes, filename: str = "message.eml") -> dict:
        """Do what the add-in and Exchange do when the user sends ``raw`` from Outlook."""
        return send_from_outlook(self.emulator, self._user(user), raw, filename)

    def move_message(self, user: str, message_id: str, destination: str = "deleteditems") -> dict:
        owner = self._user(user)
        return message_summary(self.emulator.state.move_message(owner.id, message_id, destination))

    def messages(self, user: str, folder: str = "sentitems") -> list[dict[str, Any]]:
        """Return summaries of the messages in a folder of the user's mailbox."""
        owner = self._user(user)
        folder_name = self.emulator.state.resolve_folder(owner.id, folder)
        return [
            message_summary(item) for item in self.emulator.state.messages_in(owner.id, folder_name)
        ]

    def outbox(self) -> list[dict[str, Any]]:
        """Return every message sent so far, oldest first."""
        return [mail.to_json() for mail in self.emulator.state.outbox()]

    def clear_outbox(self) -> None:
        self.emulator.state.clear_outbox()

    def subscriptions(self) -> list[dict[str, Any]]:
        """Return every subscription, expired ones included."""
        base = self.emulator.config.graph_base
        return [
            {**item.to_json(base), "expired": item.expired}
            for item in self.emulator.subscriptions.all()
        ]

    def notification_deliveries(self) -> list[dict[str, Any]]:
        """Return the notifications POSTed or dropped so far, with ``postedAt`` in Unix time."""
        return self.emulator.subscriptions.deliveries()

    def add_fault(self, **fault: Any) -> None:
        """Plan a Graph fault; see ``POST /_emulator/faults`` for the fields."""
        self.emulator.faults.add(fault_from_json(fault))

    def set_mailbox_access(self, owner: str, delegate: str, granted: bool = True) -> None:
        """Grant (or remove) ``delegate``'s full access to ``owner``'s mailbox."""
        self.emulator.state.set_full_access(self._user(owner).id, self._user(delegate).id, granted)

    def register_certificate(self, pem: bytes, client_id: str = MAILGRIP_CLIENT_ID) -> dict:
        """Register a PEM certificate as a credential of an app; returns its thumbprints."""
        return register_certificate(self.emulator, client_id, pem)

    def rotate_keys(self) -> str:
        """Make a new signing key current and return its ``kid``."""
        return self.emulator.keys.rotate().kid

    # Tokens

    @property
    def current_kid(self) -> str:
        return self.emulator.keys.current.kid

    @property
    def foreign_key(self) -> SigningKey:
        """A signing key that the JWKS never publishes, for tokens that must fail validation."""
        if self._foreign_key is None:
            self._foreign_key = SigningKey.generate()
        return self._foreign_key

    def mint_token(
        self,
        claims: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        key: SigningKey | rsa.RSAPrivateKey | None = None,
        headers: Mapping[str, Any] | None = None,
        lifetime: int = ACCESS_TOKEN_LIFETIME,
    ) -> str:
        """Mint a Mailgrip API access token (``aud`` client id, ``scp`` access_as_user).

        :param claims: overrides; a value of None removes that claim.
        :param user: address or id of the user; without it, a user that does not exist.
        :param key: signing key; the current key when None, ``foreign_key`` for a bad signature.
        :param headers: JWT header overrides such as ``kid``.
        :param lifetime: seconds until ``exp``; negative for an expired token.
        """
        emulator = self.emulator
        client = emulator.apps[PUBLIC_CLIENT_ID]
        values = emulator.tokens.base_claims(MAILGRIP_CLIENT_ID, client, lifetime)
        if user is not None:
            found = self._user(user)
            token_user = TokenUser(found.id, found.address, found.display_name)
        else:
            token_user = TokenUser(str(uuid.uuid4()), "nobody@emulator.invalid", "Nobody")
        values.update(
            {
                "name": token_user.display_name,
                "oid": token_user.id,
                "preferred_username": token_user.address,
                "scp": API_SCOPE,
                "sub": pairwise_subject(token_user.id, client.client_id),
            }
        )
        for name, value in (claims or {}).items():
            if value is None:
                values.pop(name, None)
            else:
                values[name] = value
        return emulator.tokens.sign(values, key=key, headers=headers)

    def api_token(self, user: str) -> str:
        """Return a valid Mailgrip API token for a user, as the add-in would send it."""
        return self.mint_token(user=user)

    def graph_app_token(self) -> str:
        """Return an app-only Graph token for Mailgrip with the roles in ``GRAPH_APP_ROLES``."""
        return self.emulator.tokens.app_access_token(
            self.emulator.apps[MAILGRIP_CLIENT_ID], GRAPH_RESOURCE, GRAPH_APP_ROLES
        )
