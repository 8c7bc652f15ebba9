"""``flask return``: list definitions and build a return as an .xlsx file, for finance
scripts and benchmarks."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from funds import clock
from funds.errors import FundsError
from funds.extensions import db
from funds.models import Grant
from funds.returns.definition import DefinitionError
from funds.returns.library import available, get_definition, read_file
from funds.returns.services import write_return

return_group = AppGroup("return", help="Funder returns: definitions and workbooks.")


@return_group.command("templates")
def templates_command():
    """List the return definitions: key, version and title."""
    for item in available():
        origin = "built-in" if item.built_in else "saved"
        click.echo(f"{item.key}\t{item.version}\t{item.title}\t({origin})")


@return_group.command("build")
@click.option("--grant", "reference", required=True, help="The grant's reference.")
@click.option("--template", "key", help="A definition's key (see `return templates`).")
@click.option("--version", "version", type=int, help="A saved definition's version.")
@click.option(
    "--definition",
    "definition_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Build from a definition file that is not imported.",
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
def build_command(
    reference, key, version, definition_file, date_from, date_to, out, prepared_by
):
    """Build a return from the ledger and save it (nothing is submitted or locked)."""
    if bool(key) == bool(definition_file):
        raise click.UsageError("Give either --template KEY or --definition FILE")
    try:
        if definition_file is not None:
            definition = read_file(definition_file.read_bytes())
        else:
            definition = get_definition(key, version)
    except DefinitionError as error:
        raise click.ClickException(
            "The definition cannot be used:\n  " + "\n  ".join(error.problems)
        ) from error
    except LookupError as error:
        raise click.ClickException(
            f"No return definition {key!r}"
            + (f" version {version}" if version else "")
            + "; `flask return templates` lists them"
        ) from error
    grant = db.session.scalar(select(Grant).where(Grant.reference == reference))
    if grant is None:
        raise click.ClickException(f"No grant with the reference {reference!r}")
    temporary = f"{out}.partial"
    try:
        with open(temporary, "wb") as handle:
            written = write_return(
                grant,
                definition=definition,
                date_from=date_from.date(),
                date_to=date_to.date(),
                prepared_by=prepared_by,
                prepared_on=clock.today(),
                target=handle,
            )
        os.replace(temporary, out)
    except FundsError as error:
        raise click.ClickException(error.message) from error
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    click.echo(
        f"Wrote {out} ({os.path.getsize(out):,} bytes); figures checksum {written.checksum}"
    )
