"""Benchmark: every hot page over a large ledger, against a bare page in the same run.

Usage: .venv/bin/python scripts/bench_pages.py [--lines 10000,100000,1000000]
       [--repeat 7] [--database-url postgresql://postgres@127.0.0.1:5432/bench]

For each size: an empty database, then 20 grants (three years each), 50,000 households
(fewer for small ledgers) and ``lines`` ledger lines spread over the grants and days,
1 in 20 of them reversed, every other award paid. Lines and payments go in with plain
INSERTs in batches (funds.database.bulk_insert), so the database's own triggers keep the
running totals exactly as they do for the app. On PostgreSQL, VACUUM ANALYZE follows (as
autovacuum would); then ``flask ledger verify``'s check. Then a manager signs in and each
page is requested with Flask's test client, interleaved, ``repeat`` times. The bare page renders 50 rows held in memory through the
same app and layout: the floor every page pays. Prints each page's median, range and
ratio to the bare page, then the ratios side by side for every size.

Say what else was running when you quote the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.bench_dashboard import _app  # noqa: E402 - the same test-mode app

PASSWORD = "benchmark-password-long-enough"  # noqa: S105 - a throwaway database's user
START = date(2023, 4, 1)
DAYS = 3 * 365
GRANTS = 20
BATCH = 20_000
BARE = """{% extends "base.html" %}{% block body %}<table class="govuk-table">
{% for row in rows %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td>
<td>{{ row[2]|money }}</td></tr>{% endfor %}</table>{% endblock %}"""
BARE_NAME = "bare page (50 rows from memory)"


def _empty(app) -> None:
    from funds.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()


def load(app, lines: int, *, ends_after_today: bool = False) -> dict:
    """The grants, people and ledger; returns the ids the pages take. The grants run
    three years from 1 April 2023, or (``ends_after_today``) end a month from today."""
    from sqlalchemy import select, text

    from funds.auth.passwords import hash_password
    from funds.database import bulk_insert
    from funds.extensions import db
    from funds.grants.services import create_funder, create_grant
    from funds.models import (
        HSF_CATEGORIES,
        Disbursement,
        Household,
        ItemType,
        Role,
        User,
    )
    from funds.taxonomy.defaults import (
        apply_default_hsf_mapping,
        ensure_default_taxonomy,
    )

    rng = random.Random(7)
    start = START
    if ends_after_today:
        start = date.today() + timedelta(days=30 - DAYS)
    with app.app_context():
        ensure_default_taxonomy()
        user = User(
            email="manager@example.org",
            name="Manager",
            role=Role.MANAGER,
            password_hash=hash_password(PASSWORD),
        )
        db.session.add(user)
        db.session.flush()
        funder = create_funder(
            actor=user, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        grant_ids = [
            create_grant(
                actor=user,
                reference=f"HSF-{n:02d}",
                title=f"Household Support Fund {n}",
                funder_id=funder.id,
                total=Decimal("99999999.00"),
                starts_on=start,
                ends_on=start + timedelta(days=DAYS - 1),
            ).id
            for n in range(GRANTS)
        ]
        people = min(50_000, max(lines // 20, 100))
        bulk_insert(
            Household,
            [
                {
                    "reference": f"H-B{n:06d}",
                    "adults": 1 + n % 2,
                    "children": n % 3,
                    "has_children": n % 3 > 0,
                    "has_pensioner": n % 7 == 0,
                    "has_disabled_person": n % 5 == 0,
                    "has_care_leaver": False,
                }
                for n in range(people)
            ],
        )
        households = list(db.session.scalars(select(Household.id)))
        items = list(db.session.scalars(select(ItemType.id).where(ItemType.active)))
        db.session.commit()
        amounts = [Decimal(a) for a in ("20.00", "30.00", "45.50", "312.99", "0.01")]
        written = 0
        while written < lines:
            size = min(BATCH, lines - written)
            awards = [
                {
                    "grant_id": rng.choice(grant_ids),
                    "item_type_id": rng.choice(items),
                    # 1 line in 10 has no beneficiary (staff and running costs).
                    "household_id": rng.choice(households)
                    if rng.random() > 0.1
                    else None,
                    "quantity": 1,
                    "amount": rng.choice(amounts),
                    "awarded_on": start + timedelta(days=rng.randrange(DAYS - 30)),
                    "supplier": rng.choice(
                        ["Tesco", "Currys", "=SUM(A1)", "British Gas"]
                    ),
                    "delivery_method": rng.choice(
                        ["voucher", "direct-purchase", "bill-payment"]
                    ),
                    "access_route": "application",
                    "created_by_id": user.id,
                    "overspend_confirmed": False,
                }
                for _ in range(size - size // 20)
            ]
            ids = bulk_insert(Disbursement, awards, ids=True)
            reversals = [
                {
                    **award,
                    "amount": -award["amount"],
                    "reverses_id": ident,
                    "reason": "Recorded twice",
                }
                for ident, award in zip(ids[: size // 20], awards, strict=False)
            ]
            bulk_insert(Disbursement, reversals)
            written += size
        # Every other award still standing is paid.
        db.session.execute(
            text(
                "INSERT INTO disbursement_payments (disbursement_id, paid_on,"
                " payment_reference, recorded_by_id, recorded_at)"
                " SELECT d.id, d.awarded_on, 'BACS', :user, CURRENT_TIMESTAMP"
                " FROM disbursements d WHERE d.id % 2 = 0 AND d.reverses_id IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM disbursements r"
                " WHERE r.reverses_id = d.id)"
            ),
            {"user": user.id},
        )
        db.session.commit()
        return {
            "user": user.id,
            "grant": grant_ids[0],
            "household": households[len(households) // 2],
        }


def settle(app) -> None:
    """PostgreSQL: VACUUM ANALYZE, as autovacuum would soon after a load this size. The
    bulk load leaves the rollup rows' old versions behind (every batch updates them), and
    planner statistics empty; a running server's tables are vacuumed and analysed."""
    from funds.extensions import db

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.exec_driver_sql("VACUUM ANALYZE")


def verify(app) -> None:
    from funds.extensions import db
    from funds.ledger.verify import verify_rollups

    with app.app_context():
        differences = verify_rollups()
        db.session.remove()
    assert not differences, [str(d) for d in differences[:5]]


def pages(ids: dict) -> dict[str, str]:
    grant = ids["grant"]
    return {
        BARE_NAME: "/bench/bare",
        "dashboard (home)": "/",
        "grants overview": "/grants/",
        "one grant's page": f"/grants/{grant}",
        "a grant's spend against profile": f"/dashboard/grants/{grant}",
        "awards list, first page": "/awards/",
        "awards list, one grant": f"/awards/?grant_id={grant}",
        "awards not yet paid": "/awards/?payment_status=unpaid",
        "record an award (form)": "/awards/new",
        "a household's page": f"/households/{ids['household']}",
        "income of a grant": f"/income/grants/{grant}",
    }


def measure(app, ids: dict, repeat: int) -> dict[str, list[float]]:
    from flask import render_template_string

    from funds.permissions import PERMISSIONS, SIGNED_IN

    if "bench_bare" not in app.view_functions:

        @app.route("/bench/bare", endpoint="bench_bare")
        def bare():
            rows = [(n, f"Row {n}", Decimal(n) / 4) for n in range(50)]
            return render_template_string(BARE, rows=rows)

    PERMISSIONS["bench_bare"] = SIGNED_IN
    client = app.test_client()
    response = client.post(
        "/login", data={"email": "manager@example.org", "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code
    wanted = pages(ids)
    for path in wanted.values():  # warm up: templates compiled, caches filled
        assert client.get(path).status_code == 200, path
    timings: dict[str, list[float]] = {name: [] for name in wanted}
    for _ in range(repeat):
        for name, path in wanted.items():
            start = time.perf_counter()
            response = client.get(path)
            response.get_data()
            timings[name].append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200, (path, response.status_code)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    sizes = [int(n) for n in args.lines.split(",")]
    ratios: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for lines in sizes:
            url = args.database_url or f"sqlite:///{tmp}/bench-{lines}.sqlite"
            app = _app(url)
            _empty(app)
            started = time.perf_counter()
            ids = load(app, lines)
            loaded = time.perf_counter() - started
            settle(app)
            started = time.perf_counter()
            verify(app)
            checked = time.perf_counter() - started
            engine = url.split(":", 1)[0]
            print(
                f"{engine}: loaded {lines:,} lines in {loaded:.1f} s;"
                f" running totals verified in {checked:.1f} s"
            )
            timings = measure(app, ids, args.repeat)
            floor = statistics.median(timings[BARE_NAME])
            print(f"{engine}, {lines:,} ledger lines, medians of {args.repeat}:")
            ratios[lines] = {}
            for name, values in timings.items():
                median = statistics.median(values)
                ratios[lines][name] = median / floor
                print(
                    f"  {name:34} {median:8.1f} ms  [{min(values):.1f}-{max(values):.1f}]"
                    f"  {median / floor:6.1f}x"
                )
            from funds.extensions import db

            with app.app_context():
                db.engine.dispose()
    print("ratio to the bare page:", "  ".join(f"{n:>10,}" for n in sizes))
    for name in pages({"grant": 0, "household": 0}):
        print(f"  {name:34}", "  ".join(f"{ratios[n][name]:9.1f}x" for n in sizes))


if __name__ == "__main__":
    main()
