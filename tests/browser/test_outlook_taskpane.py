"""The task pane inside Outlook: the real Office.js from npm on a stand-in for Outlook's host.

No Outlook can run on a test machine, and Office.js outside Office reports no host, so two
init scripts stand in for what Outlook provides. ``outlook_host.js`` plays the host side of
classic Outlook on Windows (``window.external``: host info, context, GetInitialData with the
open item, dialogs), and ``microsoft_ajax_stand_in.js`` the MicrosoftAjax.js that Office.js
loads from Microsoft's CDN inside Outlook. Everything else is real: Office.js and its Outlook
script from ``taskpane/node_modules``, Mailgrip on loopback, and the emulator's authorize and
token endpoints, which the sign-in dialog reaches through Chromium.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa
from builders import make_share
from playwright.sync_api import Page, expect

from mailgrip.db import db
from mailgrip.mirror.models import Mailbox

pytestmark = pytest.mark.browser

HERE = Path(__file__).parent
HOST_SCRIPTS = (HERE / "microsoft_ajax_stand_in.js").read_text() + (
    HERE / "outlook_host.js"
).read_text()
TOKEN_KEY = "mailgrip.taskpane.token"
ALICE = "alice@contoso.example"
# An EWS id as classic Outlook reports it (standard base64 with / and +), and its REST spelling.
EWS_ITEM_ID = "AAMkADk0ZGY5+MTI3/LTQ3ZTMtOGFlNS1iZDk4ZjIwYjA1ZjUARgAAAAAA+x/QAAA="
REST_ITEM_ID = "AAMkADk0ZGY5_MTI3-LTQ3ZTMtOGFlNS1iZDk4ZjIwYjA1ZjUARgAAAAAA_x-QAAA="
# Outlook's default ("Colorful") theme on Windows, as 0xRRGGBB integers.
OFFICE_THEME = {
    "bodyBackgroundColor": 0xFFFFFF,
    "bodyForegroundColor": 0x262626,
    "controlBackgroundColor": 0xFFFFFF,
    "controlForegroundColor": 0x262626,
}
# Requirement sets of a classic Outlook without nested app authentication or single sign-on,
# so the pane signs in through its dialog.
DIALOG_ONLY = {"Mailbox": "1.13", "DialogApi": "1.2"}


def _host(item_id: str, internet_message_id: str, sender: str, user: str) -> dict:
    """What the stand-in host reports: the open item, the signed-in user, requirement sets."""
    return {
        "item": {
            "itemId": item_id,
            "internetMessageId": internet_message_id,
            "subject": "Quarterly figures",
            "from": {"address": sender, "name": sender.split("@")[0].title()},
            "to": [{"address": "bob@fabrikam.example", "name": "Bob"}],
            "sent": "2026-12-04T09:30:00Z",
        },
        "user": {"address": user, "name": user.split("@")[0].title()},
        "requirements": DIALOG_ONLY,
        "theme": OFFICE_THEME,
    }


@pytest.fixture
def open_in_outlook(open_pane_page, live_server, emulator):
    """Open the pane as Outlook would for an item; ``token`` starts it signed in, and
    ``console`` collects what the page logs."""
    emulator.register_spa_redirect_uri(f"{live_server.url}/taskpane/signin-dialog")

    def open_item(host: dict, token: str | None = None, console: list | None = None) -> Page:
        # The emulator's certificate comes from a CA made for this run, and Chromium has no
        # per-context trust store, so this context skips certificate checks. Its requests
        # still reach loopback only.
        page = open_pane_page(ignore_https_errors=True)
        script = f"window.__outlookHost = {json.dumps(host)};\n"
        if token:
            saved = json.dumps({"token": token, "expiresAt": (time.time() + 3600) * 1000})
            script += (
                "if (location.pathname === '/taskpane') "
                f"sessionStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(saved)});\n"
            )
        page.context.add_init_script(script + HOST_SCRIPTS)
        if console is not None:
            page.on("console", lambda message: console.append(message.text))
        page.goto(f"{live_server.url}/taskpane")
        return page

    return open_item


def _tracked_message(live_server, alice_headers, graph_id: str):
    """A sent message with a secure file, mirrored under ``graph_id``, as the sync leaves it."""
    response = requests.get(f"{live_server.url}/api/messages", headers=alice_headers, timeout=30)
    assert response.status_code == 200, response.text
    mailbox = db.session.scalar(sa.select(Mailbox).where(Mailbox.address == ALICE))
    files = {"figures.pdf": b"%PDF-1.7\n%%EOF\n"}
    built = make_share(mailbox, files, recipients=["bob@fabrikam.example"])
    built.message.graph_id = graph_id
    built.message.subject = "Quarterly figures"
    db.session.commit()
    return built.message


def _sign_in_through_dialog(page: Page, alice) -> None:
    """Press Sign in, then sign in on the emulator's page in the dialog that opens."""
    with page.context.expect_page() as opened:
        page.locator("#outlook-signin-button").click()
    dialog = opened.value
    dialog.wait_for_url("**/oauth2/v2.0/authorize?**")
    dialog.get_by_label("Email").fill(alice.address)
    dialog.get_by_label("Password").fill(alice.password)
    dialog.get_by_role("button", name="Sign in").click()
    dialog.wait_for_event("close")


def test_outlook_item_shows_tracking(open_in_outlook, app, live_server, alice, alice_headers):
    message = _tracked_message(live_server, alice_headers, REST_ITEM_ID)
    host = _host(EWS_ITEM_ID, "<other-id@contoso.example>", alice.address, alice.address)

    page = open_in_outlook(host)
    expect(page.locator("#outlook-signin")).to_be_visible()
    _sign_in_through_dialog(page, alice)

    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")
    expect(page.locator("#recipients")).to_contain_text("bob@fabrikam.example")
    expect(page.locator("#files")).to_contain_text("figures.pdf")
    assert page.evaluate("Office.context.mailbox.item.itemId") == EWS_ITEM_ID
    assert message.graph_id == REST_ITEM_ID


def test_outlook_item_found_by_internet_message_id(
    open_in_outlook, app, live_server, alice, alice_headers, api_token
):
    message = _tracked_message(live_server, alice_headers, "AAMkADimmutable-id=")
    host = _host(EWS_ITEM_ID, message.internet_message_id, alice.address, alice.address)

    page = open_in_outlook(host, token=api_token(alice))

    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")


def test_outlook_unknown_item_explains(open_in_outlook, live_server, alice, api_token):
    host = _host(EWS_ITEM_ID, "<unknown@contoso.example>", alice.address, alice.address)

    page = open_in_outlook(host, token=api_token(alice))

    expect(page.locator("#notice")).to_contain_text("Mailgrip does not know this message")
    expect(page.locator("#message")).to_be_hidden()


def test_outlook_received_item_explains(open_in_outlook, alice):
    host = _host(EWS_ITEM_ID, "<in@fabrikam.example>", "bob@fabrikam.example", alice.address)

    page = open_in_outlook(host)

    expect(page.locator("#notice")).to_contain_text("You did not send this message")
    expect(page.locator("#outlook-signin")).to_be_hidden()


def test_dialog_wrong_password_shows_error(open_in_outlook, alice):
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    page = open_in_outlook(host)

    with page.context.expect_page() as opened:
        page.locator("#outlook-signin-button").click()
    dialog = opened.value
    dialog.wait_for_url("**/oauth2/v2.0/authorize?**")
    dialog.get_by_label("Email").fill(alice.address)
    dialog.get_by_label("Password").fill("wrong password")
    dialog.get_by_role("button", name="Sign in").click()

    expect(dialog.locator("#signin-error")).to_contain_text("incorrect")
    expect(page.locator("#outlook-signin")).to_be_visible()


# Roles of controls that a screen reader announces by name.
NAMED_ROLES = {"button", "checkbox", "switch", "link", "textbox", "combobox", "menuitem"}


def _unnamed_controls(page: Page) -> list[str]:
    """Controls in Chromium's accessibility tree that have no accessible name."""
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    unnamed = []
    for node in nodes:
        role = (node.get("role") or {}).get("value")
        name = (node.get("name") or {}).get("value", "")
        if role in NAMED_ROLES and not node.get("ignored") and not str(name).strip():
            unnamed.append(f"{role} (backend node {node.get('backendDOMNodeId')})")
    return unnamed


def _roles_with_name(page: Page, name: str) -> set[str]:
    session = page.context.new_cdp_session(page)
    nodes = session.send("Accessibility.getFullAXTree")["nodes"]
    return {
        (node.get("role") or {}).get("value")
        for node in nodes
        if (node.get("name") or {}).get("value") == name and not node.get("ignored")
    }


def test_outlook_pane_at_320px(
    open_in_outlook, app, live_server, alice, alice_headers, api_token, tmp_path
):
    _tracked_message(live_server, alice_headers, REST_ITEM_ID)
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)

    page = open_in_outlook(host, token=api_token(alice))
    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")
    expect(page.locator("html.theme-ready")).to_be_attached()
    page.screenshot(path=tmp_path / "outlook-pane-320.png", full_page=True)

    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    assert _unnamed_controls(page) == []
    assert page.locator("#status").get_attribute("role") == "status"
    assert page.evaluate("document.documentElement.classList.contains('in-office')")


def test_outlook_sign_in_by_keyboard(open_in_outlook, alice, tmp_path):
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    page = open_in_outlook(host)
    expect(page.locator("#outlook-signin")).to_be_visible()
    expect(page.locator("html.theme-ready")).to_be_attached()
    page.screenshot(path=tmp_path / "outlook-signin-320.png", full_page=True)

    assert "button" in _roles_with_name(page, "Sign in")
    assert _unnamed_controls(page) == []
    focused = []
    for _ in range(4):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement && document.activeElement.id"))
    assert "outlook-signin-button" in focused
    page.locator("#outlook-signin-button").focus()
    with page.context.expect_page() as opened:
        page.keyboard.press("Enter")
    opened.value.wait_for_url("**/oauth2/v2.0/authorize?**")


# Requirement sets of an Outlook with single sign-on (IdentityAPI 1.3) but without nested app
# authentication.
WITH_SSO = {**DIALOG_ONLY, "IdentityAPI": "1.3"}


def test_outlook_single_sign_on(open_in_outlook, app, live_server, alice, alice_headers, api_token):
    _tracked_message(live_server, alice_headers, REST_ITEM_ID)
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    host["requirements"] = WITH_SSO
    # Office returns a token for the add-in's own API, as the emulator issues it.
    host["sso"] = {"token": api_token(alice)}

    page = open_in_outlook(host)

    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")
    calls = page.evaluate("window.__outlookHostCalls.map((call) => call.dispid)")
    assert 98 in calls


@pytest.mark.parametrize("code", range(13000, 13014))
def test_outlook_sso_error_explained(open_in_outlook, alice, code):
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    host["requirements"] = WITH_SSO
    host["sso"] = {"error": code}
    console: list[str] = []

    page = open_in_outlook(host, console=console)
    strings = json.loads(page.locator("#taskpane-config").text_content())["strings"]

    expect(page.locator("#outlook-signin-reason")).to_have_text(strings["ssoErrors"][str(code)])
    expect(page.locator("#outlook-signin-button")).to_be_visible()
    # 13008 (a call in progress) and 13013 (too many calls) are worth one more try.
    expected_calls = 2 if code in (13008, 13013) else 1
    calls = page.evaluate("window.__outlookHostCalls.filter((call) => call.dispid === 98).length")
    assert calls == expected_calls
    assert any("Office SSO" in line for line in console)


def test_outlook_sso_failure_falls_back_to_dialog(open_in_outlook, alice):
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    host["requirements"] = WITH_SSO
    host["sso"] = {"error": 13003}
    page = open_in_outlook(host)
    expect(page.locator("#outlook-signin-button")).to_be_visible()

    with page.context.expect_page() as opened:
        page.locator("#outlook-signin-button").click()

    opened.value.wait_for_url("**/oauth2/v2.0/authorize?**")


def test_outlook_nested_app_authentication(
    open_in_outlook, app, live_server, emulator, alice, alice_headers
):
    _tracked_message(live_server, alice_headers, REST_ITEM_ID)
    # The tokens that Outlook's broker would return: the API token and an ID token.
    granted = requests.post(
        f"{emulator.base_url}/{emulator.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "password",
            "client_id": emulator.public_client_id,
            "username": alice.address,
            "password": alice.password,
            "scope": f"api://{emulator.client_id}/access_as_user openid profile",
        },
        verify=str(emulator.ca_path),
        timeout=30,
    ).json()
    host = _host(EWS_ITEM_ID, "<x@contoso.example>", alice.address, alice.address)
    host["requirements"] = {**WITH_SSO, "NestedAppAuth": "1.1"}
    host["naa"] = {
        "token": {
            "access_token": granted["access_token"],
            "id_token": granted["id_token"],
            "expires_in": granted["expires_in"],
            "scope": f"api://{emulator.client_id}/access_as_user",
            "token_type": "Bearer",
        },
        "account": {"environment": urlsplit(emulator.base_url).netloc, "username": alice.address},
    }

    page = open_in_outlook(host)

    expect(page.locator("#message-subject")).to_have_text("Quarterly figures")
    bridge_requests = page.evaluate(
        "window.__outlookHostCalls.filter((call) => call.request).map((call) => call.request)"
    )
    assert "GetToken" in bridge_requests
    dispids = page.evaluate("window.__outlookHostCalls.map((call) => call.dispid)")
    assert 98 not in dispids
