"""``flask evidence``: commands about evidence files (the pack of a grant's period)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from funds.errors import FundsError
from funds.evidence import queries as evidence_queries
from funds.evidence import scanning
from funds.evidence import services as evidence_services
from funds.evidence.pack import build_pack, record_pack
from funds.evidence.pack_queries import grant_by_reference
from funds.extensions import db

evidence_group = AppGroup("evidence", help="Evidence files: receipts, invoices, packs.")


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2024-04-01",
            param_hint=option,
        ) from None


@evidence_group.command("pack")
@click.option("--grant", "reference", required=True, help="The grant's reference.")
@click.option("--from", "date_from", required=True, help="YYYY-MM-DD (included)")
@click.option("--to", "date_to", required=True, help="YYYY-MM-DD (included)")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.zip",
)
@click.option(
    "--template",
    default=None,
    help="The return to include (a definition's key); default: the grant's last "
    "submitted return.",
)
def pack_command(reference, date_from, date_to, out, template):
    """Write a grant's evidence pack for a period (audited as evidence.pack)."""
    day_from, day_to = _day(date_from, "--from"), _day(date_to, "--to")
    grant = grant_by_reference(reference)
    if grant is None:
        raise click.ClickException(f"No grant with the reference {reference!r}")
    partial = out.with_name(f".{out.name}.partial")
    try:
        with partial.open("wb") as target:
            built = build_pack(
                grant,
                day_from,
                day_to,
                target,
                prepared_by="funds command line",
                template=template,
            )
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(
            f"Cannot write {out}: {error.strerror or error}"
        ) from error
    except FundsError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(error.message) from error
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    try:
        os.replace(partial, out)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise click.ClickException(
            f"Cannot write {out}: {error.strerror or error}"
        ) from error
    record_pack(grant, actor=None, date_from=day_from, date_to=day_to, built=built)
    db.session.commit()
    click.echo(
        f"Wrote {out}: {built.lines} ledger lines, {built.files} evidence files"
        + (f" ({built.left_out} listed but not included)" if built.left_out else "")
    )


@evidence_group.command("scan")
def scan_command() -> None:
    """Scan every file still waiting for the virus scanner (clamd at CLAMD_ADDRESS).

    Exits non-zero when scanning is not configured or clamd cannot be reached; files
    already scanned keep their verdict. Each verdict is committed as it comes.
    """
    if not scanning.scanning_on():
        raise click.ClickException("Virus scanning is off: set CLAMD_ADDRESS first.")
    try:
        scanning.ping()
    except scanning.ScannerUnavailable as error:
        raise click.ClickException(
            f"The virus scanner could not be reached: {error}"
        ) from error
    waiting = evidence_queries.waiting_for_scan()
    counts: dict[str, int] = {}
    for evidence_id in waiting:
        try:
            status = evidence_services.scan_one(evidence_id)
            db.session.commit()
        except scanning.ScannerUnavailable as error:
            db.session.rollback()
            raise click.ClickException(
                f"The virus scanner could not be reached: {error}"
            ) from error
        counts[status.label] = counts.get(status.label, 0) + 1
    if not waiting:
        click.echo("No files are waiting to be scanned.")
    for label, number in sorted(counts.items()):
        click.echo(f"{label}: {number}")
