"""Load benchmark: 20 clerks at once against a real server over a large ledger.

Usage: .venv/bin/python scripts/bench_load.py [--lines 1000000] [--users 20]
       [--seconds 60] [--runs 5] [--database-url postgresql://postgres@127.0.0.1:5432/bench]
Needs locust: .venv/bin/pip install -r requirements-bench.txt

Loads the ledger as scripts/bench_pages.py does (its grants end a month from today, so
awards for today are in period), adds one staff member per clerk, then starts the server
a deployment runs: over SQLite, ``make run``'s (``python -m funds.serve``, waitress); over
PostgreSQL, gunicorn with 4 workers (funds.gunicorn_conf). Runs scripts/locustfile.py
headless: the clerks sign in together, then work for ``seconds``; prints, per request
type, the count, the errors and the 50th/95th/99th percentiles of that window, and the
sign-ins' own figures; with ``--runs``, that many runs, each on a fresh server, and
each figure's median over them. Then it checks, from the ledger itself, that every award the
clerks recorded is there, that no grant is overspent, and that the running totals agree
with the ledger (funds.ledger.verify).

Say what else was running when you quote the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from scripts.bench_pages import PASSWORD, _app, _empty, load, settle  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECRET = "load-benchmark-secret-key-long-enough-to-pass"  # noqa: S105 - throwaway


def add_clerks(app, users: int) -> list[str]:
    from funds.auth.passwords import hash_password
    from funds.extensions import db
    from funds.models import Role, User

    emails = [f"clerk{n}@example.org" for n in range(users)]
    with app.app_context():
        password_hash = hash_password(PASSWORD)
        for n, email in enumerate(emails):
            db.session.add(
                User(
                    email=email,
                    name=f"Clerk {n}",
                    role=Role.STAFF,
                    password_hash=password_hash,
                )
            )
        db.session.commit()
    return emails


def targets(app) -> dict[str, str]:
    """The grants, households and item the clerks use, for the locustfile."""
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import Grant, Household, ItemType

    with app.app_context():
        grants = list(db.session.scalars(select(Grant.id).order_by(Grant.id)))
        households = db.session.execute(
            select(Household.id, Household.reference).order_by(Household.id).limit(200)
        ).all()
        item = db.session.scalar(select(ItemType.id).where(ItemType.name == "Fridge"))
    return {
        "BENCH_GRANTS": ",".join(str(g) for g in grants),
        "BENCH_HOUSEHOLDS": ",".join(f"{i}:{r}" for i, r in households),
        "BENCH_ITEM": str(item),
    }


def start_server(url: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "FUNDS_DATABASE_URL": url,
        "FUNDS_SECRET_KEY": SECRET,
        "FUNDS_JOBS_IMMEDIATE": "true",
        "FUNDS_ORGANISATION_NAME": "Benchmark charity",
    }
    if url.startswith("sqlite"):
        command = [
            sys.executable,
            "-m",
            "funds.serve",
            f"--listen=127.0.0.1:{port}",
            "--no-worker",
        ]
    else:
        env.update(FUNDS_BIND=f"127.0.0.1:{port}", FUNDS_WORKERS="4")
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "-c",
            "python:funds.gunicorn_conf",
            "app:create_app()",
        ]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2):  # noqa: S310
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)


def run_locust(port: int, users: int, seconds: int, env: dict, prefix: str) -> None:
    """Run the clerks; the locustfile times ``seconds`` from when all have signed in."""
    subprocess.run(
        [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(ROOT / "scripts" / "locustfile.py"),
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(users),
            # A limit in case the clerks never all sign in; the locustfile stops the run.
            "-t",
            f"{seconds + 120}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            prefix,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            **env,
            "BENCH_CLERKS": str(users),
            "BENCH_SECONDS": str(seconds),
            "BENCH_SIGN_IN_REPORT": f"{prefix}_sign_in.json",
        },
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def report(prefix: str) -> tuple[int, dict[str, tuple[int, ...]]]:
    """Print one run's figures; return how many awards the clerks recorded, and each
    request type's count, errors, p50, p95 and p99."""
    recorded = 0
    figures = {}
    with open(f"{prefix}_stats.csv", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if int(row["Request Count"])]
    print(
        f"  {'request':24} {'count':>7} {'errors':>7} {'p50':>7} {'p95':>7} {'p99':>7}"
    )
    for row in rows:
        name = "all, clerks at work" if row["Name"] == "Aggregated" else row["Name"]
        if row["Name"] == "record an award":
            recorded = int(row["Request Count"]) - int(row["Failure Count"])
        figures[name] = tuple(
            int(float(row[column]))
            for column in ("Request Count", "Failure Count", "50%", "95%", "99%")
        )
        print(
            f"  {name:24} {row['Request Count']:>7} {row['Failure Count']:>7}"
            f" {row['50%']:>5}ms {row['95%']:>5}ms {row['99%']:>5}ms"
        )
    sign_in = Path(f"{prefix}_sign_in.json")
    if sign_in.exists():
        signed = json.loads(sign_in.read_text())
        print(
            f"  {'sign in, all at once':24} {signed['count']:>7}"
            f" {signed['failures']:>7} {signed['p50']:>5}ms {signed['p95']:>5}ms"
            "        (before the timed window)"
        )
    else:
        print("  the clerks did not all sign in: no timed window")
    return recorded, figures


def medians(runs: list[dict[str, tuple[int, ...]]]) -> None:
    """Each request type's median over the runs: count, errors, p50, p95, p99."""
    print(f"medians of {len(runs)} runs:")
    print(
        f"  {'request':24} {'count':>7} {'errors':>7} {'p50':>7} {'p95':>7} {'p99':>7}"
    )
    for name in runs[0]:
        columns = zip(*(run[name] for run in runs if name in run), strict=True)
        count, errors, p50, p95, p99 = (statistics.median(c) for c in columns)
        print(
            f"  {name:24} {count:>7.0f} {errors:>7.0f} {p50:>5.0f}ms {p95:>5.0f}ms"
            f" {p99:>5.0f}ms"
        )


def check(app, lines_before: int, recorded: int) -> None:
    from sqlalchemy import func, select

    from funds.extensions import db
    from funds.grants.queries import grants_overview
    from funds.ledger.verify import verify_rollups
    from funds.models import Disbursement

    with app.app_context():
        lines = db.session.scalar(select(func.count(Disbursement.id)))
        overspent = [s.grant.reference for s in grants_overview() if s.available < 0]
        differences = verify_rollups()
    print(
        f"  ledger lines added: {lines - lines_before} (awards answered within the"
        f" timed window: {recorded});"
        f" grants overspent: {len(overspent)};"
        f" running totals differing from the ledger: {len(differences)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--port", type=int, default=5077)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/load.sqlite"
        app = _app(url)
        _empty(app)
        started = time.perf_counter()
        load(app, args.lines, ends_after_today=True)
        emails = add_clerks(app, args.users)
        settle(app)
        env = {
            **targets(app),
            "BENCH_USERS": ",".join(emails),
            "BENCH_PASSWORD": PASSWORD,
        }
        from sqlalchemy import func, select

        from funds.extensions import db
        from funds.models import Disbursement

        with app.app_context():
            before = db.session.scalar(select(func.count(Disbursement.id)))
            db.session.remove()
            db.engine.dispose()
        print(f"loaded {args.lines:,} lines in {time.perf_counter() - started:.0f} s")
        engine = (
            "SQLite, funds.serve"
            if url.startswith("sqlite")
            else ("PostgreSQL, gunicorn 4 workers")
        )
        recorded, runs = 0, []
        for run in range(1, args.runs + 1):
            # A fresh server each run, as after a restart; the clerks sign in again.
            server = start_server(url, args.port)
            try:
                run_locust(
                    args.port, args.users, args.seconds, env, f"{tmp}/locust{run}"
                )
            finally:
                stop(server)
            print(
                f"{engine}, run {run}: {args.users} clerks for {args.seconds} s over"
                f" {args.lines:,} ledger lines"
            )
            awards, figures = report(f"{tmp}/locust{run}")
            recorded += awards
            runs.append(figures)
        if len(runs) > 1:
            medians(runs)
        check(app, before, recorded)


if __name__ == "__main__":
    main()
