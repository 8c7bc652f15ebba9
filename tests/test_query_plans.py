"""Every query a hot page runs reads the ledger through an index, never a full scan.

Each page is requested as a manager, the SQL it ran is captured, and each SELECT is
explained on the test's own engine:

- SQLite (``EXPLAIN QUERY PLAN``): no ``SCAN`` of a ledger table, except an ordered index
  walk that a LIMIT stops (a page of the awards list, newest first);
- PostgreSQL (``EXPLAIN (FORMAT JSON)`` with sequential scans discouraged, since a tiny
  test table would otherwise always be read whole): every ledger table is read by an
  index condition, again except an ordered walk under a LIMIT.

So a page's cost does not grow with the ledger (scripts/bench_pages.py measures it).
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import event, text

from funds.extensions import db
from funds.models import Role
from tests.conftest import ON_POSTGRES

#: The tables that grow with the ledger: never read whole, never summed per grant.
LEDGER = {"disbursements", "disbursement_payments", "unpaid_awards", "vouchers"}
#: Tables that grow with the activity programme: never read whole (the programme's
#: figures sum a grant's sessions, as a return sums its lines).
GROWING = LEDGER | {"activity_sessions", "attendances"}

HOT_PAGES = [
    "/",
    "/grants/",
    "/grants/{grant_id}",
    "/dashboard/grants/{grant_id}",
    "/awards/",
    "/awards/?grant_id={grant_id}",
    "/awards/?payment_status=unpaid",
    "/awards/?payment_status=unpaid&grant_id={grant_id}",
    "/awards/new",
    "/households/{household_id}",
    "/income/grants/{grant_id}",
    "/income/fund-movements",
    "/activities/",
    "/activities/programme/{grant_id}",
    "/vouchers/",
    "/vouchers/reconciliation/{grant_id}",
    "/returns/",
]


def _captured(app, client, path: str) -> list[tuple[str, object]]:
    statements: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def _capture(_conn, _cursor, statement, parameters, _context, _many):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", _capture)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", _capture)
    assert response.status_code == 200, (path, response.status_code)
    return statements


def _sqlite_scans(statement: str, parameters) -> list[str]:
    connection = db.session.connection().connection.driver_connection
    plan = [
        row[3]
        for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
    ]
    limited = " LIMIT " in statement.upper() and not any(
        "TEMP B-TREE FOR ORDER BY" in line for line in plan
    )
    found = []
    for line in plan:
        match = re.match(r"SCAN (\w+)", line)
        if match and match.group(1) in GROWING:
            if limited and "USING" in line:
                continue  # an ordered index walk that the LIMIT stops
            found.append(line)
        match = re.match(r"SEARCH (\w+) USING .*\((.*)\)$", line)
        if (
            match
            and match.group(1) in LEDGER
            and _sums_a_grant(statement, match.group(2))
        ):
            found.append(line)
    return found


def _sums_a_grant(statement: str, condition: str) -> bool:
    """A sum or count over every line of a grant (or of a grant's dates): the cost grows
    with the grant's ledger, so it belongs in the running totals."""
    upper = statement.upper()
    if " LIMIT " in upper or not ("SUM(" in upper or "COUNT(" in upper):
        return False
    columns = set(re.findall(r"([a-z_]+)\s*[=<>]", condition.lower()))
    return bool(columns) and columns <= {"grant_id", "awarded_on"}


def _postgresql_scans(statement: str, parameters) -> list[str]:
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        (plan,) = cursor.fetchone()
        cursor.execute("RESET enable_seqscan")
    if isinstance(plan, str):
        plan = json.loads(plan)
    found = []

    def walk(node, limited):
        limited = limited or node["Node Type"] == "Limit"
        relation = node.get("Relation Name")
        if relation in GROWING:
            indexed = "Index Cond" in node or "Recheck Cond" in node
            ordered_walk = limited and node["Node Type"].startswith("Index")
            if not (indexed or ordered_walk):
                found.append(f"{node['Node Type']} on {relation}")
            condition = node.get("Index Cond") or node.get("Recheck Cond") or ""
            if relation in LEDGER and indexed and _sums_a_grant(statement, condition):
                found.append(f"{node['Node Type']} on {relation}: {condition}")
        for child in node.get("Plans", []):
            walk(child, limited)

    walk(plan[0]["Plan"], False)
    return found


@pytest.mark.parametrize("page", HOT_PAGES)
def test_a_hot_page_reads_no_ledger_table_whole(
    app, client, login, create_user, records, page
):
    login(create_user(Role.MANAGER, email="planner@example.org"))
    path = page.format(**records)
    statements = _captured(app, client, path)
    assert statements, "the page ran no query: the capture is broken"
    scans = _postgresql_scans if ON_POSTGRES else _sqlite_scans
    problems = []
    with app.app_context():
        for statement, parameters in statements:
            for scan in scans(statement, parameters):
                problems.append(f"{scan}: {' '.join(statement.split())}")
        db.session.rollback()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT SUM(amount_pence) FROM disbursements",
        "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = 1",
        "SELECT COUNT(*) FROM disbursements WHERE grant_id = 1 AND awarded_on > '2024-01-01'",
    ],
)
def test_the_check_catches_reading_the_ledger_whole(app, statement):
    """The checks above can fail: a sum over the whole ledger, or over one grant's
    lines, is reported."""
    with app.app_context():
        if ON_POSTGRES:
            found = _postgresql_scans(statement, {})
        else:
            found = _sqlite_scans(statement, ())
        db.session.execute(text("SELECT 1"))
    assert found
