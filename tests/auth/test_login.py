"""Signing in and out: one message for every failure, throttling, revocable sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, LoginFailure, Role, User
from tests.conftest import PASSWORD, audit_actions, count

BAD = "Enter a correct email address and password"


def test_first_visit_with_no_users_goes_to_setup(client):
    response = client.get("/login")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/setup")


def test_login_page_renders(client, admin_id):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Sign in to funds" in response.get_data(as_text=True)


def test_successful_login_reaches_home_and_is_audited(app, client, admin_id):
    response = client.post(
        "/login", data={"email": " ADMIN@example.org ", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "Hello, Ada Admin" in home.get_data(as_text=True)
    assert "auth.login" in audit_actions(app)
    with app.app_context():
        assert db.session.get(User, admin_id).last_login_at is not None


@pytest.mark.parametrize(
    "email,password",
    [("admin@example.org", "wrong-password-123"), ("nobody@example.org", PASSWORD)],
    ids=["wrong password", "unknown email"],
)
def test_same_refusal_for_unknown_email_and_wrong_password(
    app, client, admin_id, email, password
):
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert BAD in body
    assert password not in body
    assert client.get("/").status_code == 302  # still signed out
    assert count(app, LoginFailure) == 1
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
        ).one()
        assert password not in str(event.after) and password not in str(event.before)


def test_disabled_user_cannot_sign_in(app, client, create_user):
    user_id = create_user(Role.STAFF, disabled=True)
    with app.app_context():
        email = db.session.get(User, user_id).email
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 401
    assert BAD in response.get_data(as_text=True)


def test_empty_fields_get_field_errors(client, admin_id):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Enter your email address" in body and "Enter your password" in body
    assert "Error:" in body  # the page title says there is an error


def test_a_million_character_password_is_refused_without_hashing(client, admin_id):
    response = client.post(
        "/login", data={"email": "admin@example.org", "password": "x" * 1_000_000}
    )
    assert response.status_code == 401


def test_throttled_after_five_failures_even_with_the_right_password(
    app, client, admin_id
):
    for _ in range(5):
        assert (
            client.post(
                "/login",
                data={"email": "admin@example.org", "password": "nope-nope-nope"},
            ).status_code
            == 401
        )
    response = client.post(
        "/login", data={"email": "admin@example.org", "password": PASSWORD}
    )
    assert response.status_code == 401
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Throttling an unknown email looks the same, so it reveals nothing.
    for _ in range(5):
        client.post(
            "/login", data={"email": "ghost@example.org", "password": "nope-nope-nope"}
        )
    ghost = client.post(
        "/login", data={"email": "ghost@example.org", "password": "nope-nope-nope"}
    )
    assert "Too many failed attempts" in ghost.get_data(as_text=True)
    assert "auth.login_throttled" in audit_actions(app)
    # After the window the right password works again: no permanent lock-out.
    with time_machine.travel(timedelta(minutes=16), tick=False):
        response = client.post(
            "/login", data={"email": "admin@example.org", "password": PASSWORD}
        )
    assert response.status_code == 302


def test_next_only_goes_to_local_paths(client, admin_id):
    for target in [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
    ]:
        response = client.post(
            f"/login?next={target}",
            data={"email": "admin@example.org", "password": PASSWORD},
        )
        assert response.headers["Location"] == "/", target
        client.post("/logout")
    response = client.post(
        "/login?next=/admin/users",
        data={"email": "admin@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/users"


def test_anonymous_visitor_is_sent_to_login_with_next(client, admin_id):
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/users")


def test_logout_is_post_only(client, signed_in_admin):
    assert client.get("/logout").status_code == 405
    assert client.get("/").status_code == 200  # the GET did not sign us out


def test_cookie_captured_before_logout_is_refused_after_it(
    app, client, signed_in_admin
):
    stolen = client.get_cookie("funds-session").value
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("funds-session", stolen)
    response = thief.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert "auth.logout" in audit_actions(app)


def test_disabled_users_next_request_is_refused(app, client, login, create_user):
    user_id = create_user(Role.STAFF)
    login(user_id)
    assert client.get("/").status_code == 200
    with app.app_context():
        db.session.get(User, user_id).disabled = True
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_session_ends_after_twelve_hours_however_active(client, signed_in_admin):
    # A request every 29 minutes keeps the idle timer happy for 11.6 hours...
    for step in range(1, 25):
        with time_machine.travel(timedelta(minutes=29 * step)):
            assert client.get("/").status_code == 200, step
    # ...but 12 hours after signing in the session ends anyway.
    with time_machine.travel(timedelta(minutes=29 * 25)):
        assert client.get("/").status_code == 302


def test_session_expires_after_thirty_idle_minutes(client, signed_in_admin):
    with time_machine.travel(timedelta(minutes=31)):
        response = client.get("/")
    assert response.status_code == 302


def test_session_cookie_changes_at_login(client, admin_id):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": "admin@example.org", "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_password_hash_is_argon2id(app, admin_id):
    with app.app_context():
        assert db.session.get(User, admin_id).password_hash.startswith("$argon2id$")
