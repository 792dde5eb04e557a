"""Fixtures for the admin page: an admin in the emulated tenant and a signed-in test client."""

from __future__ import annotations

import re

import pytest

ADMIN_ROLE = "Mailgrip.Admin"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def admin_user(make_user, emulator):
    user = make_user("support@contoso.example", "Support Desk")
    emulator.set_app_roles(user.address, [ADMIN_ROLE])
    return user


def sign_in(client, username: str, password: str):
    """Sign in through the demo form, with the CSRF token of the sign-in page."""
    page_html = client.get("/admin/signin").get_data(as_text=True)
    token = CSRF_FIELD.search(page_html).group(1)
    return client.post(
        "/admin/signin",
        data={"username": username, "password": password, "csrf_token": token},
    )


@pytest.fixture
def admin_client(app, admin_user):
    """A test client with an admin session."""
    client = app.test_client()
    response = sign_in(client, admin_user.address, admin_user.password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client
