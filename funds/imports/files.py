"""The files an import hands back: the errors file (the rows with problems, as they were,
with what to fix beside each) and a template per kind. Every cell is written as text or
a value, never a formula (funds.returns.xlsx)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import select

from funds.extensions import db
from funds.imports.cells import shown
from funds.imports.kinds import KINDS, Kind
from funds.models import ImportProblem, ImportRun
from funds.returns.xlsx import (
    date_cell,
    header_row,
    new_sheet,
    new_workbook,
    text_cell,
    workbook_bytes,
)
from funds.spreadsheets import IMPORTS, open_table


def _cell(ws, value):
    if isinstance(value, datetime):
        return text_cell(ws, shown(value))
    if isinstance(value, date):
        return date_cell(ws, value)
    return text_cell(ws, shown(value))


def errors_workbook(run: ImportRun) -> bytes:
    """Each row with a problem, its cells as in the file, then the row number in the file
    and what to fix. Fix them in your file and upload it again."""
    problems: dict[int, list[str]] = defaultdict(list)
    for problem in db.session.scalars(
        select(ImportProblem)
        .where(ImportProblem.import_id == run.id)
        .order_by(ImportProblem.row, ImportProblem.id)
    ):
        where = f"{problem.column}: " if problem.column else ""
        problems[problem.row].append(f"{where}{problem.message}")
    table = open_table(run.filename, run.data, limits=IMPORTS, checked=True)
    workbook = new_workbook()
    widths = [18.0] * len(table.header) + [10.0, 60.0]
    ws = new_sheet(workbook, "Rows to fix", widths, freeze="A2")
    ws.append(header_row(ws, [*table.header, "Row in your file", "What to fix"]))
    if table.header_row in problems:  # a problem with a whole column (formulas)
        ws.append(
            [
                *(text_cell(ws, "") for _ in table.header),
                text_cell(ws, str(table.header_row)),
                text_cell(ws, "; ".join(problems.pop(table.header_row))),
            ]
        )
    for number, cells in table.rows():
        if number in problems:
            ws.append(
                [
                    *(_cell(ws, value) for value in cells),
                    text_cell(ws, str(number)),
                    text_cell(ws, "; ".join(problems[number])),
                ]
            )
    return workbook_bytes(workbook)


def template_workbook(kind: Kind) -> bytes:
    """The headings that import with no matching, two example rows where they import
    into any database, and a sheet saying what each column takes."""
    workbook = new_workbook()
    ws = new_sheet(workbook, kind.label[:31], [24.0] * len(kind.fields), freeze="A2")
    ws.append(header_row(ws, [field.label for field in kind.fields]))
    if kind.clean_template:
        for index in range(2):
            ws.append(
                [
                    text_cell(ws, field.examples[index] if field.examples else "")
                    for field in kind.fields
                ]
            )
    notes = new_sheet(workbook, "How to fill it in", [28.0, 12.0, 90.0])
    notes.append(header_row(notes, ["Column", "Needed", "What to put in it"]))
    for field in kind.fields:
        notes.append(
            [
                text_cell(notes, field.label),
                text_cell(notes, "Yes" if field.required else "No"),
                text_cell(notes, field.rule),
            ]
        )
    notes.append([])
    notes.append(
        [
            text_cell(
                notes,
                "Keep the headings in row 1. Columns may be in any order; other "
                "columns are ignored.",
            )
        ]
    )
    return workbook_bytes(workbook)


def template_names() -> list[tuple[str, str]]:
    return [(key, kind.label) for key, kind in KINDS.items()]
