"""The periodic job that deletes draft shares never sent within the retention period."""

from __future__ import annotations

from datetime import timedelta

import requests
import sqlalchemy as sa
from builders import make_message
from upload_helpers import (
    draft_share,
    one_request_share,
    put_chunk,
    start_upload,
    stored_paths,
)

from mailgrip.audit import AuditRecord
from mailgrip.db import db, utcnow
from mailgrip.mirror.models import Mailbox
from mailgrip.shares.models import File, Share, Upload
from mailgrip.shares.retention import AUDIT_ACTION
from mailgrip.worker import tasks

RETENTION_DAYS = 3  # the default of MAILGRIP_DRAFT_RETENTION_DAYS


def _draft_with_bytes(live_server, headers) -> dict:
    """Create a draft share with one complete file and one unfinished upload."""
    share = draft_share(live_server, headers)
    done = start_upload(live_server, headers, share["id"], "done.pdf", 3).json()
    assert put_chunk(live_server, headers, share["id"], done["id"], b"abc", 0, 3).ok
    partial = start_upload(live_server, headers, share["id"], "partial.pdf", 4).json()
    assert put_chunk(live_server, headers, share["id"], partial["id"], b"ab", 0, 4).ok
    return share


def _age(share_id: str, days: float) -> None:
    """Move the share and its uploads ``days`` into the past, as if they had waited that long."""
    then = utcnow() - timedelta(days=days)
    db.session.execute(sa.update(Share).where(Share.id == share_id).values(created_at=then))
    db.session.execute(sa.update(Upload).where(Upload.share_id == share_id).values(created_at=then))
    db.session.commit()


def _run_job(app) -> None:
    with app.app_context():
        tasks.delete_stale_draft_shares()
    db.session.expire_all()


def _audit_records() -> list[AuditRecord]:
    return list(
        db.session.scalars(sa.select(AuditRecord).where(AuditRecord.action == AUDIT_ACTION))
    )


def test_stale_draft_deleted_with_bytes(live_server, app, alice_headers):
    share = _draft_with_bytes(live_server, alice_headers)
    owner_id = db.session.get(Share, share["id"]).owner_mailbox_id
    _age(share["id"], RETENTION_DAYS + 1)
    assert len(stored_paths(app)) == 2

    _run_job(app)

    assert db.session.get(Share, share["id"]) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(File)) == 0
    assert stored_paths(app) == []
    [record] = _audit_records()
    assert record.actor == "system:draft-retention"
    assert record.share_id is None
    assert record.detail["shareId"] == share["id"]
    assert record.detail["ownerMailboxId"] == owner_id
    assert record.detail["files"] == 1
    assert record.detail["unfinishedUploads"] == 1
    assert record.detail["bytes"] == 3


def test_job_runs_again_without_change(live_server, app, alice_headers):
    share = _draft_with_bytes(live_server, alice_headers)
    _age(share["id"], RETENTION_DAYS + 1)

    _run_job(app)
    _run_job(app)

    assert db.session.get(Share, share["id"]) is None
    assert len(_audit_records()) == 1


def test_recent_drafts_kept(live_server, app, alice_headers):
    fresh = _draft_with_bytes(live_server, alice_headers)
    empty = draft_share(live_server, alice_headers)
    old_with_new_upload = draft_share(live_server, alice_headers)
    _age(old_with_new_upload["id"], RETENTION_DAYS + 1)
    start_upload(live_server, alice_headers, old_with_new_upload["id"], "new.pdf", 1)
    _age(fresh["id"], RETENTION_DAYS - 1)

    _run_job(app)

    assert db.session.get(Share, fresh["id"]) is not None
    assert db.session.get(Share, empty["id"]) is not None
    assert db.session.get(Share, old_with_new_upload["id"]) is not None
    assert len(stored_paths(app)) == 2
    assert _audit_records() == []


def test_linked_share_never_deleted(live_server, app, alice_headers):
    share = _draft_with_bytes(live_server, alice_headers)
    row = db.session.get(Share, share["id"])
    make_message(db.session.get(Mailbox, row.owner_mailbox_id), share=row)
    _age(share["id"], RETENTION_DAYS * 10)

    _run_job(app)

    assert db.session.get(Share, share["id"]) is not None
    assert len(db.session.get(Share, share["id"]).files) == 1
    assert len(stored_paths(app)) == 2
    assert _audit_records() == []


def test_one_request_share_not_a_draft(live_server, app, alice_headers):
    created = one_request_share(live_server, alice_headers)
    _age(created["id"], RETENTION_DAYS * 10)

    _run_job(app)

    assert db.session.get(Share, created["id"]) is not None
    assert len(stored_paths(app)) == 1


def test_draft_with_events_kept(live_server, app, alice_headers):
    # Events are append-only and keep their share, so a draft whose link was opened stays.
    share = _draft_with_bytes(live_server, alice_headers)
    assert requests.get(share["link"], timeout=30).status_code == 200
    _age(share["id"], RETENTION_DAYS + 1)

    _run_job(app)

    assert db.session.get(Share, share["id"]) is not None
    assert len(stored_paths(app)) == 2


def test_job_runs_periodically():
    periodic = {job.job: job.every_minutes for job in tasks.PERIODIC_JOBS}

    assert periodic[tasks.delete_stale_draft_shares] == 60
