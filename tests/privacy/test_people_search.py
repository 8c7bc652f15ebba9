"""People search takes names by POST only: never in a URL, a redirect or an access log."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, Household, Role, User, YoungPerson

NAME = "Zoë =Quill* ~Searchable?"
OTHER = "Other <Person> +1"


@pytest.fixture
def found(app, create_household, create_young_person):
    wanted = create_household(name=NAME, case_reference="CMS-QQ1")
    other = create_household(name=OTHER)
    person = create_young_person(name=NAME + " Jr")
    with app.app_context():
        return {
            "wanted": db.session.get(Household, wanted).reference,
            "other": db.session.get(Household, other).reference,
            "person": db.session.get(YoungPerson, person).reference,
        }


@pytest.fixture
def staff_client(app, create_user, login):
    the_client = app.test_client()
    login(create_user(Role.STAFF), the_client=the_client)
    return the_client


def _links(body: str) -> list[str]:
    """Every URL the page links or submits to."""
    return re.findall(r'(?:href|action|formaction|src)="([^"]*)"', body)


@pytest.mark.parametrize("typed", ["quill", "ZOË", "searchable?", "=quill*"])
def test_a_posted_search_finds_by_name(app, staff_client, found, typed):
    response = staff_client.post("/households", data={"q": typed})
    assert response.status_code == 200
    assert "Location" not in response.headers
    body = response.get_data(as_text=True)
    assert found["wanted"] in body and found["other"] not in body
    # The results render in the POST's answer: the name is in no link or form address.
    for url in _links(body):
        assert "quill" not in url.lower() and "q=" not in url, url
    assert 'method="post"' in body and 'name="csrf_token"' in body


def test_young_people_search_by_post(app, staff_client, found):
    body = staff_client.post("/young-people", data={"q": "quill"}).get_data(
        as_text=True
    )
    assert found["person"] in body
    for url in _links(body):
        assert "quill" not in url.lower(), url


@pytest.mark.parametrize("url", ["/households", "/young-people"])
def test_a_name_in_the_query_string_is_not_searched(app, staff_client, found, url):
    body = staff_client.get(url, query_string={"q": "quill"}).get_data(as_text=True)
    assert found["wanted"] not in body and found["person"] not in body
    assert "match" in body  # "No household matches that search."


def test_references_still_search_by_get(app, staff_client, found):
    for typed in (found["wanted"], found["wanted"].lower(), "cms-qq1"):
        body = staff_client.get("/households", query_string={"q": typed}).get_data(
            as_text=True
        )
        assert found["wanted"] in body and found["other"] not in body, typed


def test_finance_cannot_find_by_name_even_by_post(app, create_user, login, found):
    the_client = app.test_client()
    login(create_user(Role.FINANCE), the_client=the_client)
    body = the_client.post("/households", data={"q": "quill"}).get_data(as_text=True)
    assert found["wanted"] not in body and NAME not in body


@pytest.mark.parametrize("typed", ["a\x00b", "bad\ufffe", "Ali\u202eecnarF", "x" * 101])
def test_a_bad_search_is_refused_clearly(app, staff_client, found, typed):
    response = staff_client.post("/households", data={"q": typed})
    assert response.status_code == 422
    assert "govuk-error-summary" in response.get_data(as_text=True)


def test_the_search_needs_its_csrf_token(app, staff_client, found):
    app.config["WTF_CSRF_ENABLED"] = True
    response = staff_client.post("/households", data={"q": "quill"})
    assert response.status_code == 400
    assert found["wanted"] not in response.get_data(as_text=True)


def test_a_posted_download_searches_by_name_and_keeps_no_name(app, staff_client, found):
    response = staff_client.post("/households/download.csv", data={"q": "quill"})
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert found["wanted"] in text and found["other"] not in text
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "list.download")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert "quill" not in repr(event.after).lower()
    # A query string's name narrows nothing by name.
    text = staff_client.get("/households/download.csv?q=quill").get_data(as_text=True)
    assert found["wanted"] not in text


# --- pages of results ----------------------------------------------------------------------


@pytest.fixture
def many(app, create_user):
    from funds.people.services import HouseholdInput, create_household

    actor_id = create_user(Role.MANAGER, name="Maker")
    with app.app_context():
        actor = db.session.get(User, actor_id)
        made = [
            create_household(HouseholdInput(name=f"Pat Pager {n:03d}"), actor=actor)
            for n in range(105)
        ]
        db.session.commit()
        return [household.reference for household in made]


def test_search_results_page_by_post(app, staff_client, many):
    first = staff_client.post("/households", data={"q": "pager"}).get_data(as_text=True)
    assert first.count("Pat Pager") == 100
    assert "Next page" in first and "Previous page" not in first
    # The next page is a posted form carrying the text and the page number.
    form = first.split('aria-label="Pages of results"')[1]
    assert 'method="post"' in form and 'name="page" value="2"' in form
    assert 'name="q" value="pager"' in form
    second = staff_client.post("/households", data={"q": "pager", "page": "2"})
    body = second.get_data(as_text=True)
    assert second.status_code == 200
    assert body.count("Pat Pager") == 5
    assert "Previous page" in body and "Next page" not in body
    # Together the pages hold every match once.
    shown = set(re.findall(r"H-[0-9A-Z]{6}", first)) | set(
        re.findall(r"H-[0-9A-Z]{6}", body)
    )
    assert set(many) <= shown
    for url in _links(body):
        assert "pager" not in url.lower(), url


def test_the_list_without_a_search_pages_by_get(app, staff_client, many):
    body = staff_client.get("/households", query_string={"page": "2"}).get_data(
        as_text=True
    )
    assert body.count("Pat Pager") == 5


@pytest.mark.parametrize("page", ["0", "-1", "x", "1001", "２"])
def test_a_bad_page_is_refused(app, staff_client, many, page):
    response = staff_client.post("/households", data={"q": "pager", "page": page})
    assert response.status_code == 422
    assert "Choose a page from 1 to 1000" in response.get_data(as_text=True)
