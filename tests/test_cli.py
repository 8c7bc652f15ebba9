"""The flask commands: init-instance, create-user, create-admin."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy import select

from funds.auth.passwords import verify_password
from funds.extensions import db
from funds.models import Role, User
from tests.conftest import audit_actions, count


def test_init_instance_writes_a_private_random_key_once(app, runner):
    path = os.path.join(app.instance_path, "config.py")
    result = runner.invoke(args=["init-instance"])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    namespace: dict = {}
    exec(Path(path).read_text(), namespace)  # noqa: S102 - reading back the file we wrote
    key = namespace["SECRET_KEY"]
    assert len(key) == 64
    result = runner.invoke(args=["init-instance"])
    assert "already exists" in result.output
    namespace2: dict = {}
    exec(Path(path).read_text(), namespace2)  # noqa: S102
    assert namespace2["SECRET_KEY"] == key


def test_create_user_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Fin@Example.org",
            "--name",
            "Fin Ance",
            "--role",
            "finance",
            "--password-stdin",
        ],
        input="a-finance-passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "a-finance-passphrase" not in result.output
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.email == "fin@example.org")
        ).one()
        assert user.role == Role.FINANCE and not user.must_change_password
        assert verify_password(user.password_hash, "a-finance-passphrase")
    assert audit_actions(app) == ["user.create"]


def test_create_user_refuses_weak_passwords_and_duplicates(app, runner):
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--role",
            "staff",
            "--password-stdin",
        ],
        input="password1234\n",
    )
    assert result.exit_code != 0 and "too common" in result.output
    assert count(app, User) == 0
    ok = [
        "create-user",
        "--email",
        "a@example.org",
        "--name",
        "A",
        "--role",
        "staff",
        "--password-stdin",
    ]
    assert runner.invoke(args=ok, input="a-staff-passphrase\n").exit_code == 0
    again = runner.invoke(args=ok, input="a-staff-passphrase\n")
    assert again.exit_code != 0 and "already exists" in again.output
    bad_role = runner.invoke(
        args=[
            "create-user",
            "--email",
            "b@example.org",
            "--name",
            "B",
            "--role",
            "root",
        ]
    )
    assert bad_role.exit_code != 0
    assert count(app, User) == 1


def test_create_admin_prints_a_temporary_password(app, runner):
    result = runner.invoke(
        args=["create-admin", "--email", "boss@example.org", "--name", "Boss"]
    )
    assert result.exit_code == 0, result.output
    temporary = result.output.split("sign-in): ")[1].strip()
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.role == Role.ADMIN and user.must_change_password
        assert verify_password(user.password_hash, temporary)
