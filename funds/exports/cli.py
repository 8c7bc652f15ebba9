"""``flask export``: the accounting files and the ledger export of a grant's period, for
finance scripts."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup

from funds.downloads import csv_lines, write_xlsx
from funds.errors import FundsError
from funds.exports.formats import FORMATS
from funds.exports.queries import grant_by_reference
from funds.exports.services import (
    LEDGER_COLUMNS,
    LEDGER_FORMATS,
    build_accounting_export,
    check_period,
    ledger_export_rows,
    record_export,
)
from funds.extensions import db

export_group = AppGroup("export", help="The hand-off to the accounts.")

_DATE = click.DateTime(["%Y-%m-%d"])


def _grant(reference: str):
    grant = grant_by_reference(reference)
    if grant is None:
        raise click.ClickException(f"No grant with the reference {reference!r}")
    return grant


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".partial")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _numbered(out: Path, number: int) -> Path:
    return out.with_name(f"{out.stem}-{number}{out.suffix or '.csv'}")


@export_group.command("accounting")
@click.option("--system", type=click.Choice(list(FORMATS)), required=True)
@click.option("--grant", "reference", required=True, help="The grant's reference.")
@click.option("--from", "date_from", type=_DATE, required=True, help="YYYY-MM-DD")
@click.option("--to", "date_to", type=_DATE, required=True, help="YYYY-MM-DD")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="FILE.csv (FILE-1.csv, FILE-2.csv ... when the period needs several files)",
)
def accounting_command(system, reference, date_from, date_to, out):
    """Write the grant's payments in the period as an accounting system's import file."""
    grant = _grant(reference)
    try:
        built = build_accounting_export(
            grant, system=system, date_from=date_from.date(), date_to=date_to.date()
        )
    except FundsError as error:
        raise click.ClickException(error.message) from error
    record_export(
        grant,
        actor=None,
        kind=system,
        date_from=date_from.date(),
        date_to=date_to.date(),
        lines=built.lines,
        total=built.total,
        files=len(built.files),
    )
    db.session.commit()
    if len(built.files) == 1:
        _write(out, built.files[0])
        click.echo(f"Wrote {out}: {built.lines} lines, net {built.total:.2f}")
        return
    paths = [_numbered(out, n) for n in range(1, len(built.files) + 1)]
    for path, data in zip(paths, built.files, strict=True):
        _write(path, data)
    click.echo(
        f"{built.lines} lines (net {built.total:.2f}) are over one file's limit for "
        f"{FORMATS[system].title}: wrote {len(paths)} files: "
        + ", ".join(str(path) for path in paths)
    )


@export_group.command("ledger")
@click.option("--grant", "reference", required=True, help="The grant's reference.")
@click.option("--from", "date_from", type=_DATE, required=True, help="YYYY-MM-DD")
@click.option("--to", "date_to", type=_DATE, required=True, help="YYYY-MM-DD")
@click.option("--format", "fmt", type=click.Choice(LEDGER_FORMATS), default="csv")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    required=True,
    help="FILE.csv or FILE.xlsx",
)
def ledger_command(reference, date_from, date_to, fmt, out):
    """Write every ledger line of the grant dated in the period (CSV or Excel)."""
    grant = _grant(reference)
    start, end = date_from.date(), date_to.date()
    try:
        check_period(start, end)
    except FundsError as error:
        raise click.ClickException(error.message) from error
    record_export(grant, actor=None, kind=f"ledger-{fmt}", date_from=start, date_to=end)
    db.session.commit()
    temporary = out.with_name(out.name + ".partial")
    rows = ledger_export_rows(grant, start, end)
    if fmt == "xlsx":
        written = write_xlsx(temporary, "Ledger lines", LEDGER_COLUMNS, rows)
    else:
        written = 0

        def counted():
            nonlocal written
            for row in rows:
                written += 1
                yield row

        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            for piece in csv_lines(LEDGER_COLUMNS, counted()):
                handle.write(piece)
    os.replace(temporary, out)
    click.echo(f"Wrote {out}: {written} ledger lines")
