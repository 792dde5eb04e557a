"""A limit of msal that decides how the password grant can reach the emulator."""

from __future__ import annotations

import socket

import msal
import pytest
import requests


@pytest.mark.xfail(
    strict=True,
    raises=requests.ConnectionError,
    reason="msal 1.39 sends the user realm request to port 443 whatever the authority's port",
)
def test_password_grant_on_other_port(emulator, sender):
    probe = socket.socket()
    try:
        probe.connect(("127.0.0.1", 443))
    except OSError:
        pass
    else:
        pytest.skip("something listens on 127.0.0.1:443, so this case cannot be shown here")
    finally:
        probe.close()
    http = requests.Session()
    http.verify = str(emulator.ca_path)
    http.trust_env = False
    app = msal.PublicClientApplication(
        emulator.public_client_id,
        authority=f"{emulator.base_url}/{emulator.tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    with pytest.warns(DeprecationWarning):
        app.acquire_token_by_username_password(
            sender["mail"], "Sent-Items-2024", scopes=[f"api://{emulator.client_id}/access_as_user"]
        )
