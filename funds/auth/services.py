"""Sign-in, throttling, sign-out and password changes. Services flush; views commit."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from funds.audit import record_event
from funds.auth.passwords import (
    hash_password,
    needs_rehash,
    password_problem,
    spend_verification_time,
    verify_password,
)
from funds.database import writes
from funds.errors import FundsError, ValidationError
from funds.extensions import db
from funds.models import LoginFailure, User
from funds.models.base import utcnow
from funds.models.user import new_session_token

BAD_CREDENTIALS = "Enter a correct email address and password"
THROTTLED = "Too many failed attempts to sign in. Wait 15 minutes, then try again."


class LoginRefused(FundsError):
    """The same refusal for an unknown email, a wrong password or a disabled account."""


def normalise_email(email: str) -> str:
    """Emails are compared and stored lower-cased and trimmed."""
    return email.strip().lower()


def _email_key(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def login_throttled(*, email: str, ip: str) -> bool:
    """True when this email, or this address, has failed too often in the window."""
    config = current_app.config
    since = utcnow() - config["LOGIN_FAILURE_WINDOW"]
    limit = config["LOGIN_MAX_FAILURES"]
    by_email = db.session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.email_key == _email_key(email), LoginFailure.at >= since)
    )
    if by_email >= limit:
        return True
    # An address trying many different emails (credential stuffing) is slowed as well.
    by_ip = db.session.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.ip == ip, LoginFailure.at >= since)
    )
    return by_ip >= limit * 4


def record_login_failure(
    *,
    email: str,
    ip: str,
    user: User | None,
    reason: str,
    action: str = "auth.login_failed",
) -> None:
    """Count one failed attempt (a password or a second-step code) and audit it."""
    window: timedelta = current_app.config["LOGIN_FAILURE_WINDOW"]
    db.session.execute(delete(LoginFailure).where(LoginFailure.at < utcnow() - window))
    db.session.add(LoginFailure(email_key=_email_key(email), ip=ip[:45]))
    record_event(
        action,
        actor=None,
        obj=user,
        after={"reason": reason, "email_key": _email_key(email)[:16]},
    )


@writes
def authenticate(email: str, password: str, *, ip: str) -> User:
    """Check an email and password and return the user.

    :raises LoginRefused: with one message for every kind of failure, so the response
        never tells whether an account exists; failures are counted and audited.
    """
    if login_throttled(email=email, ip=ip):
        record_event(
            "auth.login_throttled",
            actor=None,
            after={"email_key": _email_key(email)[:16]},
        )
        raise LoginRefused(THROTTLED)
    user = db.session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        spend_verification_time(password)
        record_login_failure(email=email, ip=ip, user=None, reason="unknown email")
        raise LoginRefused(BAD_CREDENTIALS)
    if not verify_password(user.password_hash, password):
        record_login_failure(email=email, ip=ip, user=user, reason="wrong password")
        raise LoginRefused(BAD_CREDENTIALS)
    if user.disabled:
        record_login_failure(email=email, ip=ip, user=user, reason="disabled")
        raise LoginRefused(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_enabled_at is not None:
        # Not signed in yet: the second step finishes it. Earlier failures still count,
        # so the right password does not buy more guesses at the code.
        record_event("auth.two_factor.challenge", actor=None, obj=user)
        return user
    finish_login(user)
    return user


def finish_login(user: User, *, second_step: str | None = None) -> None:
    """The sign-in succeeded: note when, forget the failures, audit it.

    :param second_step: how the second step was passed ("app" or "recovery code").
    """
    user.last_login_at = utcnow()
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.email_key == _email_key(user.email))
    )
    after = {"two_factor": True, "method": second_step} if second_step else None
    record_event("auth.login", actor=user, obj=user, after=after)


@writes
def confirm_password(user: User, password: str) -> None:
    """Re-check the signed-in user's password before a sensitive action.

    :raises ValidationError: on the ``password`` field when it is wrong.
    """
    if not verify_password(user.password_hash, password):
        record_event("auth.reauth_failed", actor=user, obj=user)
        raise ValidationError("The password is not correct", field="password")
    record_event("auth.reauth", actor=user, obj=user)


@writes
def end_session(user: User) -> None:
    """Sign out: rotate the session token so a copied cookie stops working."""
    user.session_token = new_session_token()
    record_event("auth.logout", actor=user, obj=user)
    db.session.flush()


def check_new_password(user_name: str, email: str, password: str) -> None:
    """Apply the password policy.

    :raises ValidationError: on the ``new_password`` field.
    """
    problem = password_problem(
        password, context=[user_name, email, email.split("@")[0], *user_name.split()]
    )
    if problem:
        raise ValidationError(problem, field="new_password")


@writes
def change_own_password(
    user: User, *, current_password: str, new_password: str
) -> None:
    """Change your own password; every other session of yours ends.

    :raises ValidationError: when the current password is wrong or the new one is weak.
    """
    if not verify_password(user.password_hash, current_password):
        record_event("auth.password_change_failed", actor=user, obj=user)
        raise ValidationError(
            "Your current password is not correct", field="current_password"
        )
    if new_password == current_password:
        raise ValidationError(
            "Choose a password different from your current one", field="new_password"
        )
    check_new_password(user.name, user.email, new_password)
    user.password_hash = hash_password(new_password)
    user.session_token = new_session_token()
    user.must_change_password = False
    record_event("auth.password_change", actor=user, obj=user)
    db.session.flush()
