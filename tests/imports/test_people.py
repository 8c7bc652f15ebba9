"""Importing households and young people: the templates import as they are, every file
format, the form's rules row by row, saved column choices, and undo that keeps anyone in use."""

from __future__ import annotations

import io
import re
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disability,
    Gender,
    Household,
    ImportMapping,
    ImportRun,
    ImportStatus,
    Role,
    YoungPerson,
)
from tests.conftest import count
from tests.imports.conftest import csv_bytes, ods, post_file, run_of, xlsx

HOUSEHOLDS = [
    "Your id",
    "Name",
    "Contact details",
    "Case-system reference",
    "Adults",
    "Children",
    "Pensioner",
    "Disabled person",
    "Care leaver",
    "Postcode district",
    "Team",
    "Notes",
]


def _households(app) -> list[Household]:
    with app.app_context():
        rows = db.session.scalars(select(Household).order_by(Household.id)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize("kind", ["households", "young_people"])
def test_each_template_imports_cleanly_as_downloaded(
    app, client, manager, upload, check, commit, kind
):
    template = client.get(f"/imports/templates/{kind}.xlsx")
    assert template.status_code == 200
    assert template.headers["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    # The rules of each column travel with the template, on a sheet of their own.
    assert len(book.sheetnames) == 2
    run_id = upload(kind, "template.xlsx", template.data)
    page = check(run_id).get_data(as_text=True)
    assert "Every row is right" in page
    commit(run_id)
    model = Household if kind == "households" else YoungPerson
    assert count(app, model) == 2
    assert run_of(app, run_id).status == ImportStatus.IMPORTED
    with app.app_context():
        names = set(db.session.scalars(select(model.name)))
    assert names == {"Jo Example", "Sam Example"}


def test_households_from_a_windows_csv_with_semicolons(
    app, client, manager, upload, check, commit
):
    rows = [
        HOUSEHOLDS,
        ["h1", "Zoë Brontë", "", "CASE-1", "2", "3", "No", "Yes", "", "SO14", "", ""],
        ["h2", "Seán O’Neill", "", "", "", "", "yes", "", "Y", "so16", "", "café"],
    ]
    data = csv_bytes(rows, encoding="cp1252", delimiter=";")
    run_id = upload("households", "old list.csv", data)
    assert "Every row is right" in check(run_id).get_data(as_text=True)
    commit(run_id)
    first, second = _households(app)
    assert (first.name, first.case_reference) == ("Zoë Brontë", "CASE-1")
    assert (first.adults, first.children, first.has_children) == (2, 3, True)
    assert first.has_disabled_person and not first.has_pensioner
    assert (second.name, second.adults, second.children) == ("Seán O’Neill", 1, 0)
    assert second.has_pensioner and second.has_care_leaver
    assert second.postcode_district == "SO16" and second.notes == "café"


def test_young_people_from_ods_find_households_imported_before(
    app, client, manager, upload, check, commit
):
    households = upload(
        "households",
        "households.xlsx",
        xlsx([["Your id", "Name"], ["F-9", "The Smiths"]]),
    )
    check(households)
    commit(households)
    rows = [
        ["Your id", "Name", "Date of birth", "Gender", "Considers themselves disabled"]
        + ["Household"],
        ["Y-1", "Ada Smith", date(2010, 2, 14), "female", "No", "F-9"],
        ["Y-2", "Ben", "03/09/2008", "Non-binary", "", ""],
    ]
    run_id = upload("young_people", "young.ods", ods(rows))
    page = check(run_id).get_data(as_text=True)
    assert "Every row is right" in page, page
    commit(run_id)
    with app.app_context():
        ada, ben = db.session.scalars(select(YoungPerson).order_by(YoungPerson.id))
        assert ada.date_of_birth == date(2010, 2, 14) and ada.gender == Gender.FEMALE
        assert ada.household.name == "The Smiths"
        assert ada.disability == Disability.NO
        assert ben.date_of_birth == date(2008, 9, 3) and ben.household is None


def test_each_bad_row_says_what_to_fix_and_nothing_goes_in(
    app, client, manager, upload, check, create_household
):
    create_household(case_reference="CASE-77")
    rows = [
        HOUSEHOLDS,
        ["1", "Ann", "", "", "two", "", "", "", "", "", "", ""],
        ["2", "Bo", "", "case-77", "", "", "", "", "", "", "", ""],
        ["3", "Cy\ufffe", "", "", "", "", "", "", "", "", "", ""],
        ["4", "Di", "", "", "", "", "maybe", "", "", "", "", ""],
        ["5", "Ed", "", "", "", "", "", "", "", "SO14 3AB", "", ""],
        ["6", '=HYPERLINK("x")', "", "", "", "", "", "", "", "", "", ""],
        ["7", "Fine", "", "", "", "", "", "", "", "", "No such team", ""],
    ]
    run_id = upload("households", "bad.csv", csv_bytes(rows))
    page = check(run_id).get_data(as_text=True)
    assert run_of(app, run_id).counts["errors"] == 5
    for words in (
        "Adults",
        "two",
        "already has this case-system reference",
        "Remove the hidden special characters",
        "Pensioner",
        "Yes or No",
        "No such team",
    ):
        assert words in page, words
    errors = client.get(f"/imports/{run_id}/errors.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(errors.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    # The original rows, each with where it was and what to fix; nothing runs as a formula.
    assert [row[-2] for row in values[1:]] == ["2", "3", "4", "5", "8"]
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row), (
        "the errors file holds values only"
    )
    assert count(app, Household) == 1
    # A whole postcode keeps its district, as on the form; a name that looks like a
    # formula is only text.
    assert not {"6", "7"} & {row[-2] for row in values[1:]}
    refused = client.post(f"/imports/{run_id}/import")
    assert refused.status_code == 303
    assert count(app, Household) == 1


def test_a_row_too_many_refuses_the_file(app, client, manager):
    from funds.spreadsheets import IMPORTS

    rows = [["Name"]] + [["x"]] * (IMPORTS.rows + 1)
    response = post_file(
        client, "/imports/", {"kind": "households"}, "big.csv", csv_bytes(rows)
    )
    assert response.status_code == 422
    assert f"more than {IMPORTS.rows:,} rows" in response.get_data(as_text=True)
    with app.app_context():
        assert (
            "import.upload" not in db.session.scalars(select(AuditEvent.action)).all()
        )
    assert count(app, ImportRun) == 0


def test_columns_saved_once_are_offered_for_the_next_file(
    app, client, manager, upload, check
):
    rows = [["Ref", "Full name", "Kids"], ["r1", "Ann", "2"]]
    first = upload("households", "old.xlsx", xlsx(rows))
    # "Kids" is not a heading funds knows.
    assert "children" not in run_of(app, first).mapping
    check(
        first,
        {"source_key": 0, "name": 1, "children": 2},
        save_as="Old household list",
    )
    second = upload("households", "old again.xlsx", xlsx(rows))
    page = client.get(f"/imports/{second}/columns").get_data(as_text=True)
    assert "Old household list" in page
    with app.app_context():
        saved = db.session.scalars(select(ImportMapping)).one()
    applied = client.get(f"/imports/{second}/columns?saved={saved.id}")
    selected = re.findall(
        r'<option value="(\d+)" selected>[^<]*\(for example', applied.text
    )
    assert sorted(selected) == ["0", "1", "2"]


def test_undo_removes_the_households_nobody_refers_to(
    app, client, manager, upload, check, commit, create_grant, item_id
):
    run_id = upload(
        "households", "h.xlsx", xlsx([["Your id", "Name"], ["1", "A"], ["2", "B"]])
    )
    check(run_id)
    commit(run_id)
    used = _households(app)[0]
    grant = create_grant("500.00", reference="G1")
    item_id("Food voucher")
    award = xlsx(
        [
            ["Grant reference", "Household or young person", "Item", "Amount"]
            + ["Date given", "How it was given", "How they came to be helped"],
            ["G1", used.reference, "Food voucher", "10.00", "03/06/2024"]
            + ["Voucher", "Referral"],
        ]
    )
    awards = upload("awards", "a.xlsx", award)
    check(awards)
    commit(awards)
    response = client.post(f"/imports/{run_id}/undo", data={"reason": "Wrong file"})
    assert response.status_code == 302
    assert [h.name for h in _households(app)] == ["A"]
    run = run_of(app, run_id)
    assert run.status == ImportStatus.UNDONE and run.undo_reason == "Wrong file"
    trail = client.get("/admin/audit?kind=imports")
    assert trail.status_code == 403  # managers do not read the audit trail
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"import.upload", "import.check", "import.commit", "import.undo"} <= actions
    assert "household.remove" in actions
    assert grant
    # The household kept still answers to its old id: the same file again brings back
    # only the one removed, never a second copy of the one kept.
    again = upload(
        "households", "h.xlsx", xlsx([["Your id", "Name"], ["1", "A"], ["2", "B"]])
    )
    check(again)
    assert run_of(app, again).counts == {
        "rows": 2,
        "new": 1,
        "existing": 1,
        "errors": 0,
    }


def test_undo_needs_a_reason(app, client, manager, upload, check, commit):
    run_id = upload("households", "h.xlsx", xlsx([["Name"], ["A"]]))
    check(run_id)
    commit(run_id)
    response = client.post(f"/imports/{run_id}/undo", data={"reason": ""})
    assert response.status_code == 422
    assert "Say why this import is being undone" in response.text
    assert count(app, Household) == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE])
def test_only_managers_and_admins_import(app, client, login, create_user, role):
    login(create_user(role))
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/templates/households.xlsx").status_code == 403
    response = client.post(
        "/imports/",
        data={"kind": "households", "file": (io.BytesIO(b"Name\nA\n"), "h.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403
    assert count(app, Household) == 0
