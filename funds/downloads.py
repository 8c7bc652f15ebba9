"""Lists as files: exactly the rows a filtered list shows, as CSV or as an Excel table.

Both stream: CSV goes to the browser a row at a time while the query is read in pieces;
the workbook is written row by row to a temporary file (``DataRows``), never held whole in
memory, and sent from there. Nothing a user typed can become a formula: text starting
with ``= + - @`` (or a tab or line end) gets a leading apostrophe in CSV, and Excel's quote
prefix in the workbook. Dates are ISO (YYYY-MM-DD) in CSV so that any program reads them
the same way; in the workbook they are real dates shown DD/MM/YYYY. Money is pounds with
two decimals, never rounded or reformatted.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import Response, abort, send_file, stream_with_context

from funds import clock
from funds.returns.xlsx import (
    DANGEROUS_LEAD,
    DataRows,
    add_table,
    header_row,
    new_sheet,
    new_workbook,
)

#: The formats a list downloads as.
FORMATS = ("csv", "xlsx")
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+", re.ASCII)
#: Rows CSV collects before it hands them to the server.
_CSV_CHUNK = 500


@dataclass(frozen=True)
class Column:
    """One column of a download: its heading, what kind of value it holds, its width."""

    heading: str
    #: ``text``, ``date``, ``money`` (a Decimal of pounds) or ``number``.
    kind: str = "text"
    width: float = 16.0


def filename(stem: str, fmt: str, *, today: date | None = None) -> str:
    """``stem-YYYY-MM-DD.fmt`` with anything but ASCII letters, digits, ``.-_`` made ``-``."""
    safe = _UNSAFE_IN_FILENAME.sub("-", stem).strip("-")[:80] or "list"
    return f"{safe}-{(today or clock.today()):%Y-%m-%d}.{fmt}"


def csv_text(value, kind: str = "text") -> str:
    """How one value is written to CSV (see the module's docstring)."""
    if value is None:
        return ""
    if kind == "money" or isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text[:1] in DANGEROUS_LEAD or text.lstrip()[:1] in DANGEROUS_LEAD:
        return "'" + text
    return text


def csv_lines(
    columns: Sequence[Column], rows: Iterable[Sequence], *, quote_all: bool = False
) -> Iterator[str]:
    """The CSV file in pieces: a byte-order mark (so Excel reads UTF-8), the headings,
    then the rows a few hundred at a time. ``quote_all`` quotes every field (for
    programs that expect it), not only those that need it."""
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    writer = csv.writer(out, quoting=quoting, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow([csv_text(column.heading) for column in columns])
    kinds = [column.kind for column in columns]
    pending = 0
    for row in rows:
        writer.writerow(
            [csv_text(value, kind) for value, kind in zip(row, kinds, strict=True)]
        )
        pending += 1
        if pending >= _CSV_CHUNK:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            pending = 0
    yield out.getvalue()


def _sheet_value(value, kind: str):
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "text" and value is not None and not isinstance(value, str):
        return str(value)
    return value


def write_xlsx(
    target, title: str, columns: Sequence[Column], rows: Iterable[Sequence]
) -> int:
    """Write the rows as an Excel table (filter buttons, frozen headings) to ``target``
    (a path or a binary file); returns how many rows were written."""
    workbook = new_workbook()
    ws = new_sheet(workbook, title, [column.width for column in columns], freeze="A2")
    kinds = [column.kind for column in columns]
    headings = [column.heading for column in columns]
    out = DataRows(ws, kinds)
    out.header(header_row(ws, headings))
    written = 0
    for row in rows:
        out.append([_sheet_value(v, k) for v, k in zip(row, kinds, strict=True)])
        written += 1
    table_name = re.sub(r"[^A-Za-z0-9]", "", title.title()) or "List"
    add_table(ws, table_name[:200], headings, written + 1)
    workbook.save(target)
    return written


def download(
    fmt: str,
    stem: str,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    *,
    quote_all: bool = False,
) -> Response:
    """The response that downloads ``rows`` as ``fmt`` (``csv`` or ``xlsx``; any other
    format is a 404). ``rows`` may be a lazy query result: CSV reads it while sending,
    inside the request's context."""
    if fmt == "csv":
        response = Response(
            stream_with_context(csv_lines(columns, rows, quote_all=quote_all)),
            mimetype="text/csv",
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{filename(stem, "csv")}"'
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    if fmt == "xlsx":
        spool = tempfile.TemporaryFile()
        write_xlsx(spool, title, columns, rows)
        spool.seek(0)
        response = send_file(
            spool,
            mimetype=XLSX_MIMETYPE,
            as_attachment=True,
            download_name=filename(stem, "xlsx"),
            max_age=0,
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    abort(404)


def audited_download(
    fmt: str,
    *,
    actor,
    list_name: str,
    filters: dict,
    stem: str,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    quote_all: bool = False,
) -> Response:
    """Record who downloaded which list with which filters (``list.download``), commit it,
    then send the file. ``rows`` must be lazy (a generator that runs its query when first
    read): the commit ends the transaction a query opened before it."""
    from funds.audit import record_event
    from funds.database import begin_writing
    from funds.extensions import db

    if fmt not in FORMATS:
        abort(404)
    begin_writing()
    record_event(
        "list.download",
        actor=actor,
        after={"list": list_name, "filters": filters, "format": fmt},
    )
    # Committed before the file streams: the download is on record even if it fails.
    db.session.commit()
    return download(fmt, stem, title, columns, rows, quote_all=quote_all)
