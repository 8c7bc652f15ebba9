"""Each return on hand-built edge cases: figures from SQL equal what LibreOffice computes."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from funds.returns.queries import GROUP_LABELS, GROUP_ORDER
from tests.returns.conftest import END, START
from tests.returns.spreadsheet import (
    money,
    needs_libreoffice,
    recalculate,
    scan_xml,
    summary_sections,
)

D = Decimal


def test_hsf_figures_from_sql(hsf_year, build):
    figures = build(hsf_year["grant"], "hsf").figures
    # The household in two groups (children and disabled) counts once, under children.
    assert figures["households"] == {
        "children": 1,
        "pensioner": 1,
        "disabled": 0,
        "other": 1,
    }
    assert figures["households_total"] == 3
    # Five awards to one household: five awards, one household.
    assert figures["awards"]["Food"]["children"] == 5
    assert figures["spend"]["Food"]["children"] == D("150.00")
    # The reversed gas bill nets to nothing, in money and in awards.
    assert figures["spend"]["Energy and water"]["other"] == D("0.00")
    assert figures["awards"]["Energy and water"]["other"] == 0
    # Awards on the first and last day of the period are in it.
    assert figures["spend"]["Essentials linked to energy and water"]["pensioner"] == D(
        "345.50"
    )
    assert figures["spend"]["Wider essentials"]["other"] == D("25.00")
    assert figures["total_spend"] == D("520.50")
    assert figures["total_awards"] == 8
    assert figures["delivery"]["Voucher"] == {"spend": D("520.50"), "awards": 8}


def test_precedence_is_per_funder(app, hsf_year, build):
    from funds.extensions import db
    from funds.models import Funder, Grant

    with app.app_context():
        grant = db.session.get(Grant, hsf_year["grant"])
        db.session.get(
            Funder, grant.funder_id
        ).group_order = "disabled,children,pensioner"
        db.session.commit()
    figures = build(hsf_year["grant"], "hsf").figures
    assert (
        figures["households"]["disabled"] == 1
        and figures["households"]["children"] == 0
    )
    assert figures["spend"]["Food"]["disabled"] == D("150.00")


def test_a_period_cuts_awards_at_its_edges(hsf_year, build):
    figures = build(hsf_year["grant"], "hsf", START, date(2023, 5, 3)).figures
    assert figures["awards"]["Food"]["children"] == 3
    assert figures["total_spend"] == D(
        "390.50"
    )  # fridge on the first day + three food vouchers


def test_empty_period(hsf_year, build):
    built = build(hsf_year["grant"], "hsf", date(2023, 10, 1), date(2023, 10, 31))
    assert (
        built.figures["total_spend"] == D("0.00")
        and built.figures["households_total"] == 0
    )
    sheet = openpyxl.load_workbook(io.BytesIO(built.workbook))["Transactions"]
    assert sheet.max_row == 1 or all(c.value is None for c in sheet[2])


def _check_hsf(sections, figures):
    groups = [GROUP_LABELS[g] for g in GROUP_ORDER]
    spend = sections["Spend by HSF category and household group"]
    awards = sections["Number of awards (volumes)"]
    assert spend["__header__"][:4] == groups
    for category in figures["categories"]:
        for index, group in enumerate(GROUP_ORDER):
            assert money(spend[category][index]) == figures["spend"][category][group], (
                category,
                group,
            )
            assert awards[category][index] == figures["awards"][category][group], (
                category,
                group,
            )
        assert money(spend[category][4]) == sum(figures["spend"][category].values())
    assert money(spend["Total"][4]) == figures["total_spend"]
    assert awards["Total"][4] == figures["total_awards"]
    households = sections["Households helped"]["Households"]
    assert households == [figures["households"][g] for g in GROUP_ORDER] + [
        figures["households_total"]
    ]
    for title, key in (
        ("By delivery method", "delivery"),
        ("By access route", "access"),
    ):
        for label, value in figures[key].items():
            row = sections[title][label]
            assert (money(row[0]), row[1]) == (value["spend"], value["awards"]), (
                title,
                label,
            )
    check = sections["Check"]
    assert (
        money(check["Total spend in the period (all ledger lines)"][0])
        == figures["total_spend"]
    )


@needs_libreoffice
def test_hsf_workbook_recalculates_to_the_sql_figures(hsf_year, build, tmp_path):
    built = build(hsf_year["grant"], "hsf")
    _check_hsf(summary_sections(recalculate(built.workbook, tmp_path)), built.figures)


@needs_libreoffice
def test_budget_workbook_recalculates_to_the_sql_figures(hsf_year, build, tmp_path):
    built = build(hsf_year["grant"], "budget", date(2023, 6, 1), END)
    sections = summary_sections(recalculate(built.workbook, tmp_path))
    lines = sections["Budget against actual"]
    for item in built.figures["lines"]:
        row = lines[item["line"]]
        assert money(row[1]) == item["period"] and money(row[2]) == item["to_date"], (
            item
        )
    assert money(lines["Total"][1]) == built.figures["period_spend"]
    assert money(lines["Total"][2]) == built.figures["to_date_spend"]
    helped = sections["Beneficiaries helped in the period (each counted once)"]
    assert helped["All beneficiaries"] == [built.figures["beneficiaries"]]
    assert helped["Households"] == [built.figures["households"]]


@needs_libreoffice
def test_activity_workbook_recalculates_to_the_sql_figures(
    app,
    create_grant,
    create_funder,
    create_young_person,
    create_session,
    build,
    tmp_path,
):
    from funds.models import Gender

    funder = create_funder(
        "Mental Health board", categories=["Activities"], hsf_mapping=False
    )
    grant = create_grant(
        "11000.00",
        funder_id=funder,
        starts_on=date(2024, 4, 1),
        ends_on=date(2025, 3, 31),
    )
    girls = [
        create_young_person(date_of_birth=date(2010, 6, 1), gender=Gender.FEMALE)
        for _ in range(3)
    ]
    boy = create_young_person(
        date_of_birth=date(2007, 6, 2), gender=Gender.MALE
    )  # 17 on 2 Jun 2024
    unknown = create_young_person()
    create_session(
        grant,
        "300.00",
        held_on=date(2024, 6, 1),
        attendees=(*girls, boy),
        carers=2,
        duration_minutes=50,
    )
    create_session(
        grant,
        "200.00",
        activity="Theatre trip",
        held_on=date(2024, 6, 2),
        attendees=(girls[0], boy, unknown),
    )
    create_session(grant, "150.00", held_on=date(2024, 7, 1), attendees=(girls[0],))
    built = build(grant, "activities", date(2024, 4, 1), date(2025, 3, 31))
    figures = built.figures
    assert (
        figures["young_people"] == 5
        and figures["places"] == 8
        and figures["sessions"] == 3
    )
    assert figures["cost_per_participant"] == D("130.00")
    assert (
        figures["age_bands"]["16 to 17"]["Male"] == 1
    )  # a birthday the day after the first session
    sections = summary_sections(recalculate(built.workbook, tmp_path))
    by_activity = sections["Activity programme"]
    for row in figures["activities"]:
        cells = by_activity[row["activity"]]
        assert cells[:3] == [row["sessions"], row["places"], row["young_people"]]
        assert (
            money(cells[3]) == row["cost"]
            and money(cells[4]) == row["cost_per_participant"]
        )
        assert D(str(cells[5])) == row["contact_hours"]
    totals = sections["Programme totals"]
    assert totals["Sessions"] == [3] and totals["Places (cumulative attendances)"] == [
        8
    ]
    assert totals["Young people (unique)"] == [5]
    assert money(totals["Cost per participant"][0]) == D("130.00")
    assert (
        D(str(totals["Average sessions per young person"][0]))
        == figures["average_sessions"]
    )
    grid = sections["Young people by age band (at their first session) and gender"]
    genders = grid["__header__"][:-1]
    for band, counts in figures["age_bands"].items():
        assert grid[band][:-1] == [counts[g] for g in genders], band


HOSTILE = ["@SUM(A1)", "+44 7700 900123", "#N/A", "=1+1", "-2+3+cmd|' /C calc'!A0"]


def test_no_formula_or_error_cell_from_user_text(hsf_year, build):
    for template in ("hsf", "budget"):
        built = build(hsf_year["grant"], template)
        sheets = scan_xml(built.workbook)
        assert not any(sheet["errors"] for sheet in sheets.values()), template
        assert sheets["Transactions"]["formulas"] == [], (
            "a formula in the transactions (user data)"
        )
        assert sheets["Cover"]["formulas"] == []
        assert sheets["Summary"]["formulas"], "the scan must see our own formulas"
        book = openpyxl.load_workbook(io.BytesIO(built.workbook))
        values = {c.value for row in book["Transactions"].iter_rows() for c in row}
        for text in HOSTILE:
            assert text in values, text
        # The control character became a replacement character instead of breaking the file.
        assert any(isinstance(v, str) and "Bad\ufffdchar" in v for v in values)
        for row in book["Transactions"].iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.quotePrefix, cell.coordinate


def test_every_workbook_has_cover_table_formats_and_print_setup(hsf_year, build):
    built = build(hsf_year["grant"], "hsf")
    book = openpyxl.load_workbook(io.BytesIO(built.workbook))
    assert book.sheetnames == ["Cover", "Summary", "Governance", "Transactions"]
    cover = {
        row[0].value: row[1].value
        for row in book["Cover"].iter_rows(min_row=3)
        if row[0].value and len(row) > 1
    }
    assert cover["Grant reference"] == "C4C-HSF4"
    assert cover["Organisation"] == "Riverside Youth Project"
    assert cover["Checksum of the figures (SHA-256)"] == built.checksum
    tx = book["Transactions"]
    assert "tblTransactions" in tx.tables
    assert tx.freeze_panes == "A2"
    assert tx["P2"].number_format.startswith('"£"#,##0.00')
    assert tx["A2"].number_format == "DD/MM/YYYY"
    for name in book.sheetnames:
        sheet = book[name]
        assert (
            sheet.page_setup.orientation == "landscape"
            and sheet.page_setup.paperSize == 9
        )
    assert book["Transactions"].print_title_rows == "$1:$1"
    names = [c.value for c in tx[1]]
    assert "Beneficiary" in names and not {"Name", "Date of birth", "Contact"} & set(
        names
    )


def test_checksum_changes_with_the_figures(hsf_year, build, create_disbursement):
    first = build(hsf_year["grant"], "hsf")
    assert build(hsf_year["grant"], "hsf").checksum == first.checksum
    create_disbursement(
        hsf_year["grant"],
        "1.00",
        household_id=hsf_year["households"][0],
        awarded_on=date(2023, 8, 1),
    )
    assert build(hsf_year["grant"], "hsf").checksum != first.checksum


@pytest.mark.parametrize(
    "date_from,date_to,field",
    [
        (date(2023, 3, 31), END, "date_from"),
        (START, date(2024, 4, 1), "date_to"),
        (date(2023, 6, 1), date(2023, 5, 1), "date_to"),
    ],
)
def test_periods_outside_the_grant_are_refused(
    hsf_year, build, date_from, date_to, field
):
    from funds.errors import ValidationError

    with pytest.raises(ValidationError) as error:
        build(hsf_year["grant"], "hsf", date_from, date_to)
    assert error.value.field == field
