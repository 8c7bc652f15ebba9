"""Signing in with a second step: password, then a code from the app or a recovery code.

Time is frozen (time_machine) so each test knows which 30-second step a code belongs to.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from funds.auth.two_factor import enable_two_factor
from funds.extensions import db
from funds.models import AuditEvent, LoginFailure, Role, User
from funds.models.two_factor import RecoveryCode
from tests.conftest import PASSWORD, audit_actions, count

#: Five seconds into a 30-second step: a shift of 30 s lands in the next step.
START = datetime(2026, 11, 23, 10, 0, 5, tzinfo=UTC)
#: A name with the characters that break formulas, globbing and markup.
HOSTILE_NAME = "Zoë *?~=<b>\ufffe O'Brien"
WRONG = "Enter a correct code from your authenticator app, or a recovery code"


@pytest.fixture
def clock():
    """Frozen time the test moves on by hand (``clock.shift(seconds)``)."""
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def code_for(secret: str, steps: int = 0) -> str:
    """The app's code now (or ``steps`` 30-second steps away)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


@pytest.fixture
def two_factor_user(app, create_user, clock):
    """A user with two-step sign-in on: returns (id, email, secret, recovery codes).
    The step used to turn it on is behind the clock when this returns."""

    def _make(role: Role = Role.STAFF, **fields):
        user_id = create_user(role, name=HOSTILE_NAME, **fields)
        secret = pyotp.random_base32()
        with app.app_context():
            codes = enable_two_factor(user_id, secret=secret, code=code_for(secret))
            db.session.commit()
            email = db.session.get(User, user_id).email
        clock.shift(30)
        return user_id, email, secret, codes

    return _make


def password_step(client, email: str, *, next_url: str | None = None):
    url = "/login" + (f"?next={next_url}" if next_url else "")
    return client.post(url, data={"email": email, "password": PASSWORD})


def code_step(client, code: str):
    return client.post("/login/two-step", data={"code": code})


def sign_in(client, email: str, code: str):
    response = password_step(client, email)
    assert response.headers["Location"] == "/login/two-step"
    return code_step(client, code)


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_password_then_code_signs_in(app, client, two_factor_user):
    user_id, email, secret, _ = two_factor_user()
    response = password_step(client, email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/two-step"
    # Not signed in yet: nothing but the code page.
    assert client.get("/").headers["Location"].startswith("/login?next=/")
    assert _user(app, user_id).last_login_at is None
    page = client.get("/login/two-step")
    assert page.status_code == 200
    assert "Enter your code" in page.get_data(as_text=True)
    assert "auth.login" not in audit_actions(app)
    assert "auth.two_factor.challenge" in audit_actions(app)

    response = code_step(client, code_for(secret))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert _user(app, user_id).last_login_at is not None
    with app.app_context():
        login = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login")
        ).one()
        assert login.after == {"two_factor": True, "method": "app"}
        assert login.actor_id == user_id


def test_the_session_is_new_after_the_second_step(app, client, two_factor_user):
    _, email, secret, _ = two_factor_user()
    password_step(client, email)
    pending_cookie = client.get_cookie("funds-session").value
    code_step(client, code_for(secret))
    with client.session_transaction() as session:
        assert "two_factor_pending" not in session
        assert session.get("auth_at") == time.time()
    # The cookie from the pending step does not sign anyone in.
    thief = app.test_client()
    thief.set_cookie("funds-session", pending_cookie)
    assert thief.get("/").status_code == 302


def test_next_page_is_kept_through_the_second_step(client, two_factor_user):
    _, email, secret, _ = two_factor_user()
    password_step(client, email, next_url="/grants/")
    response = code_step(client, code_for(secret))
    assert response.headers["Location"] == "/grants/"


def test_pending_sign_in_reaches_no_other_page(client, two_factor_user):
    _, email, _, _ = two_factor_user()
    password_step(client, email)
    for url in [
        "/",
        "/grants/",
        "/account/two-step",
        "/account/password",
        "/admin/users",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url


def test_wrong_code_is_refused_and_counted(app, client, two_factor_user):
    user_id, email, secret, _ = two_factor_user()
    password_step(client, email)
    wrong = f"{(int(code_for(secret)) + 1) % 1_000_000:06d}"
    response = code_step(client, wrong)
    assert response.status_code == 401
    body = response.get_data(as_text=True)
    assert WRONG in body and "govuk-error-message" in body
    assert count(app, LoginFailure) == 1
    assert "auth.two_factor.failed" in audit_actions(app)
    assert client.get("/").status_code == 302  # still not signed in
    assert _user(app, user_id).last_login_at is None
    # Hostile text in the code box is refused the same way, never a 500.
    for junk in ["<script>", "=1+1", "\ufffe" * 6, "１２３４５６", "x" * 41, "   "]:
        response = code_step(client, junk)
        assert response.status_code in (401, 422), junk
        assert "<script>" not in response.get_data(as_text=True)


def test_wrong_codes_are_throttled_like_passwords(app, client, two_factor_user):
    _, email, secret, _ = two_factor_user()
    password_step(client, email)
    for _ in range(5):
        assert code_step(client, "000000").status_code == 401
    refused = code_step(client, code_for(secret))
    assert refused.status_code == 401
    assert "Too many failed attempts" in refused.get_data(as_text=True)
    assert client.get("/").status_code == 302
    # The right password does not open the door either, nor reset the count.
    again = password_step(client, email)
    assert again.status_code == 401
    assert "Too many failed attempts" in again.get_data(as_text=True)
    assert "auth.login_throttled" in audit_actions(app)
    # After the window, the password and a fresh code work again.
    clock_later = time_machine.travel(START + timedelta(minutes=16), tick=False)
    with clock_later:
        response = sign_in(client, email, code_for(secret))
        assert response.status_code == 302
        assert client.get("/").status_code == 200
    assert count(app, LoginFailure) == 0


def test_a_right_password_does_not_buy_more_guesses(client, two_factor_user):
    _, email, secret, _ = two_factor_user()
    password_step(client, email)
    for _ in range(4):
        code_step(client, "000000")
    password_step(client, email)  # right password: the count is kept
    assert code_step(client, "000000").status_code == 401
    response = code_step(client, code_for(secret))
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_a_replayed_code_is_refused(app, client, two_factor_user):
    user_id, email, secret, _ = two_factor_user()
    code = code_for(secret)
    assert sign_in(client, email, code).status_code == 302
    client.post("/logout")
    other = app.test_client()
    response = sign_in(other, email, code)  # same step, same code: a replay
    assert response.status_code == 401
    assert WRONG in response.get_data(as_text=True)
    assert other.get("/").status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_last_step == int(time.time()) // 30


def test_an_earlier_steps_code_is_refused_after_a_later_one(
    app, client, two_factor_user
):
    _, email, secret, _ = two_factor_user()
    earlier = code_for(secret)
    later = code_for(secret, steps=1)  # the app of a clock running fast
    assert sign_in(client, email, later).status_code == 302
    client.post("/logout")
    # Still inside the allowed drift, but older than the step already used.
    response = sign_in(client, email, earlier)
    assert response.status_code == 401


def test_one_step_of_drift_either_way_is_accepted_but_not_two(
    client, two_factor_user, clock
):
    _, email, secret, _ = two_factor_user()
    clock.shift(30)  # the step before now was not the one used to turn it on
    assert sign_in(client, email, code_for(secret, steps=-2)).status_code == 401
    assert sign_in(client, email, code_for(secret, steps=2)).status_code == 401
    assert sign_in(client, email, code_for(secret, steps=-1)).status_code == 302


def test_a_recovery_code_works_once(app, client, two_factor_user):
    user_id, email, _, codes = two_factor_user()
    typed = "  " + codes[3].upper().replace("-", " ") + " "  # as someone might type it
    response = sign_in(client, email, typed)
    assert response.status_code == 302
    home = client.get("/").get_data(as_text=True)
    assert "You have 9 recovery codes left" in home
    with app.app_context():
        used = db.session.scalars(
            select(RecoveryCode).where(RecoveryCode.used_at.is_not(None))
        ).all()
        assert len(used) == 1 and used[0].user_id == user_id
        login = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login")
        ).one()
        assert login.after["method"] == "recovery code"
        assert codes[3] not in str(login.after)
    client.post("/logout")
    again = sign_in(app.test_client(), email, codes[3])
    assert again.status_code == 401
    assert count(app, LoginFailure) == 1


def test_another_users_recovery_code_does_not_work(app, client, two_factor_user):
    _, email, _, _ = two_factor_user()
    _, _, _, others = two_factor_user()
    assert sign_in(client, email, others[0]).status_code == 401


def test_the_pending_step_expires(app, client, two_factor_user, clock):
    user_id, email, secret, _ = two_factor_user()
    password_step(client, email)
    clock.shift(301)
    page = client.get("/login/two-step", follow_redirects=True)
    assert "Sign in again" in page.get_data(as_text=True)
    password_step(client, email)
    clock.shift(301)
    response = code_step(client, code_for(secret))
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302
    assert _user(app, user_id).last_login_at is None


def test_the_code_page_without_a_password_goes_to_sign_in(client, two_factor_user):
    two_factor_user()
    response = client.get("/login/two-step")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert code_step(client, "123456").headers["Location"] == "/login"


def test_a_forged_pending_marker_signs_no_one_in(app, client, two_factor_user):
    user_id, _, secret, _ = two_factor_user()
    with client.session_transaction() as session:
        session["two_factor_pending"] = {
            "user_id": user_id,
            "token": "guessed",
            "at": time.time(),
        }
    response = code_step(client, code_for(secret))
    assert response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_user_disabled_while_pending_cannot_finish(app, client, two_factor_user):
    user_id, email, secret, _ = two_factor_user()
    password_step(client, email)
    with app.app_context():
        db.session.get(User, user_id).disabled = True
        db.session.commit()
    assert code_step(client, code_for(secret)).headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_the_fresh_login_page_asks_for_a_code_too(app, client, two_factor_user, clock):
    _, email, secret, _ = two_factor_user()
    sign_in(client, email, code_for(secret))
    clock.shift(20 * 60)  # past the fresh-login window
    page = client.get("/account/confirm?next=/account/two-step/set-up")
    assert 'name="code"' in page.get_data(as_text=True)
    missing = client.post("/account/confirm", data={"password": PASSWORD})
    assert missing.status_code == 422
    assert "Enter the code" in missing.get_data(as_text=True)
    wrong = client.post(
        "/account/confirm", data={"password": PASSWORD, "code": "000000"}
    )
    assert wrong.status_code == 422
    assert WRONG in wrong.get_data(as_text=True)
    assert count(app, LoginFailure) == 1
    right = client.post(
        "/account/confirm?next=/account/two-step",
        data={"password": PASSWORD, "code": code_for(secret)},
    )
    assert right.status_code == 302
    assert right.headers["Location"] == "/account/two-step"
    with client.session_transaction() as session:
        assert session["reauth_at"] == time.time()
    assert audit_actions(app)[-1] == "auth.reauth"


def test_users_without_a_second_step_sign_in_as_before(app, client, create_user):
    user_id = create_user(Role.ADMIN, name=HOSTILE_NAME)
    email = _user(app, user_id).email
    response = password_step(client, email)
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        login = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.login")
        ).one()
        assert login.after is None


def test_audit_trail_says_what_happened(
    app, client, two_factor_user, create_user, login
):
    _, email, secret, codes = two_factor_user()
    password_step(client, email)
    code_step(client, "999999")
    code_step(client, codes[0])
    client.post("/logout")
    admin = create_user(Role.ADMIN, email="boss@example.org", name="Boss")
    login(admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page))
    assert "signed in with a recovery code" in text
    assert "A sign-in failed for" in text and "(wrong code)" in text
    assert "turned on two-step sign-in" in text
    assert "who was then asked for a code" in text
    assert "auth.two_factor" not in text  # every action has its sentence
