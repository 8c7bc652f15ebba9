"""Benchmark: the finance pages over a large ledger, against a bare page in the same run.

Usage: .venv/bin/python scripts/bench_dashboard.py [--rows 100000] [--repeat 5]
       [--database-url postgresql://postgres@127.0.0.1:5432/bench]

Loads a synthetic year (scripts/bench_returns.py's loader: one grant, households, ``rows``
ledger lines), marks every other award paid, then signs in as finance and requests each
page with Flask's test client, interleaved, ``repeat`` times. The bare page renders a table
of 50 rows held in memory through the same app (the floor every page pays: Flask, Jinja,
the layout). Prints the median and range of each, and the ratio to the bare page's median.
Say what else was running when you quote the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.bench_returns import load  # noqa: E402

PASSWORD = "benchmark-password-long-enough"  # noqa: S105 - a throwaway database's user
BARE = """{% extends "base.html" %}{% block body %}<table class="govuk-table">
{% for row in rows %}<tr><td>{{ row[0] }}</td><td>{{ row[1] }}</td>
<td>{{ row[2]|money }}</td></tr>{% endfor %}</table>{% endblock %}"""


def _app(url: str):
    from funds import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark-secret-key-long-enough-to-pass",
            "SQLALCHEMY_DATABASE_URI": url,
            "ORGANISATION_NAME": "Benchmark charity",
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )


def prepare(url: str) -> int:
    """Every other award paid; a finance user; the grant's id."""
    from sqlalchemy import select, text

    from funds.auth.passwords import hash_password
    from funds.extensions import db
    from funds.models import Grant, Role, User

    app = _app(url)
    with app.app_context():
        bench = db.session.scalar(select(User).where(User.email == "bench@example.org"))
        db.session.execute(
            text(
                "INSERT INTO disbursement_payments"
                " (disbursement_id, paid_on, payment_reference, recorded_by_id,"
                " recorded_at)"
                " SELECT id, awarded_on, 'BACS', :user, CURRENT_TIMESTAMP"
                " FROM disbursements WHERE id % 2 = 0"
            ),
            {"user": bench.id},
        )
        db.session.add(
            User(
                email="finance@example.org",
                name="Finance",
                role=Role.FINANCE,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
        return db.session.scalar(select(Grant.id))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        started = time.perf_counter()
        load(url, args.rows)
        grant_id = prepare(url)
        print(f"loaded {args.rows:,} lines in {time.perf_counter() - started:.1f} s")

        from flask import render_template_string

        from funds.extensions import db

        app = _app(url)

        @app.route("/bench/bare")
        def bare():
            rows = [(n, f"Row {n}", Decimal(n) / 4) for n in range(50)]
            return render_template_string(BARE, rows=rows)

        from funds.permissions import PERMISSIONS, SIGNED_IN

        PERMISSIONS["bare"] = SIGNED_IN
        client = app.test_client()
        response = client.post(
            "/login", data={"email": "finance@example.org", "password": PASSWORD}
        )
        assert response.status_code == 302, response.status_code
        pages = {
            "bare page (50 rows from memory)": "/bench/bare",
            "dashboard (home)": "/",
            "grant: spend against profile": f"/dashboard/grants/{grant_id}",
            "awards not yet paid (first page)": "/awards/?payment_status=unpaid",
            "fund movements 2023-24": "/income/fund-movements?year=2023",
            "income of the grant": f"/income/grants/{grant_id}",
        }
        timings: dict[str, list[float]] = {name: [] for name in pages}
        for path in pages.values():  # warm up: templates compiled, caches filled
            assert client.get(path).status_code == 200, path
        for _ in range(args.repeat):
            for name, path in pages.items():
                start = time.perf_counter()
                response = client.get(path)
                response.get_data()
                timings[name].append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, (path, response.status_code)
        floor = statistics.median(timings["bare page (50 rows from memory)"])
        engine = url.split(":", 1)[0]
        print(f"{engine}, {args.rows:,} ledger lines, medians of {args.repeat}:")
        for name, values in timings.items():
            median = statistics.median(values)
            print(
                f"  {name:36} {median:8.1f} ms  [{min(values):.1f}-{max(values):.1f}]"
                f"  {median / floor:6.1f}x"
            )
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
