"""Households and young people: references, postcodes, birth dates, duplicates, audit."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import AuditEvent, Disbursement, Household, Role, User, YoungPerson
from funds.people import services
from funds.people.queries import list_households, list_young_people, received
from funds.people.services import (
    HOUSEHOLD_REFERENCE,
    YOUNG_PERSON_REFERENCE,
    HouseholdInput,
    LikelyDuplicate,
    YoungPersonInput,
    age_on,
    create_household,
    create_young_person,
    household_duplicates,
    normalise_district,
    update_household,
    update_young_person,
    young_person_duplicates,
)
from tests.conftest import IN_PERIOD, ON_POSTGRES, TODAY


@pytest.fixture
def staff(app, create_user):
    """A staff member's id."""
    return create_user(Role.STAFF, name="Sam Staff")


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _people_events() -> list[AuditEvent]:
    """Audit events about households and young people, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type.in_(["households", "young_people"]))
            .order_by(AuditEvent.id)
        )
    )


# --- references ---------------------------------------------------------------------------


def test_references_are_random_and_never_from_the_facts(app, staff):
    # The reference alphabet has no I, L or O, so a reference built from this name could
    # only be told apart from a random one by containing those letters: it never does.
    facts = HouseholdInput(name="Lilo Oil", adults=2, postcode_district="SO14")
    with app.app_context():
        first = create_household(facts, actor=_user(staff))
        second = create_household(facts, actor=_user(staff))
        person = create_young_person(
            YoungPersonInput(name="Lilo Oil", date_of_birth=date(2008, 1, 1)),
            actor=_user(staff),
            today=TODAY,
        )
        db.session.commit()
        references = [first.reference, second.reference]
        person_reference = person.reference
    assert all(HOUSEHOLD_REFERENCE.fullmatch(r) for r in references)
    assert YOUNG_PERSON_REFERENCE.fullmatch(person_reference)
    assert references[0] != references[1]
    for reference in [*references, person_reference]:
        body = reference.split("-", 1)[1]
        for part in ("LILO", "OIL", "LO", "LI", "OI", "SO14"):
            assert part not in body


def test_many_references_are_all_different(app, staff):
    with app.app_context():
        references = {
            create_household(HouseholdInput(), actor=_user(staff)).reference
            for _ in range(200)
        }
        db.session.commit()
    assert len(references) == 200


def test_a_reference_already_taken_is_not_reused(app, staff, monkeypatch):
    with app.app_context():
        taken = create_household(HouseholdInput(), actor=_user(staff)).reference
        db.session.commit()
        # The random source first repeats the taken reference, then gives a fresh one.
        letters = iter(taken[2:] + "ABCDEF")
        monkeypatch.setattr(services.secrets, "choice", lambda _alphabet: next(letters))
        fresh = create_household(HouseholdInput(), actor=_user(staff)).reference
        db.session.commit()
    assert taken != fresh == "H-ABCDEF"


# --- postcode districts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("SO14", "SO14"),
        ("so14", "SO14"),
        (" So14 ", "SO14"),
        ("SO14 0AB", "SO14"),
        ("so14 0ab", "SO14"),
        ("SO140AB", "SO14"),
        ("SO14  0AB", "SO14"),
        ("SW1A 1AA", "SW1A"),
        ("sw1a1aa", "SW1A"),
        ("M1", "M1"),
        ("M1 1AE", "M1"),
        ("B33 8TH", "B33"),
        ("EC1A", "EC1A"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_postcode_district_is_normalised(typed, stored):
    assert normalise_district(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "NOTAPOSTCODE",
        "SO",
        "14",
        "SO14 0A",
        "SO14 0ABC",
        "SOU14",
        "S-14",
        "ß1",  # upper-cases to "SS1"
        "ＳＯ14",  # full-width letters
        "SO١٤",  # Arabic-Indic digits
        "SO14;DROP TABLE households",
        "=SO14",
    ],
)
def test_a_postcode_that_is_not_one_is_refused_on_its_field(typed):
    with pytest.raises(ValidationError) as refused:
        normalise_district(typed)
    assert refused.value.field == "postcode_district"


# --- household rules ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "facts,field",
    [
        ({"children": 2}, "has_children"),
        ({"has_children": True, "children": 0}, "children"),
        ({"adults": 0, "children": 0}, "adults"),
        ({"adults": 21}, "adults"),
        ({"adults": -1}, "adults"),
        ({"children": 21, "has_children": True}, "children"),
        ({"team_id": 999}, "team"),
        ({"postcode_district": "NOTAPOSTCODE"}, "postcode_district"),
        ({"name": "Ann\x00e"}, "name"),
        ({"name": "Ali\u202eecnarF"}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"contact": "Bob\r\nINFO admin ok"}, "contact"),
        ({"notes": "n" * 2001}, "notes"),
        ({"notes": "\t=1+1"}, "notes"),
        ({"case_reference": "c" * 41}, "case_reference"),
    ],
)
def test_household_facts_that_break_a_rule_are_refused(app, staff, facts, field):
    with app.app_context():
        with pytest.raises(ValidationError) as refused:
            create_household(HouseholdInput(**facts), actor=_user(staff))
        db.session.rollback()
        assert refused.value.field == field
        assert db.session.scalar(select(Household.id)) is None
        assert _people_events() == []


def test_household_create_and_update_are_audited_without_personal_details(app, staff):
    private = ("Marta O'Neill", "07700 900123", "Lives above the shop")
    with app.app_context():
        household = create_household(
            HouseholdInput(
                adults=2,
                children=1,
                has_children=True,
                postcode_district="so14 0ab",
                case_reference="CMS-1",
                name=private[0],
                contact=private[1],
                notes=private[2],
            ),
            actor=_user(staff),
        )
        db.session.commit()
        household_id = household.id
        update_household(
            household,
            HouseholdInput(
                adults=3,
                children=1,
                has_children=True,
                has_pensioner=True,
                postcode_district="SO15",
                case_reference="CMS-1",
                name="Marta O'Neill-Smith",
                contact=private[1],
                notes=private[2],
            ),
            actor=_user(staff),
        )
        db.session.commit()
    with app.app_context():
        stored = db.session.get(Household, household_id)
        assert (stored.adults, stored.postcode_district, stored.has_pensioner) == (
            3,
            "SO15",
            True,
        )
        assert stored.name == "Marta O'Neill-Smith"
        events = _people_events()
    assert [e.action for e in events] == ["household.create", "household.update"]
    assert all(e.actor_id == staff and e.object_id == household_id for e in events)
    created, updated = events
    assert created.after["name"] == "(recorded)"
    assert created.after["postcode_district"] == "SO14"
    assert updated.before == {
        "adults": 2,
        "has_pensioner": False,
        "postcode_district": "SO14",
        "name": "(recorded)",
    }
    assert updated.after["adults"] == 3 and updated.after["name"] == "(recorded)"
    trail = json.dumps([[e.before, e.after] for e in events], ensure_ascii=False)
    for secret in (*private, "O'Neill", "O\\'Neill", "07700", "shop"):
        assert secret not in trail


def test_an_update_that_changes_nothing_is_not_audited(app, staff):
    facts = HouseholdInput(adults=2, name="Ann")
    with app.app_context():
        household = create_household(facts, actor=_user(staff))
        update_household(household, facts, actor=_user(staff))
        db.session.commit()
        actions = [event.action for event in _people_events()]
    assert actions == ["household.create"]


def test_an_erased_household_cannot_be_changed(app, staff):
    with app.app_context():
        household = create_household(HouseholdInput(), actor=_user(staff))
        household.erased_at = datetime(2026, 1, 1, tzinfo=UTC)
        db.session.commit()
        with pytest.raises(NotAllowed):
            update_household(household, HouseholdInput(adults=4), actor=_user(staff))


# --- young people: date of birth and age --------------------------------------------------


@pytest.mark.parametrize(
    "born,on,age",
    [
        (date(2008, 11, 23), date(2026, 11, 23), 18),  # the birthday itself
        (date(2008, 11, 24), date(2026, 11, 23), 17),  # the day before
        (date(2004, 2, 29), date(2026, 2, 28), 21),  # leap-day birthday, not yet
        (date(2004, 2, 29), date(2026, 3, 1), 22),
        (date(2026, 11, 23), date(2026, 11, 23), 0),
    ],
)
def test_age_is_whole_years(born, on, age):
    assert age_on(born, on) == age
    assert YoungPerson(date_of_birth=born).age_on(on) == age


@pytest.mark.parametrize(
    "born,accepted",
    [
        (TODAY, True),  # born today
        (date(2026, 11, 24), False),  # tomorrow
        (date(9999, 12, 31), False),
        (date(1996, 11, 23), True),  # 30 today
        (date(1995, 11, 24), True),  # 30, 31 tomorrow
        (date(1995, 11, 23), False),  # 31 today
        (date(1900, 1, 1), False),
        (date(1, 1, 1), False),
    ],
)
def test_date_of_birth_limits(app, staff, born, accepted):
    with app.app_context():
        data = YoungPersonInput(date_of_birth=born)
        if accepted:
            person = create_young_person(data, actor=_user(staff), today=TODAY)
            assert person.date_of_birth == born
        else:
            with pytest.raises(ValidationError) as refused:
                create_young_person(data, actor=_user(staff), today=TODAY)
            assert refused.value.field == "date_of_birth"


def test_young_person_audit_keeps_the_birth_date_and_name_out(app, staff):
    with app.app_context():
        person = create_young_person(
            YoungPersonInput(
                name="李小龍",
                contact="li@example.org",
                date_of_birth=date(2007, 3, 27),
            ),
            actor=_user(staff),
            today=TODAY,
        )
        db.session.commit()
        update_young_person(
            person,
            YoungPersonInput(
                name="李小龍",
                contact="li@example.org",
                date_of_birth=date(2007, 3, 28),
            ),
            actor=_user(staff),
            today=TODAY,
        )
        db.session.commit()
        events = _people_events()
        assert [e.action for e in events] == [
            "young_person.create",
            "young_person.update",
        ]
        assert events[1].before == {"date_of_birth": "(recorded)"}
        trail = json.dumps([[e.before, e.after] for e in events], ensure_ascii=False)
    for secret in ("李小龍", "li@example.org", "2007"):
        assert secret not in trail


def test_a_household_is_linked_by_its_typed_reference(app, staff):
    with app.app_context():
        household = create_household(HouseholdInput(), actor=_user(staff))
        person = create_young_person(
            YoungPersonInput(household_reference=f"  {household.reference.lower()} "),
            actor=_user(staff),
            today=TODAY,
        )
        assert person.household_id == household.id
        for reference in ("H-ZZZZZZ", "YP-ABCDEF"):
            with pytest.raises(ValidationError) as refused:
                create_young_person(
                    YoungPersonInput(household_reference=reference),
                    actor=_user(staff),
                    today=TODAY,
                )
            assert refused.value.field == "household"
        household.erased_at = datetime(2026, 1, 1, tzinfo=UTC)
        with pytest.raises(ValidationError):
            create_young_person(
                YoungPersonInput(household_reference=household.reference),
                actor=_user(staff),
                today=TODAY,
            )


# --- duplicates ---------------------------------------------------------------------------


def test_likely_duplicate_households(app, staff):
    with app.app_context():
        actor = _user(staff)
        by_case = create_household(
            HouseholdInput(case_reference="CMS-0042"), actor=actor
        )
        by_name = create_household(HouseholdInput(name="Zoë Ñúñez"), actor=actor)
        db.session.commit()
        assert household_duplicates(HouseholdInput(case_reference=" cms-0042 ")) == [
            by_case
        ]
        assert household_duplicates(HouseholdInput(name="Zoë Ñúñez")) == [by_name]
        if ON_POSTGRES:  # SQLite's lower() folds only ASCII letters
            assert household_duplicates(HouseholdInput(name="zoë ñúñez ")) == [by_name]
        assert household_duplicates(HouseholdInput(name="Zoe Nunez")) == []
        assert household_duplicates(HouseholdInput()) == []
        assert (
            household_duplicates(
                HouseholdInput(case_reference="CMS-0042"), exclude_id=by_case.id
            )
            == []
        )
        with pytest.raises(LikelyDuplicate) as duplicate:
            create_household(
                HouseholdInput(case_reference="CMS-0042", name="Zoë Ñúñez"),
                actor=actor,
                check_duplicates=True,
            )
        assert {m.id for m in duplicate.value.matches} == {by_case.id, by_name.id}
        # Confirmed by the user: made anyway.
        create_household(
            HouseholdInput(case_reference="CMS-0042"),
            actor=actor,
            check_duplicates=False,
        )
        db.session.commit()
        assert len(db.session.scalars(select(Household)).all()) == 3


def test_likely_duplicate_young_people(app, staff):
    born = date(2009, 5, 17)
    with app.app_context():
        actor = _user(staff)
        existing = create_young_person(
            YoungPersonInput(
                name="Jordan Lee", date_of_birth=born, case_reference="YP9"
            ),
            actor=actor,
            today=TODAY,
        )
        db.session.commit()
        same = YoungPersonInput(name="jordan lee", date_of_birth=born)
        assert young_person_duplicates(same) == [existing]
        assert young_person_duplicates(YoungPersonInput(case_reference="yp9")) == [
            existing
        ]
        # The same name alone, or the same birth date alone, is not a likely duplicate.
        assert (
            young_person_duplicates(
                YoungPersonInput(name="Jordan Lee", date_of_birth=date(2009, 5, 18))
            )
            == []
        )
        assert young_person_duplicates(YoungPersonInput(date_of_birth=born)) == []
        with pytest.raises(LikelyDuplicate):
            create_young_person(same, actor=actor, today=TODAY, check_duplicates=True)


# --- lists and what each received ---------------------------------------------------------


def test_search_by_name_only_when_names_may_be_seen(app, staff):
    with app.app_context():
        actor = _user(staff)
        household = create_household(
            HouseholdInput(name="Priya 100%_Patel", case_reference="CMS-77"),
            actor=actor,
        )
        create_household(HouseholdInput(name="Someone Else"), actor=actor)
        person = create_young_person(
            YoungPersonInput(name="Priya Patel"), actor=actor, today=TODAY
        )
        db.session.commit()

        def households(q, names=True):
            return [h.id for h in list_households(q, with_names=names).rows]

        assert households("patel") == [household.id]
        assert households("100%_") == [household.id]
        assert households("%") == [household.id]  # a literal percent, not a wildcard
        assert households("_") == [household.id]
        assert households("patel", names=False) == []
        assert households("cms-77", names=False) == [household.id]
        assert households(household.reference.lower(), names=False) == [household.id]
        assert households(household.reference[2:5], names=False) == [household.id]
        assert len(households(None)) == 2
        assert [p.id for p in list_young_people("PATEL", with_names=True).rows] == [
            person.id
        ]
        assert list_young_people("patel", with_names=False).rows == []


def test_a_list_shows_at_most_the_limit(app, staff):
    with app.app_context():
        for _ in range(5):
            create_household(HouseholdInput(), actor=_user(staff))
        db.session.commit()
        page = list_households(None, with_names=True, limit=3)
        assert len(page.rows) == 3 and page.more
        page = list_households(None, with_names=True, limit=5)
        assert len(page.rows) == 5 and not page.more


def test_received_across_grants_counts_standing_awards_and_nets_reversals(
    app, create_user, create_grant, create_household, create_disbursement
):
    finance = create_user(Role.FINANCE)
    household = create_household(adults=1)
    other = create_household(adults=1)
    first = create_grant(reference="HSF-1")
    second = create_grant(reference="MH-2")
    create_disbursement(first, "40.00", household_id=household)
    mistake = create_disbursement(first, "99.99", household_id=household)
    create_disbursement(second, "12.50", household_id=household, item="Fridge")
    create_disbursement(second, "500.00", household_id=other)
    with app.app_context():
        from funds.disbursements.services import reverse_disbursement

        reverse_disbursement(
            db.session.get(Disbursement, mistake),
            actor=_user(finance),
            reason="Entered twice",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        db.session.commit()
    with app.app_context():
        totals = received(household_id=household)
        assert totals.awards == 2
        assert totals.net == Decimal("52.50")
        assert totals.grants == 2
        assert received(household_id=other).net == Decimal("500.00")
        nothing = received(young_person_id=12345)
        assert (nothing.awards, nothing.net, nothing.grants) == (0, Decimal("0.00"), 0)
