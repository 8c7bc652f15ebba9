"""Importing grants with their budget lines, and activity sessions with their registers;
and the command line for all kinds."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import openpyxl
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    ActivitySession,
    BudgetControl,
    BudgetLine,
    Disbursement,
    Grant,
    ImportRun,
    Role,
    YoungPerson,
)
from tests.conftest import count
from tests.imports.conftest import csv_bytes, reference, run_of, xlsx

GRANT_HEADER = [
    "Grant reference",
    "Title",
    "Funder",
    "Total",
    "Start date",
    "End date",
    "Budget control",
    "Budget line",
    "Budget line amount",
]


def _funder_name(app, funder_id) -> str:
    from funds.models import Funder

    with app.app_context():
        return db.session.get(Funder, funder_id).name


def test_rows_of_one_grant_make_one_grant_with_its_budget_lines(
    app, client, manager, upload, check, commit, create_funder
):
    funder = _funder_name(app, create_funder("Connect4Communities"))
    rows = [
        GRANT_HEADER,
        ["HSF-26", "Household Support", funder, "£12,000.00", "01/04/2026"]
        + ["31/03/2027", "Warn", "Food", "£8,000.00"],
        ["HSF-26", "Household Support", funder, "£12,000.00", "01/04/2026"]
        + ["31/03/2027", "Warn", "Utility bills", "4000"],
        ["OHID-1", "Youth", funder, 2500.5, date(2026, 4, 1), date(2027, 3, 31)]
        + ["", "", ""],
    ]
    run_id = upload("grants", "grants.xlsx", xlsx(rows))
    page = check(run_id).get_data(as_text=True)
    assert "Import 3 grant rows" in page, page
    commit(run_id)
    with app.app_context():
        hsf, ohid = db.session.scalars(select(Grant).order_by(Grant.reference))
        assert (hsf.total, hsf.control) == (Decimal("12000.00"), BudgetControl.WARN)
        lines = db.session.scalars(
            select(BudgetLine.amount).where(BudgetLine.grant_id == hsf.id)
        ).all()
        assert sorted(lines) == [Decimal("4000.00"), Decimal("8000.00")]
        assert ohid.total == Decimal("2500.50") and ohid.control == BudgetControl.BLOCK
        assert (ohid.starts_on, ohid.ends_on) == (date(2026, 4, 1), date(2027, 3, 31))


def test_money_written_the_continental_way_is_refused_with_what_to_type(
    app, client, manager, upload, check, create_funder
):
    funder = _funder_name(app, create_funder())
    rows = [
        GRANT_HEADER,
        ["G-1", "One", funder, "1.234,50", "01/04/2026", "31/03/2027", "", "", ""],
        ["G-2", "Two", funder, "100.005", "01/04/2026", "31/03/2027", "", "", ""],
        ["G-3", "Three", funder, "-5", "01/04/2026", "31/03/2027", "", "", ""],
        ["G-4", "Four", funder, "100", "31/03/2027", "01/04/2026", "", "", ""],
        ["G-5", "Five", "Nobody", "100", "01/04/2026", "31/03/2027", "", "", ""],
        ["G-6", "Six", funder, "100", "01/04/2026", "31/03/2027", "", "Food", "200"],
    ]
    run_id = upload("grants", "grants.csv", csv_bytes(rows))
    page = check(run_id).get_data(as_text=True)
    assert run_of(app, run_id).counts["errors"] == 6
    for words in (
        "1.234,50",
        "pounds and pence using the digits 0 to 9, like 12.50",
        "no more than 2 decimal places",
        "without a minus sign",
        "end date must be on or after the start date",
        "no funder called Nobody",
        "more than the grant&#39;s total",
    ):
        assert words in page, words
    assert "Nobody" in page
    assert count(app, Grant) == 0


def test_a_bad_first_line_of_a_grant_does_not_spoil_its_next_rows(
    app, client, manager, upload, check, create_funder
):
    funder = _funder_name(app, create_funder())
    row = ["HSF-27", "Support", funder, "1000", "01/04/2026", "31/03/2027", ""]
    rows = [
        GRANT_HEADER,
        row + ["No such category", "100"],
        row + ["Food", "100"],
        row + ["Utility bills", "200"],
    ]
    run_id = upload("grants", "grants.xlsx", xlsx(rows))
    page = check(run_id).get_data(as_text=True)
    assert "There is no spend category called No such category" in page
    # Only the bad row is wrong; the others check (and would make the grant) cleanly.
    assert run_of(app, run_id).counts == {
        "rows": 3,
        "new": 2,
        "existing": 0,
        "errors": 1,
    }
    assert count(app, Grant) == 0


def test_sessions_come_in_with_their_registers_and_cost(
    app, client, manager, upload, check, commit, create_grant, create_young_person
):
    grant = create_grant("1000.00", reference="YTH")
    ada = reference(app, YoungPerson, create_young_person(name="Ada Lovelace"))
    create_young_person(name="Ben Jones", case_reference="CASE-B")
    rows = [
        ["Your id", "Activity", "Date", "Grant reference", "Cost", "Start time"]
        + ["Length in minutes", "Who attended"],
        ["S1", "Kayaking", "14/06/2024", "YTH", "90.00", "10:00", "180"]
        + [f"{ada}; CASE-B"],
        ["S2", "Theatre trip", "15/06/2024", "YTH", "30", "", "", "Ada Lovelace"],
    ]
    run_id = upload("sessions", "sessions.xlsx", xlsx(rows))
    page = check(run_id).get_data(as_text=True)
    assert "Every row is right" in page, page
    commit(run_id)
    with app.app_context():
        first, second = db.session.scalars(
            select(ActivitySession).order_by(ActivitySession.held_on)
        )
        assert first.cost == Decimal("90.00") and first.starts_at == time(10)
        assert first.duration_minutes == 180 and len(first.attendances) == 2
        assert len(second.attendances) == 1
        spent = db.session.scalars(
            select(Disbursement.amount).where(Disbursement.grant_id == grant)
        ).all()
        assert sorted(spent) == [Decimal("30.00"), Decimal("90.00")]


def test_an_attendee_named_twice_or_unknown_is_a_row_problem(
    app, client, manager, upload, check, create_grant, create_young_person
):
    create_grant("1000.00", reference="YTH")
    create_young_person(name="Sam")
    create_young_person(name="Sam")
    rows = [
        ["Activity", "Date", "Grant reference", "Cost", "Who attended"],
        ["Kayaking", "14/06/2024", "YTH", "10", "Sam"],
        ["Kayaking", "14/06/2024", "YTH", "10", "YP-NOBODY"],
        ["Fridge", "14/06/2024", "YTH", "10", ""],
    ]
    run_id = upload("sessions", "sessions.xlsx", xlsx(rows))
    check(run_id)
    assert run_of(app, run_id).counts["errors"] == 3
    assert count(app, ActivitySession) == 0


# --- the command line ------------------------------------------------------------------


def test_the_command_line_writes_a_template_and_imports_it(
    app, runner, create_user, tmp_path
):
    create_user(Role.ADMIN, email="admin@example.org")
    out = tmp_path / "households.xlsx"
    result = runner.invoke(args=["import", "template", "households", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).active["A1"].value == "Your id"
    args = ["import", "households", str(out), "--user", "admin@example.org"]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 new" in dry.output and "Dry run: nothing was imported" in dry.output
    from funds.models import Household

    assert count(app, Household) == 0
    real = runner.invoke(args=args)
    assert real.exit_code == 0 and "Imported 2 households" in real.output
    assert count(app, Household) == 2
    again = runner.invoke(args=args)
    assert again.exit_code == 0 and "Nothing new" in again.output
    assert count(app, Household) == 2
    assert count(app, ImportRun) == 3


def test_the_command_line_writes_the_rows_to_fix_and_fails(
    app, runner, create_user, tmp_path
):
    create_user(Role.MANAGER, email="manager@example.org")
    source = tmp_path / "young.csv"
    source.write_bytes(csv_bytes([["Name", "Date of birth"], ["A", "31/02/2010"]]))
    result = runner.invoke(
        args=["import", "young-people", str(source), "--user", "manager@example.org"]
    )
    assert result.exit_code == 1
    errors = tmp_path / "young-rows-to-fix.xlsx"
    assert errors.exists() and "Nothing was imported" in result.output
    sheet = openpyxl.load_workbook(errors).active
    assert "not a real date" in sheet.cell(2, sheet.max_column).value
    assert count(app, YoungPerson) == 0


def test_staff_cannot_import_from_the_command_line(app, runner, create_user, tmp_path):
    create_user(Role.STAFF, email="staff@example.org")
    source = tmp_path / "h.csv"
    source.write_bytes(b"Name\nA\n")
    result = runner.invoke(
        args=["import", "households", str(source), "--user", "staff@example.org"]
    )
    assert result.exit_code != 0
    from funds.models import Household

    assert count(app, Household) == 0
