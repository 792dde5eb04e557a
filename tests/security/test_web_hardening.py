"""Security headers per surface, closed CORS, CSRF on every form, ProxyFix, safe downloads."""

from __future__ import annotations

import re

import pytest
from builders import make_share
from portal_helpers import events

from mailgrip.config import ConfigError, Settings
from mailgrip.extensions import csrf
from mailgrip.web.active_content import sniffs_as_markup
from mailgrip.web.security_headers import (
    MICROSOFT_AJAX_ORIGIN,
    OFFICE_FRAME_ANCESTORS,
    taskpane_policy,
)
from mailgrip.web.taskpane_libraries import OFFICE_JS_CDN_ORIGIN

FOREIGN_ORIGIN = "https://attacker.example"
# Blueprints and views that take no form. The API authenticates with bearer tokens, which a
# browser never sends on its own. The admin blueprint checks CSRF itself after its admin check,
# so that others learn nothing about it. The demo sign-in accepts only JSON from Mailgrip's own
# origin. Graph posts change notifications without cookies, and their clientState
# authenticates them.
CSRF_EXEMPT_BLUEPRINTS = {"api", "admin", "webhooks"}
CSRF_EXEMPT = {"taskpane.signin"}


def _csrf_exempt(endpoint: str) -> bool:
    return endpoint.rpartition(".")[0] in CSRF_EXEMPT_BLUEPRINTS or endpoint in CSRF_EXEMPT


def _directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for directive in policy.split(";"):
        name, *values = directive.split()
        parsed[name] = values
    return parsed


def _path(rule, built) -> str:
    """Return a path that matches ``rule``, with the share's real tokens and file id."""
    values = {}
    for argument in rule.arguments:
        if argument == "token":
            values[argument] = built.open_token if rule.rule.startswith("/o/") else built.link_token
        elif argument == "file_id":
            values[argument] = built.files[0].id
        elif argument in {"message_id", "block_id"}:
            values[argument] = 1
        else:
            values[argument] = "taskpane.js" if rule.endpoint == "taskpane.static" else "x"
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:\w+:)?{name}>", str(value), path)
    return path


def _routes(app, method: str):
    return [rule for rule in app.url_map.iter_rules() if method in rule.methods]


def test_nosniff_on_every_route(app, client, sender):
    built = make_share(sender)
    for rule in _routes(app, "GET"):
        response = client.get(_path(rule, built))
        assert response.headers.get("X-Content-Type-Options") == "nosniff", rule.rule
        assert "Content-Security-Policy" in response.headers, rule.rule
        response.close()


def test_cors_preflight_gets_no_allow(app, client, sender):
    built = make_share(sender)
    for rule in app.url_map.iter_rules():
        response = client.options(
            _path(rule, built),
            headers={
                "Origin": FOREIGN_ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        names = [name.lower() for name in response.headers.keys()]
        assert [name for name in names if name.startswith("access-control-")] == [], rule.rule


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cross_origin_request_gets_no_cors_headers(app, client, sender, method):
    built = make_share(sender)
    for rule in _routes(app, method):
        response = client.open(
            _path(rule, built), method=method, headers={"Origin": FOREIGN_ORIGIN}
        )
        assert "Access-Control-Allow-Origin" not in response.headers, rule.rule
        assert "Access-Control-Allow-Credentials" not in response.headers, rule.rule
        response.close()


def test_every_form_rejects_missing_csrf_token(app, client, sender):
    built = make_share(sender, verification="none")
    checked = []
    for rule in _routes(app, "POST"):
        if _csrf_exempt(rule.endpoint):
            continue
        response = client.post(_path(rule, built), data={"address": "bob@fabrikam.example"})
        assert response.status_code == 400, rule.rule
        assert "Page expired" in response.get_data(as_text=True), rule.rule
        checked.append(rule.endpoint)

    assert set(checked) >= {"portal.request_code", "portal.verify", "portal.download"}
    assert events() == []


def test_csrf_exemptions_are_known(app):
    exempt_blueprints = {blueprint.name for blueprint in csrf._exempt_blueprints}
    exempt_views = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        blueprint = rule.endpoint.rpartition(".")[0]
        qualified_name = f"{view.__module__}.{view.__name__}"
        if blueprint in exempt_blueprints or qualified_name in csrf._exempt_views:
            exempt_views.add(rule.endpoint)
    posting = {rule.endpoint for rule in _routes(app, "POST")}

    assert {endpoint for endpoint in posting if _csrf_exempt(endpoint)} == posting & exempt_views


def test_taskpane_policy_allows_office_frames(client):
    response = client.get("/taskpane")
    policy = _directives(response.headers["Content-Security-Policy"])

    assert set(policy["frame-ancestors"]) == {"'self'", *OFFICE_FRAME_ANCESTORS}
    # The tests serve Office.js from Mailgrip (MAILGRIP_OFFICE_JS=local).
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert "X-Frame-Options" not in response.headers


def test_taskpane_connects_to_authority(app, client, emulator):
    policy = _directives(client.get("/taskpane").headers["Content-Security-Policy"])

    assert policy["connect-src"] == ["'self'", emulator.base_url.rstrip("/")]


def test_taskpane_policy_with_local_office_js(tmp_path):
    settings = Settings.from_env(tmp_path, {"MAILGRIP_SECRET_KEY": "x" * 40})
    local = Settings({**settings.values, "office_js": "local"})

    assert _directives(taskpane_policy(local))["script-src"] == ["'self'"]
    assert _directives(taskpane_policy(settings))["script-src"] == [
        "'self'", OFFICE_JS_CDN_ORIGIN, MICROSOFT_AJAX_ORIGIN
    ]


def test_portal_policy_forbids_frames_and_inline_scripts(client, sender):
    built = make_share(sender)
    response = client.get(built.path)
    policy = _directives(response.headers["Content-Security-Policy"])

    assert policy["frame-ancestors"] == ["'none'"]
    # Only the page's own script file runs; no inline script, no other origin.
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'none'"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_policy_forbids_frames(client):
    response = client.get("/admin/signin")
    policy = _directives(response.headers["Content-Security-Policy"])

    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["script-src"] == ["'self'"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_when_public_url_is_https(make_app):
    client = make_app(PUBLIC_URL="https://files.contoso.example").test_client()

    assert client.get("/healthz").headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_hsts_over_http(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers


ACTIVE_FILES = [
    ("page.html", b"<p>hello</p>", "text/html"),
    ("drawing.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
    ("data.xml", b"<?xml version='1.0'?><a/>", "application/xml"),
    ("page.xhtml", b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "application/xhtml+xml"),
    ("photo.png", b"\n  <html><script>window.pwned=1</script>", "image/png"),
    ("notes.txt", b"\xef\xbb\xbf<!DOCTYPE html><script>1</script>", "text/plain"),
]


@pytest.mark.parametrize(("name", "data", "declared"), ACTIVE_FILES)
def test_active_file_served_as_sandboxed_attachment(client, sender, name, data, declared):
    built = make_share(sender, [(name, data, declared)], verification="none")
    page = client.get(built.path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)

    response = client.post(f"{built.path}/files/{built.files[0].id}", data={"csrf_token": token})

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in _directives(response.headers["Content-Security-Policy"])
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


@pytest.mark.parametrize(
    ("head", "markup"),
    [
        (b"<!doctype html>", True),
        (b"  <HTML>", True),
        (b"<body onload=x>", True),
        (b"<?xml version='1.0'?>", True),
        (b"<svg onload=alert(1)>", True),
        (b"\xfe\xff<p>", True),
        (b"<a href=x>", True),
        (b"<abbr>", False),
        (b"%PDF-1.7", False),
        (b"\x89PNG\r\n", False),
        (b"plain text <html>", False),
        (b"", False),
    ],
)
def test_sniffs_as_markup_table(head, markup):
    assert sniffs_as_markup(head) is markup


def test_forwarded_for_ignored_without_proxy_fix(make_app, app, sender):
    client = make_app(RATE_LIMIT_PORTAL="1 per minute").test_client()
    built = make_share(sender)

    first = client.get(built.path, headers={"X-Forwarded-For": "203.0.113.9"})
    second = client.get(built.path, headers={"X-Forwarded-For": "198.51.100.9"})

    assert first.status_code == 200
    assert second.status_code == 429
    assert [event.ip_prefix for event in events("link_opened")] == ["127.0.0.0/24"]


def test_forwarded_for_trusted_with_proxy_fix(make_app, app, sender):
    client = make_app(PROXY_FIX="1", RATE_LIMIT_PORTAL="1 per minute").test_client()
    built = make_share(sender)

    first = client.get(built.path, headers={"X-Forwarded-For": "203.0.113.9"})
    second = client.get(built.path, headers={"X-Forwarded-For": "198.51.100.9"})
    spoofed = client.get(built.path, headers={"X-Forwarded-For": "192.0.2.1, 198.51.100.9"})

    assert first.status_code == 200
    assert second.status_code == 200
    # With one proxy trusted, only the address it appended counts.
    assert spoofed.status_code == 429
    prefixes = [event.ip_prefix for event in events("link_opened")]
    assert prefixes == ["203.0.113.0/24", "198.51.100.0/24"]


def test_forwarded_proto_trusted_with_proxy_fix(make_app):
    def scheme_of(app) -> str:
        app.add_url_rule("/_scheme", "scheme", lambda: __import__("flask").request.scheme)
        return app.test_client().get("/_scheme", headers={"X-Forwarded-Proto": "https"}).text

    assert scheme_of(make_app(PROXY_FIX="x_for=1,x_proto=1")) == "https"
    assert scheme_of(make_app()) == "http"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", {}),
        ("0", {}),
        ("2", {"x_for": 2, "x_proto": 2}),
        ("x_for=1,x_proto=1,x_host=1", {"x_for": 1, "x_proto": 1, "x_host": 1}),
        (" X_FOR=1 , x_prefix=1 ", {"x_for": 1, "x_prefix": 1}),
    ],
)
def test_proxy_fix_setting_table(tmp_path, value, expected):
    environ = {"MAILGRIP_SECRET_KEY": "x" * 40, "MAILGRIP_PROXY_FIX": value}

    assert Settings.from_env(tmp_path, environ).proxy_fix == expected


@pytest.mark.parametrize("value", ["yes", "x_for", "x_for=one", "x_real_ip=1"])
def test_proxy_fix_setting_rejects(tmp_path, value):
    environ = {"MAILGRIP_SECRET_KEY": "x" * 40, "MAILGRIP_PROXY_FIX": value}

    with pytest.raises(ConfigError, match="MAILGRIP_PROXY_FIX"):
        Settings.from_env(tmp_path, environ)


def _session_cookie(response) -> str:
    (cookie,) = [value for value in response.headers.getlist("Set-Cookie")
                 if value.startswith("session=")]
    return cookie


def test_session_cookie_flags_over_http(client, sender):
    built = make_share(sender)
    cookie = _session_cookie(client.get(built.path))

    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_session_cookie_secure_over_https(make_app, app, sender):
    built = make_share(sender)
    client = make_app(PUBLIC_URL="https://files.contoso.example").test_client()

    cookie = _session_cookie(client.get(built.path, base_url="https://files.contoso.example"))

    assert "Secure" in cookie
    assert "HttpOnly" in cookie
