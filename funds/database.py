"""Engine set-up. SQLite: reads never wait for writers; writes hold the write lock.
PostgreSQL: rows are locked FOR UPDATE."""

from __future__ import annotations

import functools
from contextvars import ContextVar

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from funds.extensions import db

#: How long a SQLite writer waits for the write lock before giving up (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 15000
#: The next SQLite transaction of this thread takes the write lock when it begins.
_WRITING: ContextVar[bool] = ContextVar("funds_sqlite_writing", default=False)
_WRITES = ("insert", "update", "delete", "replace")


def configure_engine(app: Flask) -> None:
    """Attach the SQLite recipe, or PostgreSQL's lock timeout, to the app's engine."""
    with app.app_context():
        engine = db.engine
    timeout = int(app.config.get("LOCK_TIMEOUT_MS", SQLITE_BUSY_TIMEOUT_MS))
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, timeout)
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine, timeout)


def _configure_postgresql(engine: Engine, lock_timeout_ms: int) -> None:
    # A request waiting on a row another request has locked gives up after this long (and
    # is answered "busy: try again"), instead of waiting for ever.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(lock_timeout_ms)}")
        dbapi_connection.commit()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # The SQLAlchemy-documented recipe ("Transactions with SQLite and the sqlite3 driver").
    # A transaction begins DEFERRED (a reader: in WAL mode it never waits for a writer),
    # unless begin_writing() asked for the write lock first (BEGIN IMMEDIATE), so that a
    # service reads a balance already holding the lock: two clerks can never both see the
    # same remaining money.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()
        # SQLite's own lower() folds ASCII only; PostgreSQL folds "ZOË" to "zoë" too.
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = _WRITING.get()
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
        connection.info["immediate"] = immediate
        connection.info["wrote"] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection, _cursor, statement, *_args):
        if statement.lstrip()[:7].lower().startswith(_WRITES):
            connection.info["wrote"] = True


@event.listens_for(Session, "after_transaction_end")
def _writing_ends(session, transaction):
    """The write intent lasts one transaction: the next one reads until asked again."""
    if transaction.parent is None:
        _WRITING.set(False)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def begin_writing() -> None:
    """Make the current (or next) transaction one that holds SQLite's write lock.

    A transaction that has only read so far is ended first (it wrote nothing), so that the
    write lock is taken at the start of a fresh one and everything the service reads from
    then on is current. Objects loaded earlier reload on their next use. A transaction
    that already wrote holds the lock already. On PostgreSQL: nothing to do.
    """
    if db.engine.dialect.name != "sqlite":
        return
    session = db.session()  # the request's Session (db.session is its scoped proxy)
    if session.in_transaction():
        info = session.connection().info
        if info.get("immediate") or info.get("wrote"):
            return
        session.commit()
    _WRITING.set(True)


def writes(service):
    """Decorate a service that writes: its transaction holds the write lock from its start."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        begin_writing()
        return service(*args, **kwargs)

    return wrapper


def lock_for_update(model, ident):
    """Load one row and lock it for the rest of the transaction.

    On PostgreSQL this is ``SELECT ... FOR UPDATE``. SQLite drops FOR UPDATE, but there the
    transaction holds the database's write lock (begin_writing) before the row is read.
    """
    begin_writing()
    return db.session.execute(
        select(model).where(model.id == ident).with_for_update()
    ).scalar_one_or_none()
