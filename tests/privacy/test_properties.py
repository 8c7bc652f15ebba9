"""Properties: a coarsened date of birth keeps every counted age; erasing anyone from a
random small ledger moves no figure on any page, return or stored workbook."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from funds.extensions import db
from funds.models import HSF_CATEGORIES, DeliveryMethod, ItemType, Role, User
from funds.privacy.birth_dates import age_on, anonymised_birth_date
from tests.conftest import TODAY, reset_database
from tests.privacy.helpers import figures_snapshot

# --- the date of birth ---------------------------------------------------------------------

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31))


@given(
    born=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)),
    on=st.lists(days, max_size=12),
)
def test_anonymised_birth_date_keeps_every_counted_age(born, on):
    kept = anonymised_birth_date(born, on)
    assert (kept.year, kept.month) == (born.year, born.month) and kept.day <= born.day
    assert [age_on(kept, day) for day in on] == [age_on(born, day) for day in on]
    if kept.day > 1:  # the smallest: a day earlier changes some counted age
        earlier = kept.replace(day=kept.day - 1)
        assert [age_on(earlier, d) for d in on] != [age_on(born, d) for d in on]


@given(born=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)))
def test_with_nothing_counted_the_day_is_the_first(born):
    assert anonymised_birth_date(born, []) == born.replace(day=1)


# --- a random small ledger -----------------------------------------------------------------

START, END = date(2024, 4, 1), date(2025, 3, 31)
ITEMS = ("Food voucher", "Fridge", "Gas bill", "Kayaking")
hostile = st.text(alphabet="Zoë*?~<>= O'b", min_size=1, max_size=12).filter(
    lambda s: s.strip()
)
lines = st.tuples(
    st.sampled_from(ITEMS),
    st.integers(min_value=1, max_value=50_000),  # pence
    st.sampled_from(["h0", "h1", "y0", "y1", None]),
    st.integers(min_value=0, max_value=364),
    st.one_of(
        st.none(), st.integers(min_value=0, max_value=200)
    ),  # reversed N days later
    st.one_of(st.none(), hostile),  # notes
)
ledgers = st.fixed_dictionaries(
    {
        "names": st.lists(hostile, min_size=4, max_size=4),
        # Turning 16 or 18 during the grant's year: an age band changes on a birthday.
        "births": st.lists(
            st.dates(min_value=date(2006, 4, 1), max_value=date(2009, 3, 31)),
            min_size=2,
            max_size=2,
        ),
        "lines": st.lists(lines, min_size=1, max_size=8),
        "attend": st.lists(st.integers(0, 364), max_size=4),
        "erase": st.lists(
            st.sampled_from(["h0", "h1", "y0", "y1"]), min_size=1, unique=True
        ),
    }
)


@pytest.fixture
def property_app(app):
    return app


def _seed(app, history) -> dict:
    from funds.activities.services import SessionInput, record_session, set_attendance
    from funds.admin.services import create_user
    from funds.disbursements.services import (
        AwardInput,
        record_disbursement,
        reverse_disbursement,
    )
    from funds.grants.services import create_funder, create_grant
    from funds.people.services import (
        HouseholdInput,
        YoungPersonInput,
        create_household,
        create_young_person,
    )
    from funds.returns.library import get_definition
    from funds.returns.services import submit_return
    from funds.taxonomy.defaults import (
        apply_default_hsf_mapping,
        ensure_default_taxonomy,
    )

    with app.app_context():
        ensure_default_taxonomy()
        admin, _ = create_user(
            actor=None,
            email="a@example.org",
            name="A",
            role=Role.ADMIN,
            password="plum-orbit-lantern-42",
        )
        funder = create_funder(actor=admin, name="HSF", categories=list(HSF_CATEGORIES))
        apply_default_hsf_mapping(funder)
        grant = create_grant(
            actor=admin,
            reference="P-1",
            title="Prop",
            funder_id=funder.id,
            total=Decimal("1000000.00"),
            starts_on=START,
            ends_on=END,
            control="warn",
        )
        names = history["names"]
        people = {
            "h0": create_household(
                HouseholdInput(name=names[0], notes=names[0], has_pensioner=True),
                actor=admin,
            ),
            "h1": create_household(
                HouseholdInput(name=names[1], contact=names[1], adults=2), actor=admin
            ),
        }
        people["y0"] = create_young_person(
            YoungPersonInput(
                name=names[2],
                date_of_birth=history["births"][0],
                household_id=people["h0"].id,
            ),
            actor=admin,
            today=TODAY,
        )
        people["y1"] = create_young_person(
            YoungPersonInput(name=names[3], date_of_birth=history["births"][1]),
            actor=admin,
            today=TODAY,
        )
        items = {
            i.name: i.id
            for i in db.session.scalars(
                select(ItemType).where(ItemType.name.in_(ITEMS))
            )
        }
        for item, pence, who, day, reversed_after, notes in history["lines"]:
            person = people.get(who)
            on = START + timedelta(days=day)
            line = record_disbursement(
                AwardInput(
                    grant_id=grant.id,
                    item_type_id=items[item],
                    amount=Decimal(pence) / 100,
                    awarded_on=on,
                    delivery_method=DeliveryMethod.DIRECT_PURCHASE,
                    household_id=person.id if who and who[0] == "h" else None,
                    young_person_id=person.id if who and who[0] == "y" else None,
                    notes=notes,
                ),
                actor=admin,
                today=TODAY,
                confirm_overspend=True,
            )
            if reversed_after is not None:
                reverse_disbursement(
                    line,
                    actor=admin,
                    reason=f"wrong {notes or ''}",
                    reversed_on=min(END, on + timedelta(days=reversed_after)),
                    today=TODAY,
                )
        for day in history["attend"]:
            session = record_session(
                SessionInput(
                    grant_id=grant.id,
                    item_type_id=items["Kayaking"],
                    held_on=START + timedelta(days=day),
                    cost=Decimal("40.00"),
                ),
                actor=admin,
                today=TODAY,
            )
            set_attendance(
                session,
                actor=admin,
                young_person_ids={people["y0"].id, people["y1"].id},
                carers=0,
            )
        db.session.commit()
        # a submitted return over the first half (its workbook is stored)
        submit_return(
            grant,
            actor=admin,
            definition=get_definition("hsf"),
            date_from=START,
            date_to=date(2024, 9, 30),
            today=TODAY,
        )
        db.session.commit()
        return {key: (type(p), p.id) for key, p in people.items()}


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(history=ledgers)
def test_erasing_anyone_moves_no_figure(property_app, history):
    from funds.privacy.erasure import erase_person

    app = property_app
    reset_database(app)
    people = _seed(app, history)
    with app.app_context():
        before = figures_snapshot()
    for key in history["erase"]:
        model, ident = people[key]
        with app.app_context():
            erase_person(db.session.get(model, ident), reason="Asked", actor=None)
            db.session.commit()
    with app.app_context():
        after = figures_snapshot()
        assert db.session.scalars(select(User)).first() is not None
    assert after == before
