"""Setting up two-step sign-in: a QR code drawn on the server, a confirming code,
recovery codes shown once; turning it off and new recovery codes."""

from __future__ import annotations

import hashlib
import re
import time

import pytest
from sqlalchemy import select

from funds.auth.two_factor import provisioning_uri, qr_svg
from funds.extensions import db
from funds.models import AuditEvent, LoginFailure, Role, User
from funds.models.two_factor import RecoveryCode
from tests.auth import test_two_factor_sign_in as shared
from tests.auth.test_two_factor_sign_in import (
    HOSTILE_NAME,
    WRONG,
    code_for,
    password_step,
    sign_in,
)
from tests.conftest import audit_actions, count

# The sign-in tests' fixtures: a frozen clock and a user with two-step sign-in on.
clock = shared.clock
two_factor_user = shared.two_factor_user

HOSTILE_ORGANISATION = 'Riverside <script>alert(1)</script> & "Co" *?~= \ufffe'
CODE = re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")


@pytest.fixture
def app_config():
    return {"ORGANISATION_NAME": HOSTILE_ORGANISATION}


@pytest.fixture
def member(app, create_user, login, clock):
    """A signed-in staff member with a hostile name: (id, email)."""
    user_id = create_user(Role.STAFF, name=HOSTILE_NAME)
    login(user_id)
    with app.app_context():
        return user_id, db.session.get(User, user_id).email


def _setup_secret(client) -> str:
    with client.session_transaction() as session:
        return session["two_factor_setup"]


def _shown_codes(body: str) -> list[str]:
    block = re.search(r'<ol[^>]*id="recovery-codes"[^>]*>(.*?)</ol>', body, re.S)
    return re.findall(r"<li>([^<]+)</li>", block.group(1))


def test_setup_page_shows_an_svg_qr_code_and_the_secret(app, client, member):
    user_id, email = member
    response = client.get("/account/two-step/set-up")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_data(as_text=True)
    secret = _setup_secret(client)
    grouped = " ".join(secret[i : i + 4] for i in range(0, 32, 4))
    assert grouped in body
    svg = re.search(r"<svg.*?</svg>", body, re.S).group(0)
    # Drawn here from the otpauth address alone: path data, no text, no script.
    assert "<path" in svg and "<script" not in svg and "<text" not in svg
    assert "alert" not in svg and "Riverside" not in svg and "@" not in svg
    uri = provisioning_uri(secret, email=email, issuer=HOSTILE_ORGANISATION)
    assert svg == str(qr_svg(uri))
    assert uri.startswith("otpauth://totp/") and "issuer=Riverside%20%3Cscript" in uri
    assert "<script>alert(1)</script>" not in body  # the organisation name is escaped
    # Reloading keeps the same secret (the app may already have scanned it)...
    client.get("/account/two-step/set-up")
    assert _setup_secret(client) == secret
    # ...and nothing is stored until it is confirmed.
    with app.app_context():
        assert db.session.get(User, user_id).totp_secret is None


def test_a_wrong_confirming_code_stores_nothing(app, client, member):
    user_id, _ = member
    client.get("/account/two-step/set-up")
    secret = _setup_secret(client)
    for wrong in [code_for(secret, steps=3), "abcdef", "<b>12</b>", ""]:
        response = client.post("/account/two-step/set-up", data={"code": wrong})
        assert response.status_code == 422, wrong
        body = response.get_data(as_text=True)
        assert 'id="code-error"' in body, wrong
        assert "<b>12</b>" not in body
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_secret is None and user.totp_enabled_at is None
    assert count(app, RecoveryCode) == 0
    assert "auth.two_factor.enable" not in audit_actions(app)


def test_confirming_turns_it_on_and_shows_recovery_codes_once(app, client, member):
    user_id, email = member
    client.get("/account/two-step/set-up")
    secret = _setup_secret(client)
    response = client.post(
        "/account/two-step/set-up", data={"code": code_for(secret, steps=-1)}
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    codes = _shown_codes(body)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(CODE.match(code) for code in codes)
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_secret == secret and user.totp_enabled_at is not None
        assert user.totp_last_step == int(time.time()) // 30 - 1
        stored = set(
            db.session.scalars(
                select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user_id)
            )
        )
        assert stored == {hashlib.sha256(c.encode()).hexdigest() for c in codes}
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.two_factor.enable")
        ).one()
        trail = f"{event.before} {event.after}"
        assert secret not in trail and not any(c in trail for c in codes)
    with client.session_transaction() as session:
        assert "two_factor_setup" not in session
    # Never shown again: not on the settings page, not on the set-up page.
    manage = client.get("/account/two-step").get_data(as_text=True)
    assert "You have 10 unused recovery codes" in manage
    assert not any(code in manage for code in codes)
    again = client.get("/account/two-step/set-up")
    assert again.headers["Location"] == "/account/two-step"
    account = client.get("/account/password").get_data(as_text=True)
    assert "Two-step sign-in: on" in account


def test_account_page_links_to_it_when_off(client, member):
    body = client.get("/account/password").get_data(as_text=True)
    assert "Two-step sign-in: off" in body
    manage = client.get("/account/two-step").get_data(as_text=True)
    assert "Set up two-step sign-in" in manage


def test_setting_up_needs_a_recent_sign_in(client, member, clock):
    clock.shift(20 * 60)
    response = client.get("/account/two-step/set-up")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/confirm")


def test_turning_it_off_needs_the_current_code(app, client, two_factor_user):
    user_id, email, secret, _ = two_factor_user()
    sign_in(client, email, code_for(secret))
    used = code_for(secret)  # just used to sign in: refused as a replay
    response = client.post("/account/two-step/turn-off", data={"off-code": used})
    assert response.status_code == 422
    assert WRONG in response.get_data(as_text=True)
    assert count(app, LoginFailure) == 1
    response = client.post(
        "/account/two-step/turn-off", data={"off-code": code_for(secret, steps=1)}
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.totp_secret is None and user.totp_enabled_at is None
        assert user.totp_last_step is None
    assert count(app, RecoveryCode) == 0
    assert "auth.two_factor.disable" in audit_actions(app)
    client.post("/logout")
    assert password_step(client, email).headers["Location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(app, client, two_factor_user):
    user_id, email, secret, old = two_factor_user()
    sign_in(client, email, old[0])
    response = client.post(
        "/account/two-step/recovery-codes", data={"renew-code": "000000"}
    )
    assert response.status_code == 422
    assert count(app, LoginFailure) == 1
    response = client.post(
        "/account/two-step/recovery-codes", data={"renew-code": code_for(secret)}
    )
    assert response.status_code == 200
    new = _shown_codes(response.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert "Your old recovery codes no longer work" in response.get_data(as_text=True)
    assert count(app, RecoveryCode) == 10
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "auth.two_factor.recovery_codes"
            )
        ).one()
        assert not any(c in str(event.after) for c in new)
    client.post("/logout")
    assert sign_in(app.test_client(), email, old[1]).status_code == 401
    assert sign_in(app.test_client(), email, new[1]).status_code == 302
