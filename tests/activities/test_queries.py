"""The programme's figures, computed in SQL: distinct people, places, ages, genders, periods."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Date, literal, select

from funds.activities.queries import (
    AGE_BANDS,
    SessionCursor,
    activity_choices,
    attended,
    find_young_people,
    not_attended,
    not_attended_count,
    programme,
    programme_sessions,
    programmes,
    register_choices,
    session_page,
    session_summary,
    usual_attendees,
)
from funds.disbursements.services import reverse_disbursement
from funds.extensions import db
from funds.models import ActivitySession, Gender, Role, User, YoungPerson
from funds.models.base import utcnow
from funds.people.services import age_on
from funds.sql import age_in_years
from tests.conftest import IN_PERIOD, TODAY


@pytest.fixture
def grant_id(create_grant):
    return create_grant("11000.00", title="Activity programme")


def _programme(app, grant_id, **filters):
    with app.app_context():
        return programme(grant_id, **filters)


def _cancel(app, create_user, session_id):
    finance = create_user(Role.FINANCE)
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        reverse_disbursement(
            session.disbursement,
            actor=db.session.get(User, finance),
            reason="Cancelled: high winds",
            reversed_on=session.held_on,
            today=TODAY,
        )
        db.session.commit()


def test_a_young_person_at_five_sessions_is_one_person_and_five_places(
    app, grant_id, create_session, create_young_person
):
    regular = create_young_person()
    once = create_young_person()
    for day in (3, 10, 17, 24):
        create_session(
            grant_id, "100.00", held_on=date(2024, 6, day), attendees=(regular,)
        )
    create_session(
        grant_id,
        "100.00",
        activity="Theatre trip",
        held_on=date(2024, 7, 1),
        attendees=(regular, once),
        carers=2,
    )
    result = _programme(app, grant_id)
    assert (result.sessions, result.young_people, result.places) == (5, 2, 6)
    assert result.carers == 2
    by_activity = {row.activity: row for row in result.rows}
    assert list(by_activity) == ["Kayaking", "Theatre trip"]  # alphabetical
    kayaking, theatre = by_activity["Kayaking"], by_activity["Theatre trip"]
    assert (kayaking.sessions, kayaking.young_people, kayaking.places) == (4, 1, 4)
    assert (theatre.sessions, theatre.young_people, theatre.places) == (1, 2, 2)
    assert result.average_sessions == Decimal("3.0")


def test_costs_per_participant_and_per_place_and_contact_hours(
    app, grant_id, create_session, create_young_person
):
    a, b, c = (create_young_person() for _ in range(3))
    create_session(grant_id, "100.00", attendees=(a, b, c), duration_minutes=120)
    create_session(
        grant_id,
        "50.00",
        held_on=date(2024, 6, 10),
        attendees=(a,),
        duration_minutes=90,
    )
    create_session(grant_id, "25.00", held_on=date(2024, 6, 11))  # nobody came
    result = _programme(app, grant_id)
    assert result.cost == Decimal("175.00")
    assert result.cost_per_participant == Decimal("58.33")  # 175 / 3 people
    assert result.cost_per_place == Decimal("43.75")  # 175 / 4 places
    # 3 people x 2 h + 1 person x 1.5 h
    assert result.contact_hours == Decimal("7.5")
    kayaking = result.rows[0]
    assert kayaking.cost_per_participant == Decimal("58.33")


def test_averages_and_contact_hours_are_shown_to_two_places_as_the_return_shows_them(
    app, grant_id, create_session, create_young_person
):
    a, b, c = (create_young_person() for _ in range(3))
    create_session(grant_id, "30.00", attendees=(a, b, c), duration_minutes=20)
    create_session(
        grant_id,
        "30.00",
        held_on=date(2024, 6, 10),
        attendees=(a,),
        duration_minutes=20,
    )
    result = _programme(app, grant_id)
    # 4 places over 3 young people; 4 x 20 minutes = 1 h 20 min
    assert str(result.average_sessions) == "1.33"
    assert str(result.contact_hours) == "1.33"
    assert str(result.rows[0].contact_hours) == "1.33"


def test_a_young_persons_sessions_with_their_share_of_each_cost(
    app, grant_id, create_session, create_young_person, create_user
):
    person, friend, other = (create_young_person() for _ in range(3))
    create_session(grant_id, "100.00", attendees=(person, friend, other))
    create_session(
        grant_id,
        "45.00",
        held_on=date(2024, 6, 10),
        attendees=(person,),
        duration_minutes=90,
    )
    cancelled = create_session(
        grant_id, "80.00", held_on=date(2024, 6, 11), attendees=(person, friend)
    )
    create_session(grant_id, "60.00", held_on=date(2024, 6, 12), attendees=(other,))
    _cancel(app, create_user, cancelled)
    newcomer = create_young_person()
    with app.app_context():
        result = attended(person)
        nobody = attended(newcomer)
    assert [row.held_on.day for row in result.rows] == [11, 10, 3]
    assert [row.share for row in result.rows] == [
        None,
        Decimal("45.00"),
        Decimal("33.33"),
    ]
    assert result.sessions == 2  # the cancelled one left out
    assert result.cost_share == Decimal("78.33")
    assert str(result.contact_hours) == "3.50"  # 2 h + 1.5 h
    assert (nobody.rows, nobody.sessions, nobody.cost_share) == ([], 0, 0)


def test_an_empty_programme_has_no_per_head_figures(app, grant_id):
    result = _programme(app, grant_id)
    assert (result.sessions, result.places, result.young_people) == (0, 0, 0)
    assert result.cost == Decimal("0.00")
    assert result.cost_per_participant is None
    assert result.cost_per_place is None
    assert result.average_sessions is None
    assert result.rows == []
    assert set(result.age_bands.values()) == {0}


@pytest.mark.parametrize(
    ("born", "held_on", "band"),
    [
        (date(2008, 6, 3), date(2024, 6, 3), "16 to 17"),  # 16th birthday that day
        (date(2008, 6, 4), date(2024, 6, 3), "11 to 15"),  # 16 tomorrow
        (date(2013, 6, 3), date(2024, 6, 3), "11 to 15"),  # 11 that day
        (date(2013, 6, 4), date(2024, 6, 3), "Under 11"),
        (date(2006, 6, 3), date(2024, 6, 3), "18 to 24"),
        (date(2006, 6, 4), date(2024, 6, 3), "16 to 17"),
        (date(1999, 6, 3), date(2024, 6, 3), "25 and over"),
        (date(1999, 6, 4), date(2024, 6, 3), "18 to 24"),
        (date(2008, 2, 29), date(2025, 2, 28), "16 to 17"),  # leap-day birthday
        (date(2008, 2, 29), date(2025, 3, 1), "16 to 17"),
        (date(2007, 2, 28), date(2025, 2, 28), "18 to 24"),
        (None, date(2024, 6, 3), "Not known"),
    ],
)
def test_age_band_at_the_session_date(
    app, grant_id, create_session, create_young_person, born, held_on, band
):
    person = create_young_person(date_of_birth=born)
    create_session(grant_id, held_on=held_on, attendees=(person,))
    result = _programme(app, grant_id)
    assert result.age_bands == {label: int(label == band) for label in AGE_BANDS}


def test_each_person_is_banded_once_at_their_first_session(
    app, grant_id, create_session, create_young_person
):
    person = create_young_person(date_of_birth=date(2008, 6, 4))
    for held_on in (date(2024, 6, 3), date(2024, 6, 4), date(2024, 9, 1)):
        create_session(grant_id, held_on=held_on, attendees=(person,))
    assert _programme(app, grant_id).age_bands["11 to 15"] == 1
    # From the birthday on, the first session in the period is at 16.
    later = _programme(app, grant_id, date_from=date(2024, 6, 4))
    assert later.age_bands["16 to 17"] == 1
    assert sum(later.age_bands.values()) == 1


@pytest.mark.parametrize(
    "born",
    [date(2008, 2, 29), date(2008, 3, 1), date(2007, 12, 31), date(2008, 1, 1)],
)
def test_sql_age_matches_python_on_this_engine(app, born):
    days = [
        date(2024, 2, 28),
        date(2024, 2, 29),
        date(2024, 3, 1),
        date(2025, 2, 28),
        date(2025, 3, 1),
        date(2025, 12, 31),
        date(2026, 1, 1),
    ]
    with app.app_context():
        for day in days:
            sql = db.session.scalar(
                select(age_in_years(literal(born, Date), literal(day, Date)))
            )
            assert sql == age_on(born, day), (born, day)


def test_gender_split_counts_people_not_places(
    app, grant_id, create_session, create_young_person
):
    girls = [create_young_person(gender=Gender.FEMALE) for _ in range(2)]
    boy = create_young_person(gender=Gender.MALE)
    unsaid = create_young_person()
    for day in (3, 4, 5):
        create_session(
            grant_id,
            held_on=date(2024, 6, day),
            attendees=(*girls, boy, unsaid),
        )
    genders = _programme(app, grant_id).genders
    assert genders == {
        "Female": 2,
        "Male": 1,
        "Non-binary": 0,
        "Another gender": 0,
        "Prefer not to say": 1,
    }


def test_cancelled_sessions_are_left_out(
    app, grant_id, create_session, create_young_person, create_user
):
    kept, only_cancelled = create_young_person(), create_young_person()
    create_session(grant_id, "100.00", attendees=(kept,))
    cancelled = create_session(
        grant_id,
        "300.00",
        activity="High ropes",
        held_on=date(2024, 6, 5),
        attendees=(kept, only_cancelled),
        carers=3,
    )
    _cancel(app, create_user, cancelled)
    result = _programme(app, grant_id)
    assert (result.sessions, result.places, result.young_people) == (1, 1, 1)
    assert (result.cost, result.carers) == (Decimal("100.00"), 0)
    assert [row.activity for row in result.rows] == ["Kayaking"]
    with app.app_context():
        assert [p.id for p in not_attended(grant_id)] == [only_cancelled]
        rows = programme_sessions(grant_id).rows
        assert [(row.id, row.cancelled) for row in rows] == [
            (cancelled, True),
            (rows[1].id, False),
        ]
        assert session_summary(cancelled).cancelled
        assert programmes()[0][1] == 1  # live sessions only


def test_the_date_filter_includes_both_ends(
    app, grant_id, create_session, create_young_person
):
    person = create_young_person()
    for day, cost in ((1, "10.00"), (15, "20.00"), (30, "40.00")):
        create_session(grant_id, cost, held_on=date(2024, 6, day), attendees=(person,))
    june = _programme(
        app, grant_id, date_from=date(2024, 6, 1), date_to=date(2024, 6, 15)
    )
    assert (june.sessions, june.cost, june.places) == (2, Decimal("30.00"), 2)
    late = _programme(app, grant_id, date_from=date(2024, 6, 16))
    assert (late.sessions, late.cost) == (1, Decimal("40.00"))
    early = _programme(app, grant_id, date_to=date(2024, 6, 1))
    assert (early.sessions, early.cost) == (1, Decimal("10.00"))
    with app.app_context():
        later = programme_sessions(grant_id, date_from=date(2024, 6, 2))
        assert (len(later.rows), later.total) == (2, 2)
        first = programme_sessions(grant_id, limit=1)
        assert [row.held_on for row in first.rows] == [date(2024, 6, 30)]
        assert first.total == 3


def test_other_grants_sessions_do_not_count(
    app, grant_id, create_grant, create_session, create_young_person
):
    person = create_young_person()
    other = create_grant("500.00")
    create_session(other, "99.00", attendees=(person,))
    result = _programme(app, grant_id)
    assert (result.sessions, result.young_people) == (0, 0)
    with app.app_context():
        assert [p.id for p in not_attended(grant_id)] == [person]


def test_not_attended_is_the_grants_team_and_leaves_out_erased_people(
    app, grant_id, create_session, create_young_person, system_actor
):
    from funds.grants.services import create_team
    from funds.models import Grant

    with app.app_context():
        actor = db.session.get(User, system_actor())
        team = create_team(actor=actor, name="Young people's service").id
        other_team = create_team(actor=actor, name="Families").id
        db.session.get(Grant, grant_id).team_id = team
        db.session.commit()
    came = create_young_person(team_id=team)
    waiting = create_young_person(team_id=team)
    erased = create_young_person(team_id=team)
    create_young_person(team_id=other_team)
    create_session(grant_id, attendees=(came,))
    with app.app_context():
        db.session.get(YoungPerson, erased).erased_at = utcnow()
        db.session.commit()
        assert [p.id for p in not_attended(grant_id)] == [waiting]
        assert not_attended_count(grant_id) == 1


def test_session_summary_figures(app, grant_id, create_session, create_young_person):
    people = [create_young_person() for _ in range(3)]
    session_id = create_session(
        grant_id, "100.00", attendees=tuple(people), duration_minutes=150, capacity=8
    )
    with app.app_context():
        summary = session_summary(session_id)
        assert summary.places == 3
        assert summary.cost_per_participant == Decimal("33.33")
        assert summary.contact_hours == Decimal("7.5")
        assert [p.reference for p in summary.attendees] == sorted(
            p.reference for p in summary.attendees
        )
        assert not summary.cancelled
        assert session_summary(999_999) is None


def test_session_pages_run_newest_first_without_gaps(app, grant_id, create_session):
    ids = [
        create_session(grant_id, "10.00", held_on=date(2024, 6, 1 + i % 4))
        for i in range(7)
    ]
    with app.app_context():
        seen, cursor = [], None
        while True:
            page = session_page(cursor, size=3)
            seen += [(row.held_on, row.id) for row in page.rows]
            cursor = page.next_cursor
            if cursor is None:
                break
            assert SessionCursor.parse(cursor.token()) == cursor
    assert sorted(i for _, i in seen) == sorted(ids)
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "junk",
        "2024-13-45.1",
        "2024-06-01",
        "2024-06-01.x",
        "２０２４-06-01.1",
    ],
)
def test_a_mangled_cursor_means_the_first_page(token):
    assert SessionCursor.parse(token) is None


def test_register_choices_lists_attendees_first_and_says_when_there_are_more(
    app, grant_id, create_session, create_young_person
):
    people = [create_young_person() for _ in range(5)]
    with app.app_context():
        refs = {p.id: p.reference for p in db.session.scalars(select(YoungPerson))}
    last = max(people, key=refs.get)
    session_id = create_session(grant_id, attendees=(last,))
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        choices = register_choices(session, with_names=False, limit=2)
        assert choices.more
        listed = [p.id for p in choices.people]
        assert last in listed and len(listed) == 3
        assert [refs[i] for i in listed] == sorted(refs[i] for i in listed)
        everyone = register_choices(session, with_names=False, limit=10)
        assert not everyone.more and len(everyone.people) == 5


def test_the_register_lists_people_by_name_for_roles_that_see_names(
    app, grant_id, create_session, create_young_person
):
    for name in ("zoë Adams", "Ánh Nguyen", "Bea Clarke", None, "alex Smith"):
        create_young_person(name=name)
    session_id = create_session(grant_id)
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        names = [p.name for p in register_choices(session, with_names=True).people]
    # By name ignoring case, people with no name recorded last.
    assert names == ["alex Smith", "Bea Clarke", "zoë Adams", "Ánh Nguyen", None]


def test_who_usually_comes_is_half_of_the_activitys_last_four_sessions(
    app, grant_id, create_session, create_young_person, create_user
):
    regular, twice, once, other_activity, lapsed = (
        create_young_person() for _ in range(5)
    )
    create_session(grant_id, held_on=date(2024, 5, 1), attendees=(lapsed,))
    create_session(grant_id, held_on=date(2024, 5, 8), attendees=(lapsed,))
    for day, came in (
        (3, (regular, twice)),
        (10, (regular, once)),
        (17, (regular, twice)),
        (24, (regular,)),
    ):
        create_session(grant_id, held_on=date(2024, 6, day), attendees=came)
    create_session(
        grant_id,
        activity="Theatre trip",
        held_on=date(2024, 6, 20),
        attendees=(other_activity,),
    )
    cancelled = create_session(grant_id, held_on=date(2024, 6, 26), attendees=(once,))
    _cancel(app, create_user, cancelled)
    today = create_session(grant_id, held_on=date(2024, 7, 1))
    first = create_session(grant_id, held_on=date(2024, 4, 1))
    with app.app_context():
        usual = usual_attendees(db.session.get(ActivitySession, today))
        none_before = usual_attendees(db.session.get(ActivitySession, first))
        choices = register_choices(
            db.session.get(ActivitySession, today), with_names=True, limit=0
        )
    # 2 of the last 4 kayaking sessions is usual; 1 is not; older and cancelled
    # sessions and other activities do not count.
    assert usual == {regular, twice}
    assert none_before == set()
    # Those who usually come are offered even past the list's limit.
    assert {p.id for p in choices.people} == {regular, twice}
    assert choices.usual == {regular, twice}


def test_find_young_people_by_reference_or_case_reference(app, create_young_person):
    person = create_young_person(case_reference="CR-0042")
    create_young_person(case_reference="DUP-1")
    create_young_person(case_reference="dup-1")
    with app.app_context():
        reference = db.session.get(YoungPerson, person).reference
        assert [p.id for p in find_young_people(reference.lower())] == [person]
        assert [p.id for p in find_young_people(" cr-0042 ")] == [person]
        assert len(find_young_people("DUP-1")) == 2
        assert find_young_people("YP-NOBODY") == []
        assert find_young_people("") == []


def test_activity_choices_are_active_activity_items(app, item_id):
    from funds.models import ItemType

    item_id()  # the default taxonomy
    with app.app_context():
        names = [label for _, label in activity_choices()]
        assert "Kayaking" in names and "Steam train trip" in names
        assert "Fridge" not in names and "Food voucher" not in names
        assert names == sorted(names)
        db.session.scalars(
            select(ItemType).where(ItemType.name == "Kayaking")
        ).one().active = False
        db.session.flush()
        assert "Kayaking" not in [label for _, label in activity_choices()]
        db.session.rollback()


def test_in_period_constant_is_inside_the_default_grant(app, grant_id):
    # The factories' default date: if this moves, the figures above move with it.
    assert IN_PERIOD == date(2024, 6, 3)
