"""The audit log as CSV, streamed row by row and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import sqlalchemy as sa

from ..audit import AuditRecord
from ..db import db

CSV_COLUMNS = ("id", "occurred_at", "actor", "action", "share_id", "detail")
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection). Tab and
# carriage return also start formulas in some of them (OWASP, "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FETCH_BATCH = 500


def neutralize_formula(value: str) -> str:
    """Prefix a cell that a spreadsheet would run as a formula with a single quote."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _row(record: AuditRecord) -> list[str]:
    cells = [
        str(record.id),
        record.occurred_at.isoformat().replace("+00:00", "Z"),
        record.actor,
        record.action,
        record.share_id or "",
        json.dumps(record.detail or {}, sort_keys=True, ensure_ascii=False),
    ]
    return [neutralize_formula(cell) for cell in cells]


def iter_audit_csv() -> Iterator[str]:
    """Yield the audit log as CSV text, header first, oldest record first.

    Rows are read in batches by id, so the whole log is never held in memory.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    last_id = 0
    while True:
        records = db.session.scalars(
            sa.select(AuditRecord)
            .where(AuditRecord.id > last_id)
            .order_by(AuditRecord.id)
            .limit(FETCH_BATCH)
        ).all()
        for record in records:
            writer.writerow(_row(record))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(records) < FETCH_BATCH:
            return
        last_id = records[-1].id
