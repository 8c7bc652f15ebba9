"""The first-run set-up page exists only while there are no users."""

from __future__ import annotations

from sqlalchemy import select

from funds.extensions import db
from funds.models import Role, User
from tests.conftest import audit_actions, count

GOOD = {
    "name": "Ada Admin",
    "email": "ada@example.org",
    "new_password": "first-admin-passphrase",
    "confirm_password": "first-admin-passphrase",
}


def test_setup_creates_the_first_admin_and_signs_them_in(app, client):
    assert client.get("/setup").status_code == 200
    response = client.post("/setup", data=GOOD)
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert user.role == Role.ADMIN and user.email == "ada@example.org"
        assert not user.must_change_password
    assert client.get("/admin/users").status_code == 200
    assert "user.create" in audit_actions(app)
    # Once a user exists the page is gone, for everyone.
    assert client.get("/setup").status_code == 404
    assert (
        app.test_client()
        .post("/setup", data={**GOOD, "email": "second@example.org"})
        .status_code
        == 404
    )
    assert count(app, User) == 1


def test_setup_refuses_a_weak_password(app, client):
    response = client.post(
        "/setup",
        data={
            **GOOD,
            "new_password": "password1234",
            "confirm_password": "password1234",
        },
    )
    assert response.status_code == 422
    assert "too common" in response.get_data(as_text=True)
    assert count(app, User) == 0
