"""Sign in with Microsoft in Chromium: from Mailgrip's sign-in page through the emulator's
sign-in page and back to the admin page, or to the rejection of an account without the role."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture
def signin_page(open_pane_page, emulator, live_server):
    """A page on Mailgrip's sign-in page, with the callback registered at the emulator."""
    emulator.register_web_redirect_uri(f"{live_server.url}/admin/signin/callback")
    # The emulator serves HTTPS with a CA of its own, which Chromium does not know.
    page = open_pane_page(ignore_https_errors=True)
    page.goto(f"{live_server.url}/admin/signin")
    return page


def _sign_in_with_microsoft(page, emulator, user) -> None:
    page.get_by_role("link", name="Sign in with Microsoft").click()
    page.wait_for_url(f"{emulator.base_url}/**/oauth2/v2.0/authorize?**")
    page.get_by_label("Email").fill(user.address)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_admin_signs_in_with_microsoft(signin_page, emulator, live_server, admin_user):
    _sign_in_with_microsoft(signin_page, emulator, admin_user)

    expect(signin_page.get_by_role("heading", name="Mailboxes")).to_be_visible()
    assert signin_page.url == f"{live_server.url}/admin/"
    expect(signin_page.get_by_text(admin_user.display_name)).to_be_visible()


def test_user_without_role_rejected(signin_page, emulator, live_server, alice):
    _sign_in_with_microsoft(signin_page, emulator, alice)

    expect(signin_page.get_by_role("alert")).to_have_text(
        "This account may not use the admin page."
    )
    assert signin_page.url.startswith(f"{live_server.url}/admin/signin/callback?")
    signin_page.goto(f"{live_server.url}/admin/")
    expect(signin_page.get_by_role("heading", name="Mailboxes")).to_have_count(0)
