"""The grants pages: overview, setting up, a grant's page with its ledger, edits, totals, lines.

Every write is checked in a fresh app context after the request.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask import url_for
from sqlalchemy import select, text

from funds.disbursements.services import mark_paid, reverse_disbursement
from funds.extensions import db
from funds.models import (
    AuditEvent,
    BudgetControl,
    BudgetLine,
    Disbursement,
    Grant,
    GrantStatus,
    GrantTotalChange,
    Household,
    Role,
    SpendCategory,
    Team,
    User,
)
from tests.conftest import IN_PERIOD, PASSWORD, TODAY, audit_actions, count

D = Decimal


@pytest.fixture
def manager(create_user, login):
    user_id = create_user(Role.MANAGER, name="Mona Manager")
    login(user_id)
    return user_id


def _grant(app, grant_id: int) -> Grant:
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        db.session.expunge(grant)
        return grant


def _category_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalars(
            select(SpendCategory.id).where(SpendCategory.name == name)
        ).one()


def _error_for(html: str, message: str) -> bool:
    """The message is shown as a field error (in the field's error message)."""
    return bool(
        re.search(
            r'class="govuk-error-message">\s*<span class="govuk-visually-hidden">Error:</span>\s*'
            + re.escape(message),
            html,
        )
    )


def _page(response) -> str:
    return response.get_data(as_text=True)


# --- the overview --------------------------------------------------------------------


@pytest.fixture
def overview_ledger(app, create_user, create_grant, create_disbursement, create_funder):
    """A (£1,000): £100 paid, £50 reversed, £30.25 unpaid. B (£500, closed): £20."""
    finance_id = create_user(Role.FINANCE)
    funder_id = create_funder("Connect4Communities")
    a = create_grant("1000.00", reference="HSF-A", funder_id=funder_id, title="HSF 4")
    b = create_grant("500.00", reference="OLD-B", title="Old grant")
    paid = create_disbursement(a, "100.00", item="Fridge")
    reversed_ = create_disbursement(a, "50.00")
    create_disbursement(a, "30.25", item="Gas bill")
    create_disbursement(b, "20.00")
    with app.app_context():
        finance = db.session.get(User, finance_id)
        mark_paid(
            db.session.get(Disbursement, paid),
            actor=finance,
            paid_on=IN_PERIOD,
            payment_reference="BACS 1",
            today=TODAY,
        )
        reverse_disbursement(
            db.session.get(Disbursement, reversed_),
            actor=finance,
            reason="Duplicate",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        db.session.get(Grant, b).status = GrantStatus.CLOSED
        db.session.commit()
    return {"a": a, "b": b}


def _row(html: str, reference: str) -> str:
    match = re.search(
        r'<tr class="govuk-table__row">((?:(?!</tr>).)*>'
        + re.escape(reference)
        + r"<.*?)</tr>",
        html,
        re.S,
    )
    assert match, f"no row for {reference}"
    return re.sub(r"\s+", " ", match.group(1))


def test_the_overview_shows_each_grants_figures(
    app, client, login, manager, overview_ledger
):
    with time_machine.travel(datetime(2024, 10, 1, 12, 0), tick=False):
        login(manager)  # signed in "on" 1 Oct 2024, the day the page is looked at
        response = client.get("/grants/")
    assert response.status_code == 200
    html = _page(response)
    row = _row(html, "HSF-A")
    # total, spent, remaining, not yet paid, in that order
    assert re.search(r"£1,000.00.*£130.25.*£869.75.*£30.25", row)
    assert "13% spent" in row
    assert "50% of period gone" in row  # 183 of 365 days on 1 Oct 2024
    assert 'value="13"' in row and 'value="50"' in row  # the meters
    assert "Connect4Communities" in row and "HSF 4" in row
    assert "Block" in row and "Open" in row
    assert f'href="/grants/{overview_ledger["a"]}"' in row
    # Closed grants are left out unless asked for.
    assert "OLD-B" not in html
    totals = re.sub(r"\s+", " ", html.split("funds-totals", 1)[1].split("</tr>", 1)[0])
    assert re.search(r"£1,000.00.*£130.25.*£869.75.*£30.25", totals)


def test_the_overview_can_show_every_grant(app, client, manager, overview_ledger):
    html = _page(client.get("/grants/?show=all"))
    row = _row(html, "OLD-B")
    assert re.search(r"£500.00.*£20.00.*£480.00.*£20.00", row)
    assert "Closed" in row
    totals = re.sub(r"\s+", " ", html.split("funds-totals", 1)[1].split("</tr>", 1)[0])
    assert "Total of 2 grants" in totals
    assert re.search(r"£1,500.00.*£150.25.*£1,349.75.*£50.25", totals)


@pytest.mark.parametrize(
    ("role", "button"),
    [(Role.MANAGER, True), (Role.STAFF, False), (Role.FINANCE, False)],
)
def test_only_managers_see_the_new_grant_button(
    client, create_user, login, role, button
):
    login(create_user(role))
    html = _page(client.get("/grants/"))
    assert ('href="/grants/new"' in html) is button
    assert "There are no open grants." in html


# --- a new grant ---------------------------------------------------------------------


def _new_grant_form(funder_id: int, **overrides) -> dict:
    form = {
        "reference": "C4C-HSF4-2024",
        "title": "Household Support Fund 4",
        "funder": str(funder_id),
        "team": "",
        "total": "22000",
        "starts_on": ["1", "4", "2024"],
        "ends_on": ["31", "3", "2025"],
        "control": "block",
        "notes": "Via the county council",
    }
    form.update(overrides)
    return form


def test_a_manager_sets_up_a_grant(app, client, manager, create_funder):
    funder_id = create_funder()
    with app.app_context():
        db.session.add(Team(name="Families"))
        db.session.commit()
        team_id = db.session.scalar(select(Team.id))
    response = client.post(
        "/grants/new",
        data=_new_grant_form(funder_id, team=str(team_id), control="warn"),
    )
    assert response.status_code == 302
    with app.app_context():
        grant = db.session.scalars(select(Grant)).one()
        assert response.headers["Location"] == f"/grants/{grant.id}"
        assert (grant.reference, grant.title, grant.funder_id, grant.team_id) == (
            "C4C-HSF4-2024",
            "Household Support Fund 4",
            funder_id,
            team_id,
        )
        assert grant.total == D("22000.00")
        assert (grant.starts_on, grant.ends_on) == (date(2024, 4, 1), date(2025, 3, 31))
        assert grant.control == BudgetControl.WARN
        assert grant.status == GrantStatus.OPEN
        assert grant.notes == "Via the county council"
    assert "grant.create" in audit_actions(app)
    page = _page(client.get(response.headers["Location"]))
    assert "Grant C4C-HSF4-2024 has been set up" in page


def test_the_new_grant_form_lists_funders_and_teams(client, manager, create_funder):
    create_funder("Office for Health Improvement")
    html = _page(client.get("/grants/new"))
    assert "Office for Health Improvement" in html
    assert "No team" in html
    assert 'name="starts_on"' in html and 'id="starts_on-day"' in html


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"reference": ""}, "Enter the grant&#39;s reference"),
        ({"reference": "   "}, "Enter the grant&#39;s reference"),
        ({"reference": "X" * 41}, "Field cannot be longer than 40 characters."),
        ({"title": ""}, "Enter a title for the grant"),
        ({"title": "HSF\u202e4"}, "Remove the hidden text-direction characters"),
        ({"title": "HSF\ufffe4"}, "Remove the hidden special characters"),
        ({"title": "HSF\uffff"}, "Remove the hidden special characters"),
        ({"funder": ""}, "Choose a funder"),
        ({"funder": "abc"}, "Choose a funder from the list"),
        ({"funder": "999999"}, "Choose a funder from the list"),
        ({"team": "1.5"}, "Choose a team from the list"),
        ({"starts_on": ["", "", ""]}, "Enter the start date"),
        ({"starts_on": ["30", "2", "2024"]}, "Enter a real date, for example 1 4 2024"),
        ({"starts_on": ["1", "4", ""]}, "The date must include a year"),
        (
            {"starts_on": ["1", "4", "1"]},
            "Enter the date as day, month and year in numbers",
        ),
        ({"starts_on": ["1", "4", "9999"]}, "Enter a year between 1900 and 2100"),
        ({"starts_on": ["1", "4", "1999"]}, "Enter a year between 2000 and 2100"),
        (
            {"starts_on": ["１", "4", "2024"]},
            "Enter the date as day, month and year in numbers",
        ),
        (
            {"starts_on": "2024-04-01"},
            "Enter the date as day, month and year in numbers",
        ),
        # security bar §9 row 24: the end before the start
        (
            {"ends_on": ["31", "3", "2024"]},
            "The end date must be on or after the start date",
        ),
        ({"control": "maybe"}, "Choose what happens when money runs out"),
        ({"notes": "x" * 2001}, "Notes must be 2000 characters or fewer"),
        ({"notes": "Bob\x00"}, "Remove the hidden control characters from this text"),
    ],
)
def test_a_bad_new_grant_is_refused_with_a_field_error(
    app, client, manager, create_funder, overrides, field_error
):
    funder_id = create_funder()
    response = client.post("/grants/new", data=_new_grant_form(funder_id, **overrides))
    assert response.status_code == 422
    html = _page(response)
    assert "There is a problem" in html
    assert field_error in html
    assert count(app, Grant) == 0


# Security bar §9 rows 1-15 and 26, applied to a grant's total.
REFUSED_TOTALS = [
    "10.005",
    "1e3",
    "1_000",
    "１０",
    "٣",
    "sNaN",
    "NaN",
    "-NaN",
    "+sNaN",
    "Infinity",
    "-Inf",
    "1e999999",
    "0",
    "-0",
    "0.00",
    "-25.00",
    "0.001",
    "99999999999999999999",
    "10.00 GBP",
    "",
    "   ",
]


@pytest.mark.parametrize("total", REFUSED_TOTALS)
def test_a_bad_grant_total_is_refused(app, client, manager, create_funder, total):
    funder_id = create_funder()
    response = client.post("/grants/new", data=_new_grant_form(funder_id, total=total))
    assert response.status_code == 422
    html = _page(response)
    assert 'id="total-error"' in html  # the error sits on the total field
    if total.strip():
        assert f'value="{total}"' in html  # what was typed is shown back unchanged
    assert count(app, Grant) == 0


@pytest.mark.parametrize(
    ("total", "pence"),
    [(" 10 ", 1000), ("10", 1000), ("£10.00", 1000), ("1,000.00", 100000), ("0.01", 1)],
)
def test_a_grant_total_is_stored_as_exact_pence(
    app, client, manager, create_funder, total, pence
):
    funder_id = create_funder()
    response = client.post("/grants/new", data=_new_grant_form(funder_id, total=total))
    assert response.status_code == 302
    with app.app_context():
        assert (
            db.session.execute(text("SELECT total_pence FROM grants")).scalar() == pence
        )


@pytest.mark.parametrize("reference", ["G-001", "g-001", "  G-001 "])
def test_a_duplicate_reference_is_refused_whatever_its_case(
    app, client, manager, create_grant, create_funder, reference
):
    create_grant(reference="G-001")
    response = client.post(
        "/grants/new", data=_new_grant_form(create_funder(), reference=reference)
    )
    assert response.status_code == 422
    assert _error_for(_page(response), "A grant with this reference already exists")
    assert count(app, Grant) == 1


# --- a grant's page ------------------------------------------------------------------


def test_a_grants_page_shows_its_summary_lines_history_and_ledger(
    app, client, manager, create_grant, create_disbursement, create_household
):
    grant_id = create_grant("1000.00", reference="HSF-1")
    household_id = create_household()
    create_disbursement(grant_id, "120.00", item="Fridge", household_id=household_id)
    create_disbursement(grant_id, "30.00", household_id=household_id)
    white_goods = _category_id(app, "White goods")
    assert (
        client.post(
            f"/grants/{grant_id}/budget-lines",
            data={"category": white_goods, "amount": "400", "control": "warn"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/grants/{grant_id}/total",
            data={"new_total": "1200", "reason": "Top-up letter"},
        ).status_code
        == 302
    )
    html = _page(client.get(f"/grants/{grant_id}"))
    flat = re.sub(r"\s+", " ", html)
    assert "HSF-1" in flat
    assert re.search(r"Total </dt> <dd[^>]*> £1,200.00", flat)
    assert re.search(r"Spent </dt> <dd[^>]*> £150.00", flat)
    assert re.search(r"Total less spent </dt> <dd[^>]*> £1,050.00", flat)
    assert re.search(r"Not yet paid </dt> <dd[^>]*> £150.00", flat)
    assert "1 Apr 2024 to 31 Mar 2025" in flat
    # the history of the total
    assert re.search(
        r"£1,000.00</td> <td[^>]*>£1,200.00</td> <td[^>]*>Top-up letter", flat
    )
    # the budget line: set aside, spent, remaining, control
    assert re.search(
        r"White goods</th> <td[^>]*>£400.00</td> <td[^>]*>£120.00</td> <td[^>]*>£280.00</td> <td[^>]*>Warn",
        flat,
    )
    assert f'href="/grants/{grant_id}/budget-lines?category={white_goods}"' in flat
    assert "Add or change a budget line" in flat
    # spend by category
    assert re.search(r"Food</th> <td[^>]*>1</td> <td[^>]*>£30.00", flat)
    # the ledger
    with app.test_request_context():
        reference = db.session.get(Household, household_id).reference
    assert flat.count(reference) == 2


def test_the_record_an_award_button_is_for_recorders_on_open_grants(
    app, client, create_user, login, create_grant
):
    grant_id = create_grant()
    with app.test_request_context():
        target = url_for("disbursements.new", grant=grant_id)
    login(create_user(Role.STAFF))
    html = _page(client.get(f"/grants/{grant_id}"))
    assert f'href="{target}"' in html.replace("&amp;", "&")
    assert "Edit details" not in html and "Add or change a budget line" not in html
    with app.app_context():
        db.session.get(Grant, grant_id).status = GrantStatus.CLOSED
        db.session.commit()
    assert "Record an award" not in _page(client.get(f"/grants/{grant_id}"))


def test_finance_sees_a_grant_without_the_buttons(
    app, client, create_user, login, create_grant
):
    grant_id = create_grant()
    login(create_user(Role.FINANCE))
    response = client.get(f"/grants/{grant_id}")
    assert response.status_code == 200
    html = _page(response)
    for hidden in (
        "Record an award",
        "Edit details",
        "Change total",
        "Add or change a budget line",
    ):
        assert hidden not in html


def test_an_unknown_grant_is_404(client, manager):
    assert client.get("/grants/999").status_code == 404
    assert client.get("/grants/99999999999999999999").status_code == 404
    assert client.get("/grants/abc").status_code == 404


# --- the ledger on a grant's page: filters and keyset pagination --------------------


def _award_urls(app, ids) -> dict[int, str]:
    with app.test_request_context():
        return {i: url_for("disbursements.detail", disbursement_id=i) for i in ids}


def _shown(html: str, urls: dict[int, str]) -> set[int]:
    return {i for i, url in urls.items() if f'href="{url}"' in html}


@pytest.fixture
def filter_ledger(
    app, create_grant, create_disbursement, create_household, create_young_person
):
    grant_id = create_grant("5000.00")
    other_grant = create_grant("5000.00")
    household_id = create_household()
    person_id = create_young_person(date_of_birth=date(2009, 1, 2))
    ids = {
        "fridge_may": create_disbursement(
            grant_id,
            "100.00",
            item="Fridge",
            awarded_on=date(2024, 5, 1),
            household_id=household_id,
        ),
        "food_jun": create_disbursement(
            grant_id, "20.00", awarded_on=date(2024, 6, 1), household_id=household_id
        ),
        "coat_jul": create_disbursement(
            grant_id,
            "35.00",
            item="Winter coat",
            awarded_on=date(2024, 7, 1),
            young_person_id=person_id,
        ),
        "gas_aug": create_disbursement(
            grant_id, "60.00", item="Gas bill", awarded_on=date(2024, 8, 1)
        ),
        "other": create_disbursement(other_grant, "10.00", awarded_on=date(2024, 6, 1)),
    }
    with app.app_context():
        household = db.session.get(Household, household_id).reference
        from funds.models import ItemType, YoungPerson

        person = db.session.get(YoungPerson, person_id).reference
        fridge = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Fridge")
        ).one()
    return {
        "grant": grant_id,
        "ids": ids,
        "household": household,
        "person": person,
        "fridge": fridge,
        "urls": _award_urls(app, ids.values()),
    }


def _filtered(client, app, ledger, query) -> set[str]:
    response = client.get(f"/grants/{ledger['grant']}", query_string=query)
    assert response.status_code == 200, _page(response)[:300]
    shown = _shown(_page(response), ledger["urls"])
    names = {v: k for k, v in ledger["ids"].items()}
    return {names[i] for i in shown}


def test_the_ledger_shows_only_this_grants_lines(app, client, manager, filter_ledger):
    assert _filtered(client, app, filter_ledger, {}) == {
        "fridge_may",
        "food_jun",
        "coat_jul",
        "gas_aug",
    }


def test_the_ledger_filters_by_dates(app, client, manager, filter_ledger):
    query = {"date_from": ["1", "6", "2024"], "date_to": ["1", "7", "2024"]}
    assert _filtered(client, app, filter_ledger, query) == {"food_jun", "coat_jul"}
    # the from date alone, and the to date alone, both inclusive
    assert _filtered(client, app, filter_ledger, {"date_from": ["1", "7", "2024"]}) == {
        "coat_jul",
        "gas_aug",
    }
    assert _filtered(client, app, filter_ledger, {"date_to": ["1", "5", "2024"]}) == {
        "fridge_may"
    }
    # empty date boxes mean no filter
    assert len(_filtered(client, app, filter_ledger, {"date_from": ["", "", ""]})) == 4


def test_the_ledger_filters_by_category_item_and_beneficiary(
    app, client, manager, filter_ledger
):
    utility = _category_id(app, "Utility bills")
    assert _filtered(client, app, filter_ledger, {"category": utility}) == {"gas_aug"}
    assert _filtered(
        client, app, filter_ledger, {"item_type": filter_ledger["fridge"]}
    ) == {"fridge_may"}
    assert _filtered(
        client, app, filter_ledger, {"beneficiary": filter_ledger["household"]}
    ) == {"fridge_may", "food_jun"}
    # references are matched whatever their case and surrounding spaces
    assert _filtered(
        client,
        app,
        filter_ledger,
        {"beneficiary": f" {filter_ledger['person'].lower()} "},
    ) == {"coat_jul"}
    combined = {
        "category": _category_id(app, "Food"),
        "beneficiary": filter_ledger["household"],
    }
    assert _filtered(client, app, filter_ledger, combined) == {"food_jun"}
    html = _page(
        client.get(
            f"/grants/{filter_ledger['grant']}",
            query_string={"category": utility, "date_from": ["1", "1", "2025"]},
        )
    )
    assert "Nothing recorded that matches these filters" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"date_from": ["1", "8", "2024"], "date_to": ["1", "6", "2024"]},
            "Date to must be the same as or after date from",
        ),
        (
            {"beneficiary": "H-ZZZZZZ"},
            "No household or young person has the reference H-ZZZZZZ",
        ),
        ({"beneficiary": "Smith"}, "Enter a reference like H-7K3Q9M or YP-4T8W2X"),
        (
            {"beneficiary": "H-1' OR 1=1"},
            "Enter a reference like H-7K3Q9M or YP-4T8W2X",
        ),
        ({"date_from": ["31", "2", "2024"]}, "Enter a real date"),
        (
            {"date_from": ["a", "b", "c"]},
            "Enter the date as day, month and year in numbers",
        ),
        (
            {"date_from": "2024-06-01"},
            "Enter the date as day, month and year in numbers",
        ),
        (
            {"date_from": ["1", "6", "2024", "x"]},
            "Enter the date as day, month and year in numbers",
        ),
        ({"date_to": ["1", "", "2024"]}, "The date must include a month"),
        ({"date_to": ["1", "1", "0001"]}, "Enter a year between 1900 and 2100"),
        ({"category": "abc"}, "Choose a spend category from the list"),
        ({"category": "1 OR 1=1"}, "Choose a spend category from the list"),
        ({"category": "99999999999999999999"}, "Choose a spend category from the list"),
        ({"category": "-1"}, "Choose a spend category from the list"),
        ({"item_type": "1.5"}, "Choose an item from the list"),
        ({"item_type": "１"}, "Choose an item from the list"),
    ],
)
def test_bad_filters_are_refused_with_a_field_error(
    app, client, manager, filter_ledger, query, message
):
    response = client.get(f"/grants/{filter_ledger['grant']}", query_string=query)
    assert response.status_code == 422
    html = _page(response)
    assert "There is a problem" in html
    assert _error_for(html, message), message
    assert "Correct the filters above to see the awards" in html
    assert not _shown(html, filter_ledger["urls"])


def test_unknown_query_parameters_are_ignored(app, client, manager, filter_ledger):
    query = {"grant_id": "999", "_anchor": "x", "_external": "1", "page": "2"}
    assert _filtered(client, app, filter_ledger, query) == {
        "fridge_may",
        "food_jun",
        "coat_jul",
        "gas_aug",
    }


def test_a_malformed_cursor_starts_from_the_first_page(
    app, client, manager, filter_ledger
):
    for token in (
        "nonsense",
        "2024-13-01_1",
        "2024-06-01_abc",
        "2024-06-01_99999999999999999999999",
    ):
        assert _filtered(client, app, filter_ledger, {"after": token}) == {
            "fridge_may",
            "food_jun",
            "coat_jul",
            "gas_aug",
        }


def _next_url(html: str) -> str | None:
    match = re.search(r'href="([^"]+)" rel="next"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def test_keyset_pages_continue_exactly_where_the_last_stopped(
    app, client, manager, create_grant, create_disbursement
):
    grant_id = create_grant("10000.00")
    ids = []
    # 61 food awards on 31 dates (several share a date, so the id breaks ties) and 5
    # fridges that the category filter leaves out.
    for n in range(61):
        ids.append(
            create_disbursement(
                grant_id, "1.00", awarded_on=date(2024, 5, 1) + timedelta(days=n // 2)
            )
        )
    fridges = [
        create_disbursement(
            grant_id, "2.00", item="Fridge", awarded_on=date(2024, 5, 10)
        )
        for _ in range(5)
    ]
    urls = _award_urls(app, ids + fridges)
    food = _category_id(app, "Food")
    first = client.get(f"/grants/{grant_id}", query_string={"category": food})
    html = _page(first)
    page_one = _shown(html, urls)
    assert len(page_one) == 50
    assert not page_one & set(fridges)
    next_url = _next_url(html)
    assert next_url and f"category={food}" in next_url and "after=" in next_url
    second = client.get(next_url)
    assert second.status_code == 200
    html2 = _page(second)
    page_two = _shown(html2, urls)
    assert len(page_two) == 11
    assert not page_one & page_two  # no duplicates
    assert page_one | page_two == set(ids)  # no gaps
    # newest first: the second page is older than everything on the first
    with app.app_context():
        rows = {
            d.id: (d.awarded_on, d.id)
            for d in db.session.scalars(
                select(Disbursement).where(Disbursement.id.in_(ids))
            )
        }
    assert max(rows[i] for i in page_two) < min(rows[i] for i in page_one)
    assert _next_url(html2) is None
    assert "Back to the newest awards" in html2


# --- editing a grant -----------------------------------------------------------------


def _edit_form(**overrides) -> dict:
    form = {
        "title": "Renamed grant",
        "team": "",
        "starts_on": ["1", "4", "2024"],
        "ends_on": ["30", "4", "2025"],
        "control": "warn",
        "status": "closed",
        "notes": "Extended by a month",
    }
    form.update(overrides)
    return form


def test_the_edit_form_is_filled_in(client, manager, create_grant):
    grant_id = create_grant(title="Activity programme")
    html = _page(client.get(f"/grants/{grant_id}/edit"))
    assert 'value="Activity programme"' in html
    assert (
        'id="starts_on-day" name="starts_on" type="text" value="01"' in html
        or 'value="01"' in html
    )
    assert re.search(r'value="block"\s+checked', html)
    assert re.search(r'value="open"\s+checked', html)


def test_a_manager_edits_a_grant(app, client, manager, create_grant):
    grant_id = create_grant()
    response = client.post(f"/grants/{grant_id}/edit", data=_edit_form())
    assert response.status_code == 302
    assert response.headers["Location"] == f"/grants/{grant_id}"
    grant = _grant(app, grant_id)
    assert (grant.title, grant.ends_on, grant.control, grant.status, grant.notes) == (
        "Renamed grant",
        date(2025, 4, 30),
        BudgetControl.WARN,
        GrantStatus.CLOSED,
        "Extended by a month",
    )
    assert grant.total == D("1000.00")  # untouched
    assert "grant.update" in audit_actions(app)


def test_a_period_that_leaves_awards_outside_is_refused(
    app, client, manager, create_grant, create_disbursement
):
    grant_id = create_grant()
    create_disbursement(grant_id, awarded_on=date(2024, 6, 3))
    response = client.post(
        f"/grants/{grant_id}/edit", data=_edit_form(starts_on=["4", "6", "2024"])
    )
    assert response.status_code == 422
    assert _error_for(
        _page(response), "Awards are recorded from 3 June 2024 to 3 June 2024"
    )
    grant = _grant(app, grant_id)
    assert (grant.starts_on, grant.title, grant.status) == (
        date(2024, 4, 1),
        "Test grant",
        GrantStatus.OPEN,
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"ends_on": ["31", "3", "2024"]},
            "The end date must be on or after the start date",
        ),
        ({"status": "archived"}, "Choose whether the grant is open or closed"),
        ({"title": ""}, "Enter a title for the grant"),
    ],
)
def test_a_bad_edit_is_refused(app, client, manager, create_grant, overrides, message):
    grant_id = create_grant()
    response = client.post(f"/grants/{grant_id}/edit", data=_edit_form(**overrides))
    assert response.status_code == 422
    assert message in _page(response)
    assert _grant(app, grant_id).title == "Test grant"


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE])
def test_only_managers_edit_grants(app, client, create_user, login, create_grant, role):
    grant_id = create_grant()
    login(create_user(role))
    assert client.post(f"/grants/{grant_id}/edit", data=_edit_form()).status_code == 403
    assert _grant(app, grant_id).title == "Test grant"


# --- changing the total --------------------------------------------------------------


def test_the_total_page_shows_the_current_total_and_spend(
    client, manager, create_grant, create_disbursement
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "450.01")
    html = re.sub(r"\s+", " ", _page(client.get(f"/grants/{grant_id}/total")))
    assert re.search(r"Current total </dt> <dd[^>]*> £1,000.00", html)
    assert re.search(r"Spent so far </dt> <dd[^>]*> £450.01", html)


def test_a_manager_changes_the_total(app, client, manager, create_grant):
    grant_id = create_grant("500.00")
    response = client.post(
        f"/grants/{grant_id}/total", data={"new_total": "650.50", "reason": "Top-up"}
    )
    assert response.status_code == 302
    assert _grant(app, grant_id).total == D("650.50")
    with app.app_context():
        change = db.session.scalars(select(GrantTotalChange)).one()
        assert (
            change.old_total,
            change.new_total,
            change.reason,
            change.changed_by_id,
        ) == (
            D("500.00"),
            D("650.50"),
            "Top-up",
            manager,
        )
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "grant.change_total")
        ).one()
        assert (event.before, event.after) == (
            {"total": "500.00"},
            {"total": "650.50", "reason": "Top-up"},
        )


def test_the_total_cannot_go_below_what_is_spent(
    app, client, manager, create_grant, create_disbursement
):
    # Security bar §9 row 25: G1 £500 with £450.01 spent; £400 is refused.
    grant_id = create_grant("500.00")
    create_disbursement(grant_id, "450.01")
    response = client.post(
        f"/grants/{grant_id}/total", data={"new_total": "400.00", "reason": "Cut"}
    )
    assert response.status_code == 422
    assert _error_for(
        _page(response), "The total cannot be less than is already spent (£450.01)"
    )
    assert _grant(app, grant_id).total == D("500.00")
    assert count(app, GrantTotalChange) == 0
    assert "grant.change_total" not in audit_actions(app)


@pytest.mark.parametrize(
    ("new_total", "reason"),
    [(t, "A reason") for t in REFUSED_TOTALS] + [("600", ""), ("600", "   ")],
)
def test_a_bad_new_total_is_refused(
    app, client, manager, create_grant, new_total, reason
):
    grant_id = create_grant("500.00")
    response = client.post(
        f"/grants/{grant_id}/total", data={"new_total": new_total, "reason": reason}
    )
    assert response.status_code == 422
    assert "There is a problem" in _page(response)
    assert _grant(app, grant_id).total == D("500.00")
    assert count(app, GrantTotalChange) == 0


def test_changing_the_total_needs_a_recent_sign_in(app, client, manager, create_grant):
    grant_id = create_grant("500.00")
    with time_machine.travel(timedelta(minutes=20)):
        page = client.get(f"/grants/{grant_id}/total")
        assert page.status_code == 302
        assert page.headers["Location"].startswith(
            f"/account/confirm?next=/grants/{grant_id}/total"
        )
        response = client.post(
            f"/grants/{grant_id}/total", data={"new_total": "900", "reason": "Top-up"}
        )
        assert response.status_code == 302
        assert response.headers["Location"].startswith(
            f"/account/confirm?next=/grants/{grant_id}/total"
        )
        assert _grant(app, grant_id).total == D("500.00")
        confirmed = client.post(
            f"/account/confirm?next=/grants/{grant_id}/total",
            data={"password": PASSWORD},
        )
        assert confirmed.headers["Location"] == f"/grants/{grant_id}/total"
        assert (
            client.post(
                f"/grants/{grant_id}/total",
                data={"new_total": "900", "reason": "Top-up"},
            ).status_code
            == 302
        )
    assert _grant(app, grant_id).total == D("900.00")


# --- budget lines --------------------------------------------------------------------


def test_a_manager_adds_and_changes_a_budget_line(app, client, manager, create_grant):
    grant_id = create_grant("1000.00")
    food = _category_id(app, "Food")
    response = client.post(
        f"/grants/{grant_id}/budget-lines",
        data={"category": food, "amount": "250", "control": "block"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/grants/{grant_id}#budget-lines"
    # the change link fills the form in with the line
    html = _page(client.get(f"/grants/{grant_id}/budget-lines?category={food}"))
    assert 'value="250.00"' in html
    response = client.post(
        f"/grants/{grant_id}/budget-lines",
        data={"category": food, "amount": "0", "control": "warn"},
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(select(BudgetLine)).one()
        assert (line.category_id, line.amount, line.control) == (
            food,
            D("0.00"),
            BudgetControl.WARN,
        )
    assert audit_actions(app).count("budget_line.set") == 2


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (
            "700.01",
            "Budget lines cannot add up to more than the grant&#39;s total: £700.00 is unallocated",
        ),
        ("49.99", "£50.00 is already spent on Food: the line cannot be less"),
        ("-1", "Enter an amount without a minus sign"),
        ("1e3", "Enter an amount in pounds and pence using the digits 0 to 9"),
        ("", "Enter the amount set aside"),
    ],
)
def test_a_bad_budget_line_is_refused(
    app, client, manager, create_grant, create_disbursement, amount, message
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "50.00")
    white_goods, food = _category_id(app, "White goods"), _category_id(app, "Food")
    assert (
        client.post(
            f"/grants/{grant_id}/budget-lines",
            data={"category": white_goods, "amount": "300", "control": "block"},
        ).status_code
        == 302
    )
    response = client.post(
        f"/grants/{grant_id}/budget-lines",
        data={"category": food, "amount": amount, "control": "block"},
    )
    assert response.status_code == 422
    assert _error_for(_page(response), message), _page(response)[-3000:]
    assert count(app, BudgetLine) == 1


@pytest.mark.parametrize("category", ["", "abc", "99999"])
def test_a_budget_line_needs_a_real_category(
    app, client, manager, create_grant, category
):
    grant_id = create_grant()
    response = client.post(
        f"/grants/{grant_id}/budget-lines",
        data={"category": category, "amount": "1", "control": "block"},
    )
    assert response.status_code == 422
    assert count(app, BudgetLine) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/grants/new",
        "/grants/{id}/edit",
        "/grants/{id}/total",
        "/grants/{id}/budget-lines",
    ],
)
def test_staff_cannot_reach_the_manager_pages(
    app, client, create_user, login, create_grant, url
):
    grant_id = create_grant()
    login(create_user(Role.STAFF))
    assert client.get(url.format(id=grant_id)).status_code == 403


def test_a_grants_summary_shows_what_was_typed_as_text(
    app, client, manager, create_grant, create_funder
):
    """Notes, the funder's name and the accounts code are text on the page, never markup."""
    grant_id = create_grant(funder_id=create_funder("<b>Board</b> *?~ \ufffe"))
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        grant.notes = '<script>alert("x")</script> =SUM(A1)'
        grant.accounts_code = "<i>4010</i>"
        db.session.commit()
    flat = re.sub(r"\s+", " ", _page(client.get(f"/grants/{grant_id}")))
    assert re.search(
        r"Notes </dt> <dd[^>]*> &lt;script&gt;alert\(&#34;x&#34;\)&lt;/script&gt; =SUM\(A1\) </dd>",
        flat,
    )
    assert re.search(
        r"Funder </dt> <dd[^>]*> &lt;b&gt;Board&lt;/b&gt; \*\?~ \ufffe </dd>", flat
    )
    assert re.search(
        r"Accounts code </dt> <dd[^>]*> &lt;i&gt;4010&lt;/i&gt; </dd>", flat
    )
    assert "<script>alert" not in flat and "<b>Board" not in flat
