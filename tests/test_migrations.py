"""Migrations: upgrade an empty database, then autogenerate finds nothing left to do."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from funds import create_app
from funds.extensions import db
from funds.ledger.verify import verify_rollups
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, make_config


def _compare(app) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def _check_upgrade(url: str, tmp_path) -> None:
    app = create_app(
        make_config(SQLALCHEMY_DATABASE_URI=url), instance_path=str(tmp_path)
    )
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
    assert {
        "users",
        "audit_events",
        "login_failures",
        "grants",
        "disbursements",
        "alembic_version",
    } <= tables
    assert _compare(app) == []
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO audit_events (at, action) VALUES (CURRENT_TIMESTAMP, 'probe')"
            )
        )
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM audit_events"))
        db.session.rollback()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
    _check_rollups_backfill(app)
    with app.app_context():
        db.engine.dispose()


def _check_rollups_backfill(app) -> None:
    """The running totals' migration fills them from a ledger already there (the demo's
    awards, reversals, payments and vouchers), and its triggers keep them from then on."""
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        downgrade(revision="c59ca5cc8e59")
        assert "grant_balances" not in inspect(db.engine).get_table_names()
        upgrade()
        assert db.session.scalar(text("SELECT COUNT(*) FROM unpaid_awards")) > 0
        assert verify_rollups() == []
        grant_id, spent = db.session.execute(
            text("SELECT grant_id, spent_pence FROM grant_balances ORDER BY grant_id")
        ).first()
        db.session.execute(
            text(
                "INSERT INTO disbursements (grant_id, item_type_id, quantity,"
                " amount_pence, awarded_on, delivery_method, created_by_id,"
                " overspend_confirmed, created_at) SELECT :grant, id, 1, 1234,"
                " '2024-05-01', 'voucher', (SELECT MIN(id) FROM users), FALSE,"
                " CURRENT_TIMESTAMP FROM item_types ORDER BY id LIMIT 1"
            ),
            {"grant": grant_id},
        )
        assert (
            db.session.scalar(
                text("SELECT spent_pence FROM grant_balances WHERE grant_id = :g"),
                {"g": grant_id},
            )
            == spent + 1234
        )
        assert verify_rollups() == []
        db.session.rollback()
        db.session.remove()


def test_sqlite_upgrade_matches_the_models(tmp_path):
    _check_upgrade(f"sqlite:///{tmp_path}/migrated.sqlite", tmp_path)


@pytest.mark.skipif(
    not ON_POSTGRES, reason="set FUNDS_TEST_DATABASE_URL to a PostgreSQL database"
)
def test_postgresql_upgrade_matches_the_models(tmp_path):
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql+psycopg")
    name = f"funds_migrations_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        _check_upgrade(
            server.set(database=name).render_as_string(hide_password=False), tmp_path
        )
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
