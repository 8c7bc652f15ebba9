"""Each return built from the demo year: stored values and LibreOffice's recalculation
equal the SQL figures, and the headline figures are the demo's."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import Grant
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
def test_demo_returns_read_the_same_everywhere(demo, build, tmp_path):
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
