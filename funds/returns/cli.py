"""``flask return build``: a return as an .xlsx file, for finance scripts and benchmarks."""

from __future__ import annotations

import os
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from funds.errors import FundsError
from funds.extensions import db
from funds.models import Grant, ReturnTemplate
from funds.returns.services import build_return

return_group = AppGroup("return", help="Build funder returns.")


@return_group.command("build")
@click.option("--grant", "reference", required=True, help="The grant's reference.")
@click.option(
    "--template", type=click.Choice([t.value for t in ReturnTemplate]), required=True
)
@click.option(
    "--from",
    "date_from",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="YYYY-MM-DD",
)
@click.option(
    "--to",
    "date_to",
    type=click.DateTime(["%Y-%m-%d"]),
    required=True,
    help="YYYY-MM-DD",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="FILE.xlsx",
)
@click.option("--prepared-by", default="funds command line", show_default=True)
def build_command(reference, template, date_from, date_to, out, prepared_by):
    """Build a return from the ledger and save it (nothing is submitted or locked)."""
    grant = db.session.scalar(select(Grant).where(Grant.reference == reference))
    if grant is None:
        raise click.ClickException(f"No grant with the reference {reference!r}")
    try:
        built = build_return(
            grant,
            template=ReturnTemplate(template),
            date_from=date_from.date(),
            date_to=date_to.date(),
            prepared_by=prepared_by,
            prepared_on=date.today(),
            organisation=current_app.config["ORGANISATION_NAME"],
        )
    except FundsError as error:
        raise click.ClickException(error.message) from error
    temporary = f"{out}.partial"
    with open(temporary, "wb") as handle:
        handle.write(built.workbook)
    os.replace(temporary, out)
    click.echo(
        f"Wrote {out} ({len(built.workbook):,} bytes); figures checksum {built.checksum}"
    )
