"""The second sign-in step: authenticator-app codes (TOTP) and single-use recovery codes.

Services flush; views commit. A secret is kept on the user only once confirmed; recovery
codes are random and stored as SHA-256, returned once to be shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
import qrcode
import qrcode.image.svg
from flask import current_app
from markupsafe import Markup
from sqlalchemy import delete, func, select
from sqlalchemy.exc import NoResultFound

from funds.audit import record_event
from funds.auth.passwords import verify_password
from funds.auth.services import (
    THROTTLED,
    LoginRefused,
    finish_login,
    login_throttled,
    record_login_failure,
)
from funds.database import lock_for_update, writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import Role, User
from funds.models.base import utcnow
from funds.models.two_factor import RecoveryCode
from funds.models.user import new_session_token

#: Seconds a code is valid for (what every authenticator app uses).
STEP_SECONDS = 30
#: How long the page asking for the code waits after a correct password.
PENDING_SECONDS = 5 * 60
#: How many recovery codes a user gets at a time.
RECOVERY_CODE_COUNT = 10
#: Letters and digits that cannot be mistaken for one another when copied by hand.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Roles that must use a second step when REQUIRE_TWO_FACTOR is on.
REQUIRED_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})

WRONG_CODE = "Enter a correct code from your authenticator app, or a recovery code"
WRONG_SETUP_CODE = (
    "Enter the 6-digit code your authenticator app shows now for this account"
)
_SECRET = re.compile(r"[A-Z2-7]{32}", re.ASCII)
_SIX_DIGITS = re.compile(r"[0-9]{6}", re.ASCII)


@dataclass(frozen=True)
class SecondStep:
    """How a code was accepted: "app" or "recovery code", and recovery codes left."""

    method: str
    recovery_left: int | None = None


# --- reading -----------------------------------------------------------------------------


def has_two_factor(user: User) -> bool:
    """Whether the user signs in with a second step."""
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def two_factor_required(user: User) -> bool:
    """Whether the user's role must use a second step (the REQUIRE_TWO_FACTOR setting)."""
    return bool(current_app.config["REQUIRE_TWO_FACTOR"]) and user.role in (
        REQUIRED_ROLES
    )


def must_enrol(user: User) -> bool:
    """A user whose role needs a second step and who has not set one up yet."""
    return two_factor_required(user) and not has_two_factor(user)


def recovery_codes_left(user: User) -> int:
    """How many of the user's recovery codes are still unused."""
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


# --- enrolment material ------------------------------------------------------------------


def new_secret() -> str:
    """A new random base32 secret (160 bits)."""
    return pyotp.random_base32()


def valid_secret(secret: object) -> bool:
    """Whether a value is a secret new_secret could have made."""
    return isinstance(secret, str) and _SECRET.fullmatch(secret) is not None


def provisioning_uri(secret: str, *, email: str, issuer: str) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> Markup:
    """The QR code of an otpauth address as inline SVG, drawn here (nothing fetched).

    The SVG holds only path data and fixed attributes: the address is encoded into the
    modules' geometry, never written as text, so nothing a user typed reaches the markup.
    """
    image = qrcode.make(
        uri,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
    )
    svg = image.to_string(encoding="unicode")
    svg = re.sub(r"^<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(
        r'<svg width="[^"]*" height="[^"]*"',
        '<svg class="funds-qr" width="220" height="220" role="img" '
        'aria-label="QR code for your authenticator app" focusable="false"',
        svg,
        count=1,
    )
    return Markup(svg)  # noqa: S704 - path data from the QR modules, no text


def format_secret(secret: str) -> str:
    """The secret in groups of four, easier to type."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


# --- codes -------------------------------------------------------------------------------


def _current_step() -> int:
    return int(time.time()) // STEP_SECONDS


def _matching_step(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step (now, or one either side for a slow clock) whose code this is, if
    that step is later than ``after`` (a code, once used, never works again)."""
    if not _SIX_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret)
    now = _current_step()
    found = None
    for step in (now - 1, now, now + 1):
        # Compare every candidate, in constant time, whatever matched before.
        if hmac.compare_digest(totp.generate_otp(step), code) and (
            after is None or step > after
        ):
            found = step
    return found


def _clean(code: str) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()


def _recovery_hash(code: str) -> str | None:
    cleaned = _clean(code)
    if len(cleaned) != 12 or not cleaned.isascii():
        return None
    canonical = "-".join(cleaned[i : i + 4] for i in range(0, 12, 4))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _new_recovery_code() -> str:
    return "-".join(
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(4)) for _ in range(3)
    )


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(code)))
    db.session.flush()
    return codes


def _locked_user(user_id: int) -> User:
    """The user's row, locked for this transaction and read afresh (two requests with the
    same code: the second sees the step the first used)."""
    user = lock_for_update(User, user_id)
    if user is None:
        raise NoResultFound(f"no user {user_id}")
    return user


def _use_code(user: User, code: str) -> SecondStep | None:
    """Accept an app code (a step later than the last one used) or an unused recovery
    code, and mark it used; None when it is neither."""
    cleaned = _clean(code)
    if _SIX_DIGITS.fullmatch(cleaned):
        step = _matching_step(user.totp_secret, cleaned, after=user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        return SecondStep("app")
    code_hash = _recovery_hash(cleaned)
    if code_hash is None:
        return None
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return None
    row.used_at = utcnow()
    db.session.flush()
    return SecondStep("recovery code", recovery_left=recovery_codes_left(user))


def _check_code(user: User, code: str, *, ip: str) -> SecondStep:
    """Throttled like a password: refused while too many attempts failed; a wrong code is
    counted and audited.

    :raises LoginRefused: on the ``code`` field.
    """
    if login_throttled(email=user.email, ip=ip):
        record_event("auth.login_throttled", actor=None, obj=user)
        raise LoginRefused(THROTTLED, field="code")
    used = _use_code(user, code)
    if used is None:
        record_login_failure(
            email=user.email,
            ip=ip,
            user=user,
            reason="wrong code",
            action="auth.two_factor.failed",
        )
        raise LoginRefused(WRONG_CODE, field="code")
    return used


# --- services ----------------------------------------------------------------------------


@writes
def complete_sign_in(user_id: int, code: str, *, ip: str) -> tuple[User, SecondStep]:
    """The second step of signing in: a code after a correct password.

    :raises LoginRefused: on the ``code`` field (wrong, replayed, or throttled).
    """
    user = _locked_user(user_id)
    if user.disabled or not has_two_factor(user):
        raise LoginRefused(WRONG_CODE, field="code")
    used = _check_code(user, code, ip=ip)
    finish_login(user, second_step=used.method)
    db.session.flush()
    return user, used


@writes
def enable_two_factor(user_id: int, *, secret: str, code: str) -> list[str]:
    """Turn the second step on with a secret the user's app shows a code for; returns
    the new recovery codes (to show once).

    :raises ValidationError: on the ``code`` field when the code is not the app's.
    """
    user = _locked_user(user_id)
    if has_two_factor(user):
        raise NotAllowed("Two-step sign-in is already on for your account")
    if not valid_secret(secret):
        raise ValidationError("Start setting up again", field="code")
    step = _matching_step(secret, _clean(code), after=None)
    if step is None:
        raise ValidationError(WRONG_SETUP_CODE, field="code")
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = _replace_recovery_codes(user)
    record_event(
        "auth.two_factor.enable",
        actor=user,
        obj=user,
        after={"recovery_codes": len(codes)},
    )
    return codes


@writes
def renew_recovery_codes(user_id: int, *, code: str, ip: str) -> list[str]:
    """New recovery codes for old ones (all of which stop working); returned once.

    :raises LoginRefused: on the ``code`` field.
    """
    user = _locked_user(user_id)
    if not has_two_factor(user):
        raise NotAllowed("Two-step sign-in is not on for your account")
    _check_code(user, code, ip=ip)
    codes = _replace_recovery_codes(user)
    record_event(
        "auth.two_factor.recovery_codes",
        actor=user,
        obj=user,
        after={"recovery_codes": len(codes)},
    )
    return codes


def _clear(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


@writes
def disable_two_factor(user_id: int, *, code: str, ip: str) -> None:
    """Turn your own second step off, when your role does not require it.

    :raises NotAllowed: when the setting requires it for the role.
    :raises LoginRefused: on the ``code`` field.
    """
    user = _locked_user(user_id)
    if not has_two_factor(user):
        raise NotAllowed("Two-step sign-in is not on for your account")
    if two_factor_required(user):
        raise NotAllowed(
            f"Two-step sign-in is required for the {user.role.label} role",
            field="code",
        )
    _check_code(user, code, ip=ip)
    _clear(user)
    record_event(
        "auth.two_factor.disable",
        actor=user,
        obj=user,
        before={"two_factor": True},
        after={"two_factor": False},
    )
    db.session.flush()


@writes
def confirm_password_and_code(user_id: int, *, password: str, code: str, ip: str):
    """The fresh-login check for a user with a second step: password, then code.

    :raises ValidationError: on ``password``; :raises LoginRefused: on ``code``.
    """
    user = _locked_user(user_id)
    if not verify_password(user.password_hash, password):
        record_event("auth.reauth_failed", actor=user, obj=user)
        raise ValidationError("The password is not correct", field="password")
    used = _check_code(user, code, ip=ip)
    record_event(
        "auth.reauth",
        actor=user,
        obj=user,
        after={"two_factor": True, "method": used.method},
    )
    return used


@writes
def reset_two_factor(user: User, *, actor: User) -> None:
    """An administrator clears another user's second step (a lost phone); their sessions
    end, and they next sign in with the password alone (then set it up again if their
    role requires it).

    :raises NotAllowed: for your own account, or when there is nothing to reset.
    """
    if actor.id == user.id:
        raise NotAllowed(
            "You cannot reset your own two-step sign-in; ask another administrator"
        )
    if not has_two_factor(user):
        raise NotAllowed(f"{user.name} has not set up two-step sign-in")
    _clear(user)
    user.session_token = new_session_token()
    record_event(
        "auth.two_factor.reset",
        actor=actor,
        obj=user,
        before={"two_factor": True},
        after={"two_factor": False},
    )
    db.session.flush()
