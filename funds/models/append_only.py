"""Database triggers that refuse UPDATE and DELETE on append-only tables."""

from __future__ import annotations

from sqlalchemy import DDL, Table, event

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION funds_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: record a reversal instead', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
"""


def trigger_statements(table: str, dialect: str) -> list[str]:
    """The SQL that makes ``table`` append-only on ``dialect`` (sqlite or postgresql)."""
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a reversal instead'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: record a reversal instead'); END",
        ]
    if dialect == "postgresql":
        return [
            PG_FUNCTION,
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION funds_refuse_change()",
        ]
    raise ValueError(f"no append-only triggers for {dialect}")


def drop_statements(table: str, dialect: str) -> list[str]:
    """The SQL that removes the triggers again (for a migration's downgrade)."""
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update",
            f"DROP TRIGGER IF EXISTS {table}_no_delete",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"]


def make_append_only(table: Table) -> None:
    """Create the triggers whenever ``table`` is created with ``metadata.create_all``."""
    for dialect in ("sqlite", "postgresql"):
        for statement in trigger_statements(table.name, dialect):
            # DDL() treats % as a format character, so escape it.
            ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
            event.listen(table, "after_create", ddl)


def redactable_statements(
    table: str, columns: list[str], redactable: list[str], dialect: str
) -> list[str]:
    """Append-only, except one redaction: an UPDATE that sets ``redacted_at`` (once) and
    changes nothing but the ``redactable`` columns. An erasure uses it to blank a person's
    details in the audit trail and the ledger's notes; every amount, date and link stays."""
    kept = [c for c in columns if c not in redactable and c != "redacted_at"]
    message = f"{table} is append-only: record a reversal instead"
    if dialect == "sqlite":
        same = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in kept)
        allowed = f"OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL AND {same}"
        return [
            f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
            f"WHEN NOT ({allowed}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END",
        ]
    if dialect == "postgresql":
        same = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in kept)
        function = f"funds_{table}_redact_only"
        return [
            f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
       AND {same} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: record a reversal instead', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql
""",
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        ]
    raise ValueError(f"no append-only triggers for {dialect}")


def make_redactable(table: Table, redactable: list[str]) -> None:
    """Like make_append_only, with the single redaction redactable_statements allows."""
    columns = [column.name for column in table.columns]
    for dialect in ("sqlite", "postgresql"):
        for statement in redactable_statements(
            table.name, columns, redactable, dialect
        ):
            ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
            event.listen(table, "after_create", ddl)
