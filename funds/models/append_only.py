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
