"""Reads for the import pages."""

from __future__ import annotations

from itertools import islice

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from funds.extensions import db
from funds.models import ImportMapping, ImportProblem, ImportRun
from funds.spreadsheets import IMPORTS, open_table

#: Problems shown on the page (all are in the errors file).
PROBLEMS_SHOWN = 100


def recent_imports(limit: int = 50) -> list[ImportRun]:
    return list(
        db.session.scalars(
            select(ImportRun)
            .options(joinedload(ImportRun.created_by))
            .order_by(ImportRun.id.desc())
            .limit(limit)
        )
    )


def problems_of(run: ImportRun, limit: int = PROBLEMS_SHOWN) -> list[ImportProblem]:
    return list(
        db.session.scalars(
            select(ImportProblem)
            .where(ImportProblem.import_id == run.id)
            .order_by(ImportProblem.row, ImportProblem.id)
            .limit(limit)
        )
    )


def problems_kept(run: ImportRun) -> int:
    return db.session.scalar(
        select(func.count(ImportProblem.id)).where(ImportProblem.import_id == run.id)
    )


def saved_mappings(kind: str) -> list[ImportMapping]:
    return list(
        db.session.scalars(
            select(ImportMapping)
            .where(ImportMapping.kind == kind)
            .order_by(ImportMapping.name)
        )
    )


def sample_rows(run: ImportRun, count: int = 2) -> list[list]:
    """The first rows of the file, for the column choices."""
    table = open_table(run.filename, run.data, limits=IMPORTS, checked=True)
    return [cells for _, cells in islice(table.rows(), count)]
