"""Every kind of import reads the same rows from .xlsx, .ods and .csv alike."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Disbursement,
    Funder,
    Grant,
    Household,
    YoungPerson,
)
from tests.imports.conftest import csv_bytes, ods, run_of, xlsx

FORMATS = {
    "xlsx": xlsx,
    "ods": ods,
    "csv": csv_bytes,
}


def _rows(kind: str, funder: str) -> tuple[list[list], type, int]:
    """(rows, the model they make, how many) for each kind."""
    if kind == "households":
        return (
            [["Your id", "Name", "Adults", "Children", "Disabled person"]]
            + [["h1", "Ann", 2, 1, "Yes"], ["h2", "Bo", "", "", "No"]],
            Household,
            2,
        )
    if kind == "young_people":
        return (
            [["Name", "Date of birth", "Gender"]]
            + [["Cy", "14/02/2010", "Female"], ["Di", "", ""]],
            YoungPerson,
            2,
        )
    if kind == "grants":
        return (
            [
                ["Grant reference", "Title", "Funder", "Total", "Start date"]
                + ["End date"],
                ["NEW-1", "Youth", funder, "500.00", "01/04/2024", "31/03/2025"],
            ],
            Grant,
            2,  # with the ledger's own grant
        )
    if kind == "awards":
        return (
            [
                ["Grant reference", "Item", "Amount", "Date given"]
                + ["How it was given", "How they came to be helped"],
                ["FMT", "Fridge", "199.99", "03/06/2024", "Direct purchase"]
                + ["Not applicable"],
            ],
            Disbursement,
            1,
        )
    return (
        [
            ["Activity", "Date", "Grant reference", "Cost"],
            ["Kayaking", "14/06/2024", "FMT", "45.50"],
        ],
        ActivitySession,
        1,
    )


@pytest.mark.parametrize("suffix", sorted(FORMATS))
@pytest.mark.parametrize(
    "kind", ["households", "young_people", "grants", "awards", "sessions"]
)
def test_each_kind_from_each_format(
    app, client, manager, upload, check, commit, create_grant, item_id, kind, suffix
):
    item_id("Fridge")
    grant = create_grant("1000.00", reference="FMT")
    with app.app_context():
        funder = db.session.get(Funder, db.session.get(Grant, grant).funder_id).name
    rows, model, expected = _rows(kind, funder)
    run_id = upload(kind, f"file.{suffix}", FORMATS[suffix](rows))
    page = check(run_id).get_data(as_text=True)
    assert "Every row is right" in page, (kind, suffix)
    commit(run_id)
    assert run_of(app, run_id).status.value == "imported"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(model)) == expected
        if kind == "young_people":
            born = db.session.scalar(select(func.max(YoungPerson.date_of_birth)))
            assert born == date(2010, 2, 14)
