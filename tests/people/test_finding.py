"""Finding people by name or reference: the search itself, the type-ahead's answers, and
who may search by name."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from funds.extensions import db
from funds.models import Household, Role, YoungPerson
from funds.people.finding import FIND_LIMIT, HOUSEHOLD, YOUNG_PERSON, find_people


@pytest.fixture
def people(app, create_household, create_young_person):
    """Households and young people with awkward names; Jamie Smithers was erased."""
    ids = {
        "smith": create_household(name="Jamie Smith", postcode_district="SO14"),
        "smithson": create_household(
            name="Ana Smithson", adults=2, children=3, has_children=True
        ),
        "wild": create_household(name="Per*cent_ 100% ?~"),
        "benjamin": create_household(name="Benjamin Ward"),
        "erased": create_household(name="Jamie Smithers"),
        "nameless": create_household(case_reference="CMS-7001"),
        "yp": create_young_person(name="Jamie O'Neill", date_of_birth=date(2010, 5, 1)),
        "zoe": create_young_person(name="Zoë Brown"),
    }
    _erase(app, ids["erased"])
    return ids


def _find(app, text, **kwargs):
    kwargs.setdefault("with_names", True)
    kwargs.setdefault("today", date(2026, 11, 28))
    with app.app_context():
        return find_people(text, **kwargs)


def _erase(app, household_id):
    with app.app_context():
        db.session.get(Household, household_id).erased_at = datetime.now(UTC)
        db.session.commit()


def test_a_name_finds_households_and_young_people_starts_first(app, people):
    found = _find(app, "jamie")
    assert [m.name for m in found.matches] == ["Jamie O'Neill", "Jamie Smith"]
    assert [m.kind for m in found.matches] == [YOUNG_PERSON, HOUSEHOLD]
    assert found.matches[0].detail == "Young person, age 16"
    assert found.matches[1].detail == "Household of 1, SO14"
    # A first name or surname that starts with the text comes before a name that only
    # contains it; then by name.
    assert [m.name for m in _find(app, "jam").matches] == [
        "Jamie O'Neill",
        "Jamie Smith",
        "Benjamin Ward",
    ]
    assert [m.name for m in _find(app, "smith").matches] == [
        "Ana Smithson",
        "Jamie Smith",
    ]


def test_an_exact_reference_or_case_reference_comes_first(app, people):
    with app.app_context():
        reference = db.session.get(Household, people["smithson"]).reference
    assert _find(app, reference.lower()).matches[0].reference == reference
    found = _find(app, "cms-7001")
    assert [m.id for m in found.matches] == [people["nameless"]]
    assert found.matches[0].label == found.matches[0].reference  # no name recorded


@pytest.mark.parametrize("text", ["%", "_", "*", "?", "~", "%_", "0%", "*?"])
def test_wildcards_are_letters_not_patterns(app, people, text):
    found = _find(app, text)
    assert all(text in (m.name or "") for m in found.matches), found.matches
    if len(text) >= 2:
        assert [m.id for m in found.matches] == (
            [people["wild"]] if text in "Per*cent_ 100% ?~" else []
        )


def test_non_ascii_names_are_found_as_typed(app, people):
    assert [m.name for m in _find(app, "Zoë").matches] == ["Zoë Brown"]


def test_roles_that_do_not_see_names_find_by_reference_only(app, people):
    assert _find(app, "Jamie", with_names=False).matches == []
    with app.app_context():
        reference = db.session.get(YoungPerson, people["yp"]).reference
    found = _find(app, reference, with_names=False)
    assert [m.label for m in found.matches] == [reference]
    assert found.matches[0].name is None


def test_one_letter_finds_nothing_and_long_lists_say_there_are_more(
    app, create_household
):
    for number in range(FIND_LIMIT + 2):
        create_household(name=f"Taylor {number:02d}")
    assert _find(app, "T").matches == []
    found = _find(app, "taylor")
    assert len(found.matches) == FIND_LIMIT and found.more
    assert _find(app, "taylor", kinds=(YOUNG_PERSON,)).matches == []


# --- the type-ahead's answers -----------------------------------------------------------------


def test_the_type_ahead_answers_staff_with_names(client, login, create_user, people):
    login(create_user(Role.STAFF))
    response = client.post("/people/lookup", data={"kinds": "household", "q": "smith"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert [r["label"].split(" (")[0] for r in body["results"]] == [
        "Ana Smithson",
        "Jamie Smith",
    ]
    assert body["results"][0]["detail"] == "Household of 5"
    assert body["more"] is False


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"q": "a" * 121}, "120 characters"),
        ({"q": "ab", "kinds": "grant"}, "households, young people or both"),
        ({"q": "ab", "kinds": ""}, "households, young people or both"),
    ],
)
def test_the_type_ahead_refuses_bad_questions(
    client, login, create_user, query, message
):
    login(create_user(Role.MANAGER))
    response = client.post("/people/lookup", data=query)
    assert response.status_code == 422
    assert message in response.get_json()["error"]


def test_finance_cannot_use_the_type_ahead(client, login, create_user, people):
    login(create_user(Role.FINANCE))
    assert client.post("/people/lookup", data={"q": "jamie"}).status_code == 403
