"""Liveness and readiness probes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
from huey import RedisHuey

from mailgrip.settings import current_settings
from mailgrip.worker.queue import JobQueue


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_checks_database_storage_queue(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"] == {"database": "ok", "storage": "ok", "queue": "ok"}


def test_readyz_queue_unreachable_is_503(client, app, monkeypatch):
    # Port 1 on loopback has no Redis, so every queue operation fails to connect.
    queue = JobQueue(app, RedisHuey("unreachable", url="redis://127.0.0.1:1/0", results=False))
    monkeypatch.setitem(app.extensions, "mailgrip.queue", queue)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["checks"]["queue"] == "unreachable"


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
