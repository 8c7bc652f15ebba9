"""Benchmark: build a funder return over many ledger lines, against the bare writer.

Usage: .venv/bin/python scripts/bench_returns.py [--rows 100000] [--template hsf]
       [--repeat 5]

Loads a synthetic year into a fresh SQLite file (the ledger is bulk-inserted with SQLAlchemy
Core, bypassing the services: this measures the return, not the recording), then, ``repeat``
times in turn, each in its own child process (so each has its own peak memory):
  1. bare openpyxl: write-only mode writing the same rows, already in memory, as plain
     values (no SQL, no styles, no formulas) to a file;
  2. bare XlsxWriter (requirements-bench.txt; skipped if not installed): constant-memory
     mode, the same rows, to a file;
  3. the return: `write_return` end to end (SQL figures, streamed rows, styled workbook)
     to a file, as a download and the job worker write it.
Prints the median seconds, rows per second and peak RSS of each, and the ratio of the
return to the best bare writer. Targets from the issue: no slower than the best bare
writer, return peak memory < 150 MB at 1,000,000 lines.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import statistics
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


def _rows(url: str, template: str):
    """The return's transactions sheet, headings and rows, fetched (not timed)."""
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
        return data.headings, list(ledger_rows(engine, data))


def bare(url: str, template: str, queue) -> None:
    """openpyxl write-only writing the same rows, fetched beforehand (not timed)."""
    from openpyxl import Workbook

    headings, rows = _rows(url, template)
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Transactions")
        sheet.append(headings)
        for row in rows:
            sheet.append(row)
        workbook.save(output)
        seconds = time.perf_counter() - started
        size = output.tell()
    queue.put(
        {"seconds": seconds, "rows": len(rows), "peak_mb": _peak_mb(), "bytes": size}
    )


def bare_xlsxwriter(url: str, template: str, queue) -> None:
    """XlsxWriter in constant-memory mode writing the same rows (text kept as text)."""
    import xlsxwriter

    headings, rows = _rows(url, template)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "bare.xlsx")
        started = time.perf_counter()
        workbook = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "default_date_format": "dd/mm/yyyy",
            },
        )
        sheet = workbook.add_worksheet("Transactions")
        sheet.write_row(0, 0, headings)
        for number, row in enumerate(rows, start=1):
            sheet.write_row(number, 0, row)
        workbook.close()
        seconds = time.perf_counter() - started
        size = os.path.getsize(path)
    queue.put(
        {"seconds": seconds, "rows": len(rows), "peak_mb": _peak_mb(), "bytes": size}
    )


def full(url: str, template: str, queue) -> None:
    """write_return end to end: SQL figures, streamed rows, styles, formulas, table."""
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import Grant
    from funds.returns.library import get_definition
    from funds.returns.services import write_return

    app = _app(url)
    with app.app_context(), tempfile.TemporaryFile() as output:
        grant = db.session.scalar(select(Grant))
        baseline = _peak_mb()
        started = time.perf_counter()
        write_return(
            grant,
            definition=get_definition(template),
            date_from=START,
            date_to=END,
            prepared_by="Bench",
            prepared_on=date.today(),
            target=output,
        )
        seconds = time.perf_counter() - started
        size = output.tell()
    queue.put(
        {
            "seconds": seconds,
            "peak_mb": _peak_mb(),
            "baseline_mb": baseline,
            "bytes": size,
        }
    )


#: Packages only the test and benchmark requirements bring (pandas' numpy, locust's
#: gevent). openpyxl and huey import them when they are there; a server installed from
#: requirements.txt has neither, so each child runs as that server would.
NOT_INSTALLED = ("numpy", "pandas", "gevent")


def _as_installed(target, url: str, template: str, queue) -> None:
    for name in NOT_INSTALLED:
        sys.modules[name] = None  # import raises ImportError, as without the package
    target(url, template, queue)


def run(target, url: str, template: str) -> dict:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_as_installed, args=(target, url, template, queue))
    process.start()
    result = queue.get(timeout=1800)
    process.join()
    return result


def _xlsxwriter_installed() -> bool:
    try:
        import xlsxwriter  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--template", default="hsf", choices=["hsf", "budget"])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    writers = {"bare openpyxl (write-only, plain values)": bare}
    if _xlsxwriter_installed():
        writers["bare XlsxWriter (constant memory, plain values)"] = bare_xlsxwriter
    else:
        print("XlsxWriter is not installed (pip install -r requirements-bench.txt)")
    writers[f"funds return ({args.template}: SQL, styles, formulas, table)"] = full
    results: dict[str, list[dict]] = {name: [] for name in writers}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite"
        started = time.perf_counter()
        load(url, args.rows)
        print(
            f"loaded {args.rows:,} ledger lines in {time.perf_counter() - started:.1f} s"
        )
        for _ in range(args.repeat):  # interleaved: each writer once per round
            for name, target in writers.items():
                results[name].append(run(target, url, args.template))
    rows = results[next(iter(writers))][0]["rows"]
    medians = {}
    print(f"medians of {args.repeat} interleaved runs, {rows:,} rows:")
    for name, runs in results.items():
        seconds = statistics.median(run["seconds"] for run in runs)
        peak = statistics.median(run["peak_mb"] for run in runs)
        medians[name] = seconds
        spread = f"[{min(r['seconds'] for r in runs):.2f}-{max(r['seconds'] for r in runs):.2f}]"
        print(
            f"  {name:58} {seconds:7.2f} s {spread:15} {rows / seconds:9,.0f} rows/s"
            f"  peak RSS {peak:6.1f} MB"
        )
    *bares, funds_name = writers
    best = min(bares, key=medians.get)
    full_runs = results[funds_name]
    before = statistics.median(run["baseline_mb"] for run in full_runs)
    peak = statistics.median(run["peak_mb"] for run in full_runs)
    print(
        f"ratio return / best bare writer ({best.split(' (')[0]}):"
        f" {medians[funds_name] / medians[best]:.2f} (target <= 1.0)"
    )
    print(
        f"return peak memory: {peak:.1f} MB, of which {before:.1f} MB before building"
        " (target < 150 MB at 1,000,000 lines)"
    )


if __name__ == "__main__":
    main()
