"""Helpers for browser tests of the task pane: signing in and reading state rows."""

from __future__ import annotations

import re

from playwright.sync_api import Page


def sign_in(page: Page, user) -> None:
    page.get_by_label("Username").fill(user.address)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()


def state_value(card, label: str):
    """The value of one labelled state row inside a recipient card or the message card."""
    term = card.page.locator("dt", has_text=re.compile(f"^{re.escape(label)}$"))
    return card.locator(".state").filter(has=term).locator("dd")
