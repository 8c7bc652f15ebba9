"""User administration: add, change role, disable, enable, reset password; all audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, Role, User
from tests.conftest import PASSWORD, audit_actions, count


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_users_page_lists_everyone(client, signed_in_admin, create_user):
    create_user(Role.FINANCE, name="Fiona Finance")
    body = client.get("/admin/users").get_data(as_text=True)
    assert "Fiona Finance" in body and "Ada Admin" in body and "2 users" in body


def test_add_a_user_shows_a_temporary_password_once(app, client, signed_in_admin):
    response = client.post(
        "/admin/users/new",
        data={"name": "Sam Staff", "email": "Sam@Example.org", "role": "staff"},
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "User added" in body
    temporary = body.split('id="temporary-password">')[1].split("<")[0]
    with app.app_context():
        user = db.session.scalars(
            select(User).where(User.email == "sam@example.org")
        ).one()
        assert user.role == Role.STAFF and user.must_change_password
        assert temporary not in user.password_hash
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.create")
        ).all()[-1]
        assert event.actor_id == signed_in_admin and event.after["role"] == "staff"
        assert temporary not in str(event.after)
    # The new user signs in with it and must choose a password before anything else.
    newcomer = app.test_client()
    assert (
        newcomer.post(
            "/login", data={"email": "sam@example.org", "password": temporary}
        ).status_code
        == 302
    )
    response = newcomer.get("/")
    assert (
        response.status_code == 302
        and response.headers["Location"] == "/account/password"
    )
    response = newcomer.post(
        "/account/password",
        data={
            "current_password": temporary,
            "new_password": "sam-picks-a-good-one",
            "confirm_password": "sam-picks-a-good-one",
        },
    )
    assert response.status_code == 302
    assert newcomer.get("/").status_code == 200
    assert not _user(app, user.id).must_change_password


@pytest.mark.parametrize(
    "data,message",
    [
        (
            {"name": "", "email": "x@example.org", "role": "staff"},
            "Enter the person&#39;s name",
        ),
        ({"name": "X", "email": "not-an-email", "role": "staff"}, "correct format"),
        (
            {"name": "X", "email": "x@example.org", "role": "superuser"},
            "Not a valid choice",
        ),
        ({"name": "X", "email": "x@example.org"}, "Choose a role"),
        (
            {"name": "Ann\x00e", "email": "x@example.org", "role": "staff"},
            "control characters",
        ),
        (
            {"name": "Ali\u202eecnarF", "email": "x@example.org", "role": "staff"},
            "text-direction",
        ),
        (
            {"name": "X", "email": "admin@example.org", "role": "staff"},
            "already exists",
        ),
        (
            {"name": "X" * 121, "email": "x@example.org", "role": "staff"},
            "120 characters",
        ),
    ],
)
def test_bad_new_user_input_is_refused_on_the_field(
    app, client, signed_in_admin, data, message
):
    before = count(app, User)
    response = client.post("/admin/users/new", data=data)
    assert (
        response.status_code == 422
        or response.status_code == 409
        or response.status_code == 200
    )
    assert response.status_code != 200
    assert message in response.get_data(as_text=True)
    assert count(app, User) == before


def test_extra_fields_are_ignored(app, client, signed_in_admin):
    client.post(
        "/admin/users/new",
        data={
            "name": "Eve",
            "email": "eve@example.org",
            "role": "staff",
            "disabled": "1",
            "must_change_password": "0",
            "password_hash": "x",
            "id": "999",
        },
    )
    with app.app_context():
        eve = db.session.scalars(
            select(User).where(User.email == "eve@example.org")
        ).one()
        assert eve.id != 999 and not eve.disabled and eve.must_change_password


def test_change_role_takes_effect_at_once(
    app, client, login, signed_in_admin, create_user
):
    staff_id = create_user(Role.STAFF)
    staff = app.test_client()
    login(staff_id, the_client=staff)
    assert staff.get("/admin/users").status_code == 403
    response = client.post(f"/admin/users/{staff_id}/role", data={"role": "manager"})
    assert response.status_code == 302
    assert _user(app, staff_id).role == Role.MANAGER
    assert staff.get("/").status_code == 302  # their session ended with the change
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.change_role")
        ).one()
        assert event.before == {"role": "staff"} and event.after == {"role": "manager"}


def test_disable_and_enable(app, client, login, signed_in_admin, create_user):
    staff_id = create_user(Role.STAFF)
    staff = app.test_client()
    login(staff_id, the_client=staff)
    assert client.post(f"/admin/users/{staff_id}/disable").status_code == 302
    assert _user(app, staff_id).disabled
    assert staff.get("/").status_code == 302
    email = _user(app, staff_id).email
    assert (
        staff.post("/login", data={"email": email, "password": PASSWORD}).status_code
        == 401
    )
    assert client.post(f"/admin/users/{staff_id}/enable").status_code == 302
    assert not _user(app, staff_id).disabled
    assert (
        staff.post("/login", data={"email": email, "password": PASSWORD}).status_code
        == 302
    )
    assert {"user.disable", "user.enable"} <= set(audit_actions(app))


def test_reset_password_ends_sessions_and_forces_a_change(
    app, client, login, signed_in_admin, create_user
):
    staff_id = create_user(Role.STAFF)
    staff = app.test_client()
    login(staff_id, the_client=staff)
    response = client.post(f"/admin/users/{staff_id}/reset-password")
    assert response.status_code == 200
    temporary = (
        response.get_data(as_text=True)
        .split('id="temporary-password">')[1]
        .split("<")[0]
    )
    assert staff.get("/").status_code == 302
    email = _user(app, staff_id).email
    assert (
        staff.post("/login", data={"email": email, "password": PASSWORD}).status_code
        == 401
    )
    assert (
        staff.post("/login", data={"email": email, "password": temporary}).status_code
        == 302
    )
    assert staff.get("/").headers["Location"] == "/account/password"


def test_an_admin_cannot_disable_or_demote_themselves(app, client, signed_in_admin):
    response = client.post(f"/admin/users/{signed_in_admin}/disable")
    assert response.status_code == 409
    assert "cannot disable your own account" in response.get_data(as_text=True)
    response = client.post(
        f"/admin/users/{signed_in_admin}/role", data={"role": "staff"}
    )
    assert response.status_code == 409
    user = _user(app, signed_in_admin)
    assert not user.disabled and user.role == Role.ADMIN


def test_user_admin_needs_a_recent_sign_in(app, client, signed_in_admin, create_user):
    staff_id = create_user(Role.STAFF)
    with time_machine.travel(timedelta(minutes=20)):
        response = client.post(f"/admin/users/{staff_id}/disable")
        assert response.status_code == 302
        assert response.headers["Location"].startswith(
            "/account/confirm?next=/admin/users/"
        )
        assert not _user(app, staff_id).disabled
        wrong = client.post("/account/confirm", data={"password": "not-my-password"})
        assert wrong.status_code == 422 and "not correct" in wrong.get_data(
            as_text=True
        )
        ok = client.post(
            f"/account/confirm?next=/admin/users/{staff_id}",
            data={"password": PASSWORD},
        )
        assert ok.headers["Location"] == f"/admin/users/{staff_id}"
        assert client.post(f"/admin/users/{staff_id}/disable").status_code == 302
    assert _user(app, staff_id).disabled


def test_unknown_user_is_404(client, signed_in_admin):
    assert client.get("/admin/users/99999").status_code == 404
    assert client.get("/admin/users/abc").status_code == 404
    assert client.get("/admin/users/99999999999999999999").status_code == 404


def test_audit_trail_page(client, signed_in_admin, create_user):
    create_user(Role.FINANCE)
    body = client.get("/admin/audit").get_data(as_text=True)
    assert "signed in" in body and "was added as finance" in body
