"""Backups that are proven, not promised: a consistent copy of the database, a manifest of
what it holds (checksum, schema revision, row counts, each grant's spend), a check that the
copy restores to exactly that, and a restore.

SQLite: ``VACUUM INTO`` (one consistent snapshot, writers carry on). PostgreSQL: ``pg_dump
-Fc`` from an exported snapshot, the manifest counted in that same snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump and pg_restore, with argument lists
import tempfile
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from sqlalchemy import inspect, make_url

from funds.extensions import db

#: Tables whose rows are counted in the manifest (every table but Alembic's own).
SKIP_TABLES = {"alembic_version"}


class BackupError(Exception):
    """A backup, a check or a restore that did not work; the message says why."""


@dataclass(frozen=True)
class Backup:
    path: Path
    manifest_path: Path
    manifest: dict


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _url():
    return make_url(db.engine.url.render_as_string(hide_password=False))


def _libpq(url) -> str:
    """A URL for psycopg and the PostgreSQL tools (no SQLAlchemy driver suffix)."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


# --- what a database holds ------------------------------------------------------------------


def _facts(cursor, tables: list[str], *, revision: bool = True) -> dict:
    """Schema revision, row counts and each grant's total and net spend, in pence."""
    row = None
    if revision:
        cursor.execute("SELECT version_num FROM alembic_version")
        row = cursor.fetchone()
    counts = {}
    for table in sorted(tables):
        cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - our table names
        counts[table] = cursor.fetchone()[0]
    cursor.execute(
        "SELECT g.reference, g.total_pence, COALESCE(SUM(d.amount_pence), 0) "
        "FROM grants g LEFT JOIN disbursements d ON d.grant_id = g.id "
        "GROUP BY g.id, g.reference, g.total_pence ORDER BY g.reference"
    )
    grants = {
        reference: {"total_pence": int(total), "spent_pence": int(spent)}
        for reference, total, spent in cursor.fetchall()
    }
    return {
        "schema_revision": row[0] if row else None,
        "row_counts": counts,
        "grants": grants,
    }


def _tables() -> list[str]:
    return [t for t in inspect(db.engine).get_table_names() if t not in SKIP_TABLES]


def _has_revision() -> bool:
    return "alembic_version" in inspect(db.engine).get_table_names()


def _sqlite_facts(path: Path, tables: list[str]) -> dict:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        revision = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
        ).fetchone()
        return _facts(connection.cursor(), tables, revision=bool(revision))
    finally:
        connection.close()


def _sqlite_integrity(path: Path) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()
    if result != "ok":
        raise BackupError(f"The copy failed SQLite's integrity check: {result}")


# --- create -----------------------------------------------------------------------------------


def create_backup(out_dir: Path) -> Backup:
    """Copy the database into ``out_dir`` with a manifest beside it.

    :raises BackupError: when the copy cannot be made or fails its integrity check.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    url = _url()
    tables = _tables()
    stamp = _stamp()
    if url.get_backend_name() == "sqlite":
        path = out_dir / f"funds-{stamp}.sqlite"
        source = sqlite3.connect(url.database)
        try:
            source.execute("VACUUM INTO ?", (str(path),))
        except sqlite3.Error as error:
            raise BackupError(f"SQLite could not copy the database: {error}") from error
        finally:
            source.close()
        _sqlite_integrity(path)
        facts = _sqlite_facts(path, tables)
        engine = "sqlite"
    else:
        path = out_dir / f"funds-{stamp}.dump"
        facts = _pg_dump(url, path, tables)
        engine = "postgresql"
    manifest = {
        "file": path.name,
        "engine": engine,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bytes": path.stat().st_size,
        "sha256": _sha256(path),
        **facts,
    }
    manifest_path = path.with_name(path.name + ".json")
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    return Backup(path, manifest_path, manifest)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} is not installed (Debian: apt-get install postgresql-client)"
        )
    return found


def _pg_dump(url, path: Path, tables: list[str]) -> dict:
    """pg_dump from a snapshot exported by a transaction that also counts the manifest."""
    with psycopg.connect(_libpq(url)) as connection:
        connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = connection.execute("SELECT pg_export_snapshot()").fetchone()[0]
        facts = _facts(connection.cursor(), tables, revision=_has_revision())
        result = subprocess.run(  # noqa: S603 - a fixed tool, our own arguments
            [
                _tool("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot}",
                f"--file={path}",
                f"--dbname={_libpq(url)}",
            ],
            capture_output=True,
            text=True,
        )
        connection.rollback()
    if result.returncode != 0:
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")
    listing = subprocess.run(  # noqa: S603
        [_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(
            f"The dump cannot be read back: {listing.stderr.strip()[:500]}"
        )
    return facts


# --- verify -----------------------------------------------------------------------------------


def read_manifest(path: Path) -> dict:
    manifest_path = path.with_name(path.name + ".json")
    if not manifest_path.exists():
        raise BackupError(f"No manifest beside the backup ({manifest_path.name})")
    try:
        return json.loads(manifest_path.read_text())
    except ValueError as error:
        raise BackupError("The manifest is not readable JSON") from error


@contextmanager
def _scratch_postgres(url):
    """A new empty database on the same server, dropped afterwards."""
    name = f"funds_verify_{uuid.uuid4().hex[:12]}"
    admin = url.set(database="postgres")
    with psycopg.connect(_libpq(admin), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name)
    finally:
        with psycopg.connect(_libpq(admin), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_restore(url, path: Path, *, clean: bool) -> None:
    command = [_tool("pg_restore"), "--no-owner", "--exit-on-error"]
    if clean:
        command += ["--clean", "--if-exists"]
    result = subprocess.run(  # noqa: S603
        [*command, f"--dbname={_libpq(url)}", str(path)], capture_output=True, text=True
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")


def _pg_facts(url, tables: list[str]) -> dict:
    with psycopg.connect(_libpq(url)) as connection:
        revision = connection.execute(
            "SELECT to_regclass('alembic_version') IS NOT NULL"
        ).fetchone()[0]
        return _facts(connection.cursor(), tables, revision=revision)


def verify_backup(path: Path) -> list[str]:
    """Restore the backup into a scratch database and compare it with its manifest.

    Returns the differences found (empty: the backup is good).
    """
    manifest = read_manifest(path)
    problems = []
    if not path.exists():
        return [f"{path} does not exist"]
    if _sha256(path) != manifest.get("sha256"):
        problems.append(
            "The file's SHA-256 differs from the manifest's: it has changed"
        )
        return problems
    tables = sorted(manifest.get("row_counts", {}))
    if manifest.get("engine") == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            copy = Path(folder) / "restored.sqlite"
            shutil.copyfile(path, copy)
            try:
                _sqlite_integrity(copy)
                facts = _sqlite_facts(copy, tables)
            except (BackupError, sqlite3.Error) as error:
                return [str(error)]
    else:
        with _scratch_postgres(_url()) as scratch:
            try:
                _pg_restore(scratch, path, clean=False)
                facts = _pg_facts(scratch, tables)
            except (BackupError, psycopg.Error) as error:
                return [str(error)]
    for key in ("schema_revision", "row_counts", "grants"):
        if facts[key] != manifest.get(key):
            problems.append(_difference(key, manifest.get(key), facts[key]))
    return problems


def _difference(key: str, expected, found) -> str:
    if isinstance(expected, dict) and isinstance(found, dict):
        keys = sorted(set(expected) | set(found))
        changed = [k for k in keys if expected.get(k) != found.get(k)]
        details = ", ".join(
            f"{k}: {expected.get(k)} in the manifest, {found.get(k)} restored"
            for k in changed[:5]
        )
        return f"{key.replace('_', ' ')} differ ({details})"
    return f"{key.replace('_', ' ')}: {expected} in the manifest, {found} restored"


# --- restore ----------------------------------------------------------------------------------


def database_is_empty() -> bool:
    """No table holds a row (a new installation, or one not yet upgraded)."""
    tables = _tables()
    if not tables:
        return True
    with db.engine.connect() as connection:
        for table in tables:
            found = connection.exec_driver_sql(
                f'SELECT 1 FROM "{table}" LIMIT 1'  # noqa: S608 - our table names
            ).first()
            if found is not None:
                return False
    return True


def restore_backup(path: Path, *, force: bool) -> dict:
    """Replace the configured database with the backup's contents; returns its manifest.

    :raises BackupError: for a database that is not empty (without ``force``), or a
        backup that is damaged or for the other engine.
    """
    manifest = read_manifest(path)
    if _sha256(path) != manifest.get("sha256"):
        raise BackupError(
            "The file's SHA-256 differs from its manifest: it has changed"
        )
    url = _url()
    engine = "sqlite" if url.get_backend_name() == "sqlite" else "postgresql"
    if manifest.get("engine") != engine:
        raise BackupError(
            f"This is a {manifest.get('engine')} backup; the database here is {engine}"
        )
    if not force and not database_is_empty():
        raise BackupError(
            "The database already holds data: restoring would replace it. Use --force "
            "if that is what you want (take a backup of it first)."
        )
    db.session.remove()
    db.engine.dispose()
    if engine == "sqlite":
        _sqlite_integrity(path)
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        target = sqlite3.connect(url.database)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        _pg_restore(url, path, clean=True)
    db.engine.dispose()
    return manifest


def backup_path(value: str) -> Path:
    return Path(os.path.expanduser(value)).resolve()
