"""Admin sign-in with Microsoft: Mailgrip's callback against the emulator's authorize and token
endpoints, through msal, with the Flask test client as the browser."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from admin.conftest import ADMIN_ROLE
from conftest import mailgrip_environ
from werkzeug.serving import make_server

from mailgrip import create_app
from mailgrip.admin.microsoft_signin import FLOW_KEY, FLOW_MAX_AGE_SECONDS
from mailgrip.config import Settings
from mailgrip.db import db

CALLBACK = "/admin/signin/callback"


@pytest.fixture
def http(emulator) -> Iterator[requests.Session]:
    """The browser's side of the emulator's sign-in page, trusting the emulator's CA."""
    session = requests.Session()
    session.verify = str(emulator.ca_path)
    # REQUESTS_CA_BUNDLE would override verify; every request here goes to loopback.
    session.trust_env = False
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _callback_registered(emulator, live_server) -> None:
    emulator.register_web_redirect_uri(f"{live_server.url}{CALLBACK}")


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def _start(client) -> tuple[str, dict[str, str]]:
    """Press "Sign in with Microsoft"; return the authorize URL and its parameters."""
    response = client.get("/admin/signin/microsoft")
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    return location.split("?")[0], _query(location)


def _sign_in_at_emulator(http, authorize: tuple[str, dict[str, str]], user, **extra) -> dict:
    """Post the emulator's sign-in form; return the parameters of its redirect to Mailgrip."""
    url, params = authorize
    form = {**params, "username": user.address, "password": user.password, **extra}
    response = http.post(url, data=form, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    assert urlsplit(response.headers["Location"]).path == CALLBACK
    return _query(response.headers["Location"])


def _answer_for(app, http, user):
    """Return a test client with a flow and the emulator's authorization response for ``user``."""
    client = app.test_client()
    return client, _sign_in_at_emulator(http, _start(client), user)


def test_signin_page_shows_microsoft_button(client):
    page = client.get("/admin/signin").get_data(as_text=True)

    assert 'href="/admin/signin/microsoft"' in page
    assert "Sign in with Microsoft" in page


def test_signin_page_hides_demo_form_when_off(emulator, database_url, _schema, tmp_path):
    environ = {
        **mailgrip_environ(emulator, database_url, tmp_path / "files", "http://127.0.0.1:9"),
        "MAILGRIP_DEMO_SIGNIN": "false",
    }
    app = create_app(Settings.from_env(tmp_path, environ), instance_path=str(tmp_path))

    page = app.test_client().get("/admin/signin").get_data(as_text=True)

    assert "Sign in with Microsoft" in page
    assert 'name="password"' not in page
    with app.app_context():
        db.engine.dispose()


def test_microsoft_signin_starts_admin_session(app, http, admin_user, caplog):
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    authorize = _start(client)
    answer = _sign_in_at_emulator(http, authorize, admin_user)

    response = client.get(CALLBACK, query_string=answer)

    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/admin/")
    assert client.get("/admin/").status_code == 200
    assert answer["code"] not in caplog.text
    assert authorize[1]["redirect_uri"].endswith(CALLBACK)
    assert authorize[1]["code_challenge_method"] == "S256"
    api_scope = f"api://{app.extensions['mailgrip.settings'].client_id}/access_as_user"
    assert api_scope in authorize[1]["scope"].split()


def test_microsoft_signin_without_role_rejected(app, http, alice):
    client, answer = _answer_for(app, http, alice)

    response = client.get(CALLBACK, query_string=answer)

    assert response.status_code == 403
    assert "may not use the admin page" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 404


def test_callback_with_other_state_rejected(app, http, admin_user):
    client, answer = _answer_for(app, http, admin_user)

    response = client.get(CALLBACK, query_string={**answer, "state": "someone-elses-state"})

    assert response.status_code == 400
    assert "Sign in again" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 404


def test_callback_replay_rejected(app, http, admin_user):
    client, answer = _answer_for(app, http, admin_user)
    first = client.get(CALLBACK, query_string=answer)
    client.post("/admin/signout", data={"csrf_token": _csrf_token(client)})

    replayed = client.get(CALLBACK, query_string=answer)

    assert first.status_code == 302
    assert replayed.status_code == 400
    assert "expired or was already used" in replayed.get_data(as_text=True)
    assert client.get("/admin/").status_code == 404


def test_callback_with_copied_cookie_rejected(app, http, admin_user):
    # A copy of the cookie taken before the callback still contains the flow, so the second
    # redemption reaches the identity platform, which redeems a code only once.
    client, answer = _answer_for(app, http, admin_user)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    client.get(CALLBACK, query_string=answer)

    response = copy.get(CALLBACK, query_string=answer)

    assert response.status_code == 401
    assert "invalid_grant" in response.get_data(as_text=True)
    assert copy.get("/admin/").status_code == 404


def test_callback_without_flow_rejected(app, http, admin_user):
    answer = _sign_in_at_emulator(http, _start(app.test_client()), admin_user)
    stranger = app.test_client()

    response = stranger.get(CALLBACK, query_string=answer)

    assert response.status_code == 400
    assert stranger.get("/admin/").status_code == 404


def test_old_flow_rejected(app, http, admin_user):
    client, answer = _answer_for(app, http, admin_user)
    with client.session_transaction() as session:
        session[FLOW_KEY] = {
            **session[FLOW_KEY],
            "started_at": time.time() - FLOW_MAX_AGE_SECONDS - 1,
        }

    response = client.get(CALLBACK, query_string=answer)

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 404


def test_authorize_error_shown_escaped(app, caplog):
    client = app.test_client()
    _, params = _start(client)
    answer = {
        "error": "access_denied",
        "error_description": "<b>AADSTS65004</b>: User declined to consent to access the app.",
        "state": params["state"],
    }

    response = client.get(CALLBACK, query_string=answer)

    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "access_denied" in page
    assert "&lt;b&gt;AADSTS65004&lt;/b&gt;" in page
    assert "<b>AADSTS65004" not in page
    assert "error=access_denied" in caplog.text


def test_cancel_at_emulator_shows_rejection(app, http, admin_user):
    client = app.test_client()
    url, params = _start(client)
    response = http.post(url, data={**params, "cancel": "1"}, allow_redirects=False, timeout=10)

    refused = client.get(CALLBACK, query_string=_query(response.headers["Location"]))

    assert refused.status_code == 401
    assert "AADSTS65004" in refused.get_data(as_text=True)


def _answer_with_html(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<html><body>Proxy error</body></html>"]


@pytest.mark.parametrize("outage", ["stopped", "html"])
def test_token_endpoint_unreachable(database_url, _schema, tmp_path, make_user, outage):
    # A second emulator, stopped between the sign-in page and the callback, makes the token
    # endpoint unreachable for real, while the shared emulator keeps running for other tests.
    # With "html", a server with the same certificate takes its port and returns a page to
    # every request, as a proxy in front of an unreachable service does.
    from m365_emulator.server import EmulatorServer
    from m365_emulator.tls import ensure_tls_files

    authority = EmulatorServer(state_dir=tmp_path / "authority")
    authority.start()
    stand_in = None
    try:
        environ = mailgrip_environ(
            authority, database_url, tmp_path / "files", "http://127.0.0.1:9"
        )
        app = create_app(Settings.from_env(tmp_path, environ), instance_path=str(tmp_path))
        authority.register_web_redirect_uri(f"http://127.0.0.1:9{CALLBACK}")
        authority.create_user("support@contoso.example", "Support Desk", "a password")
        authority.set_app_roles("support@contoso.example", [ADMIN_ROLE])
        client = app.test_client()
        url, params = _start(client)
        form = {**params, "username": "support@contoso.example", "password": "a password"}
        signed_in = requests.post(
            url, data=form, allow_redirects=False, timeout=10, verify=str(authority.ca_path)
        )
        port = urlsplit(authority.base_url).port
        authority.stop()
        if outage == "html":
            context = ensure_tls_files(tmp_path / "authority").ssl_context()
            stand_in = make_server("127.0.0.1", port, _answer_with_html, ssl_context=context)
            threading.Thread(target=stand_in.serve_forever, daemon=True).start()

        response = client.get(CALLBACK, query_string=_query(signed_in.headers["Location"]))

        assert response.status_code == 503
        assert "could not be reached" in response.get_data(as_text=True)
        assert client.get("/admin/").status_code == 404
        with app.app_context():
            db.engine.dispose()
    finally:
        authority.stop()
        if stand_in is not None:
            stand_in.shutdown()
            stand_in.server_close()


def test_nonce_mismatch_rejected(app, http, admin_user):
    # msal compares the ID token's nonce with the flow's. A flow with another nonce is what an
    # ID token replayed from another sign-in looks like.
    client, answer = _answer_for(app, http, admin_user)
    with client.session_transaction() as session:
        stored = session[FLOW_KEY]
        session[FLOW_KEY] = {**stored, "flow": {**stored["flow"], "nonce": "another-nonce"}}

    response = client.get(CALLBACK, query_string=answer)

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 404


def _csrf_token(client) -> str:
    from admin.conftest import CSRF_FIELD

    return CSRF_FIELD.search(client.get("/admin/").get_data(as_text=True)).group(1)


def test_start_with_authority_unreachable(database_url, _schema, tmp_path):
    from m365_emulator.server import EmulatorServer

    authority = EmulatorServer(state_dir=tmp_path / "authority")
    authority.start()
    environ = mailgrip_environ(authority, database_url, tmp_path / "files", "http://127.0.0.1:9")
    authority.stop()
    app = create_app(Settings.from_env(tmp_path, environ), instance_path=str(tmp_path))

    response = app.test_client().get("/admin/signin/microsoft")

    assert response.status_code == 503
    assert "could not be reached" in response.get_data(as_text=True)
    with app.app_context():
        db.engine.dispose()
