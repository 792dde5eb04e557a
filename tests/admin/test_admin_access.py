"""Admin page access: only holders of the admin app role get past 404."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from admin.conftest import ADMIN_ROLE, sign_in

from mailgrip.admin.models import AdminSession
from mailgrip.admin.signin import ADMIN_SESSION_SECONDS, SESSION_KEY
from mailgrip.db import db

# Routes anyone may reach, because they are how an admin signs in.
SIGN_IN_ROUTES = {
    ("GET", "/admin/signin"),
    ("POST", "/admin/signin"),
    ("GET", "/admin/signin/microsoft"),
    ("GET", "/admin/signin/callback"),
    ("POST", "/admin/session"),
}


def _admin_routes(app) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/"):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) not in SIGN_IN_ROUTES:
                path = rule.rule.replace("<id:message_id>", "1")
                routes.append((method, path))
    return routes


def test_admin_routes_found(app):
    paths = {path for _, path in _admin_routes(app)}
    assert {"/admin/", "/admin/messages", "/admin/messages/1", "/admin/audit.csv"} <= paths


def test_anonymous_gets_404_everywhere(app, client):
    for method, path in _admin_routes(app):
        assert client.open(path, method=method).status_code == 404, f"{method} {path}"


def test_user_without_role_gets_404(app, client, emulator, alice):
    headers = {"Authorization": f"Bearer {emulator.api_token(alice.address)}"}
    for method, path in _admin_routes(app):
        response = client.open(path, method=method, headers=headers)
        assert response.status_code == 404, f"{method} {path}"


def test_admin_bearer_token_reaches_pages(client, emulator, admin_user):
    token = emulator.mint_token({"roles": [ADMIN_ROLE]}, user=admin_user.address)

    response = client.get("/admin/", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_demo_signin_sets_session_cookie(app, admin_user):
    client = app.test_client()

    response = sign_in(client, admin_user.address, admin_user.password)
    cookie = response.headers["Set-Cookie"]

    assert response.headers["Location"].endswith("/admin/")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # the test server runs on plain http
    assert client.get("/admin/").status_code == 200


def test_session_cookie_secure_on_https(live_server, tmp_path, emulator, database_url):
    from conftest import mailgrip_environ

    from mailgrip import create_app
    from mailgrip.config import Settings

    environ = mailgrip_environ(emulator, database_url, tmp_path / "files", "https://mail.example")
    app = create_app(Settings.from_env(tmp_path, environ), instance_path=str(tmp_path))

    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_user_without_role_cannot_sign_in(app, alice):
    client = app.test_client()

    response = sign_in(client, alice.address, alice.password)

    assert response.status_code == 403
    assert "may not use the admin page" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 404


def test_wrong_password_rejected(app, admin_user):
    response = sign_in(app.test_client(), admin_user.address, "wrong password")

    assert response.status_code == 401
    assert "incorrect" in response.get_data(as_text=True)


def test_signin_without_csrf_token_rejected(app, admin_user):
    client = app.test_client()

    response = client.post(
        "/admin/signin", data={"username": admin_user.address, "password": admin_user.password}
    )

    assert response.status_code == 400
    assert client.get("/admin/").status_code == 404


def test_token_session_started_for_admin(app, emulator, admin_user):
    client = app.test_client()
    token = emulator.mint_token({"roles": [ADMIN_ROLE]}, user=admin_user.address)

    response = client.post("/admin/session", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 204
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("roles", [[], ["Mailgrip.Reader"]])
def test_token_session_refused_without_role(app, emulator, admin_user, roles):
    client = app.test_client()
    token = emulator.mint_token({"roles": roles}, user=admin_user.address)

    response = client.post("/admin/session", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 404
    assert client.get("/admin/").status_code == 404


def test_token_session_from_other_origin_refused(app, emulator, admin_user):
    token = emulator.mint_token({"roles": [ADMIN_ROLE]}, user=admin_user.address)

    response = app.test_client().post(
        "/admin/session",
        headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"},
    )

    assert response.status_code == 403


def test_signout_ends_session(admin_client):
    page_html = admin_client.get("/admin/").get_data(as_text=True)
    token = page_html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]

    response = admin_client.post("/admin/signout", data={"csrf_token": token})

    assert response.status_code == 302
    assert admin_client.get("/admin/").status_code == 404


def test_session_expires(admin_client):
    record = db.session.scalars(sa.select(AdminSession)).one()
    record.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    db.session.commit()

    assert admin_client.get("/admin/").status_code == 404


def test_session_lasts_eight_hours(admin_client):
    record = db.session.scalars(sa.select(AdminSession)).one()

    assert record.expires_at - record.created_at == timedelta(seconds=ADMIN_SESSION_SECONDS)
    assert ADMIN_SESSION_SECONDS == 8 * 3600


def test_copied_cookie_fails_after_signout(app, admin_client):
    with admin_client.session_transaction() as stored:
        token = stored[SESSION_KEY]
    page_html = admin_client.get("/admin/").get_data(as_text=True)
    csrf = page_html.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    admin_client.post("/admin/signout", data={"csrf_token": csrf})

    thief = app.test_client()
    with thief.session_transaction() as stored:
        stored[SESSION_KEY] = token

    assert thief.get("/admin/").status_code == 404


def test_session_token_stored_as_hash(admin_client):
    with admin_client.session_transaction() as stored:
        token = stored[SESSION_KEY]
    record = db.session.scalars(sa.select(AdminSession)).one()

    assert len(token) >= 43  # 32 random bytes in base64url
    assert record.token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_signin_replaces_planted_token(app, admin_user):
    client = app.test_client()
    with client.session_transaction() as stored:
        stored[SESSION_KEY] = "planted-by-someone-else"

    sign_in(client, admin_user.address, admin_user.password)

    with client.session_transaction() as stored:
        assert stored[SESSION_KEY] != "planted-by-someone-else"


def test_admin_pages_not_cached(admin_client):
    assert admin_client.get("/admin/").headers["Cache-Control"] == "no-store"
