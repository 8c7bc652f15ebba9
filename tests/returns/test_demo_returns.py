"""Each return built from the demo year: LibreOffice's figures equal the SQL figures."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import Grant
from funds.seed_data import HSF_REFERENCE, MH_REFERENCE, OPCC_REFERENCE
from tests.returns.spreadsheet import (
    money,
    needs_libreoffice,
    recalculate,
    summary_sections,
)
from tests.returns.test_workbooks import _check_hsf

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
def test_demo_returns_recalculate_to_the_sql_figures(demo, build, tmp_path):
    hsf = build(demo[HSF_REFERENCE], "hsf", START, END)
    assert hsf.figures["households_total"] == 108
    _check_hsf(
        summary_sections(recalculate(hsf.workbook, tmp_path / "hsf")), hsf.figures
    )

    activities = build(demo[MH_REFERENCE], "activities", START, END)
    sections = summary_sections(
        recalculate(activities.workbook, tmp_path / "activities")
    )
    totals = sections["Programme totals"]
    figures = activities.figures
    assert totals["Sessions"] == [figures["sessions"]] and figures["sessions"] > 25
    assert totals["Young people (unique)"] == [figures["young_people"]]
    assert totals["Places (cumulative attendances)"] == [figures["places"]]
    assert money(totals["Cost"][0]) == figures["cost"]
    assert money(totals["Cost per participant"][0]) == figures["cost_per_participant"]
    for row in figures["activities"]:
        assert sections["Activity programme"][row["activity"]][:3] == [
            row["sessions"],
            row["places"],
            row["young_people"],
        ]

    budget = build(demo[OPCC_REFERENCE], "budget", date(2023, 10, 1), END)
    lines = summary_sections(recalculate(budget.workbook, tmp_path / "budget"))[
        "Budget against actual"
    ]
    for item in budget.figures["lines"]:
        assert (
            money(lines[item["line"]][1]) == item["period"]
            and money(lines[item["line"]][2]) == item["to_date"]
        )
    assert money(lines["Total"][2]) == budget.figures["to_date_spend"]
