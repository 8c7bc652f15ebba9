"""Two-step sign-in required by a setting, an administrator's reset, and CSRF on the
code page."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, LoginFailure, Role, User
from tests.auth import test_two_factor_sign_in as shared
from tests.auth.test_two_factor_sign_in import code_for, password_step, sign_in
from tests.conftest import PASSWORD, audit_actions, count, csrf_token_from

# The sign-in tests' fixtures: a frozen clock and a user with two-step sign-in on.
clock = shared.clock
two_factor_user = shared.two_factor_user

SET_UP = "/account/two-step/set-up"


def _email(app, user_id) -> str:
    with app.app_context():
        return db.session.get(User, user_id).email


class TestRequiredBySetting:
    @pytest.fixture
    def app_config(self):
        return {"REQUIRE_TWO_FACTOR": True}

    @pytest.mark.parametrize("role", [Role.ADMIN, Role.MANAGER, Role.FINANCE])
    def test_these_roles_must_set_it_up_first(
        self, app, client, create_user, clock, role
    ):
        user_id = create_user(role)
        response = password_step(client, _email(app, user_id))
        assert response.headers["Location"] == SET_UP
        page = client.get(SET_UP)
        assert page.status_code == 200
        assert "Your role needs two-step sign-in" in page.get_data(as_text=True)
        for url in ["/", "/grants/", "/account/two-step", "/households"]:
            response = client.get(url)
            assert response.status_code == 302, url
            assert response.headers["Location"] == SET_UP, url
        # Sign-out still works.
        assert client.post("/logout").headers["Location"] == "/login"
        assert client.get("/").headers["Location"].startswith("/login?next=")

    def test_once_set_up_everything_opens_and_it_cannot_be_turned_off(
        self, app, client, create_user, clock
    ):
        user_id = create_user(Role.FINANCE)
        password_step(client, _email(app, user_id))
        client.get(SET_UP)
        with client.session_transaction() as session:
            secret = session["two_factor_setup"]
        assert client.post(SET_UP, data={"code": code_for(secret)}).status_code == 200
        assert client.get("/").status_code == 200
        clock.shift(30)
        response = client.post(
            "/account/two-step/turn-off", data={"off-code": code_for(secret)}
        )
        assert response.status_code == 422
        assert "required for the Finance role" in response.get_data(as_text=True)
        with app.app_context():
            assert db.session.get(User, user_id).totp_enabled_at is not None
        page = client.get("/account/two-step").get_data(as_text=True)
        assert "cannot be turned off" in page

    def test_staff_are_not_forced(self, app, client, create_user, clock):
        user_id = create_user(Role.STAFF)
        assert password_step(client, _email(app, user_id)).headers["Location"] == "/"
        assert client.get("/").status_code == 200

    def test_a_temporary_password_is_changed_before_setting_up(
        self, app, client, create_user, clock
    ):
        user_id = create_user(Role.MANAGER, must_change_password=True)
        password_step(client, _email(app, user_id))
        response = client.get("/")
        assert response.headers["Location"] == "/account/password"
        assert client.get("/account/password").status_code == 200


def test_not_forced_when_the_setting_is_off(app, client, create_user, clock):
    user_id = create_user(Role.ADMIN)
    assert password_step(client, _email(app, user_id)).headers["Location"] == "/"
    assert client.get("/").status_code == 200


def _admin_client(app, create_user, login):
    admin = app.test_client()
    admin_id = create_user(Role.ADMIN, email="boss@example.org", name="Boss <Admin>")
    login(admin_id, the_client=admin)
    return admin, admin_id


def test_admin_reset_needs_a_recent_sign_in(
    app, client, create_user, login, two_factor_user, clock
):
    user_id, email, secret, _ = two_factor_user()
    admin, _ = _admin_client(app, create_user, login)
    clock.shift(20 * 60)
    response = admin.post(f"/admin/users/{user_id}/reset-two-step")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert db.session.get(User, user_id).totp_enabled_at is not None
    assert "auth.two_factor.reset" not in audit_actions(app)


def test_admin_reset_ends_the_users_sessions_and_password_alone_works(
    app, client, create_user, login, two_factor_user, clock
):
    user_id, email, secret, codes = two_factor_user()
    assert sign_in(client, email, code_for(secret)).status_code == 302
    assert client.get("/").status_code == 200
    # A second sign-in waiting for its code ends as well.
    waiting = app.test_client()
    password_step(waiting, email)
    admin, _ = _admin_client(app, create_user, login)
    page = admin.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "Reset two-step sign-in" in page and "On since" in page
    response = admin.post(f"/admin/users/{user_id}/reset-two-step")
    assert response.status_code == 302
    assert "has been reset" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert client.get("/").headers["Location"].startswith("/login?next=")
    clock.shift(30)
    assert (
        waiting.post("/login/two-step", data={"code": code_for(secret)}).headers[
            "Location"
        ]
        == "/login"
    )
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_secret is None and user.totp_enabled_at is None
        assert user.totp_last_step is None
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.two_factor.reset")
        ).one()
        assert event.object_id == user_id and event.actor_id != user_id
    fresh = app.test_client()
    assert password_step(fresh, email).headers["Location"] == "/"
    assert fresh.get("/").status_code == 200
    trail = admin.get("/admin/audit").get_data(as_text=True)
    assert "reset the two-step sign-in of" in trail


def test_admin_cannot_reset_their_own(app, create_user, login, clock):
    admin, admin_id = _admin_client(app, create_user, login)
    response = admin.post(f"/admin/users/{admin_id}/reset-two-step")
    assert response.status_code in (409, 422)
    assert "auth.two_factor.reset" not in audit_actions(app)


def test_reset_of_a_user_without_it_says_so(app, create_user, login, clock):
    admin, _ = _admin_client(app, create_user, login)
    user_id = create_user(Role.STAFF)
    response = admin.post(f"/admin/users/{user_id}/reset-two-step")
    assert response.status_code in (409, 422)
    assert "has not set up two-step sign-in" in response.get_data(as_text=True)


def test_only_admins_reset(app, client, create_user, login, two_factor_user):
    user_id, *_ = two_factor_user()
    login(create_user(Role.MANAGER))
    assert client.post(f"/admin/users/{user_id}/reset-two-step").status_code == 403


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_the_code_page_refuses_a_post_without_a_token(
        self, app, client, two_factor_user
    ):
        _, email, secret, _ = two_factor_user()
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        assert response.headers["Location"] == "/login/two-step"
        before = (count(app, AuditEvent), count(app, LoginFailure))
        response = client.post("/login/two-step", data={"code": code_for(secret)})
        assert response.status_code == 400
        assert (count(app, AuditEvent), count(app, LoginFailure)) == before
        page = client.get("/login/two-step").get_data(as_text=True)
        response = client.post(
            "/login/two-step",
            data={"code": code_for(secret), "csrf_token": csrf_token_from(page)},
        )
        assert response.status_code == 302 and response.headers["Location"] == "/"

    def test_the_manage_forms_carry_their_tokens(self, app, client, two_factor_user):
        _, email, secret, _ = two_factor_user()
        token = csrf_token_from(client.get("/login").get_data(as_text=True))
        client.post(
            "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
        )
        page = client.get("/login/two-step").get_data(as_text=True)
        client.post(
            "/login/two-step",
            data={"code": code_for(secret), "csrf_token": csrf_token_from(page)},
        )
        manage = client.get("/account/two-step").get_data(as_text=True)
        assert manage.count('name="renew-csrf_token"') == 1
        assert manage.count('name="off-csrf_token"') == 1
        for url in ["/account/two-step/turn-off", "/account/two-step/recovery-codes"]:
            assert client.post(url, data={"off-code": "1"}).status_code == 400
