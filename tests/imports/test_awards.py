"""Importing awards: every row through the award form's rules, all or nothing, never twice,
and undone as a whole; from xlsx, ods and csv."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import AuditEvent, Disbursement, Grant, Household, ImportRecord
from tests.conftest import count
from tests.imports.conftest import csv_bytes, reference, run_of, xlsx

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


@pytest.fixture
def ledger(app, create_grant, create_household, item_id):
    item_id("Food voucher")
    grant = create_grant("1000.00", reference="G1")
    household = create_household(case_reference="CASE-77")
    return {
        "grant": grant,
        "household": reference(app, Household, household),
        "id": household,
    }


def _rows(ledger, count_rows=3, changes=None, amount="20.00"):
    changes = changes or {}
    rows = [HEADER]
    for number in range(1, count_rows + 1):
        row = [
            f"A{number}",
            "G1",
            ledger["household"],
            "Food voucher",
            amount,
            "03/06/2024",
            "Voucher",
            "Referral",
            "Tesco",
        ]
        for index, value in changes.get(number, {}).items():
            row[HEADER.index(index)] = value
        rows.append(row)
    return rows


def _spent(app, grant_id) -> Decimal:
    with app.app_context():
        pence = db.session.scalar(
            select(func.coalesce(func.sum(Disbursement.amount), 0)).where(
                Disbursement.grant_id == grant_id
            )
        )
        return Decimal(pence)


def test_awards_from_a_workbook_go_in_with_one_audit_event(
    app, client, manager, ledger, upload, check, commit
):
    run_id = upload("awards", "awards.xlsx", xlsx(_rows(ledger)))
    assert set(run_of(app, run_id).mapping) >= {"grant", "amount", "awarded_on"}
    page = check(run_id).get_data(as_text=True)
    assert "Every row is right" in page and "Import 3 awards" in page
    assert count(app, Disbursement) == 0  # checking keeps nothing
    page = commit(run_id).get_data(as_text=True)
    assert "Imported" in page
    with app.app_context():
        lines = db.session.scalars(select(Disbursement).order_by(Disbursement.id)).all()
        assert [line.amount for line in lines] == [Decimal("20.00")] * 3
        assert {line.household_id for line in lines} == {ledger["id"]}
        assert {line.supplier for line in lines} == {"Tesco"}
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "import.commit")
            )
            == 1
        )
        assert db.session.scalar(select(func.count(ImportRecord.id))) == 3


def test_one_bad_row_among_many_imports_nothing_and_names_its_row_and_column(
    app, client, manager, ledger, upload, check, commit
):
    rows = _rows(ledger, 5000, {3000: {"Date given": "31/02/2024"}}, amount="0.10")
    run_id = upload("awards", "awards.csv", csv_bytes(rows))
    page = check(run_id).get_data(as_text=True)
    assert "Rows to fix" in page
    assert "31/02/2024 is not a real date" in page
    run = run_of(app, run_id)
    assert run.counts == {"rows": 5000, "new": 4999, "existing": 0, "errors": 1}
    # Row 3,001 of the file: the headings are row 1.
    errors = client.get(f"/imports/{run_id}/errors.xlsx")
    assert errors.status_code == 200
    import io

    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(errors.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][-2:] == ["Row in your file", "What to fix"]
    assert len(values) == 2 and values[1][-2] == "3001" and values[1][0] == "A3000"
    assert "Date given: 31/02/2024 is not a real date" in values[1][-1]
    refused = client.post(f"/imports/{run_id}/import")
    assert refused.status_code == 303
    assert count(app, Disbursement) == 0


def test_the_same_file_again_adds_nothing(
    app, client, manager, ledger, upload, check, commit
):
    data = xlsx(_rows(ledger))
    first = upload("awards", "awards.xlsx", data)
    check(first)
    commit(first)
    again = upload("awards", "awards.xlsx", data)
    page = check(again).get_data(as_text=True)
    assert run_of(app, again).counts["existing"] == 3
    assert "nothing new to import" in page
    assert count(app, Disbursement) == 3


def test_without_ids_identical_rows_stay_two_and_the_file_still_goes_in_once(
    app, client, manager, ledger, upload, check, commit
):
    rows = [row[1:] for row in _rows(ledger, 2)]  # no "Your id" column; rows identical
    data = csv_bytes(rows)
    first = upload("awards", "awards.csv", data)
    check(first)
    commit(first)
    assert count(app, Disbursement) == 2
    again = upload("awards", "awards.csv", data)
    check(again)
    assert run_of(app, again).counts == {
        "rows": 2,
        "new": 0,
        "existing": 2,
        "errors": 0,
    }


def test_the_award_forms_rules_apply_row_by_row(
    app, client, manager, ledger, upload, check, create_grant
):
    rows = _rows(
        ledger,
        8,
        {
            1: {"Amount": "1.234,50"},
            2: {"Date given": "03/06/2030"},
            3: {"Grant reference": "NOPE"},
            4: {"Household or young person": "H-ZZZZZZ"},
            5: {"How they came to be helped": "Not applicable"},
            6: {"Item": "Unicorn"},
            7: {"Amount": "990.00"},
            8: {"Amount": "50.00"},
        },
    )
    run_id = upload("awards", "awards.xlsx", xlsx(rows))
    page = check(run_id).get_data(as_text=True)
    for words in (
        "using the digits 0 to 9",
        "The date cannot be in the future",
        "There is no grant with the reference NOPE",
        "There is no household or young person H-ZZZZZZ",
        "“Not applicable” is for spending with no beneficiary",
        "There is no item called Unicorn",
        # The 7th award's £990 fits; after it, the 8th's £50 does not (rows are taken
        # in the file's order, as if typed one after another).
        "more than is available to award from grant G1: £10.00 available",
    ):
        assert words in page, words
    assert run_of(app, run_id).counts == {
        "rows": 8,
        "new": 1,
        "existing": 0,
        "errors": 7,
    }


def test_a_household_found_by_case_reference_or_an_earlier_imports_id(
    app, client, manager, ledger, upload, check, commit
):
    people = upload(
        "households",
        "households.xlsx",
        xlsx([["Your id", "Adults"], ["FAM-1", "2"]]),
    )
    check(people)
    commit(people)
    rows = _rows(
        ledger,
        2,
        {
            1: {"Household or young person": "case-77"},
            2: {"Household or young person": "FAM-1"},
        },
    )
    run_id = upload("awards", "awards.xlsx", xlsx(rows))
    check(run_id)
    commit(run_id)
    with app.app_context():
        households = db.session.scalars(
            select(Disbursement.household_id).order_by(Disbursement.id)
        ).all()
        imported = db.session.scalar(
            select(ImportRecord.object_id).where(ImportRecord.source_key == "FAM-1")
        )
    assert households == [ledger["id"], imported]


def test_undo_reverses_every_award_on_its_own_date(
    app, client, manager, ledger, upload, check, commit
):
    run_id = upload("awards", "awards.xlsx", xlsx(_rows(ledger)))
    check(run_id)
    commit(run_id)
    assert _spent(app, ledger["grant"]) == Decimal("60.00")
    refused = client.post(f"/imports/{run_id}/undo", data={"reason": ""})
    assert refused.status_code == 422
    response = client.post(f"/imports/{run_id}/undo", data={"reason": "Wrong file"})
    assert response.status_code == 302
    assert _spent(app, ledger["grant"]) == Decimal("0.00")
    with app.app_context():
        reversals = db.session.scalars(
            select(Disbursement).where(Disbursement.reverses_id.is_not(None))
        ).all()
        assert len(reversals) == 3
        assert {r.awarded_on.isoformat() for r in reversals} == {"2024-06-03"}
        assert db.session.scalar(select(func.count(ImportRecord.id))) == 0
        assert db.session.get(Grant, ledger["grant"]) is not None
    assert run_of(app, run_id).status.value == "undone"
    # Undone rows can be imported again.
    again = upload("awards", "awards.xlsx", xlsx(_rows(ledger)))
    check(again)
    assert run_of(app, again).counts["new"] == 3
