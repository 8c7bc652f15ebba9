"""``flask`` commands: init-instance, create-user, create-admin."""

from __future__ import annotations

import os
import secrets
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

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


commands = [init_instance, create_user_command, create_admin]
