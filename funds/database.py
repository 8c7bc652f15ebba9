"""Engine set-up: SQLite pragmas and BEGIN IMMEDIATE; row locks on PostgreSQL."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from funds.extensions import db

#: How long a SQLite writer waits for the write lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 15000


def configure_engine(app: Flask) -> None:
    """Attach the SQLite recipe to the app's engine (a no-op on PostgreSQL)."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    # The SQLAlchemy-documented recipe ("Transactions with SQLite and the sqlite3 driver"),
    # with BEGIN IMMEDIATE so that a transaction holds the write lock before it reads a
    # balance: two clerks can then never both see the same remaining money.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL folds "ZOË" to "zoë" too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def lock_for_update(model, ident):
    """Load one row and lock it for the rest of the transaction.

    On PostgreSQL this is ``SELECT ... FOR UPDATE``. SQLite silently drops FOR UPDATE, but
    there every transaction already began with BEGIN IMMEDIATE and holds the write lock.
    """
    return db.session.execute(
        select(model).where(model.id == ident).with_for_update()
    ).scalar_one_or_none()
