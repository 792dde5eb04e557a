"""A recipient using the portal over real HTTP, as a browser would, for end-to-end tests."""

from __future__ import annotations

import re
from html import unescape

import requests

CSRF_FIELD = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FILE_ACTION = re.compile(r'action="(/s/[^"]+/files/(\d+))"')
CODE = re.compile(r"\b(\d{6})\b")
# A reader's browser; requests' own user agent is rightly labelled an automated scanner.
BROWSER_USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


class Recipient:
    """One recipient's browser session on the portal: verify, then download."""

    def __init__(self, link: str, address: str, emulator) -> None:
        self.link = link
        self.address = address
        self.emulator = emulator
        self.session = requests.Session()
        self.session.headers["User-Agent"] = BROWSER_USER_AGENT
        self.base = link.split("/s/", 1)[0]
        self._csrf_token: str | None = None

    def open_link(self) -> requests.Response:
        return self.session.get(self.link, timeout=30)

    def csrf_token(self) -> str:
        """The session's CSRF token, read from the portal page once and reused afterwards.

        Reusing it is what a reader does who opened the page before the sender blocked a file:
        the page then no longer shows a form for that file, but the open page still has one.
        """
        if self._csrf_token is None:
            page = self.open_link()
            match = CSRF_FIELD.search(page.text)
            assert match, f"no CSRF token on the portal page: {page.status_code}"
            self._csrf_token = unescape(match.group(1))
        return self._csrf_token

    def request_code(self) -> requests.Response:
        return self.session.post(
            f"{self.link}/code",
            data={"address": self.address, "csrf_token": self.csrf_token()},
            timeout=30,
        )

    def latest_code(self) -> str:
        outbox = requests.get(
            f"{self.emulator.base_url}/_emulator/outbox",
            verify=str(self.emulator.ca_path),
            timeout=30,
        ).json()["value"]
        mine = [m for m in outbox if self.address.lower() in [a.lower() for a in m["to"]]]
        assert mine, f"no mail to {self.address} in the outbox"
        match = CODE.search(mine[-1]["body"])
        assert match, "no six-digit code in the mail"
        return match.group(1)

    def verify(self) -> requests.Response:
        sent = self.request_code()
        assert sent.status_code == 200, sent.text[:500]
        return self.session.post(
            f"{self.link}/verify",
            data={
                "address": self.address,
                "code": self.latest_code(),
                "csrf_token": self.csrf_token(),
            },
            timeout=30,
        )

    def file_ids(self) -> list[int]:
        return [int(file_id) for _, file_id in FILE_ACTION.findall(self.open_link().text)]

    def download(self, file_id: int, headers: dict[str, str] | None = None, **kwargs):
        return self.session.post(
            f"{self.link}/files/{file_id}",
            data={"csrf_token": self.csrf_token()},
            headers=headers or {},
            timeout=30,
            **kwargs,
        )
