"""Graph subscriptions in the emulator: validation handshake, expiry, notifications."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class Receiver:
    """A webhook on loopback that records what it receives and can refuse to echo tokens."""

    def __init__(self) -> None:
        self.echo = True
        self.tokens: list[str] = []
        self.notifications: list[dict] = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @Request.application
    def _app(self, request: Request) -> Response:
        token = request.args.get("validationToken")
        if token is not None:
            self.tokens.append(token)
            return Response(token if self.echo else "no", mimetype="text/plain")
        self.notifications.extend(request.get_json()["value"])
        return Response(status=202)

    def stop(self) -> None:
        self._server.shutdown()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.stop()


def _expiry(minutes: float) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _subscribe(graph, sender, receiver, minutes: float = 60, **extra):
    body = {
        "changeType": "created",
        "notificationUrl": receiver.url,
        "lifecycleNotificationUrl": receiver.url,
        "resource": f"users/{sender['id']}/mailFolders('SentItems')/messages",
        "expirationDateTime": _expiry(minutes),
        "clientState": "secret-state",
        **extra,
    }
    return graph("POST", "subscriptions", json=body)


def _sent_item(emulator, subject: str) -> str:
    message = EmailMessage()
    message["From"] = "Adele Vance <adele@contoso.example>"
    message["To"] = "bob@fabrikam.example"
    message["Subject"] = subject
    message.set_content("Hello")
    return emulator.import_sent_item("adele@contoso.example", message.as_bytes())["id"]


def test_create_validates_with_sentence_token(graph, sender, receiver):
    response = _subscribe(graph, sender, receiver)

    assert response.status_code == 201, response.text
    assert response.json()["clientState"] == "secret-state"
    assert len(receiver.tokens) == 2  # the notification URL and the lifecycle URL
    assert " " in receiver.tokens[0]
    assert ":" in receiver.tokens[0]


def test_create_rejected_without_echo(graph, sender, receiver):
    receiver.echo = False

    response = _subscribe(graph, sender, receiver)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"


@pytest.mark.parametrize("minutes", [-5, 4231])
def test_expiry_out_of_range_rejected(graph, sender, receiver, minutes):
    response = _subscribe(graph, sender, receiver, minutes=minutes)

    assert response.status_code == 400
    assert "expiration" in response.json()["error"]["message"]


def test_non_loopback_url_rejected(graph, sender, receiver):
    response = _subscribe(graph, sender, receiver, notificationUrl="https://example.com/hook")

    assert response.status_code == 400
    assert "127.0.0.1" in response.json()["error"]["message"]


def test_sent_item_notifies_subscriber(emulator, graph, sender, receiver):
    subscription = _subscribe(graph, sender, receiver).json()

    message_id = _sent_item(emulator, "Notify me")

    deadline = time.monotonic() + 10
    while not receiver.notifications and time.monotonic() < deadline:
        time.sleep(0.05)
    (notification,) = receiver.notifications
    assert notification["subscriptionId"] == subscription["id"]
    assert notification["clientState"] == "secret-state"
    assert notification["changeType"] == "created"
    assert notification["resourceData"]["id"] == message_id
    assert notification["resourceData"]["@odata.id"] == notification["resource"]
    (delivery,) = emulator.notification_deliveries()
    assert delivery["status"] == 202
    assert delivery["postedAt"] <= time.time()


def test_expired_subscription_is_gone(emulator, graph, http, sender, receiver):
    subscription = _subscribe(graph, sender, receiver).json()
    expired = http.post(
        f"{emulator.base_url}/_emulator/subscriptions/{subscription['id']}/expire", timeout=10
    )

    _sent_item(emulator, "Too late")
    renewal = graph(
        "PATCH", f"subscriptions/{subscription['id']}", json={"expirationDateTime": _expiry(60)}
    )

    assert expired.status_code == 200
    assert renewal.status_code == 404
    assert graph("GET", f"subscriptions/{subscription['id']}").status_code == 404
    time.sleep(0.3)
    assert receiver.notifications == []


def test_renewal_moves_expiry(graph, sender, receiver):
    subscription = _subscribe(graph, sender, receiver, minutes=10).json()

    renewed = graph(
        "PATCH", f"subscriptions/{subscription['id']}", json={"expirationDateTime": _expiry(600)}
    )

    assert renewed.status_code == 200
    assert renewed.json()["expirationDateTime"] > subscription["expirationDateTime"]
