"""Fixtures for returns: a small HSF year with the edge cases the issue names."""

from __future__ import annotations

from datetime import date

import pytest

from funds.extensions import db
from funds.models import Grant, Role, User
from funds.organisation import Organisation
from funds.returns.library import get_definition
from funds.returns.services import build_return

START, END = date(2023, 4, 1), date(2024, 3, 31)


@pytest.fixture
def hsf_year(
    app, create_grant, create_funder, create_household, create_disbursement, create_user
):
    """A £5,000 HSF grant with: a household in two groups, five awards to one household, a
    reversal inside the period, awards on the period's first and last day, hostile text."""
    funder = create_funder("Connect4Communities")
    grant = create_grant(
        "5000.00", funder_id=funder, reference="C4C-HSF4", starts_on=START, ends_on=END
    )
    finance = create_user(Role.FINANCE)
    both = create_household(
        children=2,
        has_children=True,
        has_disabled_person=True,
        postcode_district="SO14",
    )
    pensioner = create_household(has_pensioner=True)
    other = create_household(adults=2)
    for day in range(5):
        create_disbursement(
            grant,
            "30.00",
            household_id=both,
            awarded_on=date(2023, 5, 1 + day),
            supplier="@SUM(A1)",
        )
    create_disbursement(
        grant,
        "300.50",
        item="Fridge",
        household_id=pensioner,
        awarded_on=START,
        supplier="+44 7700 900123",
        evidence_reference="#N/A",
    )
    gas = create_disbursement(
        grant,
        "80.00",
        item="Gas bill",
        household_id=other,
        awarded_on=date(2023, 7, 1),
        supplier='Bad\x01char =HYPERLINK("http://evil.example")',
    )
    create_disbursement(
        grant,
        "25.00",
        item="Shoes",
        household_id=other,
        awarded_on=END,
        evidence_reference="=1+1",
    )
    create_disbursement(
        grant,
        "45.00",
        item="Winter coat",
        household_id=pensioner,
        awarded_on=date(2023, 9, 9),
        evidence_reference="-2+3+cmd|' /C calc'!A0",
    )
    with app.app_context():
        from funds.disbursements.services import reverse_disbursement
        from funds.models import Disbursement

        reverse_disbursement(
            db.session.get(Disbursement, gas),
            actor=db.session.get(User, finance),
            reason="Paid twice",
            reversed_on=date(2023, 7, 2),
            today=date(2026, 11, 23),
        )
        db.session.commit()
    return {"grant": grant, "households": (both, pensioner, other)}


@pytest.fixture
def build(app):
    """Build a return for a grant id; returns (BuiltReturn, Grant) in a fresh app context."""

    def _build(
        grant_id: int,
        template: str,
        date_from: date = START,
        date_to: date = END,
        **options,
    ):
        with app.app_context():
            grant = db.session.get(Grant, grant_id)
            definition = (
                template if not isinstance(template, str) else get_definition(template)
            )
            built = build_return(
                grant,
                definition=definition,
                date_from=date_from,
                date_to=date_to,
                prepared_by="Maria Manager",
                prepared_on=date(2026, 11, 23),
                organisation=Organisation(name="Riverside Youth Project"),
                **options,
            )
            return built

    return _build
