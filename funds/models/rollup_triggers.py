"""The triggers that keep the rollups (funds.models.rollups) in step with the ledger.

SQLite: row triggers. PostgreSQL: statement triggers over the inserted rows (a bulk
import or a payment run of thousands of lines does one aggregate update, not thousands),
and a row trigger for vouchers. Every one runs inside the statement that fired it, so a
rollup is never seen out of step with the rows it sums.
"""

from __future__ import annotations

from sqlalchemy import DDL, MetaData, event

#: Voucher statuses whose face value the grant still holds (funds.balances.UNISSUED).
_HELD = "('in-stock', 'expired')"


def now_unpaid(line: str) -> str:
    """SQL: the award ``line`` (a disbursements alias) is not yet paid and not listed.
    The one rule is funds.payment_status.unpaid; this is the same rule, for triggers."""
    return (
        f"{line}.reverses_id IS NULL"
        f" AND NOT EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = {line}.id)"
        " AND NOT EXISTS (SELECT 1 FROM disbursement_payments p"
        f" WHERE p.disbursement_id = {line}.id)"
        f" AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.disbursement_id = {line}.id)"
        " AND NOT EXISTS (SELECT 1 FROM unpaid_awards u"
        f" WHERE u.disbursement_id = {line}.id)"
    )


def _relist(ident: str) -> str:
    """SQL: put the award ``ident`` back on the unpaid list when nothing settles it now."""
    return (
        "INSERT INTO unpaid_awards (disbursement_id, grant_id, awarded_on,"
        " amount_pence) SELECT d.id, d.grant_id, d.awarded_on, d.amount_pence"
        " FROM disbursements d"
        f" WHERE d.id = {ident} AND {now_unpaid('d')}"
    )


def _held(sign: str, row: str) -> str:
    return (
        f"UPDATE grant_balances SET held_pence = held_pence {sign}"
        f" (SELECT face_value_pence FROM voucher_batches WHERE id = {row}.batch_id)"
        " WHERE grant_id = (SELECT grant_id FROM voucher_batches"
        f" WHERE id = {row}.batch_id)"
    )


SQLITE = [
    "CREATE TRIGGER grants_balance AFTER INSERT ON grants BEGIN"
    " INSERT INTO grant_balances (grant_id, spent_pence, awards, lines,"
    " unpaid_awards, unpaid_pence, held_pence) VALUES (NEW.id, 0, 0, 0, 0, 0, 0); END",
    "CREATE TRIGGER disbursements_rollup AFTER INSERT ON disbursements BEGIN"
    " UPDATE grant_balances SET spent_pence = spent_pence + NEW.amount_pence,"
    " awards = awards + (NEW.reverses_id IS NULL), lines = lines + 1"
    " WHERE grant_id = NEW.grant_id;"
    " INSERT INTO ledger_rollups (grant_id, item_type_id, month, spent_pence, awards,"
    " lines) VALUES (NEW.grant_id, NEW.item_type_id,"
    " date(NEW.awarded_on, 'start of month'), NEW.amount_pence,"
    " NEW.reverses_id IS NULL, 1)"
    " ON CONFLICT (grant_id, item_type_id, month) DO UPDATE SET"
    " spent_pence = spent_pence + excluded.spent_pence,"
    " awards = awards + excluded.awards, lines = lines + 1;"
    " INSERT INTO ledger_days (grant_id, awarded_on, spent_pence)"
    " VALUES (NEW.grant_id, NEW.awarded_on, NEW.amount_pence)"
    " ON CONFLICT (grant_id, awarded_on) DO UPDATE SET"
    " spent_pence = spent_pence + excluded.spent_pence;"
    " INSERT INTO unpaid_awards (disbursement_id, grant_id, awarded_on, amount_pence)"
    " SELECT NEW.id, NEW.grant_id, NEW.awarded_on, NEW.amount_pence"
    " WHERE NEW.reverses_id IS NULL;"
    " DELETE FROM unpaid_awards WHERE disbursement_id = NEW.reverses_id; END",
    "CREATE TRIGGER disbursement_payments_rollup AFTER INSERT ON disbursement_payments"
    " BEGIN DELETE FROM unpaid_awards WHERE disbursement_id = NEW.disbursement_id; END",
    "CREATE TRIGGER unpaid_awards_added AFTER INSERT ON unpaid_awards BEGIN"
    " UPDATE grant_balances SET unpaid_pence = unpaid_pence + NEW.amount_pence,"
    " unpaid_awards = unpaid_awards + 1 WHERE grant_id = NEW.grant_id; END",
    "CREATE TRIGGER unpaid_awards_removed AFTER DELETE ON unpaid_awards BEGIN"
    " UPDATE grant_balances SET unpaid_pence = unpaid_pence - OLD.amount_pence,"
    " unpaid_awards = unpaid_awards - 1 WHERE grant_id = OLD.grant_id; END",
    "CREATE TRIGGER vouchers_rollup_insert AFTER INSERT ON vouchers BEGIN"
    f" {_held('+', 'NEW')} AND NEW.status IN {_HELD};"
    " DELETE FROM unpaid_awards WHERE disbursement_id = NEW.disbursement_id; END",
    "CREATE TRIGGER vouchers_rollup_update AFTER UPDATE ON vouchers BEGIN"
    f" {_held('-', 'OLD')} AND OLD.status IN {_HELD};"
    f" {_held('+', 'NEW')} AND NEW.status IN {_HELD};"
    " DELETE FROM unpaid_awards WHERE disbursement_id = NEW.disbursement_id;"
    f" {_relist('OLD.disbursement_id')}; END",
    "CREATE TRIGGER vouchers_rollup_delete AFTER DELETE ON vouchers BEGIN"
    f" {_held('-', 'OLD')} AND OLD.status IN {_HELD};"
    f" {_relist('OLD.disbursement_id')}; END",
]

_PG_TRIGGERS = {
    # name: (function body, trigger clause)
    "grants_balance": (
        "INSERT INTO grant_balances (grant_id, spent_pence, awards, lines,"
        " unpaid_awards, unpaid_pence, held_pence) VALUES (NEW.id, 0, 0, 0, 0, 0, 0);",
        "AFTER INSERT ON grants FOR EACH ROW",
    ),
    "disbursements_rollup": (
        "UPDATE grant_balances b SET spent_pence = b.spent_pence + n.spent,"
        " awards = b.awards + n.awards, lines = b.lines + n.lines FROM (SELECT"
        " grant_id, SUM(amount_pence) AS spent,"
        " COUNT(*) FILTER (WHERE reverses_id IS NULL) AS awards, COUNT(*) AS lines"
        " FROM new_rows GROUP BY grant_id) n WHERE b.grant_id = n.grant_id;"
        " INSERT INTO ledger_rollups AS r (grant_id, item_type_id, month, spent_pence,"
        " awards, lines) SELECT grant_id, item_type_id,"
        " CAST(date_trunc('month', awarded_on) AS date), SUM(amount_pence),"
        " COUNT(*) FILTER (WHERE reverses_id IS NULL), COUNT(*) FROM new_rows"
        " GROUP BY 1, 2, 3 ON CONFLICT (grant_id, item_type_id, month) DO UPDATE SET"
        " spent_pence = r.spent_pence + EXCLUDED.spent_pence,"
        " awards = r.awards + EXCLUDED.awards, lines = r.lines + EXCLUDED.lines;"
        " INSERT INTO ledger_days AS r (grant_id, awarded_on, spent_pence)"
        " SELECT grant_id, awarded_on, SUM(amount_pence) FROM new_rows"
        " GROUP BY 1, 2 ON CONFLICT (grant_id, awarded_on) DO UPDATE SET"
        " spent_pence = r.spent_pence + EXCLUDED.spent_pence;"
        " INSERT INTO unpaid_awards (disbursement_id, grant_id, awarded_on,"
        " amount_pence) SELECT id, grant_id, awarded_on, amount_pence FROM new_rows"
        " WHERE reverses_id IS NULL;"
        " DELETE FROM unpaid_awards WHERE disbursement_id IN"
        " (SELECT reverses_id FROM new_rows WHERE reverses_id IS NOT NULL);",
        "AFTER INSERT ON disbursements REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT",
    ),
    "disbursement_payments_rollup": (
        "DELETE FROM unpaid_awards WHERE disbursement_id IN"
        " (SELECT disbursement_id FROM new_rows);",
        "AFTER INSERT ON disbursement_payments REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT",
    ),
    "unpaid_awards_added": (
        "UPDATE grant_balances b SET unpaid_pence = b.unpaid_pence + n.total,"
        " unpaid_awards = b.unpaid_awards + n.awards FROM (SELECT grant_id,"
        " SUM(amount_pence) AS total, COUNT(*) AS awards FROM new_rows"
        " GROUP BY grant_id) n WHERE b.grant_id = n.grant_id;",
        "AFTER INSERT ON unpaid_awards REFERENCING NEW TABLE AS new_rows"
        " FOR EACH STATEMENT",
    ),
    "unpaid_awards_removed": (
        "UPDATE grant_balances b SET unpaid_pence = b.unpaid_pence - n.total,"
        " unpaid_awards = b.unpaid_awards - n.awards FROM (SELECT grant_id,"
        " SUM(amount_pence) AS total, COUNT(*) AS awards FROM old_rows"
        " GROUP BY grant_id) n WHERE b.grant_id = n.grant_id;",
        "AFTER DELETE ON unpaid_awards REFERENCING OLD TABLE AS old_rows"
        " FOR EACH STATEMENT",
    ),
    "vouchers_rollup": (
        f"IF TG_OP <> 'INSERT' AND OLD.status IN {_HELD} THEN {_held('-', 'OLD')};"
        " END IF;"
        f" IF TG_OP <> 'DELETE' AND NEW.status IN {_HELD} THEN {_held('+', 'NEW')};"
        " END IF;"
        " IF TG_OP <> 'DELETE' AND NEW.disbursement_id IS NOT NULL THEN"
        " DELETE FROM unpaid_awards WHERE disbursement_id = NEW.disbursement_id;"
        " END IF;"
        " IF TG_OP <> 'INSERT' AND OLD.disbursement_id IS NOT NULL THEN"
        f" {_relist('OLD.disbursement_id')}; END IF;",
        "AFTER INSERT OR UPDATE OR DELETE ON vouchers FOR EACH ROW",
    ),
}


def _postgresql() -> list[str]:
    statements = []
    for name, (body, clause) in _PG_TRIGGERS.items():
        statements.append(
            f"CREATE OR REPLACE FUNCTION funds_{name}() RETURNS trigger AS $$"
            f" BEGIN {body} RETURN NULL; END; $$ LANGUAGE plpgsql"
        )
        statements.append(
            f"CREATE TRIGGER {name} {clause} EXECUTE FUNCTION funds_{name}()"
        )
    return statements


def _tables() -> dict[str, str]:
    """Each trigger's name and the table it is on."""
    return {
        name: clause.split(" ON ")[1].split()[0]
        for name, (_, clause) in _PG_TRIGGERS.items()
    }


def rollup_statements(dialect: str) -> list[str]:
    """The SQL that creates the rollup triggers on ``dialect``."""
    if dialect == "sqlite":
        return list(SQLITE)
    if dialect == "postgresql":
        return _postgresql()
    raise ValueError(f"no rollup triggers for {dialect}")


def drop_rollup_statements(dialect: str) -> list[str]:
    """The SQL that removes them again (a migration's downgrade)."""
    if dialect == "sqlite":
        names = [statement.split()[2] for statement in SQLITE]
        return [f"DROP TRIGGER IF EXISTS {name}" for name in names]
    return [
        f"DROP TRIGGER IF EXISTS {name} ON {table}" for name, table in _tables().items()
    ] + [f"DROP FUNCTION IF EXISTS funds_{name}()" for name in _PG_TRIGGERS]


def make_rollups(metadata: MetaData) -> None:
    """Create the triggers whenever ``metadata.create_all`` creates the tables."""
    for dialect in ("sqlite", "postgresql"):
        for statement in rollup_statements(dialect):
            ddl = DDL(statement.replace("%", "%%")).execute_if(dialect=dialect)
            event.listen(metadata, "after_create", ddl)
