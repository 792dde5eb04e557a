"""The npm libraries of the task pane: Office.js from the CDN or from npm, msal and Fluent UI."""

from __future__ import annotations

import json
import re

import pytest

from mailgrip import create_app
from mailgrip.config import ConfigError, Settings
from mailgrip.web.taskpane_files import TASKPANE_DIR

OFFICE_JS_CDN = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
SCRIPT_SRC = re.compile(r'<script[^>]* src="([^"]+)"')


def _app(tmp_path, **environ):
    values = {
        "MAILGRIP_SECRET_KEY": "test-secret-key-that-is-only-used-in-tests",
        "MAILGRIP_AUTHORITY": "https://login.example.test:8443",
        "MAILGRIP_TENANT_ID": "tenant-1",
        "MAILGRIP_CLIENT_ID": "client-1",
        **environ,
    }
    return create_app(Settings.from_env(tmp_path, values), instance_path=str(tmp_path))


def _installed_version(package: str) -> str:
    manifest = TASKPANE_DIR / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"]


def test_office_js_from_cdn_by_default(tmp_path):
    response = _app(tmp_path).test_client().get("/taskpane")

    scripts = SCRIPT_SRC.findall(response.get_data(as_text=True))
    assert scripts[0] == OFFICE_JS_CDN
    assert (
        "script-src 'self' https://appsforoffice.microsoft.com "
        in response.headers["Content-Security-Policy"]
    )


def test_office_js_local_is_versioned(tmp_path):
    client = _app(tmp_path, MAILGRIP_OFFICE_JS="local").test_client()
    response = client.get("/taskpane")

    scripts = SCRIPT_SRC.findall(response.get_data(as_text=True))
    version = _installed_version("@microsoft/office-js")
    assert scripts[0] == f"/taskpane/lib/office-js/{version}/office.js"
    assert "appsforoffice" not in response.headers["Content-Security-Policy"]
    with client.get(scripts[0]) as office_js:
        assert office_js.status_code == 200
        assert office_js.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    # Office.js loads its Outlook and locale files relative to its own versioned URL.
    with client.get(f"/taskpane/lib/office-js/{version}/outlook-win32-16.02.js") as outlook:
        assert outlook.status_code == 200


def test_msal_and_fluent_served_under_version(tmp_path):
    client = _app(tmp_path).test_client()
    page = client.get("/taskpane").get_data(as_text=True)
    msal_version = _installed_version("@azure/msal-browser")
    fluent_version = _installed_version("@fluentui/web-components")

    assert f"/taskpane/lib/msal-browser/{msal_version}/msal-browser.min.js" in page
    assert f"/taskpane/lib/fluentui/{fluent_version}/web-components-all.min.js" in page
    with client.get(f"/taskpane/lib/msal-browser/{msal_version}/msal-browser.min.js") as msal:
        assert msal.status_code == 200
        assert "immutable" in msal.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/taskpane/lib/msal-browser/0.0.1/msal-browser.min.js",
        "/taskpane/lib/left-pad/1.0.0/index.js",
        "/taskpane/lib/msal-browser/{msal}/../package.json",
        "/taskpane/lib/msal-browser/{msal}/missing.js",
    ],
)
def test_library_unknown_file_is_404(tmp_path, path):
    client = _app(tmp_path).test_client()
    url = path.format(msal=_installed_version("@azure/msal-browser"))

    assert client.get(url).status_code == 404


def test_office_js_setting_rejects_other_values(tmp_path):
    with pytest.raises(ConfigError, match="MAILGRIP_OFFICE_JS='remote'"):
        Settings.from_env(tmp_path, {"MAILGRIP_OFFICE_JS": "remote"})


def test_page_carries_outlook_sign_in_settings(tmp_path):
    page = _app(tmp_path).test_client().get("/taskpane").get_data(as_text=True)
    config = json.loads(re.search(r'id="taskpane-config">(.*?)</script>', page, re.DOTALL).group(1))

    assert config["auth"] == {
        "clientId": "client-1",
        "authority": "https://login.example.test:8443/tenant-1",
        "scopes": ["api://client-1/access_as_user"],
        "dialogUrl": "http://localhost/taskpane/signin-dialog",
    }


def test_dialog_page_may_reach_authority_only(tmp_path):
    response = (
        _app(tmp_path, MAILGRIP_OFFICE_JS="local").test_client().get("/taskpane/signin-dialog")
    )

    policy = response.headers["Content-Security-Policy"]
    assert response.status_code == 200
    assert "connect-src 'self' https://login.example.test:8443;" in policy
    assert response.headers["Cache-Control"] == "no-store"
