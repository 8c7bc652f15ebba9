"""What the accounts and the dashboard know grants and spend categories by: a grant's
accounts code, next return date and forecast tolerance; a category's nominal code and
tax rate. Set and changed through the pages, checked strictly, audited."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, Grant, Role, SpendCategory
from tests.conftest import audit_actions


@pytest.fixture
def manager(client, login, create_user):
    login(create_user(Role.MANAGER))


def _error_for(html: str, message: str) -> bool:
    return bool(
        re.search(
            r'class="govuk-error-message">\s*<span class="govuk-visually-hidden">'
            r"Error:</span>\s*" + re.escape(message),
            html,
        )
    )


def _grant(app, grant_id: int) -> Grant:
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        db.session.expunge(grant)
        return grant


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.id)
            )
        )
        for event in events:
            db.session.expunge(event)
        return events


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
        "notes": "",
        "max_award": "10000",
    }
    form.update(overrides)
    return form


def _edit_form(**overrides) -> dict:
    form = {
        "title": "Test grant",
        "team": "",
        "starts_on": ["1", "4", "2024"],
        "ends_on": ["31", "3", "2025"],
        "control": "block",
        "status": "open",
        "notes": "",
        "max_award": "10000",
        "accounts_code": "",
        "return_due_on": ["", "", ""],
        "forecast_tolerance": "10",
    }
    form.update(overrides)
    return form


# --- grants ---------------------------------------------------------------------------


def test_a_new_grant_takes_its_accounts_fields(app, client, manager, create_funder):
    funder_id = create_funder()
    page = client.get("/grants/new").get_data(as_text=True)
    assert 'name="accounts_code"' in page and 'name="forecast_tolerance"' in page
    assert 'value="10"' in page  # the usual tolerance, offered
    response = client.post(
        "/grants/new",
        data=_new_grant_form(
            funder_id,
            accounts_code="HSF 4 / Families",
            return_due_on=["30", "4", "2025"],
            forecast_tolerance="15",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        grant = db.session.scalars(select(Grant)).one()
        assert grant.accounts_code == "HSF 4 / Families"
        assert grant.return_due_on == date(2025, 4, 30)
        assert grant.forecast_tolerance == 15
        grant_id = grant.id
    created = _events(app, "grant.create")[-1]
    assert created.after["accounts_code"] == "HSF 4 / Families"
    assert created.after["return_due_on"] == "2025-04-30"
    assert created.after["forecast_tolerance"] == 15
    detail = client.get(f"/grants/{grant_id}").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", detail))
    assert "Accounts code HSF 4 / Families" in text
    assert "Next return due 30 Apr 2025" in text
    assert "Forecast tolerance 15% of the total" in text


def test_a_new_grant_without_them_gets_the_defaults(
    app, client, manager, create_funder
):
    funder_id = create_funder()
    data = _new_grant_form(funder_id)
    response = client.post("/grants/new", data=data)
    assert response.status_code == 302
    with app.app_context():
        grant = db.session.scalars(select(Grant)).one()
        assert (grant.accounts_code, grant.return_due_on, grant.forecast_tolerance) == (
            None,
            None,
            10,
        )


def test_a_manager_changes_them_and_the_change_is_audited(
    app, client, manager, create_grant
):
    grant_id = create_grant()
    form = client.get(f"/grants/{grant_id}/edit").get_data(as_text=True)
    assert 'name="accounts_code"' in form
    response = client.post(
        f"/grants/{grant_id}/edit",
        data=_edit_form(
            accounts_code="4000-HSF",
            return_due_on=["31", "10", "2024"],
            forecast_tolerance="0",
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    grant = _grant(app, grant_id)
    assert (grant.accounts_code, grant.return_due_on, grant.forecast_tolerance) == (
        "4000-HSF",
        date(2024, 10, 31),
        0,
    )
    event = _events(app, "grant.update")[-1]
    assert event.before == {
        "accounts_code": None,
        "return_due_on": None,
        "forecast_tolerance": 10,
    }
    assert event.after == {
        "accounts_code": "4000-HSF",
        "return_due_on": "2024-10-31",
        "forecast_tolerance": 0,
    }
    # Changed again, then cleared.
    response = client.post(
        f"/grants/{grant_id}/edit",
        data=_edit_form(accounts_code="", forecast_tolerance="100"),
    )
    assert response.status_code == 302
    grant = _grant(app, grant_id)
    assert (grant.accounts_code, grant.return_due_on, grant.forecast_tolerance) == (
        None,
        None,
        100,
    )
    event = _events(app, "grant.update")[-1]
    assert event.before["accounts_code"] == "4000-HSF"
    assert event.after["accounts_code"] is None
    trail_client = app.test_client()
    from tests.conftest import PASSWORD

    with app.app_context():
        from funds.admin.services import create_user

        create_user(
            actor=None,
            email="trail-admin@example.org",
            name="Trail Admin",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        db.session.commit()
    trail_client.post(
        "/login", data={"email": "trail-admin@example.org", "password": PASSWORD}
    )
    trail = trail_client.get("/admin/audit?what=grants").get_data(as_text=True)
    assert "accounts code from 4000-HSF to none" in trail
    assert "forecast tolerance (percent) from 10 to 0" in trail


BAD_CODES = [
    ("=1+1", "The accounts code cannot start with =, +, - or @"),
    ("+44", "The accounts code cannot start with =, +, - or @"),
    ("-5", "The accounts code cannot start with =, +, - or @"),
    ("@SUM(1)", "The accounts code cannot start with =, +, - or @"),
    ("HSF\x00", "Remove the hidden control characters from this text"),
    ("HSF\u202e4", "Remove the hidden text-direction characters from this text"),
    ("HSF\ufffe", "Remove the hidden special characters from this text"),
    ("HSF\u200b4", "Remove the hidden or special spaces and characters from this text"),
    ("HSF\n4", "Enter this on a single line"),
    ("x" * 61, "The accounts code must be 60 characters or fewer"),
]


@pytest.mark.parametrize("code, message", BAD_CODES, ids=range(len(BAD_CODES)))
def test_a_bad_accounts_code_is_refused(
    app, client, manager, create_grant, code, message
):
    grant_id = create_grant()
    before = audit_actions(app)
    response = client.post(
        f"/grants/{grant_id}/edit", data=_edit_form(accounts_code=code, title="New")
    )
    assert response.status_code == 422
    assert _error_for(response.get_data(as_text=True), message)
    grant = _grant(app, grant_id)
    assert grant.accounts_code is None and grant.title == "Test grant"
    assert audit_actions(app) == before


@pytest.mark.parametrize(
    "tolerance", ["101", "-1", "10.5", "ten", "１０", "1_0", "1e1", "99999999"]
)
def test_a_bad_tolerance_is_refused(app, client, manager, create_funder, tolerance):
    funder_id = create_funder()
    response = client.post(
        "/grants/new",
        data=_new_grant_form(funder_id, forecast_tolerance=tolerance),
    )
    assert response.status_code == 422
    assert _error_for(
        response.get_data(as_text=True),
        "Enter the forecast tolerance as a whole number from 0 to 100",
    )
    with app.app_context():
        assert db.session.scalars(select(Grant)).first() is None


@pytest.mark.parametrize(
    "day",
    [["31", "2", "2025"], ["1", "13", "2025"], ["x", "4", "2025"], ["1", "4", ""]],
)
def test_a_bad_return_date_is_refused(app, client, manager, create_grant, day):
    grant_id = create_grant()
    response = client.post(
        f"/grants/{grant_id}/edit",
        data=_edit_form(return_due_on=day, accounts_code="KEPT-OUT"),
    )
    assert response.status_code == 422
    assert "govuk-error-message" in response.get_data(as_text=True)
    grant = _grant(app, grant_id)
    assert grant.return_due_on is None and grant.accounts_code is None


def test_the_service_refuses_a_tolerance_out_of_range(app, create_grant, create_user):
    from funds.errors import ValidationError
    from funds.grants.services import update_grant
    from funds.models import BudgetControl, GrantStatus, User

    grant_id = create_grant()
    manager_id = create_user(Role.MANAGER)
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        with pytest.raises(ValidationError) as refused:
            update_grant(
                grant,
                actor=db.session.get(User, manager_id),
                title=grant.title,
                team_id=None,
                starts_on=grant.starts_on,
                ends_on=grant.ends_on,
                control=BudgetControl.BLOCK,
                status=GrantStatus.OPEN,
                notes=None,
                forecast_tolerance=101,
            )
        assert refused.value.field == "forecast_tolerance"


def test_staff_cannot_set_them(app, client, login, create_user, create_grant):
    grant_id = create_grant()
    login(create_user(Role.STAFF))
    response = client.post(
        f"/grants/{grant_id}/edit", data=_edit_form(accounts_code="STAFF")
    )
    assert response.status_code == 403
    assert _grant(app, grant_id).accounts_code is None


# --- spend categories -----------------------------------------------------------------


def _category(app, name: str = "White goods") -> tuple[int, SpendCategory]:
    from funds.taxonomy.defaults import ensure_default_taxonomy

    with app.app_context():
        ensure_default_taxonomy()
        db.session.commit()
        category = db.session.scalars(
            select(SpendCategory).where(SpendCategory.name == name)
        ).one()
        db.session.expunge(category)
        return category.id, category


def test_a_manager_sets_and_changes_a_categorys_codes(app, client, manager):
    category_id, _ = _category(app)
    items = client.get("/items").get_data(as_text=True)
    assert f"/items/categories/{category_id}" in items
    form = client.get(f"/items/categories/{category_id}")
    assert form.status_code == 200
    response = client.post(
        f"/items/categories/{category_id}",
        data={"nominal_code": "5010", "tax_rate": "20% (VAT on Expenses)"},
    )
    assert response.status_code == 302
    _, category = _category(app)
    assert (category.nominal_code, category.tax_rate) == (
        "5010",
        "20% (VAT on Expenses)",
    )
    event = _events(app, "spend_category.update")[-1]
    assert event.object_type == "spend_categories" and event.object_id == category_id
    assert event.before == {"nominal_code": None, "tax_rate": None}
    assert event.after == {"nominal_code": "5010", "tax_rate": "20% (VAT on Expenses)"}
    page = client.get("/items").get_data(as_text=True)
    assert "Nominal code: 5010" in page and "20% (VAT on Expenses)" in page

    response = client.post(
        f"/items/categories/{category_id}",
        data={"nominal_code": "5010", "tax_rate": "No VAT"},
    )
    assert response.status_code == 302
    _, category = _category(app)
    assert category.tax_rate == "No VAT"
    event = _events(app, "spend_category.update")[-1]
    assert event.before == {"tax_rate": "20% (VAT on Expenses)"}
    assert event.after == {"tax_rate": "No VAT"}
    # Saving the same values again changes nothing and records nothing.
    count = len(_events(app, "spend_category.update"))
    client.post(
        f"/items/categories/{category_id}",
        data={"nominal_code": "5010", "tax_rate": "No VAT"},
    )
    assert len(_events(app, "spend_category.update")) == count


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("nominal_code", "=5000", "The nominal code cannot start with =, +, - or @"),
        ("nominal_code", "1" * 21, "The nominal code must be 20 characters or fewer"),
        ("nominal_code", "50\t00", "Enter this on a single line"),
        ("tax_rate", "@20%", "The tax rate cannot start with =, +, - or @"),
        ("tax_rate", "-20%", "The tax rate cannot start with =, +, - or @"),
        (
            "tax_rate",
            "No\x07VAT",
            "Remove the hidden control characters from this text",
        ),
        ("tax_rate", "x" * 61, "The tax rate must be 60 characters or fewer"),
    ],
)
def test_bad_category_codes_are_refused(app, client, manager, field, value, message):
    category_id, _ = _category(app)
    data = {"nominal_code": "5000", "tax_rate": "No VAT", field: value}
    before = audit_actions(app)
    response = client.post(f"/items/categories/{category_id}", data=data)
    assert response.status_code == 422
    assert _error_for(response.get_data(as_text=True), message)
    _, category = _category(app)
    assert (category.nominal_code, category.tax_rate) == (None, None)
    assert audit_actions(app) == before


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE])
def test_staff_and_finance_cannot_change_category_codes(
    app, client, login, create_user, role
):
    category_id, _ = _category(app)
    login(create_user(role))
    response = client.post(
        f"/items/categories/{category_id}", data={"nominal_code": "9999"}
    )
    assert response.status_code == 403
    assert client.get(f"/items/categories/{category_id}").status_code == 403
    _, category = _category(app)
    assert category.nominal_code is None


def test_an_unknown_category_is_not_found(client, manager):
    assert client.get("/items/categories/99999").status_code == 404
