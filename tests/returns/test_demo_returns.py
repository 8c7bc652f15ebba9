"""Each return built from the demo year: stored values and LibreOffice's recalculation
equal the SQL figures, and the headline figures are the demo's."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import Grant
from funds.returns.library import get_definition
from funds.returns.services import compute_figures
from funds.seed_data import HSF_REFERENCE, MH_REFERENCE, OPCC_REFERENCE
from tests.returns.spreadsheet import (
    assert_tables_match,
    needs_libreoffice,
    recalculate,
    sheets_calamine,
    sheets_openpyxl,
)
from tests.returns.test_workbooks import table

START, END = date(2023, 4, 1), date(2024, 3, 31)
CRF_REFERENCE = "HCC-CRF1-2026"


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return {
            ref: db.session.scalar(select(Grant.id).where(Grant.reference == ref))
            for ref in (HSF_REFERENCE, MH_REFERENCE, OPCC_REFERENCE)
        }


@needs_libreoffice
def test_demo_returns_read_the_same_everywhere(app, runner, demo, build, tmp_path):
    hsf = build(demo[HSF_REFERENCE], "hsf", START, END)
    households = table(hsf, "Households helped")["Households (each counted once)"]
    assert households[-1] == 108
    spend = table(hsf, "Spend by HSF category and household group")
    assert spend["Difference (should be 0)"][-1] == "0.00"
    activities = build(demo[MH_REFERENCE], "activities", START, END)
    assert table(activities, "Programme totals")["Sessions"][0] > 25
    budget = build(demo[OPCC_REFERENCE], "budget", date(2023, 10, 1), END)
    for name, built in (("hsf", hsf), ("activities", activities), ("budget", budget)):
        plain = built.figures.plain
        assert_tables_match(plain, sheets_calamine(built.workbook), f"{name} stored")
        recalculated = recalculate(built.workbook, tmp_path / name, name)
        assert_tables_match(plain, sheets_openpyxl(recalculated), f"{name} LibreOffice")

    # The Crisis and Resilience Fund quarter, built from the command line as finance would.
    out = tmp_path / "crf.xlsx"
    result = runner.invoke(
        args=[
            "return",
            "build",
            "--grant",
            CRF_REFERENCE,
            "--template",
            "crf",
            "--from",
            "2026-04-01",
            "--to",
            "2026-06-30",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        grant = db.session.scalar(select(Grant).where(Grant.reference == CRF_REFERENCE))
        page = compute_figures(
            grant,
            definition=get_definition("crf"),
            date_from=date(2026, 4, 1),
            date_to=date(2026, 6, 30),
        )
    workbook = out.read_bytes()
    assert page.checksum in result.output
    assert_tables_match(page.plain, sheets_calamine(workbook), "crf stored")
    recalculated = recalculate(workbook, tmp_path / "crf", "crf")
    assert_tables_match(page.plain, sheets_openpyxl(recalculated), "crf LibreOffice")
    strands = {
        t["title"]: {row[0]: row[2:] for row in t["rows"]} for t in page.plain["tables"]
    }
    crisis = strands["Spend, awards and households helped by strand"]
    assert Decimal(crisis["Crisis Payments"][0]) > 0
    days = strands["Days from request to payment, by strand"]["Crisis Payments"]
    assert days[0] > 0 and Decimal(days[1]) >= 0
    paid = strands["Cash-first"]
    assert set(paid) >= {"Cash-first (bank transfer, cash, cash-out voucher)"}
