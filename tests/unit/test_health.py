"""Liveness and readiness probes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from mailgrip.settings import current_settings


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_and_storage(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "storage": "ok"}


def test_readyz_storage_missing_is_503(client, tmp_path, monkeypatch):
    settings = current_settings()
    monkeypatch.setitem(settings.values, "storage_dir", str(tmp_path / "gone"))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["storage"] == "unreachable"


def test_readyz_concurrent_probes_all_ok(live_server):
    def probe(_: int) -> int:
        return requests.get(f"{live_server.url}/readyz", timeout=10).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(probe, range(80)))

    assert statuses == [200] * 80
