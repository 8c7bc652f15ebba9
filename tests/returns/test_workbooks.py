"""Each built-in return on hand-built edge cases: the page's SQL figures equal the values
stored in the workbook and LibreOffice's recalculation of it."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from tests.returns.conftest import END, START
from tests.returns.spreadsheet import (
    assert_tables_match,
    needs_libreoffice,
    recalculate,
    scan_xml,
    sheets_calamine,
    sheets_openpyxl,
    sheets_pandas,
)

D = Decimal
BUILT_IN = ("hsf", "hsf-dwp", "budget", "activities")


def table(built, title: str) -> dict[str, list]:
    """{row label: values} of one table of a built return's figures."""
    for item in built.figures.plain["tables"]:
        if item["title"] == title:
            return {row[0]: row[2:] for row in item["rows"]}
    raise KeyError(title)


def headings(built, title: str) -> list[str]:
    return next(
        t["heading"] for t in built.figures.plain["tables"] if t["title"] == title
    )


SPEND = "Spend by HSF category and household group"
AWARDS = "Number of awards (volumes)"
HOUSEHOLDS = "Households helped"


def test_hsf_figures_from_sql(hsf_year, build):
    built = build(hsf_year["grant"], "hsf")
    assert headings(built, SPEND)[1:6] == [
        "With children",
        "With a pensioner",
        "With a disabled person",
        "Other households",
        "Total",
    ]
    # The household in two groups (children and disabled) counts once, under children.
    assert table(built, HOUSEHOLDS)["Households (each counted once)"] == [1, 1, 0, 1, 3]
    # Five awards to one household: five awards, one household.
    assert table(built, AWARDS)["Food"][0] == 5
    assert table(built, SPEND)["Food"][0] == "150.00"
    # The reversed gas bill nets to nothing, in money and in awards.
    assert table(built, SPEND)["Energy and water"][3] == "0.00"
    assert table(built, AWARDS)["Energy and water"][3] == 0
    # Awards on the first and last day of the period are in it.
    assert table(built, SPEND)["Essentials linked to energy and water"][1] == "345.50"
    assert table(built, SPEND)["Wider essentials"][3] == "25.00"
    assert table(built, SPEND)["Total"][-1] == "520.50"
    assert table(built, AWARDS)["Total"][-1] == 8
    # The grid agrees with every ledger line of the period.
    assert table(built, SPEND)["Check: all lines in the period"][-1] == "520.50"
    assert table(built, SPEND)["Difference (should be 0)"][-1] == "0.00"
    assert table(built, "By delivery route")["Vouchers"] == ["520.50", 8]
    disabled = table(
        built, "Households with a disabled person, whatever their first group"
    )
    assert disabled["Households with a disabled person"] == ["150.00", 5, 1]


def test_precedence_is_per_funder(app, hsf_year, build):
    from funds.extensions import db
    from funds.models import Funder, Grant

    with app.app_context():
        grant = db.session.get(Grant, hsf_year["grant"])
        db.session.get(
            Funder, grant.funder_id
        ).group_order = "disabled,children,pensioner"
        db.session.commit()
    built = build(hsf_year["grant"], "hsf")
    assert table(built, HOUSEHOLDS)["Households (each counted once)"][:3] == [0, 1, 1]
    assert table(built, SPEND)["Food"][2] == "150.00"


def test_a_period_cuts_awards_at_its_edges(hsf_year, build):
    built = build(hsf_year["grant"], "hsf", START, date(2023, 5, 3))
    assert table(built, AWARDS)["Food"][0] == 3
    # The fridge on the first day and three food vouchers.
    assert table(built, SPEND)["Total"][-1] == "390.50"


def test_empty_period(hsf_year, build):
    built = build(hsf_year["grant"], "hsf", date(2023, 10, 1), date(2023, 10, 31))
    assert table(built, SPEND)["Total"][-1] == "0.00"
    assert table(built, HOUSEHOLDS)["Households (each counted once)"][-1] == 0
    sheet = openpyxl.load_workbook(io.BytesIO(built.workbook))["Transactions"]
    assert sheet.max_row == 1 or all(c.value is None for c in sheet[2])


@pytest.mark.parametrize("key", BUILT_IN)
def test_every_formula_stores_the_page_figure(hsf_year, build, key):
    """What pandas, python-calamine, a phone's preview or Excel's Protected View show:
    the stored values, with no recalculation."""
    built = build(hsf_year["grant"], key)
    scanned = scan_xml(built.workbook)
    assert sum(len(s["formulas"]) for s in scanned.values()) > 0
    assert {name: s["without_value"] for name, s in scanned.items()} == {
        name: [] for name in scanned
    }
    compared = assert_tables_match(
        built.figures.plain, sheets_openpyxl(built.workbook), "openpyxl"
    )
    assert compared > 10
    assert_tables_match(
        built.figures.plain, sheets_pandas(built.workbook, "openpyxl"), "pandas"
    )
    assert_tables_match(
        built.figures.plain,
        sheets_pandas(built.workbook, "calamine"),
        "pandas+calamine",
    )
    assert_tables_match(
        built.figures.plain, sheets_calamine(built.workbook), "python-calamine"
    )


@needs_libreoffice
@pytest.mark.parametrize("key", BUILT_IN)
def test_libreoffice_recalculates_to_the_sql_figures(hsf_year, build, tmp_path, key):
    built = build(hsf_year["grant"], key, date(2023, 6, 1), END)
    recalculated = recalculate(built.workbook, tmp_path, key)
    assert_tables_match(
        built.figures.plain, sheets_openpyxl(recalculated), "LibreOffice"
    )


def _filter_ranges(workbook) -> dict[str, str]:
    """Sheet -> the range of its filter buttons (a table's autoFilter or the sheet's)."""
    book = openpyxl.load_workbook(workbook)
    found = {}
    for ws in book:
        for item in ws.tables.values():
            if item.autoFilter is not None:
                found[ws.title] = item.autoFilter.ref
        if ws.auto_filter.ref:
            found.setdefault(ws.title, ws.auto_filter.ref)
    return found


@needs_libreoffice
def test_transactions_keep_their_filter_buttons_in_libreoffice(
    hsf_year, build, tmp_path
):
    built = build(hsf_year["grant"], "hsf")
    table_xml = [
        name
        for name in zipfile.ZipFile(io.BytesIO(built.workbook)).namelist()
        if name.startswith("xl/tables/")
    ]
    assert table_xml
    content = zipfile.ZipFile(io.BytesIO(built.workbook)).read(table_xml[0])
    assert b"<autoFilter" in content
    rows = len([r for r in sheets_openpyxl(built.workbook)["Transactions"] if any(r)])
    assert _filter_ranges(io.BytesIO(built.workbook))["Transactions"].endswith(
        str(rows)
    )
    # Opened and saved again by LibreOffice, the buttons are still there.
    again = _filter_ranges(recalculate(built.workbook, tmp_path, "filters"))
    assert again["Transactions"].startswith("A1:")


@needs_libreoffice
def test_the_recalculation_check_can_fail(hsf_year, build, tmp_path):
    """A stored value that disagrees with its formula is caught: LibreOffice really
    recalculates (a check that only read back our own values could never fail)."""
    built = build(hsf_year["grant"], "hsf")
    scanned = scan_xml(built.workbook)["Summary"]
    planted = _replace_member(
        built.workbook,
        scanned["member"],
        scanned["xml"].replace(b"<v>520.50</v>", b"<v>999.99</v>", 1),
    )
    assert sheets_openpyxl(planted) != sheets_openpyxl(built.workbook)
    recalculated = sheets_openpyxl(recalculate(planted, tmp_path, "planted"))
    assert_tables_match(built.figures.plain, recalculated, "LibreOffice")


def _replace_member(workbook: bytes, member: str, content: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = content if item.filename == member else source.read(item.filename)
            target.writestr(item, data)
    return out.getvalue()


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
        for _ in range(6)
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
    create_session(grant, "150.05", held_on=date(2024, 7, 1), attendees=(girls[0],))
    built = build(grant, "activities", date(2024, 4, 1), date(2025, 3, 31))
    totals = table(built, "Programme totals")
    assert totals["Sessions"] == [3]
    assert totals["Places (cumulative attendances)"] == [11]
    assert totals["Young people (unique)"] == [8]
    # £650.05 over 8 young people: 81.25625, to the penny half up.
    assert totals["Cost per participant"] == ["81.26"]
    assert totals["Average sessions per young person"] == ["1.38"]
    by_activity = table(built, "Activity programme")
    assert by_activity["Kayaking"][:3] == [2, 8, 7]
    grid = table(built, "Young people by age band (at their first session) and gender")
    # Six girls aged 14 are shown; one 16-year-old boy is under 5 and suppressed.
    assert grid["11 to 15"][0] == 6
    assert grid["16 to 17"][1] == "<5"
    assert grid["Not known"][-2] == "<5"
    book = openpyxl.load_workbook(io.BytesIO(built.workbook))
    assert "Attendance" not in book.sheetnames, "no per-person rows in the return"
    references = {
        c.value
        for ws in book
        for row in ws.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("YP-")
    }
    assert references == set()
    recalculated = recalculate(built.workbook, tmp_path, "activities")
    assert_tables_match(
        built.figures.plain, sheets_openpyxl(recalculated), "LibreOffice"
    )


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
    assert cover["Return definition"] == "Household Support Fund (hsf, version 1)"
    tx = book["Transactions"]
    assert "tblTransactions" in tx.tables
    assert tx.tables["tblTransactions"].autoFilter is not None
    assert tx.freeze_panes == "A2"
    headers = [c.value for c in tx[1]]
    amount = headers.index("Amount") + 1
    assert tx.cell(2, amount).number_format.startswith('"£"#,##0.00')
    assert tx["A2"].number_format == "DD/MM/YYYY"
    for name in book.sheetnames:
        sheet = book[name]
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.paperSize == 9
        assert sheet.page_setup.scale >= 73, name
    assert tx.print_title_rows == "$1:$1"
    assert "Beneficiary" in headers and not {"Name", "Date of birth", "Contact"} & set(
        headers
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


def test_the_funder_names_its_groups_and_routes(app, hsf_year, build):
    from funds.extensions import db
    from funds.grants.services import set_funder_reporting
    from funds.models import Grant, Role, User

    with app.app_context():
        grant = db.session.get(Grant, hsf_year["grant"])
        manager = db.session.scalars(
            db.select(User).where(User.role == Role.MANAGER)
        ).first()
        set_funder_reporting(
            grant.funder,
            actor=manager,
            group_order=["children", "disabled", "pensioner"],
            group_labels={"children": "(a) Households with children"},
            delivery_routes={"voucher": "Vouchers (supermarket)"},
            cash_first=False,
        )
        db.session.commit()
    built = build(hsf_year["grant"], "hsf")
    assert headings(built, SPEND)[1] == "(a) Households with children"
    assert table(built, "By delivery route")["Vouchers (supermarket)"] == ["520.50", 8]
    book = openpyxl.load_workbook(io.BytesIO(built.workbook))["Transactions"]
    groups = {row[5] for row in book.iter_rows(min_row=2, values_only=True)}
    assert "(a) Households with children" in groups
