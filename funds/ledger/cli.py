"""``flask ledger verify``: check the rollups every page reads against the ledger."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from funds.ledger.verify import verify_rollups

ledger_group = AppGroup("ledger", help="The ledger's running totals.")

#: At most this many differences are printed (the count is always given).
SHOWN = 50


@ledger_group.command("verify")
def ledger_verify() -> None:
    """Recompute every running total from the ledger; exit 1 if any differs."""
    differences = verify_rollups()
    if not differences:
        click.echo("Every running total agrees with the ledger.")
        return
    for difference in differences[:SHOWN]:
        click.echo(str(difference), err=True)
    click.echo(f"{len(differences)} running total(s) differ from the ledger.", err=True)
    sys.exit(1)
