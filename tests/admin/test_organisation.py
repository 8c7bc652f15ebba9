"""The organisation's details: one page, audited, used in the header, on every return's
cover and as the returns contact."""

from __future__ import annotations

import pytest

from funds.extensions import db
from funds.models import AuditEvent, OrganisationSettings, Role
from tests.conftest import count

DETAILS = {
    "name": "Riverside Youth Trust",
    "address": "12 Quay Street\r\nSouthampton\r\nSO14 2AB",
    "charity_number": "1123456",
    "contact_name": "Priya Shah",
    "contact_email": "priya@riverside.example",
    "contact_phone": "023 8000 1234",
}


@pytest.fixture
def manager(client, login, create_user):
    user = create_user(Role.MANAGER, name="Maria Manager")
    login(user)
    return user


def test_a_manager_records_the_details_and_the_header_shows_them(app, client, manager):
    page = client.get("/admin/organisation").get_data(as_text=True)
    # Until the page is filled in, the configured name (the tests' "Riverside Youth
    # Project") is shown.
    assert "have not been filled in yet" in page and "Riverside Youth Project" in page
    response = client.post("/admin/organisation", data=DETAILS)
    assert response.status_code == 302
    with app.app_context():
        row = db.session.get(OrganisationSettings, 1)
        assert row.name == "Riverside Youth Trust"
        assert row.address == "12 Quay Street\nSouthampton\nSO14 2AB"
        assert row.charity_number == "1123456" and row.updated_by_id == manager
        event = (
            db.session.query(AuditEvent).filter_by(action="organisation.update").one()
        )
        assert event.after["name"] == "Riverside Youth Trust"
        assert event.before is None  # nothing was recorded before
    home = client.get("/").get_data(as_text=True)
    assert "Riverside Youth Trust" in home and "Riverside Youth Project" not in home
    # Changing one field audits that field only.
    client.post("/admin/organisation", data={**DETAILS, "charity_number": "SC012345"})
    with app.app_context():
        last = (
            db.session.query(AuditEvent)
            .filter_by(action="organisation.update")
            .order_by(AuditEvent.id.desc())
            .first()
        )
        assert last.before == {"charity_number": "1123456"}
        assert last.after == {"charity_number": "SC012345"}
    assert count(app, OrganisationSettings) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Enter the organisation’s name"),
        ("name", "Riverside\ufffe", "character"),
        ("charity_number", "12345X", "registered charity number like"),
        ("charity_number", "１１２３４５６", "registered charity number like"),
        ("contact_email", "priya@", "email address in the correct format"),
        ("contact_phone", "call me", "phone number like"),
        ("address", "x" * 401, "400 characters or fewer"),
    ],
)
def test_bad_details_are_refused_on_the_field(
    app, client, manager, field, value, message
):
    response = client.post("/admin/organisation", data={**DETAILS, field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, OrganisationSettings) == 0


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE])
def test_only_managers_and_admins_change_the_details(
    app, client, login, create_user, role
):
    login(create_user(role))
    assert client.get("/admin/organisation").status_code == 403
    assert client.post("/admin/organisation", data=DETAILS).status_code == 403
    assert count(app, OrganisationSettings) == 0
