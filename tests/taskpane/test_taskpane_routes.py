"""Task-pane routes: the page, its versioned static files and the demo sign-in."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import socket

import pytest
import requests

from mailgrip import create_app
from mailgrip.config import Settings
from mailgrip.identity.password_grant import PasswordGrantFailed
from mailgrip.web.taskpane import TASKPANE_DIR, _signin_failure

CONFIG_SCRIPT = re.compile(
    r'<script type="application/json" id="taskpane-config">(.*?)</script>', re.DOTALL
)
STATIC_URL = re.compile(r'(?:href|src)="(/taskpane/static/taskpane\.(?:css|js))\?v=([0-9a-f]+)"')
MARKUP = "</script><script>alert(1)</script>"


def _standalone_app(tmp_path, **environ):
    """An app that needs neither the emulator nor a schema, for routes that use neither."""
    values = {
        "MAILGRIP_SECRET_KEY": "test-secret-key-that-is-only-used-in-tests",
        "MAILGRIP_DEMO_SIGNIN": "true",
        **environ,
    }
    return create_app(Settings.from_env(tmp_path, values), instance_path=str(tmp_path))


@pytest.fixture
def pane_client(tmp_path):
    return _standalone_app(tmp_path).test_client()


def _page_config(response) -> dict:
    match = CONFIG_SCRIPT.search(response.get_data(as_text=True))
    assert match, "the page has no configuration script"
    return json.loads(match.group(1))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- the page ----


@pytest.mark.parametrize(
    ("query", "selection"),
    [
        ("messageId=12", {"by": "messageId", "value": "12"}),
        ("graphId=AAMkAD%3D", {"by": "graphId", "value": "AAMkAD="}),
        ("internetMessageId=%3Ca%40b%3E", {"by": "internetMessageId", "value": "<a@b>"}),
        ("", None),
    ],
)
def test_page_passes_selection(pane_client, query, selection):
    response = pane_client.get(f"/taskpane?{query}")

    assert response.status_code == 200
    assert _page_config(response)["selection"] == selection


def test_page_config_offers_demo_signin(pane_client):
    config = _page_config(pane_client.get("/taskpane"))

    assert config["demoSignin"] is True
    assert config["signinUrl"] == "/taskpane/signin"
    assert config["apiUrl"] == "/api"
    assert config["strings"]["blockFile"] == "Block this file"


def test_page_without_demo_signin(tmp_path):
    client = _standalone_app(tmp_path, MAILGRIP_DEMO_SIGNIN="false").test_client()

    config = _page_config(client.get("/taskpane"))

    assert config["demoSignin"] is False
    assert config["signinUrl"] is None


def test_page_escapes_query_in_config(pane_client):
    response = pane_client.get("/taskpane", query_string={"internetMessageId": MARKUP})
    html = response.get_data(as_text=True)

    assert MARKUP not in html
    assert "<script>alert(1)" not in html
    assert _page_config(response)["selection"]["value"] == MARKUP


def test_page_sets_security_headers(pane_client):
    response = pane_client.get("/taskpane")

    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "default-src 'none'" in policy
    assert response.headers["Cache-Control"] == "no-cache"


def test_page_loads_nothing_from_other_hosts(tmp_path):
    pane_client = _standalone_app(tmp_path, MAILGRIP_OFFICE_JS="local").test_client()

    html = pane_client.get("/taskpane").get_data(as_text=True)

    assert "://" not in " ".join(re.findall(r'(?:href|src)="([^"]*)"', html))


# ---- static files ----


def test_static_urls_carry_content_hash(pane_client):
    html = pane_client.get("/taskpane").get_data(as_text=True)
    urls = dict(STATIC_URL.findall(html))

    assert set(urls) == {"/taskpane/static/taskpane.css", "/taskpane/static/taskpane.js"}
    for url, version in urls.items():
        content = (TASKPANE_DIR / "static" / url.rsplit("/", 1)[1]).read_bytes()
        assert version == hashlib.sha256(content).hexdigest()[:16]


def test_static_current_version_is_immutable(pane_client):
    html = pane_client.get("/taskpane").get_data(as_text=True)
    url, version = STATIC_URL.findall(html)[0]

    with pane_client.get(f"{url}?v={version}") as current:
        assert current.status_code == 200
        assert "immutable" in current.headers["Cache-Control"]
    with pane_client.get(f"{url}?v=0000000000000000") as outdated:
        assert outdated.status_code == 200
        assert "immutable" not in outdated.headers.get("Cache-Control", "")


def test_static_missing_file_is_404(pane_client):
    response = pane_client.get(
        "/taskpane/static/nothing.js", headers={"Accept": "application/json"}
    )

    assert response.status_code == 404


# ---- demo sign-in ----


def test_signin_returns_working_token(client, alice):
    response = client.post(
        "/taskpane/signin", json={"username": alice.address, "password": alice.password}
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["expiresIn"] > 0
    assert response.headers["Cache-Control"] == "no-store"
    messages = client.get(
        "/api/messages", headers={"Authorization": f"Bearer {body['accessToken']}"}
    )
    assert messages.status_code == 200


def test_signin_accepts_own_origin(live_server, alice):
    response = requests.post(
        f"{live_server.url}/taskpane/signin",
        json={"username": alice.address, "password": alice.password},
        headers={"Origin": live_server.url},
        timeout=30,
    )

    assert response.status_code == 200


@pytest.mark.parametrize("address", ["alice@contoso.example", "nobody@contoso.example"])
def test_signin_wrong_password(client, alice, address):
    response = client.post(
        "/taskpane/signin", json={"username": address, "password": "not the password"}
    )

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "invalid_credentials",
        "message": "The username or password is incorrect.",
    }


def test_signin_never_logs_secrets(client, alice, caplog):
    caplog.set_level(logging.DEBUG, logger="mailgrip")

    ok = client.post(
        "/taskpane/signin", json={"username": alice.address, "password": alice.password}
    )
    client.post("/taskpane/signin", json={"username": alice.address, "password": "wrong-secret"})

    assert ok.status_code == 200
    assert alice.password not in caplog.text
    assert "wrong-secret" not in caplog.text
    assert ok.get_json()["accessToken"] not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice@contoso.example"},
        {"username": "", "password": "x"},
        {"username": "alice@contoso.example", "password": ""},
        {"username": 1, "password": "x"},
        ["alice@contoso.example", "x"],
    ],
)
def test_signin_rejects_incomplete_body(pane_client, body):
    response = pane_client.post("/taskpane/signin", json=body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "bad_request"


def test_signin_rejects_form_post(pane_client):
    response = pane_client.post(
        "/taskpane/signin", data={"username": "alice@contoso.example", "password": "x"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize("origin", ["https://attacker.example", "null", "http://localhost:1"])
def test_signin_rejects_foreign_origin(pane_client, origin):
    response = pane_client.post(
        "/taskpane/signin",
        json={"username": "alice@contoso.example", "password": "x"},
        headers={"Origin": origin},
    )

    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden_origin"


def test_signin_unknown_client_is_502(tmp_path, emulator, alice):
    app = _standalone_app(
        tmp_path,
        MAILGRIP_AUTHORITY=emulator.base_url,
        MAILGRIP_TENANT_ID=emulator.tenant_id,
        MAILGRIP_CLIENT_ID=emulator.client_id,
        MAILGRIP_DEMO_CLIENT_ID="00000000-0000-0000-0000-000000000000",
        MAILGRIP_INSTANCE_DISCOVERY="false",
        MAILGRIP_CA_BUNDLE=str(emulator.ca_path),
    )

    response = app.test_client().post(
        "/taskpane/signin", json={"username": alice.address, "password": alice.password}
    )

    assert response.status_code == 502
    assert response.get_json()["error"] == "signin_failed"


# The emulator does not lock accounts, expire passwords or ask for MFA, so these token-endpoint
# errors are written out as the identity platform documents them.
@pytest.mark.parametrize(
    ("codes", "error"),
    [
        ([50126], "invalid_credentials"),
        ([50034], "invalid_credentials"),
        ([], "invalid_credentials"),
        ([50053], "account_locked"),
        ([50055], "password_expired"),
        ([50076], "mfa_required"),
        ([50079], "mfa_required"),
    ],
)
def test_signin_failure_explains_invalid_grant(tmp_path, codes, error):
    failure = PasswordGrantFailed("invalid_grant", "AADSTS error", "c0ffee", tuple(codes))

    with _standalone_app(tmp_path).test_request_context("/taskpane/signin"):
        body, status = _signin_failure("alice@contoso.example", failure)

    assert status == 401
    assert body["error"] == error


def test_signin_disabled_is_404(tmp_path):
    client = _standalone_app(tmp_path, MAILGRIP_DEMO_SIGNIN="false").test_client()

    response = client.post(
        "/taskpane/signin",
        json={"username": "alice@contoso.example", "password": "x"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 404


def test_signin_identity_unreachable_is_502(tmp_path):
    app = _standalone_app(
        tmp_path,
        MAILGRIP_AUTHORITY=f"http://127.0.0.1:{_closed_port()}",
        MAILGRIP_TENANT_ID="contoso",
        MAILGRIP_CLIENT_ID="mailgrip",
        MAILGRIP_INSTANCE_DISCOVERY="false",
        MAILGRIP_HTTP_TIMEOUT="2",
    )

    response = app.test_client().post(
        "/taskpane/signin", json={"username": "alice@contoso.example", "password": "x"}
    )

    assert response.status_code == 502
    assert response.get_json()["error"] == "identity_unreachable"
