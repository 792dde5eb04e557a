"""The job queue with real consumers: threads on SQLite, threads on Redis, and the
``mailgrip worker`` command."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from email.message import EmailMessage

import pytest
import redis
import sqlalchemy as sa
from conftest import mailgrip_environ
from emulator_control import post_message
from jobs import wait_for

from mailgrip import create_app
from mailgrip.config import Settings
from mailgrip.db import db
from mailgrip.mirror.models import Mailbox, Message
from mailgrip.worker import tasks
from mailgrip.worker.consumer import start_consumer

REDIS_URL = os.environ.get("MAILGRIP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _file_message(emulator, address: str, subject: str) -> None:
    message = EmailMessage()
    message["From"] = "Alice Sender <alice@contoso.example>"
    message["To"] = "bob@fabrikam.example"
    message["Subject"] = subject
    message.set_content("Hello")
    post_message(emulator, address, "sent-items", message.as_bytes())


def _mailbox(emulator, user) -> int:
    mailbox = Mailbox(tenant_id=emulator.tenant_id, object_id=user.id, address=user.address)
    db.session.add(mailbox)
    db.session.commit()
    return mailbox.id


def _subjects() -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(Message.subject)))


def test_sqlite_consumer_runs_sync_job(app, live_server, emulator, alice):
    mailbox_id = _mailbox(emulator, alice)
    _file_message(emulator, alice.address, "Queued on SQLite")
    consumer = start_consumer(live_server.app, workers=2)
    try:
        app.extensions["mailgrip.queue"].enqueue(tasks.sync_mailbox, mailbox_id)
        wait_for(lambda: _subjects() == ["Queued on SQLite"], what="the sync job")
    finally:
        consumer.stop(graceful=True)


@pytest.fixture
def redis_app(live_server, emulator, database_url, tmp_path):
    """A second Mailgrip app on the same database whose queue lives in Redis."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {error}")
    environ = {
        **mailgrip_environ(emulator, database_url, tmp_path / "files", live_server.url),
        "MAILGRIP_REDIS_URL": REDIS_URL,
        # A queue of its own per run, so parallel runs never take each other's jobs.
        "MAILGRIP_QUEUE_NAME": f"mailgrip-test-{secrets.token_hex(6)}",
    }
    instance = tmp_path / "redis-instance"
    application = create_app(Settings.from_env(instance, environ), instance_path=str(instance))
    yield application
    application.extensions["mailgrip.queue"].huey.storage.flush_all()
    with application.app_context():
        db.engine.dispose()


def test_redis_consumer_runs_sync_job(app, redis_app, emulator, alice):
    mailbox_id = _mailbox(emulator, alice)
    _file_message(emulator, alice.address, "Queued on Redis")
    queue = redis_app.extensions["mailgrip.queue"]
    consumer = start_consumer(redis_app, workers=2)
    try:
        queue.enqueue(tasks.sync_mailbox, mailbox_id)
        wait_for(lambda: _subjects() == ["Queued on Redis"], what="the sync job")
    finally:
        consumer.stop(graceful=True)

    assert type(queue.huey).__name__ == "RedisHuey"
    assert not (
        redis_app.instance_path and os.path.exists(f"{redis_app.instance_path}/jobs.sqlite3")
    )


def test_worker_command_runs_jobs(app, live_server, emulator, alice, database_url, tmp_path):
    mailbox_id = _mailbox(emulator, alice)
    _file_message(emulator, alice.address, "Queued for the worker")
    environ = {
        **os.environ,
        **mailgrip_environ(emulator, database_url, tmp_path / "files", live_server.url),
        # The same instance folder as the live server, so the same SQLite queue.
        "MAILGRIP_INSTANCE_PATH": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "mailgrip.cli", "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environ,
    )
    try:
        app.extensions["mailgrip.queue"].enqueue(tasks.sync_mailbox, mailbox_id)
        wait_for(lambda: _subjects() == ["Queued for the worker"], what="the worker's sync job")
    finally:
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=60)

    assert worker.returncode == 0, output
    assert "Worker stopped." in output
