"""Benchmark: build a funder return over many ledger lines, against the bare writer.

Usage: .venv/bin/python scripts/bench_returns.py [--rows 100000] [--template hsf]

Loads a synthetic year into a fresh SQLite file (the ledger is bulk-inserted with SQLAlchemy
Core, bypassing the services: this measures the return, not the recording), then in separate
child processes (so each has its own peak memory):
  1. the bare writer: openpyxl write-only mode writing the same rows, already in memory,
     as plain values (no SQL, no styles, no formulas);
  2. the return: `build_return` end to end (SQL figures, streamed rows, styled workbook).
Prints seconds, rows per second and peak RSS for each, and the ratio return / bare.
Targets from the issue: ratio <= 1.3, return peak memory < 150 MB.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

START, END = date(2023, 4, 1), date(2024, 3, 31)


def _app(url: str):
    from funds import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark-secret-key-long-enough-to-pass",
            "SQLALCHEMY_DATABASE_URI": url,
            "ORGANISATION_NAME": "Benchmark charity",
        }
    )


def load(url: str, rows: int) -> None:
    """A grant, its funder and mapping, households and ``rows`` ledger lines."""
    from sqlalchemy import insert, select

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

    app = _app(url)
    random.seed(7)
    with app.app_context():
        db.create_all()
        ensure_default_taxonomy()
        user = User(
            email="bench@example.org",
            name="Bench",
            role=Role.MANAGER,
            password_hash="-",  # noqa: S106 - this user never signs in
        )
        db.session.add(user)
        db.session.flush()
        funder = create_funder(
            actor=user, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        grant = create_grant(
            actor=user,
            reference="BENCH-HSF",
            title="Benchmark",
            funder_id=funder.id,
            total=Decimal("99999999.00"),
            starts_on=START,
            ends_on=END,
        )
        households = max(rows // 20, 10)
        db.session.execute(
            insert(Household),
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
                for n in range(households)
            ],
        )
        ids = list(db.session.scalars(select(Household.id)))
        items = list(
            db.session.scalars(
                select(ItemType.id).where(
                    ItemType.name.in_(
                        [
                            "Food voucher",
                            "Fridge",
                            "Gas bill",
                            "Shoes",
                            "Winter coat",
                            "Electricity bill",
                        ]
                    )
                )
            )
        )
        days = (END - START).days
        batch = []
        for _ in range(rows):
            batch.append(
                {
                    "grant_id": grant.id,
                    "item_type_id": random.choice(items),
                    "household_id": random.choice(ids),
                    "quantity": 1,
                    "amount": Decimal(
                        random.choice(["20.00", "30.00", "45.50", "312.99"])
                    ),
                    "awarded_on": START + timedelta(days=random.randint(0, days)),
                    "supplier": random.choice(
                        ["Tesco", "Currys", '=HYPERLINK("x")', "British Gas"]
                    ),
                    "delivery_method": random.choice(
                        ["voucher", "direct-purchase", "bill-payment"]
                    ),
                    "access_route": random.choice(
                        ["application", "proactive", "referral"]
                    ),
                    "created_by_id": user.id,
                    "overspend_confirmed": False,
                }
            )
            if len(batch) == 10_000:
                db.session.execute(insert(Disbursement), batch)
                batch = []
        if batch:
            db.session.execute(insert(Disbursement), batch)
        db.session.commit()


def _peak_mb() -> float:
    """This process's own peak resident memory (VmHWM). Not ``ru_maxrss``: on Linux a
    child started by fork inherits its parent's figure, so it reported the loader's."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bare(url: str, template: str, queue) -> None:
    """openpyxl write-only writing the same rows, fetched beforehand (not timed)."""
    from openpyxl import Workbook
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import Grant
    from funds.returns.context import Context, Scope
    from funds.returns.datasheets import ledger_rows, ledger_sheet
    from funds.returns.engine import Engine
    from funds.returns.library import get_definition

    app = _app(url)
    with app.app_context():
        grant = db.session.scalar(select(Grant))
        definition = get_definition(template)
        engine = Engine(
            definition, Context(Scope(grant, START, END), definition.value_labels)
        )
        engine.figures()
        data = ledger_sheet(engine)
        rows = list(ledger_rows(engine, data))
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Transactions")
    sheet.append(data.headings)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    queue.put(
        {
            "seconds": time.perf_counter() - started,
            "rows": len(rows),
            "peak_mb": _peak_mb(),
            "bytes": len(buffer.getvalue()),
        }
    )


def full(url: str, template: str, queue) -> None:
    """build_return end to end: SQL figures, streamed rows, styles, formulas, table."""
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import Grant
    from funds.returns.library import get_definition
    from funds.returns.services import build_return

    app = _app(url)
    with app.app_context():
        grant = db.session.scalar(select(Grant))
        baseline = _peak_mb()
        started = time.perf_counter()
        built = build_return(
            grant,
            definition=get_definition(template),
            date_from=START,
            date_to=END,
            prepared_by="Bench",
            prepared_on=date.today(),
        )
        seconds = time.perf_counter() - started
    queue.put(
        {
            "seconds": seconds,
            "peak_mb": _peak_mb(),
            "baseline_mb": baseline,
            "bytes": len(built.workbook),
        }
    )


def run(target, url: str, template: str) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(url, template, queue))
    process.start()
    result = queue.get(timeout=1800)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--template", default="hsf", choices=["hsf", "budget"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        started = time.perf_counter()
        load(url, args.rows)
        print(
            f"loaded {args.rows:,} ledger lines in {time.perf_counter() - started:.1f} s"
        )
        baseline = run(bare, url, args.template)
        result = run(full, url, args.template)
    rows = baseline["rows"]
    print(
        f"bare writer  (openpyxl write-only, plain values): {baseline['seconds']:7.2f} s  "
        f"{rows / baseline['seconds']:9,.0f} rows/s  peak RSS {baseline['peak_mb']:6.1f} MB"
    )
    print(
        f"funds return ({args.template}, SQL + styles + formulas):   {result['seconds']:7.2f} s  "
        f"{rows / result['seconds']:9,.0f} rows/s  peak RSS {result['peak_mb']:6.1f} MB "
        f"(process before building: {result['baseline_mb']:.1f} MB)"
    )
    ratio = result["seconds"] / baseline["seconds"]
    print(
        f"ratio return / bare: {ratio:.2f} (target <= 1.3)   "
        f"return peak memory: {result['peak_mb']:.1f} MB (target < 150 MB)"
    )


if __name__ == "__main__":
    main()
