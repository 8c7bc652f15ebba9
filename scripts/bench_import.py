"""Benchmark: import a large awards spreadsheet, against the bare read and insert.

Usage: .venv/bin/python scripts/bench_import.py [--rows 100000] [--runs 5]
                                                 [--database-url postgresql://...]

Makes one awards workbook of ``--rows`` rows (.xlsx, as a charity's old sheet would be) and a
database with the grant, items and households it refers to. Then, interleaved, ``--runs``
times each, every run in a fresh child process (so each has its own peak memory) and on a
fresh copy of the database (SQLite) or on tables made afresh (PostgreSQL):

  1. bare: python-calamine reads the sheet, each row becomes a dict of the award's columns
     (the grant, item and household looked up in dicts), and one executemany INSERT writes
     them in one transaction. No validation, no rules, no audit: the floor.
  2. funds: the import as the worker runs it: upload (hostile-file checks), check every row
     (the award form's rules), then import all or nothing (the rules again, running balances,
     one record per row, the audit event).

Prints each run, then the medians: seconds, rows per second, peak RSS (VmHWM) and the ratio
funds / bare. Say what else was running on the machine when you quote the figures.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

START, END = date(2024, 4, 1), date(2025, 3, 31)
TODAY = date(2025, 6, 1)
HEADER = [
    "Your id",
    "Grant reference",
    "Household or young person",
    "Item",
    "Amount",
    "Date given",
    "How it was given",
    "How they came to be helped",
    "Supplier",
]
ITEMS = ["Food voucher", "Fridge", "Gas bill", "Shoes", "Winter coat"]


def _app(url: str):
    from funds import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "benchmark-secret-key-long-enough-to-pass",
            "SQLALCHEMY_DATABASE_URI": url,
            "ORGANISATION_NAME": "Benchmark charity",
            "JOBS_IMMEDIATE": True,
        }
    )


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load(url: str, households: int) -> list[str]:
    """The grant, items, a manager and households; returns the households' references."""
    from sqlalchemy import insert, select

    from funds.extensions import db
    from funds.grants.services import create_funder, create_grant
    from funds.models import HSF_CATEGORIES, Household, Role, User
    from funds.taxonomy.defaults import (
        apply_default_hsf_mapping,
        ensure_default_taxonomy,
    )

    app = _app(url)
    with app.app_context():
        db.drop_all()
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
        create_grant(
            actor=user,
            reference="BENCH-HSF",
            title="Benchmark",
            funder_id=funder.id,
            total=Decimal("99999999.00"),
            starts_on=START,
            ends_on=END,
        )
        db.session.execute(
            insert(Household),
            [
                {
                    "reference": f"H-B{n:06d}",
                    "adults": 1,
                    "children": n % 3,
                    "has_children": n % 3 > 0,
                }
                for n in range(households)
            ],
        )
        db.session.commit()
        references = list(db.session.scalars(select(Household.reference)))
        db.session.remove()
        db.engine.dispose()  # SQLite: the last connection folds the WAL into the file
        return references


def workbook(rows: int, households: list[str]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Awards")
    sheet.append(HEADER)
    days = (END - START).days
    for n in range(rows):
        sheet.append(
            [
                f"R{n}",
                "BENCH-HSF",
                households[n % len(households)],
                ITEMS[n % len(ITEMS)],
                ["20.00", "30.00", "45.50", "312.99"][n % 4],
                (START + timedelta(days=n % days)).strftime("%d/%m/%Y"),
                "Voucher",
                "Referral",
                ["Tesco", "Currys", "Fo*d ~ <Bank>", "British Gas"][n % 4],
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def bare(url: str, path: str, queue) -> None:
    """calamine + executemany: no rules, no checks."""
    from python_calamine import CalamineWorkbook
    from sqlalchemy import insert, select

    from funds.extensions import db
    from funds.models import Disbursement, Grant, Household, ItemType, User

    app = _app(url)
    with app.app_context():
        grants = dict(db.session.execute(select(Grant.reference, Grant.id)).all())
        items = dict(db.session.execute(select(ItemType.name, ItemType.id)).all())
        people = dict(
            db.session.execute(select(Household.reference, Household.id)).all()
        )
        user = db.session.scalar(select(User.id))
        db.session.commit()
        started = time.perf_counter()
        with open(path, "rb") as handle:
            sheet = CalamineWorkbook.from_filelike(handle).get_sheet_by_index(0)
            rows = sheet.to_python()[1:]
        values = [
            {
                "grant_id": grants[row[1]],
                "household_id": people[row[2]],
                "item_type_id": items[row[3]],
                "quantity": 1,
                "amount": Decimal(str(row[4])),
                "awarded_on": date(
                    int(row[5][6:10]), int(row[5][3:5]), int(row[5][0:2])
                ),
                "delivery_method": "voucher",
                "access_route": "referral",
                "supplier": row[8],
                "created_by_id": user,
                "overspend_confirmed": False,
            }
            for row in rows
        ]
        db.session.execute(insert(Disbursement), values)
        db.session.commit()
        seconds = time.perf_counter() - started
        written = db.session.scalar(select(db.func.count(Disbursement.id)))
    queue.put({"seconds": seconds, "peak_mb": _peak_mb(), "written": written})


class _Quiet:
    def update(self, done, total=None, *, stage=None):
        pass


def full(url: str, path: str, queue) -> None:
    """The import as the worker runs it: upload, check, import."""
    from sqlalchemy import select

    from funds.extensions import db
    from funds.imports import services
    from funds.models import Disbursement, ImportRun, User

    app = _app(url)
    with app.app_context():
        actor = db.session.scalar(select(User))
        with open(path, "rb") as handle:
            data = handle.read()
        started = time.perf_counter()
        run = services.upload("awards", "awards.xlsx", data, actor=actor)
        services.set_mapping(run, run.mapping, actor=actor)
        run_id = run.id
        db.session.commit()
        services.check(run_id, actor=actor, today=TODAY, progress=_Quiet())
        checked = time.perf_counter() - started
        services.commit(run_id, actor=actor, today=TODAY, progress=_Quiet())
        seconds = time.perf_counter() - started
        written = db.session.scalar(select(db.func.count(Disbursement.id)))
        counts = db.session.get(ImportRun, run_id).counts
    queue.put(
        {
            "seconds": seconds,
            "check_seconds": checked,
            "peak_mb": _peak_mb(),
            "written": written,
            "errors": counts["errors"],
        }
    )


def _child(target, url: str, path: str) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(url, path, queue))
    process.start()
    result = queue.get(timeout=3600)
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--database-url", help="PostgreSQL to use instead of a SQLite file"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        seed = args.database_url or f"sqlite:///{folder}/seed.sqlite"
        households = load(seed, max(args.rows // 20, 10))
        path = os.path.join(folder, "awards.xlsx")
        with open(path, "wb") as handle:
            handle.write(workbook(args.rows, households))
        print(
            f"{args.rows:,} award rows, {len(households):,} households, "
            f"file {os.path.getsize(path) / 1e6:.1f} MB, "
            f"{'PostgreSQL' if args.database_url else 'SQLite'}"
        )
        results: dict[str, list[dict]] = {"bare": [], "funds": []}
        for number in range(args.runs):
            for name, target in (("bare", bare), ("funds", full)):
                if args.database_url:
                    # The ledger and the audit trail refuse deletes: start afresh.
                    url = args.database_url
                    load(url, len(households))
                else:
                    copy = os.path.join(folder, f"run-{number}-{name}.sqlite")
                    shutil.copy(os.path.join(folder, "seed.sqlite"), copy)
                    url = f"sqlite:///{copy}"
                result = _child(target, url, path)
                assert result["written"] == args.rows, result
                results[name].append(result)
                extra = (
                    f" (checking {result['check_seconds']:.2f} s)"
                    if "check_seconds" in result
                    else ""
                )
                print(
                    f"run {number + 1} {name:5}: {result['seconds']:7.2f} s{extra}  "
                    f"peak RSS {result['peak_mb']:6.1f} MB"
                )
    medians = {
        name: {
            key: statistics.median(r[key] for r in runs)
            for key in ("seconds", "peak_mb")
        }
        for name, runs in results.items()
    }
    for name, label in (
        ("bare", "bare (calamine + executemany, no rules)"),
        ("funds", "funds (upload, check, import all or nothing)"),
    ):
        m = medians[name]
        print(
            f"median {label:46}: {m['seconds']:7.2f} s  "
            f"{args.rows / m['seconds']:9,.0f} rows/s  peak RSS {m['peak_mb']:6.1f} MB"
        )
    check = statistics.median(r["check_seconds"] for r in results["funds"])
    print(f"median funds checking alone: {check:.2f} s")
    print(
        f"ratio funds / bare: {medians['funds']['seconds'] / medians['bare']['seconds']:.2f}"
    )


if __name__ == "__main__":
    main()
