"""The parts of one emulator, shared by its blueprints, and its error responses."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from flask import Response, current_app, g, jsonify, request

from .auth_codes import AuthorizationCodeStore
from .delta import DeltaTracker
from .directory import AppRegistration, EmulatorConfig
from .faults import FaultPlan
from .keys import KeySet
from .request_log import RequestLog
from .state import EmulatorState
from .subscriptions import SubscriptionStore
from .tokens import TokenService

EXTENSION_KEY = "m365_emulator"


@dataclass
class Emulator:
    """Configuration, directory, mailboxes, keys and tokens of one emulated tenant."""

    config: EmulatorConfig
    state: EmulatorState
    keys: KeySet
    tokens: TokenService
    apps: dict[str, AppRegistration]
    delta: DeltaTracker
    faults: FaultPlan
    subscriptions: SubscriptionStore
    requests: RequestLog = field(default_factory=RequestLog)
    codes: AuthorizationCodeStore = field(default_factory=AuthorizationCodeStore)


def current_emulator() -> Emulator:
    """Return the emulator that serves the current request."""
    return current_app.extensions[EXTENSION_KEY]


def request_id() -> str:
    """Return the id of the current request, created on first use."""
    if "request_id" not in g:
        g.request_id = str(uuid.uuid4())
    return g.request_id


def graph_error(status: int, code: str, message: str) -> Response:
    """Return Graph's error JSON, with the ids that Graph puts in ``innerError``."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now,
                "request-id": request_id(),
                "client-request-id": request.headers.get("client-request-id", request_id()),
            },
        }
    }
    response = jsonify(body)
    response.status_code = status
    return response


def control_error(status: int, error: str, message: str) -> Response:
    """Return the control API's error JSON: a short code and a sentence."""
    response = jsonify({"error": error, "message": message})
    response.status_code = status
    return response
