"""``flask import``: import a spreadsheet from the command line (checked, then imported
all or nothing, exactly as on the pages), and write a kind's template."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from funds import clock
from funds.errors import FundsError
from funds.extensions import db
from funds.imports import services
from funds.imports.files import errors_workbook, template_workbook
from funds.imports.forms import KIND_ORDER
from funds.imports.kinds import KINDS
from funds.models import ImportMapping, ImportRun, Role, User

import_group = AppGroup(
    "import", help="Import households, young people, grants, awards or sessions."
)


class _Progress:
    """Progress on the terminal (to stderr, so that scripts can read stdout)."""

    def __init__(self):
        self.stage = ""

    def update(self, done, total=None, *, stage=None):
        if stage and stage != self.stage:
            self.stage = stage
            click.echo(f"{stage}…", err=True)

    def write(self):
        pass


def _user(email: str | None) -> User:
    query = select(User).where(
        User.role.in_([Role.ADMIN, Role.MANAGER]), User.disabled.is_(False)
    )
    if email:
        query = query.where(User.email == email.strip().lower())
    user = db.session.scalars(query.order_by(User.role, User.id)).first()
    if user is None:
        raise click.ClickException(
            f"No active manager or administrator {email}"
            if email
            else "No active administrator or manager: create one first (flask create-admin)"
        )
    return user


def _write(path: Path, data: bytes) -> None:
    temporary = f"{path}.partial"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def _import_command(kind_key: str):
    kind = KINDS[kind_key]

    @import_group.command(
        kind_key.replace("_", "-"), help=f"Import {kind.noun} from FILE."
    )
    @click.argument(
        "file", type=click.Path(exists=True, dir_okay=False, path_type=Path)
    )
    @click.option(
        "--mapping", "mapping_name", help="Use the column choices saved as NAME."
    )
    @click.option("--dry-run", is_flag=True, help="Check every row; import nothing.")
    @click.option("--user", "email", help="Who imports (a manager or administrator).")
    def command(file: Path, mapping_name: str | None, dry_run: bool, email: str | None):
        actor = _user(email)
        try:
            run = services.upload(kind_key, file.name, file.read_bytes(), actor=actor)
            mapping = run.mapping
            if mapping_name:
                saved = db.session.scalar(
                    select(ImportMapping).where(
                        ImportMapping.kind == kind_key,
                        ImportMapping.name == mapping_name,
                    )
                )
                if saved is None:
                    raise click.ClickException(
                        f"No saved column choices {mapping_name!r}"
                    )
                mapping = services.mapping_from_saved(saved, run.header)
            services.set_mapping(run, mapping, actor=actor)
            run_id = run.id
            db.session.commit()
            services.check(
                run_id, actor=actor, today=clock.today(), progress=_Progress()
            )
        except FundsError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        run = db.session.get(ImportRun, run_id)
        counts = run.counts
        click.echo(
            f"Import #{run.id}: {counts['rows']:,} rows, {counts['new']:,} new, "
            f"{counts['existing']:,} imported before, {counts['errors']:,} with problems."
        )
        if counts["errors"]:
            errors = file.with_name(f"{file.stem}-rows-to-fix.xlsx")
            _write(errors, errors_workbook(run))
            click.echo(f"Nothing was imported. The rows to fix are in {errors}.")
            sys.exit(1)
        if dry_run or not counts["new"]:
            click.echo("Dry run: nothing was imported." if dry_run else "Nothing new.")
            return
        try:
            services.commit(
                run_id, actor=actor, today=clock.today(), progress=_Progress()
            )
        except FundsError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from error
        click.echo(f"Imported {counts['new']:,} {kind.noun} (import #{run_id}).")

    return command


for _key in KIND_ORDER:
    _import_command(_key)


@import_group.command("template")
@click.argument("kind", type=click.Choice([k.replace("_", "-") for k in KIND_ORDER]))
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="FILE.xlsx",
)
def template_command(kind: str, out: Path):
    """Write KIND's template: the headings that import with no matching, and notes."""
    _write(out, template_workbook(KINDS[kind.replace("-", "_")]))
    click.echo(f"Wrote {out}.")
