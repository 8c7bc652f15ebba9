"""The activity pages: the list, recording a session, a session, its register, the programme.

Every write is checked in a fresh app context after the request.
"""

from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.disbursements.services import reverse_disbursement
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    Disbursement,
    Grant,
    GrantStatus,
    PeriodLock,
    Role,
    User,
    YoungPerson,
)
from tests.conftest import TODAY, count

_tokens = itertools.count(1)


def _token() -> str:
    return f"test-form-token-{next(_tokens):020d}-abcdef"


@pytest.fixture
def staff(create_user, login):
    user_id = create_user(Role.STAFF, name="Sam Staff")
    login(user_id)
    return user_id


@pytest.fixture
def grant_id(create_grant):
    return create_grant("1000.00", reference="HIOW-MH", title="Activity programme")


def _form(grant_id, item_id, **overrides) -> dict:
    data = {
        "item_type": str(item_id("Kayaking")),
        "held_on": ["3", "6", "2024"],
        "starts_at": "10:00",
        "duration": ["2", "30"],
        "grant": str(grant_id),
        "supplier": "Calshot Activities Centre",
        "cost": "420.00",
        "capacity": "10",
        "team": "",
        "notes": "Wetsuits provided",
        "form_token": _token(),
    }
    data.update(overrides)
    return data


def _nothing_recorded(app):
    assert count(app, ActivitySession) == 0
    assert count(app, Disbursement) == 0


def _attendees(app, session_id) -> set[int]:
    with app.app_context():
        return set(
            db.session.scalars(
                select(Attendance.young_person_id).where(
                    Attendance.session_id == session_id
                )
            )
        )


def _reference(app, person_id) -> str:
    with app.app_context():
        return db.session.get(YoungPerson, person_id).reference


def _lock(app, grant_id, locked_by):
    with app.app_context():
        db.session.add(
            PeriodLock(
                grant_id=grant_id,
                starts_on=date(2024, 4, 1),
                ends_on=date(2024, 6, 30),
                locked_by_id=locked_by,
            )
        )
        db.session.commit()


def _cancel(app, session_id, actor_id):
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        reverse_disbursement(
            session.disbursement,
            actor=db.session.get(User, actor_id),
            reason="Centre closed: high winds",
            reversed_on=session.held_on,
            today=TODAY,
        )
        db.session.commit()


# --- the list -------------------------------------------------------------------------------


def test_the_list_is_empty_at_first(client, staff):
    response = client.get("/activities/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No sessions have been recorded yet" in html
    assert "Record a session" in html


def test_the_list_shows_sessions_newest_first_with_cancelled_ones_marked(
    app, client, staff, grant_id, create_session, create_young_person, create_user
):
    people = [create_young_person() for _ in range(3)]
    older = create_session(
        grant_id, "150.00", activity="Abseiling", held_on=date(2024, 5, 1)
    )
    newer = create_session(
        grant_id,
        "420.00",
        held_on=date(2024, 7, 1),
        attendees=tuple(people),
        capacity=8,
    )
    _cancel(app, older, create_user(Role.FINANCE))
    html = client.get("/activities/").get_data(as_text=True)
    assert html.index(f"/activities/{newer}") < html.index(f"/activities/{older}")
    assert "3 of 8" in html
    assert "£420.00" in html and "Cancelled" in html
    assert "1 Jul 2024" in html
    assert f"/activities/programme/{grant_id}" in html
    assert "HIOW-MH" in html


def test_the_list_pages_and_a_mangled_cursor_is_the_first_page(
    app, client, staff, grant_id, create_session
):
    for day in range(1, 53):
        create_session(grant_id, "1.00", held_on=date(2024, 5, 1 + day % 28))
    first = client.get("/activities/").get_data(as_text=True)
    assert "Older sessions" in first
    for after in ("junk", "2024-02-30.1", "٢٠٢٤-05-01.1", "9" * 40):
        assert (
            client.get("/activities/", query_string={"after": after}).status_code == 200
        )
    older = client.get("/activities/", query_string={"after": "2024-05-02.9999"})
    assert older.status_code == 200


def test_finance_sees_the_list_without_the_record_button(client, create_user, login):
    login(create_user(Role.FINANCE))
    html = client.get("/activities/").get_data(as_text=True)
    assert "Record a session" not in html


# --- recording a session --------------------------------------------------------------------


def test_the_form_offers_activities_and_open_grants(
    app, client, staff, grant_id, create_grant, item_id
):
    closed = create_grant("50.00", reference="OLD-1")
    with app.app_context():
        db.session.get(Grant, closed).status = GrantStatus.CLOSED
        db.session.commit()
    response = client.get(f"/activities/new?grant={grant_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kayaking" in html and "Steam train trip" in html
    assert "Fridge" not in html
    assert "OLD-1" not in html
    assert f'<option value="{grant_id}" selected>' in html
    assert "£1,000.00 available" in html
    assert 'name="form_token"' in html
    for junk in ("x", "١", "-1", "9" * 30):
        assert (
            client.get("/activities/new", query_string={"grant": junk}).status_code
            == 200
        )


def test_staff_record_a_session_and_land_on_its_page(
    app, client, staff, grant_id, item_id
):
    response = client.post("/activities/new", data=_form(grant_id, item_id))
    assert response.status_code == 302
    with app.app_context():
        session = db.session.scalars(select(ActivitySession)).one()
        assert response.headers["Location"] == f"/activities/{session.id}"
        assert session.item_type.name == "Kayaking"
        assert session.held_on == date(2024, 6, 3)
        assert session.starts_at.strftime("%H:%M") == "10:00"
        assert session.duration_minutes == 150
        assert session.capacity == 10
        assert session.cost == Decimal("420.00")
        assert session.supplier == "Calshot Activities Centre"
        assert session.notes == "Wetsuits provided"
        assert session.created_by_id == staff
        line = session.disbursement
        assert (line.amount, line.awarded_on, line.grant_id) == (
            Decimal("420.00"),
            date(2024, 6, 3),
            grant_id,
        )
        session_id = session.id
    page = client.get(f"/activities/{session_id}").get_data(as_text=True)
    assert "Session recorded" in page


def test_optional_fields_may_be_left_empty(app, client, staff, grant_id, item_id):
    data = _form(
        grant_id,
        item_id,
        starts_at="",
        capacity="",
        supplier="",
        notes="",
        duration=["", "45"],
    )
    assert client.post("/activities/new", data=data).status_code == 302
    with app.app_context():
        session = db.session.scalars(select(ActivitySession)).one()
        assert session.starts_at is None and session.capacity is None
        assert session.supplier is None and session.notes is None
        assert session.duration_minutes == 45


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("starts_at", "25:61", "24-hour clock"),
        ("starts_at", "9.30", "24-hour clock"),
        ("starts_at", "٠٩:٣٠", "24-hour clock"),
        ("starts_at", "10:00\x00", "24-hour clock"),
        ("duration", ["٢", "0"], "digits 0 to 9"),
        ("duration", ["2", "３0"], "digits 0 to 9"),
        ("duration", ["0", "0"], "at least 1 minute"),
        ("duration", ["2", "60"], "minutes from 0 to 59"),
        ("duration", ["24", "1"], "24 hours or less"),
        ("duration", ["-1", "0"], "digits 0 to 9"),
        ("duration", ["", ""], "how long the session lasted"),
        ("duration", ["1", "2", "3"], "digits 0 to 9"),
        ("capacity", "١٠", "digits 0 to 9"),
        ("capacity", "1_0", "digits 0 to 9"),
        ("capacity", "0", "from 1 to 999"),
        ("capacity", "1000", "from 1 to 999"),
        ("cost", "10.005", "2 decimal places"),
        ("cost", "1e3", "digits 0 to 9"),
        ("cost", "sNaN", "digits 0 to 9"),
        ("cost", "NaN", "digits 0 to 9"),
        ("cost", "-5", "minus sign"),
        ("cost", "10000.01", "£10,000.00 or less"),
        ("cost", "0", "£0.01 or more"),
        ("cost", "", "Enter the total cost"),
        ("held_on", ["30", "2", "2024"], "real date"),
        ("held_on", ["3", "6", "1999"], "between 2000 and 2100"),
        ("held_on", ["٣", "6", "2024"], "in numbers"),
        ("supplier", "Calshot\x00Centre", "control characters"),
        ("supplier", "Calshot\u202eCentre", "text-direction"),
        ("supplier", "line\nbreak", "single line"),
        ("supplier", "s" * 121, "120 characters or fewer"),
        ("notes", "Bring\x07lunch", "control characters"),
        ("notes", "Bare\rreturn", "control characters"),
        ("notes", "n" * 2001, "2,000 characters or fewer"),
        ("item_type", "abc", "Choose an activity from the list"),
        ("item_type", "", "Choose the activity"),
        ("grant", "999999", "Choose one of the open grants"),
        ("grant", "١", "Choose one of the open grants"),
        ("team", "999999", "Choose a team from the list"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_is_written(
    app, client, staff, grant_id, item_id, field, value, message
):
    response = client.post(
        "/activities/new", data=_form(grant_id, item_id, **{field: value})
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert message in html
    assert 'class="govuk-error-message"' in html
    _nothing_recorded(app)


def test_typed_values_are_shown_back_after_an_error(
    app, client, staff, grant_id, item_id
):
    html = client.post(
        "/activities/new",
        data=_form(
            grant_id, item_id, cost="1e3", duration=["2", "x"], starts_at="25:61"
        ),
    ).get_data(as_text=True)
    assert 'value="1e3"' in html
    assert 'value="x"' in html
    assert 'value="25:61"' in html


def test_an_item_that_is_not_an_activity_is_refused(
    app, client, staff, grant_id, item_id
):
    response = client.post(
        "/activities/new",
        data=_form(grant_id, item_id, item_type=str(item_id("Fridge"))),
    )
    assert response.status_code == 422
    assert "Choose an activity from the list" in response.get_data(as_text=True)
    _nothing_recorded(app)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"held_on": ["1", "4", "2025"]}, "within the grant"),
        ({"cost": "1000.01"}, "more than is available to award from grant HIOW-MH"),
    ],
)
def test_ledger_rules_show_on_the_sessions_fields(
    app, client, staff, grant_id, item_id, overrides, message
):
    response = client.post(
        "/activities/new", data=_form(grant_id, item_id, **overrides)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert 'name="confirm_overspend"' not in html  # a block control: nothing to confirm
    _nothing_recorded(app)


def test_a_closed_grant_is_refused(app, client, staff, grant_id, item_id):
    with app.app_context():
        db.session.get(Grant, grant_id).status = GrantStatus.CLOSED
        db.session.commit()
    response = client.post("/activities/new", data=_form(grant_id, item_id))
    assert response.status_code == 422
    _nothing_recorded(app)


def test_a_locked_period_is_refused(app, client, staff, grant_id, item_id, create_user):
    _lock(app, grant_id, create_user(Role.FINANCE))
    response = client.post("/activities/new", data=_form(grant_id, item_id))
    assert response.status_code == 422
    assert "locked period" in response.get_data(as_text=True)
    _nothing_recorded(app)


def test_a_manager_confirms_a_warn_overspend_staff_cannot(
    app, client, create_user, login, create_grant, item_id
):
    grant_id = create_grant("100.00", control="warn")
    staff_client = app.test_client()
    login(create_user(Role.STAFF), the_client=staff_client)
    data = _form(grant_id, item_id, cost="150.00")
    html = staff_client.post("/activities/new", data=data).get_data(as_text=True)
    assert "Only a manager can confirm" in html
    assert 'name="confirm_overspend"' not in html
    _nothing_recorded(app)

    login(create_user(Role.MANAGER))
    data["form_token"] = _token()
    first = client.post("/activities/new", data=data)
    assert first.status_code == 422
    assert 'name="confirm_overspend"' in first.get_data(as_text=True)
    _nothing_recorded(app)
    confirmed = client.post("/activities/new", data={**data, "confirm_overspend": "y"})
    assert confirmed.status_code == 302
    with app.app_context():
        line = db.session.scalars(select(Disbursement)).one()
        assert line.overspend_confirmed and line.amount == Decimal("150.00")
    assert count(app, ActivitySession) == 1


def test_a_double_submit_records_once(app, client, staff, grant_id, item_id):
    data = _form(grant_id, item_id)
    first = client.post("/activities/new", data=data)
    second = client.post("/activities/new", data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, ActivitySession) == 1
    assert count(app, Disbursement) == 1
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert "already recorded" in page


@pytest.mark.parametrize(
    "token", ["", "short", "bad token with spaces!!!!!!!!", "é" * 30]
)
def test_a_missing_or_bad_form_token_records_nothing(
    app, client, staff, grant_id, item_id, token
):
    response = client.post(
        "/activities/new", data=_form(grant_id, item_id, form_token=token)
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "The form had expired" in html
    _nothing_recorded(app)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_finance_may_not_record_a_session(
    app, client, create_user, login, grant_id, item_id, method
):
    login(create_user(Role.FINANCE))
    response = client.open(
        "/activities/new", method=method, data=_form(grant_id, item_id)
    )
    assert response.status_code == 403
    _nothing_recorded(app)


def test_anonymous_visitors_are_sent_to_sign_in(client):
    for url in (
        "/activities/",
        "/activities/new",
        "/activities/1",
        "/activities/programme/1",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")


# --- one session ----------------------------------------------------------------------------


@pytest.fixture
def kayaking(grant_id, create_session, create_young_person):
    """A £120 kayaking session with two named young people and a carer."""
    people = [
        create_young_person(name="Jamie Smith", date_of_birth=date(2008, 6, 3)),
        create_young_person(name="Riley Jones"),
    ]
    session_id = create_session(
        grant_id,
        "120.00",
        attendees=tuple(people),
        carers=1,
        duration_minutes=150,
        capacity=6,
        supplier="Calshot Activities Centre",
    )
    return session_id, people


def test_the_session_page_shows_its_figures_and_register(app, client, staff, kayaking):
    session_id, people = kayaking
    response = client.get(f"/activities/{session_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kayaking" in html and "3 Jun 2024" in html
    assert (
        '<p class="govuk-heading-l govuk-!-margin-bottom-1" id="places-filled">2'
        in html
    )
    assert "£60.00" in html  # cost per participant
    assert "5.0" in html  # contact hours: 2.5 h x 2
    assert "2 hours 30 minutes" in html
    with app.app_context():
        line_id = db.session.get(ActivitySession, session_id).disbursement_id
    assert f'href="/awards/{line_id}">ledger line</a>' in html
    for person in people:
        assert _reference(app, person) in html
    assert "Jamie Smith" in html and "Riley Jones" in html
    assert ">16</td>" in html  # Jamie's age on the day (16th birthday)
    assert f"/activities/{session_id}/attendance" in html
    assert "Cancel this session" not in html  # staff do not reverse


def test_finance_sees_references_not_names_and_the_reverse_link(
    app, client, create_user, login, kayaking
):
    session_id, people = kayaking
    login(create_user(Role.FINANCE))
    html = client.get(f"/activities/{session_id}").get_data(as_text=True)
    assert _reference(app, people[0]) in html
    assert "Jamie Smith" not in html and "Riley Jones" not in html
    assert "Cancel this session by reversing its cost" in html
    assert f"/activities/{session_id}/attendance" not in html


def test_a_cancelled_session_says_so(app, client, staff, kayaking, create_user):
    session_id, _ = kayaking
    _cancel(app, session_id, create_user(Role.FINANCE))
    html = client.get(f"/activities/{session_id}").get_data(as_text=True)
    assert "Cancelled" in html
    assert "Centre closed: high winds" in html
    assert f"/activities/{session_id}/attendance" not in html


def test_an_unknown_session_is_404(client, staff):
    assert client.get("/activities/999999").status_code == 404
    assert client.get("/activities/999999/attendance").status_code == 404
    assert client.post("/activities/999999/attendance", data={}).status_code == 404


# --- the register ---------------------------------------------------------------------------


def test_the_register_form_ticks_who_attended(
    app, client, staff, kayaking, create_young_person
):
    session_id, people = kayaking
    other = create_young_person(name="Drew Wilson")
    response = client.get(f"/activities/{session_id}/attendance")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for person in people:
        assert f'value="{person}" checked' in html
    assert f'value="{other}"' in html and f'value="{other}" checked' not in html
    assert "Drew Wilson" in html
    assert 'name="carers"' in html and 'value="1"' in html


def test_saving_the_register_replaces_it_audited_and_money_untouched(
    app, client, staff, kayaking, create_young_person
):
    session_id, people = kayaking
    newcomer = create_young_person()
    with app.app_context():
        ledger = [
            (d.id, d.amount, d.awarded_on)
            for d in db.session.scalars(select(Disbursement).order_by(Disbursement.id))
        ]
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={"young_people": [str(people[0]), str(newcomer)], "carers": "3"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/activities/{session_id}"
    assert _attendees(app, session_id) == {people[0], newcomer}
    with app.app_context():
        assert db.session.get(ActivitySession, session_id).carers == 3
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "activity_session.attendance")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.actor_id == staff
        assert event.after["added"] == [db.session.get(YoungPerson, newcomer).reference]
        assert event.before["removed"] == [
            db.session.get(YoungPerson, people[1]).reference
        ]
        assert [
            (d.id, d.amount, d.awarded_on)
            for d in db.session.scalars(select(Disbursement).order_by(Disbursement.id))
        ] == ledger
    page = client.get(f"/activities/{session_id}").get_data(as_text=True)
    assert "1 added, 1 removed" in page


def test_young_people_can_be_added_by_reference_or_case_reference(
    app, client, staff, kayaking, create_young_person
):
    session_id, people = kayaking
    by_reference = create_young_person()
    by_case = create_young_person(case_reference="CR-2041")
    reference = _reference(app, by_reference)
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={
            "young_people": [str(p) for p in people],
            "add_references": f"{reference.lower()}\r\n cr-2041 ,{reference}",
            "carers": "0",
        },
    )
    assert response.status_code == 302
    assert _attendees(app, session_id) == {*people, by_reference, by_case}


def test_an_empty_register_clears_it(app, client, staff, kayaking):
    session_id, _ = kayaking
    response = client.post(f"/activities/{session_id}/attendance", data={"carers": ""})
    assert response.status_code == 302
    assert _attendees(app, session_id) == set()
    with app.app_context():
        assert db.session.get(ActivitySession, session_id).carers == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"carers": "١"}, "digits 0 to 9"),
        ({"carers": "-1"}, "digits 0 to 9"),
        ({"carers": "201"}, "from 0 to 200"),
        ({"young_people": ["abc"]}, "Choose young people from the list"),
        ({"young_people": ["٣"]}, "Choose young people from the list"),
        ({"young_people": ["999999"]}, "Choose young people from the list"),
        (
            {"add_references": "YP-ZZZZZZ"},
            "There is no young person with the reference YP-ZZZZZZ",
        ),
        (
            {"add_references": "CR-NOBODY"},
            "There is no young person called CR-NOBODY or with that reference",
        ),
        ({"add_references": "YP-\x00ABC"}, "control characters"),
        ({"add_references": "YP-\u202eABC"}, "text-direction"),
    ],
)
def test_bad_register_input_is_a_field_error_and_nothing_changes(
    app, client, staff, kayaking, data, message
):
    session_id, people = kayaking
    before = count(app, AuditEvent)
    response = client.post(f"/activities/{session_id}/attendance", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    assert "There is a problem" in html
    assert _attendees(app, session_id) == set(people)
    assert count(app, AuditEvent) == before


def test_a_register_over_capacity_is_refused(
    app, client, staff, grant_id, create_session, create_young_person
):
    people = [create_young_person() for _ in range(3)]
    session_id = create_session(grant_id, capacity=2)
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={"young_people": [str(p) for p in people]},
    )
    assert response.status_code == 422
    assert "2 places" in response.get_data(as_text=True)
    assert _attendees(app, session_id) == set()


def test_a_register_in_a_locked_period_is_refused(
    app, client, staff, kayaking, grant_id, create_user, create_young_person
):
    session_id, people = kayaking
    _lock(app, grant_id, create_user(Role.FINANCE))
    page = client.get(f"/activities/{session_id}/attendance").get_data(as_text=True)
    assert "locked period" in page
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={"young_people": [str(people[0])]},
    )
    assert response.status_code == 422
    assert "locked period" in response.get_data(as_text=True)
    assert _attendees(app, session_id) == set(people)


def test_a_cancelled_sessions_register_is_refused(
    app, client, staff, kayaking, create_user
):
    session_id, people = kayaking
    _cancel(app, session_id, create_user(Role.FINANCE))
    response = client.post(
        f"/activities/{session_id}/attendance", data={"young_people": [str(people[0])]}
    )
    assert response.status_code == 409
    assert _attendees(app, session_id) == set(people)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_finance_may_not_change_a_register(
    app, client, create_user, login, kayaking, method
):
    session_id, people = kayaking
    login(create_user(Role.FINANCE))
    response = client.open(
        f"/activities/{session_id}/attendance", method=method, data={"carers": "5"}
    )
    assert response.status_code == 403
    assert _attendees(app, session_id) == set(people)


def test_a_manager_sees_names_in_the_register_form(
    app, client, create_user, login, kayaking
):
    # A finance user cannot open the form at all (403 above), so the only place they
    # meet attendees is the session page, by reference only.
    session_id, _ = kayaking
    login(create_user(Role.MANAGER))
    html = client.get(f"/activities/{session_id}/attendance").get_data(as_text=True)
    assert "Jamie Smith" in html


# --- the programme --------------------------------------------------------------------------


@pytest.fixture
def programme_data(app, grant_id, create_session, create_young_person, create_user):
    regular = create_young_person(name="Jamie Smith", date_of_birth=date(2010, 1, 1))
    once = create_young_person(name="Riley Jones", date_of_birth=date(2007, 1, 1))
    waiting = create_young_person(name="Drew Wilson")
    for day in (3, 10, 17, 24):
        create_session(
            grant_id, "100.00", held_on=date(2024, 6, day), attendees=(regular,)
        )
    create_session(
        grant_id,
        "200.00",
        activity="Theatre trip",
        held_on=date(2024, 8, 1),
        attendees=(regular, once),
        carers=2,
    )
    cancelled = create_session(
        grant_id,
        "350.00",
        activity="High ropes",
        held_on=date(2024, 9, 1),
        attendees=(waiting,),
    )
    _cancel(app, cancelled, create_user(Role.FINANCE))
    return regular, once, waiting


def test_the_programme_page_shows_the_figures(
    app, client, staff, grant_id, programme_data
):
    regular, once, waiting = programme_data
    response = client.get(f"/activities/programme/{grant_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Activity programme" in html
    totals = html[html.index('id="programme-totals"') :]
    totals = totals[: totals.index("</table>")]
    for label, value in [
        ("Sessions delivered", "5"),
        ("Different young people", "2"),
        ("Places filled (cumulative attendances)", "6"),
        ("Average sessions per young person", "3.00"),
        ("Cost", "£600.00"),
        ("Cost per young person", "£300.00"),
        ("Cost per place", "£100.00"),
        ("Parents or carers (places)", "2"),
    ]:
        row = totals[totals.index(f">{label}<") :]
        assert f">{value}</td>" in row[: row.index("</tr>")], label
    assert "Kayaking" in html and "Theatre trip" in html
    assert "£350.00" in html  # the cancelled session is listed, struck through...
    assert "Cancelled" in html
    assert "Under 11" in html and "16 to 17" in html
    # ...and Drew, whose only session was cancelled, has attended nothing yet.
    not_attended = html[html.index('id="not-attended"') :]
    assert _reference(app, waiting) in not_attended
    assert "Drew Wilson" in not_attended
    assert _reference(app, regular) not in not_attended[: not_attended.index("</ul>")]


def test_the_programme_filter_narrows_the_period(
    app, client, staff, grant_id, programme_data
):
    response = client.get(
        f"/activities/programme/{grant_id}",
        query_string={"date_from": ["1", "7", "2024"], "date_to": ["31", "8", "2024"]},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "1 Jul 2024 to 31 Aug 2024" in html
    totals = html[html.index('id="programme-totals"') :]
    row = totals[totals.index(">Sessions delivered<") :]
    assert ">1</td>" in row[: row.index("</tr>")]


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": ["30", "2", "2024"]},
        {"date_from": ["٣", "6", "2024"]},
        {"date_from": ["1", "7", "2024"], "date_to": ["1", "6", "2024"]},
        {"date_to": ["1", "1", "99999"]},
        {"date_from": ["1", "1"]},
        {"date_from": ["1", "1", "2024", "9"]},
    ],
)
def test_a_bad_programme_filter_is_an_error_not_a_crash(
    client, staff, grant_id, programme_data, query
):
    response = client.get(f"/activities/programme/{grant_id}", query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert 'id="programme-totals"' not in html


def test_finance_sees_the_programme_without_names(
    app, client, create_user, login, grant_id, programme_data
):
    _, _, waiting = programme_data
    login(create_user(Role.FINANCE))
    html = client.get(f"/activities/programme/{grant_id}").get_data(as_text=True)
    assert _reference(app, waiting) in html
    assert "Drew Wilson" not in html and "Jamie Smith" not in html
    assert "Record a session" not in html


def test_a_long_programme_lists_the_newest_sessions_and_links_the_rest(
    app, client, staff, grant_id, create_session, create_grant, monkeypatch
):
    from funds.activities import queries

    monkeypatch.setattr(queries, "PROGRAMME_SESSIONS_SHOWN", 2)
    for day in (3, 4, 5):
        create_session(grant_id, "10.00", held_on=date(2024, 6, day))
    create_session(create_grant("500.00", reference="OTHER"), "10.00")
    html = client.get(f"/activities/programme/{grant_id}").get_data(as_text=True)
    listed = html[html.index(">Sessions</caption>") :]
    listed = listed[: listed.index("</table>")]
    assert "5 Jun 2024" in listed and "4 Jun 2024" in listed
    assert "3 Jun 2024" not in listed
    assert "The newest 2 of 3 sessions are listed." in html
    assert f"/activities/download.csv?grant_id={grant_id}" in html
    totals = html[html.index('id="programme-totals"') :]
    row = totals[totals.index(">Sessions delivered<") :]
    assert ">3</td>" in row[: row.index("</tr>")]  # the figures count them all


def test_an_unknown_grants_programme_is_404(client, staff):
    assert client.get("/activities/programme/999999").status_code == 404


def test_an_empty_programme(client, staff, grant_id):
    html = client.get(f"/activities/programme/{grant_id}").get_data(as_text=True)
    assert "No sessions" in html
    assert "Record a session" in html


def test_a_sessions_problems_are_shown_in_one_round(
    app, client, staff, grant_id, item_id
):
    response = client.post(
        "/activities/new",
        data=_form(
            grant_id,
            item_id,
            supplier="Calshot\x00",
            held_on=["3", "6", "2025"],
            cost="1000.01",
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "control characters" in page
    assert "grant&#39;s period" in page or "grant's period" in page
    assert "more than is available to award" in page
    _nothing_recorded(app)


def test_a_young_persons_page_shows_the_sessions_they_attended(
    app, client, staff, programme_data
):
    regular, once, waiting = programme_data
    html = client.get(f"/young-people/{regular}").get_data(as_text=True)
    attended = html[html.index('id="attended"') : html.index('id="received"')]
    assert ">5</p>" in attended  # four kayaking sessions and the theatre trip
    # £100 x 4 on their own, half of the £200 theatre trip
    assert 'id="cost-share">£500.00<' in attended
    assert 'id="contact-hours">10.00<' in attended  # 5 sessions of 2 hours
    assert attended.count("Kayaking") == 4 and "Theatre trip" in attended
    assert "Nothing recorded" not in attended
    # Drew's only session was cancelled: listed, struck through, not counted.
    drew = client.get(f"/young-people/{waiting}").get_data(as_text=True)
    drew = drew[drew.index('id="attended"') : drew.index('id="received"')]
    assert "High ropes" in drew and "Cancelled" in drew
    assert 'id="cost-share">£0.00<' in drew and 'id="sessions-attended">0<' in drew


# --- finding people on the register ------------------------------------------------------------


def _ticked(html: str) -> set[str]:
    return set(
        re.findall(
            r'name="young_people" type="checkbox" value="([0-9]+)"\s*checked', html
        )
    )


def test_the_register_lists_people_by_name_and_adds_them_by_name(
    app, client, staff, kayaking, create_young_person
):
    session_id, people = kayaking
    newcomer = create_young_person(name="Alex Zhang")
    html = client.get(f"/activities/{session_id}/attendance").get_data(as_text=True)
    labels = re.findall(
        r'class="govuk-label govuk-checkboxes__label"[^>]*>\s*(.*?)\s*<', html
    )
    assert [label.split(" (")[0] for label in labels] == [
        "Alex Zhang",
        "Jamie Smith",
        "Riley Jones",
    ]
    assert f"Jamie Smith ({_reference(app, people[0])})" in labels
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={
            "young_people": [str(p) for p in people],
            "add_references": "alex zhang",
            "carers": "1",
        },
    )
    assert response.status_code == 302
    assert _attendees(app, session_id) == {*people, newcomer}


def test_a_name_two_young_people_share_is_refused_with_their_references(
    app, client, staff, kayaking, create_young_person
):
    session_id, people = kayaking
    twins = [create_young_person(name="Sam Lee") for _ in range(2)]
    response = client.post(
        f"/activities/{session_id}/attendance",
        data={"young_people": [str(p) for p in people], "add_references": "Sam Lee"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "More than one young person is called Sam Lee" in html
    assert all(_reference(app, twin) in html for twin in twins)
    assert _attendees(app, session_id) == set(people)


def test_tick_everyone_who_usually_comes(
    app, client, staff, grant_id, create_session, create_young_person
):
    regular = create_young_person(name="Casey Regular")
    sometimes = create_young_person(name="Drew Sometimes")
    rarely = create_young_person(name="Eli Rarely")
    for day, came in (
        (3, (regular, sometimes)),
        (10, (regular, rarely)),
        (17, (regular,)),
    ):
        create_session(grant_id, held_on=date(2024, 6, day), attendees=came)
    create_session(grant_id, held_on=date(2024, 6, 24), attendees=(regular, sometimes))
    today = create_session(grant_id, held_on=date(2024, 7, 1))
    page = client.get(f"/activities/{today}/attendance").get_data(as_text=True)
    assert _ticked(page) == set()
    assert "Tick everyone who usually comes (2)" in page
    assert page.count("Usually comes") == 2
    ticked = client.get(f"/activities/{today}/attendance?usual=1").get_data(
        as_text=True
    )
    assert _ticked(ticked) == {str(regular), str(sometimes)}
    assert "are ticked as well" in ticked
    assert _attendees(app, today) == set()  # nothing saved until the clerk saves
