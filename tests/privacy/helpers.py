"""Helpers for privacy tests: figures to compare, the whole database to search."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import JSON, LargeBinary, String, Text, select

from funds.evidence import storage
from funds.extensions import db
from funds.models import EvidenceFile, EvidenceKind, FunderReturn, Grant
from tests.conftest import TODAY

DEFINITIONS = ("hsf", "hsf-dwp", "activities", "budget", "crf")


def figures_snapshot() -> dict:
    """Every figure a user can compare: the grants overview and its totals, the
    dashboard, each return's figures for each grant's whole period, and the stored
    submitted workbooks. Call inside an app context."""
    from funds.dashboard.queries import grant_positions
    from funds.grants.queries import grants_overview, overview_totals
    from funds.returns.library import get_definition
    from funds.returns.services import compute_figures

    snapshot: dict = {
        "overview": [
            (s.grant.reference, s.spent, s.unpaid, s.awards, s.held, s.available)
            for s in grants_overview()
        ],
        "totals": overview_totals(),
        "dashboard": [
            (p.grant.reference, p.received, p.spent, p.held, p.available, p.cash)
            for p in grant_positions(TODAY)
        ],
        "returns": {},
        "stored": [
            (r.id, r.checksum, json.dumps(r.figures, sort_keys=True), bytes(r.workbook))
            for r in db.session.scalars(select(FunderReturn).order_by(FunderReturn.id))
        ],
    }
    for grant in db.session.scalars(select(Grant).order_by(Grant.id)):
        for key in DEFINITIONS:
            figures = compute_figures(
                grant,
                definition=get_definition(key),
                date_from=grant.starts_on,
                date_to=grant.ends_on,
            )
            snapshot["returns"][(grant.reference, key)] = (
                figures.checksum,
                json.dumps(figures.plain, sort_keys=True, default=str),
            )
    return snapshot


def _text_of(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def database_mentions(text: str) -> list[str]:
    """Every table.column holding ``text`` (any case): each text, JSON and binary column
    of every table, read on either engine; on SQLite the whole dump as well."""
    wanted = text.lower()
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, (String, Text, JSON, LargeBinary)):
                continue
            for (value,) in db.session.execute(select(column)):
                if wanted in _text_of(value).lower():
                    found.append(f"{table.name}.{column.name}")
                    break
    if db.engine.dialect.name == "sqlite":
        raw = db.session.connection().connection.driver_connection
        dump = "\n".join(raw.iterdump())
        if wanted in dump.lower():
            found.append("sqlite dump")
    return found


def attach_file(
    disbursement_id: int, data: bytes, original_name: str, *, uploader: int
) -> tuple[int, str]:
    """An evidence file on an award, bytes on disk (inside an app context, committed)."""
    from funds.models import Disbursement

    line = db.session.get(Disbursement, disbursement_id)
    stored, sha = storage.save(data)
    record = EvidenceFile(
        stored_name=stored,
        original_name=original_name,
        content_type="application/pdf",
        size_bytes=len(data),
        sha256=sha,
        kind=EvidenceKind.AWARD,
        grant_id=line.grant_id,
        disbursement_id=line.id,
        uploaded_by_id=uploader,
        description=f"Receipt for {original_name}",
    )
    db.session.add(record)
    db.session.commit()
    return record.id, stored


def days_in(start: date, end: date) -> int:
    return (end - start).days
