"""The files that Outlook loads for the add-in: runtime page, launch-event script and icons."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailgrip import create_app
from mailgrip.config import Settings

ADDIN = Path(__file__).resolve().parents[2] / "addin"


def _config(script: str) -> dict:
    first_line = script.split("\n", 1)[0]
    prefix = "globalThis.MAILGRIP_CONFIG = "
    assert first_line.startswith(prefix)
    return json.loads(first_line.removeprefix(prefix).removesuffix(";"))


def test_commands_page_loads_versioned_script(client):
    response = client.get("/addin/commands.html")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    # The tests run with MAILGRIP_OFFICE_JS=local, so Office.js comes from the npm package.
    assert re.search(r'<script src="/taskpane/lib/office-js/[^/"]+/office\.js">', page)
    assert re.search(r'<script src="/addin/launchevent\.js\?v=[0-9a-f]{16}">', page)


def test_commands_page_cdn_by_default(tmp_path):
    settings = Settings.from_env(tmp_path, {"MAILGRIP_SECRET_KEY": "x" * 40})
    app = create_app(settings, instance_path=str(tmp_path))

    page = app.test_client().get("/addin/commands.html")

    assert '<script src="https://appsforoffice.microsoft.com/lib/1/hosted/office.js">' in (
        page.get_data(as_text=True)
    )


def test_script_bundles_every_source(client):
    response = client.get("/addin/launchevent.js")

    script = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    for name in json.loads((ADDIN / "src" / "bundle.json").read_text()):
        source = (ADDIN / "src" / name).read_text()
        assert source in script, name
    assert 'Office.actions.associate("onMessageSend", onMessageSend)' in script


def test_script_carries_server_config(client):
    script = client.get("/addin/launchevent.js").get_data(as_text=True)

    config = _config(script)
    assert config["apiUrl"] == "http://localhost/api"
    assert config["outagePolicy"] == "refuse"
    assert config["messages"]["blockTitle"] == "Secure files"
    assert "{reason}" in config["messages"]["refusedRejected"]


def test_versioned_script_cached_for_long(client):
    page = client.get("/addin/commands.html").get_data(as_text=True)
    url = re.search(r'src="(/addin/launchevent\.js\?v=[0-9a-f]+)"', page).group(1)

    versioned = client.get(url)
    stale = client.get("/addin/launchevent.js?v=0000000000000000")

    assert "immutable" in versioned.headers["Cache-Control"]
    assert stale.headers["Cache-Control"] == "no-cache"


def test_unversioned_script_revalidates(client):
    first = client.get("/addin/launchevent.js")

    again = client.get("/addin/launchevent.js", headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["Cache-Control"] == "no-cache"
    assert again.status_code == 304


@pytest.mark.parametrize("size", [16, 32, 64, 80, 128])
def test_icon_served(client, size):
    with client.get(f"/addin/assets/icon-{size}.png") as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.data == (ADDIN / "assets" / f"icon-{size}.png").read_bytes()


@pytest.mark.parametrize("name", ["draw_icons.py", "icon-17.png", "..%2Fpackage.json"])
def test_other_asset_not_found(client, name):
    response = client.get(f"/addin/assets/{name}")

    assert response.status_code == 404


def test_script_version_follows_config(app, client):
    # A browser keeps a versioned script for a year, so a new outage policy needs a new URL.
    script_url = re.compile(r'src="(/addin/launchevent\.js\?v=[0-9a-f]+)"')
    before = script_url.search(client.get("/addin/commands.html").get_data(as_text=True))
    settings = app.extensions["mailgrip.settings"]
    app.extensions["mailgrip.settings"] = Settings(
        {**settings.values, "outage_policy": "send_untracked"}
    )
    try:
        page = client.get("/addin/commands.html").get_data(as_text=True)
        after = script_url.search(page).group(1)
        versioned = client.get(after)
    finally:
        app.extensions["mailgrip.settings"] = settings

    assert after != before.group(1)
    assert _config(versioned.get_data(as_text=True))["outagePolicy"] == "send_untracked"
    assert "immutable" in versioned.headers["Cache-Control"]
