"""Admin page content: mailbox health, message search, one message's history, audit export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from builders import make_mailbox, make_share

from mailgrip.access.models import Block
from mailgrip.audit import AuditRecord, record_audit
from mailgrip.db import db
from mailgrip.tracking.models import Event


@pytest.fixture
def mailboxes(app):
    healthy = make_mailbox("healthy@contoso.example", display_name="Healthy Henk")
    healthy.last_synced_at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    failing = make_mailbox("failing@contoso.example", display_name="Failing Fiona")
    failing.last_sync_error = "Graph GET /users/x/mailFolders/sentitems/messages/delta failed: 503"
    db.session.commit()
    return healthy, failing


def test_index_shows_sync_health(admin_client, mailboxes):
    html = admin_client.get("/admin/").get_data(as_text=True)

    assert "Healthy Henk" in html
    assert "2026-12-01 09:30:00 UTC" in html
    assert "failed: 503" in html
    # Mailboxes with an error come first, so that support finds them without scrolling.
    assert html.index("Failing Fiona") < html.index("Healthy Henk")


@pytest.fixture
def sent(app, mailboxes):
    healthy, _ = mailboxes
    built = make_share(
        healthy,
        {"budget.xlsx": b"numbers"},
        recipients=[("Carol@Fabrikam.example", "to"), ("dave@northwind.example", "cc")],
    )
    built.message.subject = "Budget 2027 draft"
    db.session.commit()
    other = make_share(healthy, recipients=["erin@example.org"])
    other.message.subject = "Holiday rota"
    db.session.commit()
    return built


@pytest.mark.parametrize(
    "query",
    [
        "budget 2027",
        "carol@fabrikam.example",
        "healthy@contoso.example",
        "internet_message_id",
        "internet_message_id_without_brackets",
    ],
)
def test_search_finds_message(admin_client, sent, query):
    message_id = sent.message.internet_message_id
    if query == "internet_message_id":
        query = message_id
    elif query == "internet_message_id_without_brackets":
        query = message_id.strip("<>")

    html = admin_client.get("/admin/messages", query_string={"q": query}).get_data(as_text=True)

    assert "Budget 2027 draft" in html


def test_search_by_subject_excludes_others(admin_client, sent):
    html = admin_client.get("/admin/messages?q=budget").get_data(as_text=True)

    assert "Holiday rota" not in html


def test_search_wildcards_are_literal(admin_client, sent):
    html = admin_client.get("/admin/messages", query_string={"q": "%"}).get_data(as_text=True)

    assert "Budget 2027 draft" not in html
    assert "No message matches" in html


def test_message_timeline_newest_first(admin_client, sent):
    message = sent.message
    start = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    for minutes, kind in ((0, "link_opened"), (5, "verified"), (9, "downloaded")):
        db.session.add(
            Event(
                kind=kind,
                share_id=sent.share.id,
                message_id=message.id,
                recipient_id=message.recipients[0].id,
                file_id=sent.files[0].id if kind == "downloaded" else None,
                classification="person",
                occurred_at=start + timedelta(minutes=minutes),
            )
        )
    db.session.add(
        Block(
            share_id=sent.share.id,
            scope="file",
            file_id=sent.files[0].id,
            created_by="healthy@contoso.example",
            lifted_by="support@contoso.example",
            lifted_at=start + timedelta(hours=1),
        )
    )
    db.session.commit()

    html = admin_client.get(f"/admin/messages/{message.id}").get_data(as_text=True)

    assert html.index("File downloaded") < html.index("Recipient verified")
    assert html.index("Recipient verified") < html.index("Link opened")
    assert "budget.xlsx" in html
    assert "Carol@Fabrikam.example" in html
    assert "support@contoso.example" in html


def test_unknown_message_is_404(admin_client):
    assert admin_client.get("/admin/messages/999999").status_code == 404


@pytest.fixture
def audit_log(app, sent):
    for actor, action in (
        ("alice@contoso.example", "block"),
        ('=HYPERLINK("http://evil.example","click")', "download"),
        ("+1+1", "download"),
        ("-2", "unblock"),
        ("@SUM(A1)", "download_denied"),
    ):
        record_audit(actor, action, sent.share.id, file="=cmd|' /C calc'!A0")
    db.session.commit()


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_audit_export_streams_csv(admin_client, audit_log):
    response = admin_client.get("/admin/audit.csv")

    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = _rows(response)
    assert rows[0] == ["id", "occurred_at", "actor", "action", "share_id", "detail"]
    # The header, the five records, and the export's own record written before streaming.
    assert len(rows) == 1 + 5 + 1


def test_audit_export_neutralizes_formulas(admin_client, audit_log):
    rows = _rows(admin_client.get("/admin/audit.csv"))[1:-1]

    actors = [row[2] for row in rows]
    assert actors == [
        "alice@contoso.example",
        '\'=HYPERLINK("http://evil.example","click")',
        "'+1+1",
        "'-2",
        "'@SUM(A1)",
    ]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_audit_export_is_audited(admin_client, admin_user, audit_log):
    admin_client.get("/admin/audit.csv").get_data()

    exports = db.session.query(AuditRecord).filter_by(action="audit_export").all()
    assert [record.actor for record in exports] == [admin_user.address]


def test_audit_export_covers_many_batches(admin_client, app):
    from mailgrip.admin.audit_export import FETCH_BATCH

    for number in range(FETCH_BATCH * 2 + 3):
        record_audit(f"user{number}@contoso.example", "download", None)
    db.session.commit()

    rows = _rows(admin_client.get("/admin/audit.csv"))

    # The header, every record, and the export's own record written before streaming.
    assert len(rows) == 1 + FETCH_BATCH * 2 + 3 + 1
