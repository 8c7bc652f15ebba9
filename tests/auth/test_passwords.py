"""The password policy and your own password changes."""

from __future__ import annotations

import pytest

from funds.auth.passwords import password_problem
from funds.extensions import db
from funds.models import User
from tests.conftest import PASSWORD, audit_actions


@pytest.mark.parametrize(
    "password,problem",
    [
        ("Pass1!", "12 characters or more"),
        ("elevenchars", "12 characters or more"),
        ("x" * 129, "128 characters or fewer"),
        ("password1234", "too common"),
        ("Password2024!", "too common"),
        ("qwertyuiop123", "too common"),
        ("123456789012", "too common"),
        ("!!!!!!!!!!!!", "too common"),
        ("RiversideYouthProject2025!", "organisation"),
        ("Riverside Youth Project 1", "organisation"),
        ("funds-funds-1", None),
    ],
)
def test_policy(app, password, problem):
    with app.test_request_context():
        result = password_problem(password)
    if problem is None:
        assert result is None
    else:
        assert result and problem in result


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple",
        "  leading and trailing spaces  ",
        "Zoë 🚲 rides to Llanfair 64 chars" + "x" * 30,
        "a" * 11 + "Ω",
    ],
)
def test_good_passwords_are_accepted_exactly_as_typed(
    app, client, login, create_user, password
):
    user_id = create_user(password=password)
    with app.app_context():
        email = db.session.get(User, user_id).email
    assert (
        client.post("/login", data={"email": email, "password": password}).status_code
        == 302
    )
    client.post("/logout")
    if password != password.strip():
        assert (
            client.post(
                "/login", data={"email": email, "password": password.strip()}
            ).status_code
            == 401
        )


def test_change_password_needs_the_current_one(app, client, signed_in_admin):
    response = client.post(
        "/account/password",
        data={
            "current_password": "wrong-one-entirely",
            "new_password": "a-brand-new-passphrase",
            "confirm_password": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 422
    assert "current password is not correct" in response.get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "new_password": "a-brand-new-passphrase",
            "confirm_password": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 422
    assert "Enter your current password" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "new,confirm,message",
    [
        ("short", "short", "12 characters"),
        ("password1234", "password1234", "too common"),
        ("a-brand-new-passphrase", "a-different-passphrase", "do not match"),
        (PASSWORD, PASSWORD, "different from your current"),
    ],
)
def test_weak_or_mismatched_new_passwords_are_refused(
    app, client, signed_in_admin, new, confirm, message
):
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": new,
            "confirm_password": confirm,
        },
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, signed_in_admin)
        from funds.auth.passwords import verify_password

        assert verify_password(user.password_hash, PASSWORD)


def test_password_change_signs_out_other_sessions_but_not_this_one(
    app, client, login, signed_in_admin
):
    elsewhere = app.test_client()
    login(signed_in_admin, the_client=elsewhere)
    response = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-brand-new-passphrase",
            "confirm_password": "a-brand-new-passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert "auth.password_change" in audit_actions(app)
    client.post("/logout")
    assert (
        client.post(
            "/login",
            data={"email": "admin@example.org", "password": "a-brand-new-passphrase"},
        ).status_code
        == 302
    )
