"""``flask`` commands: init-instance, create-user, create-admin, seed-demo, backup."""

from __future__ import annotations

import os
import secrets
import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from funds import clock
from funds.admin.services import create_user
from funds.errors import FundsError
from funds.extensions import db
from funds.models import Role

INSTANCE_CONFIG = '''"""Instance settings for this installation of funds. Keep this file private."""

SECRET_KEY = {key!r}
'''


@click.command("init-instance")
@with_appcontext
def init_instance() -> None:
    """Write instance/config.py with a fresh random SECRET_KEY, unless it exists."""
    path = os.path.join(current_app.instance_path, "config.py")
    if os.path.exists(path):
        click.echo(f"{path} already exists; left unchanged.")
        return
    os.makedirs(current_app.instance_path, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(INSTANCE_CONFIG.format(key=secrets.token_hex(32)))
    click.secho(
        f"Wrote {path} with a new SECRET_KEY (readable only by you).", fg="green"
    )


def _create(email: str, name: str, role: Role, password: str | None) -> None:
    try:
        user, temporary = create_user(
            actor=None, email=email, name=name, role=role, password=password
        )
    except FundsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.secho(f"Created {role.value} {user.email}.", fg="green")
    if temporary:
        click.echo(
            f"Temporary password (shown once; it must be changed at first sign-in): {temporary}"
        )


@click.command("create-user")
@click.option("--email", required=True, help="Sign-in email address.")
@click.option("--name", required=True, help="Full name.")
@click.option(
    "--role", required=True, type=click.Choice([r.value for r in Role]), help="Role."
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (otherwise a temporary one is printed).",
)
@with_appcontext
def create_user_command(email: str, name: str, role: str, password_stdin: bool) -> None:
    """Add a user (for scripts)."""
    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password was given on standard input")
    _create(email, name, Role(role), password)


@click.command("create-admin")
@click.option("--email", prompt="Email address", help="Sign-in email address.")
@click.option("--name", prompt="Full name", help="Full name.")
@with_appcontext
def create_admin(email: str, name: str) -> None:
    """Add an administrator with a temporary password that must be changed at sign-in."""
    _create(email, name, Role.ADMIN, None)


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load a year of realistic demo data: grants, households, awards, an activity
    programme, voucher stock and one user per role.

    Everything goes through the services in one transaction; an existing database with
    grants or demo data is refused and left unchanged.
    """
    from funds.balances import voucher_stock
    from funds.models import VoucherStatus
    from funds.money import format_money
    from funds.seed_data import (
        HSF_REFERENCE,
        MH_REFERENCE,
        YEAR_END,
        YEAR_START,
        AlreadyLoaded,
        load_demo,
    )

    try:
        result = load_demo(today=clock.today())
    except AlreadyLoaded as refused:
        db.session.rollback()
        raise click.ClickException(
            f"{refused}: seed-demo only loads into a database without grants. "
            "Nothing was written."
        ) from refused
    except FundsError as error:
        db.session.rollback()
        raise click.ClickException(
            f"The demo data was refused: {error.message}. Nothing was written."
        ) from error
    db.session.commit()

    click.secho(
        f"Loaded the demo year {YEAR_START:%-d %B %Y} to {YEAR_END:%-d %B %Y}.",
        fg="green",
    )
    click.echo("")
    click.echo(
        f"  {'Grant':<16}{'Total':>12}{'Spent':>12}{'Remaining':>12}"
        f"{'In vouchers':>13}{'Available':>12}  Awards"
    )
    for summary in result.grants:
        held = voucher_stock(summary.grant.id)
        click.echo(
            f"  {summary.grant.reference:<16}"
            f"{format_money(summary.grant.total):>12}"
            f"{format_money(summary.spent):>12}"
            f"{format_money(summary.remaining):>12}"
            f"{format_money(held):>13}"
            f"{format_money(summary.remaining - held):>12}  {summary.awards}"
        )
    counts = result.counts
    click.echo("")
    click.echo(
        f"  {counts['households']} households ({counts['households helped']} helped), "
        f"{counts['young people']} young people, "
        f"{counts['awards']} awards, {counts['reversals']} reversals, "
        f"{counts['paid']} marked paid."
    )
    activities = result.programme
    cancelled = counts["sessions"] - activities.sessions
    per_head = activities.cost_per_participant
    click.echo(
        f"  Activity programme ({MH_REFERENCE}): {activities.sessions} sessions held"
        + (f", {cancelled} cancelled" if cancelled else "")
        + f"; {activities.young_people} young people, {activities.places} places, "
        f"{format_money(activities.cost)}"
        + (f" ({format_money(per_head)} per young person)." if per_head else ".")
    )
    stock = result.vouchers
    lines = {line.status: line.count for line in stock.ordered_lines}
    click.echo(
        f"  Vouchers ({HSF_REFERENCE}): {counts['voucher batches']} batches, "
        f"{stock.bought_count} bought ({format_money(stock.bought_value)}): "
        f"{lines[VoucherStatus.ISSUED]} issued, {lines[VoucherStatus.IN_STOCK]} in stock, "
        f"{lines[VoucherStatus.RETURNED]} returned, "
        f"{lines[VoucherStatus.EXPIRED]} expired."
    )
    crf = result.crf
    click.echo(
        f"  Crisis and Resilience Fund ({crf.grant.reference}), April to June 2026: "
        f"{crf.awards} awards to {crf.households} households, {crf.reversals} reversed."
    )
    click.echo("")
    click.echo("Sign in with these accounts. The passwords are shown only this once:")
    for role, email, password in result.accounts:
        click.echo(f"  {role.value:<8} {email:<32} {password}")


backup_group = AppGroup(
    "backup", help="Back up the database, check a backup, restore one."
)


@backup_group.command("create")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    help="Folder for the backup and its manifest [default: instance/backups]",
)
def backup_create(out):
    """Copy the database (consistently, while it is in use) and write its manifest."""
    from pathlib import Path

    from funds.backups import BackupError, create_backup

    folder = Path(out) if out else Path(current_app.instance_path) / "backups"
    try:
        made = create_backup(folder)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    manifest = made.manifest
    click.echo(f"Wrote {made.path} ({manifest['bytes']:,} bytes)")
    click.echo(f"  manifest {made.manifest_path}")
    click.echo(
        f"  schema {manifest['schema_revision']}, "
        f"{sum(manifest['row_counts'].values()):,} rows in {len(manifest['row_counts'])} tables, "
        f"{len(manifest['grants'])} grants, sha256 {manifest['sha256'][:16]}…"
    )


@backup_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def backup_verify(file):
    """Restore a backup into a scratch database and compare it with its manifest."""
    from pathlib import Path

    from funds.backups import BackupError, verify_backup

    try:
        problems = verify_backup(Path(file))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    if problems:
        for problem in problems:
            click.secho(f"  {problem}", fg="red", err=True)
        raise click.ClickException("The backup does not match its manifest")
    click.secho(f"{file}: restores exactly as its manifest says.", fg="green")


@backup_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--force", is_flag=True, help="Replace a database that already holds data."
)
def backup_restore(file, force):
    """Restore a backup into the configured database, then upgrade it."""
    from pathlib import Path

    from flask_migrate import upgrade

    from funds.backups import BackupError, restore_backup
    from funds.grants.queries import grants_overview
    from funds.money import format_money

    try:
        manifest = restore_backup(Path(file), force=force)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    upgrade()
    click.secho(
        f"Restored {file} (taken {manifest['created_at']}), schema upgraded.",
        fg="green",
    )
    # People erased after that backup was taken come back with it: erase them again.
    from funds.privacy.erasure import replay_erasures

    replayed, held = replay_erasures()
    db.session.commit()
    click.echo(f"Erasures applied again: {len(replayed)}.")
    for reference in held:
        click.secho(
            f"  {reference} was erased after this backup but is held in it: "
            "not erased again; release the hold and run "
            "'flask --app app retention replay'.",
            fg="red",
        )
    for summary in grants_overview():
        click.echo(
            f"  {summary.grant.reference:<18} total {format_money(summary.grant.total):>14}"
            f"  spent {format_money(summary.spent):>14}"
        )


jobs_group = AppGroup("jobs", help="Background jobs: imports, large returns.")


@jobs_group.command("worker")
@click.option("--workers", default=2, show_default=True, help="Jobs run at once.")
def jobs_worker(workers: int) -> None:
    """Run jobs as they are asked for, until stopped (Ctrl+C or SIGTERM).

    With the embedded queue (instance/jobs.sqlite) run it beside the web server on the
    same machine; with FUNDS_REDIS_URL, on as many machines as you like.
    """
    from funds.jobs import queue

    if current_app.config.get("JOBS_IMMEDIATE"):
        raise click.ClickException(
            "Jobs run inside requests (JOBS_IMMEDIATE): no worker"
        )
    consumer = queue().create_consumer(workers=workers, worker_type="thread")
    click.echo(f"funds job worker: {workers} at a time. Ctrl+C to stop.", err=True)
    consumer.run()


commands = [
    init_instance,
    create_user_command,
    create_admin,
    seed_demo,
    backup_group,
    jobs_group,
]
