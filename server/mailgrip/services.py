"""Long-lived per-process objects: the HTTP session, token validator, msal app, Graph client."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app

from .access.mailboxes import MailboxAccess
from .config import Settings
from .graph.client import GraphClient
from .http import TimeoutSession, create_session
from .identity.msal_app import GraphTokenProvider
from .identity.tokens import TokenValidator


@dataclass
class Services:
    session: TimeoutSession
    tokens: TokenValidator
    graph_tokens: GraphTokenProvider
    graph: GraphClient
    mailbox_access: MailboxAccess


def build_services(settings: Settings) -> Services:
    session = create_session(settings)
    graph_tokens = GraphTokenProvider(settings, session)
    return Services(
        session=session,
        tokens=TokenValidator(settings, session),
        graph_tokens=graph_tokens,
        graph=GraphClient(session, settings.graph_url, graph_tokens.app_token),
        mailbox_access=MailboxAccess(settings, session, graph_tokens),
    )


def init_services(app: Flask, settings: Settings) -> None:
    app.extensions["mailgrip.services"] = build_services(settings)


def services() -> Services:
    return current_app.extensions["mailgrip.services"]
