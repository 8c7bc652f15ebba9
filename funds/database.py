"""Engine set-up. SQLite: reads never wait for writers; writes hold the write lock.
PostgreSQL: rows are locked FOR UPDATE."""

from __future__ import annotations

import functools
from contextvars import ContextVar

from flask import Flask
from sqlalchemy import event, func, select, text
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
    # populate_existing: a row this session already loaded is read again under the lock,
    # so a check made on it (erased? held?) sees what another transaction committed.
    return db.session.execute(
        select(model)
        .where(model.id == ident)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def bulk_insert(model, rows: list[dict], *, ids: bool = False) -> list[int] | None:
    """Insert many rows of one model in the current transaction, fast on both engines;
    with ``ids``, the new rows' ids in the order of ``rows``.

    PostgreSQL: one ``INSERT ... SELECT FROM unnest(arrays) ORDER BY ordinality`` a batch
    (a short statement whatever the batch's size; ids are taken in that order, so sorted
    they match the rows). SQLite: one executemany; the ids are the next ones after the
    largest, as the caller holds the write lock (``begin_writing``).
    """
    if not rows:
        return [] if ids else None
    table = model.__table__
    dialect = db.session.get_bind().dialect
    mapper = model.__mapper__
    if dialect.name != "postgresql":
        # Core's executemany on the table (its columns' own names; Core fills defaults).
        names = [(key, mapper.columns[key].key) for key in rows[0]]
        values = [{name: row[key] for key, name in names} for row in rows]
        first = None
        if ids:
            first = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
            for n, row in enumerate(values):
                row["id"] = first + n
        db.session.execute(table.insert(), values)
        return list(range(first, first + len(values))) if ids else None
    given = [mapper.columns[key] for key in rows[0]]
    arrays: dict[str, list] = {}
    for key, column in zip(rows[0], given, strict=True):
        process = column.type.bind_processor(dialect)
        values = [row[key] for row in rows]
        arrays[column.name] = [process(v) for v in values] if process else values
    # Python-side defaults (created_at and the like), as the ORM would fill them.
    columns = list(given)
    for column in table.columns:
        if column in given or column.primary_key or column.default is None:
            continue
        if column.default.is_scalar:
            value = column.default.arg
        elif column.default.is_callable:
            value = column.default.arg(None)
        else:
            continue
        process = column.type.bind_processor(dialect)
        arrays[column.name] = [process(value) if process else value] * len(rows)
        columns.append(column)
    names = ", ".join(f'"{c.name}"' for c in columns)
    unnest = ", ".join(
        f"CAST(:{c.name} AS {c.type.compile(dialect=dialect)}[])" for c in columns
    )
    # Only the model's own table and column names go into the text; values are bound.
    sql = (
        f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM '  # noqa: S608
        f"unnest({unnest}) WITH ORDINALITY AS u({names}, n) ORDER BY n"
    )
    if ids:
        returned = db.session.scalars(text(sql + " RETURNING id"), arrays).all()
        return sorted(returned)
    db.session.execute(text(sql), arrays)
    return None
