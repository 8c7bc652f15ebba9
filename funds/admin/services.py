"""User administration: add users, change roles, disable, reset passwords."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from funds.audit import record_event
from funds.auth.passwords import hash_password
from funds.auth.services import check_new_password, normalise_email
from funds.database import writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import Role, User
from funds.models.user import new_session_token


def user_count() -> int:
    """How many accounts exist (the first-run page exists only while this is 0)."""
    return db.session.scalar(select(func.count()).select_from(User))


def temporary_password() -> str:
    """A random one-time password, shown once, that the user must change at sign-in."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


@writes
def create_user(
    *,
    actor: User | None,
    email: str,
    name: str,
    role: Role,
    password: str | None = None,
) -> tuple[User, str | None]:
    """Add a user. Without a password a temporary one is generated and returned (once).

    :raises ValidationError: when the email is taken or the password is weak.
    """
    email = normalise_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise ValidationError(
            "A user with this email address already exists", field="email"
        )
    temporary = None
    if password is None:
        temporary = password = temporary_password()
    else:
        check_new_password(name, email, password)
    user = User(
        email=email,
        name=name,
        role=Role(role),
        password_hash=hash_password(password),
        must_change_password=temporary is not None,
    )
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create",
        actor=actor or user,
        obj=user,
        after={"email": user.email, "name": user.name, "role": user.role},
    )
    return user, temporary


def _refuse_self(actor: User, user: User, what: str) -> None:
    if actor.id == user.id:
        raise NotAllowed(
            f"You cannot {what} your own account; ask another administrator"
        )


def _last_active_admin(user: User) -> bool:
    if user.role != Role.ADMIN or user.disabled:
        return False
    admins = db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.disabled.is_(False))
    )
    return admins <= 1


@writes
def change_role(user: User, *, actor: User, role: Role) -> None:
    """Give a user another role; their sessions end so the new role applies at once."""
    role = Role(role)
    if role == user.role:
        return
    _refuse_self(actor, user, "change the role of")
    before = {"role": user.role}
    user.role = role
    user.session_token = new_session_token()
    record_event(
        "user.change_role", actor=actor, obj=user, before=before, after={"role": role}
    )
    db.session.flush()


@writes
def disable_user(user: User, *, actor: User) -> None:
    """Stop a user signing in; any session they have open ends with their next request."""
    _refuse_self(actor, user, "disable")
    if user.disabled:
        return
    if _last_active_admin(user):
        raise NotAllowed(
            "This is the last active administrator; add another before disabling it"
        )
    user.disabled = True
    user.session_token = new_session_token()
    record_event(
        "user.disable",
        actor=actor,
        obj=user,
        before={"disabled": False},
        after={"disabled": True},
    )
    db.session.flush()


@writes
def enable_user(user: User, *, actor: User) -> None:
    """Let a disabled user sign in again."""
    if not user.disabled:
        return
    user.disabled = False
    record_event(
        "user.enable",
        actor=actor,
        obj=user,
        before={"disabled": True},
        after={"disabled": False},
    )
    db.session.flush()


@writes
def reset_password(user: User, *, actor: User) -> str:
    """Give a user a new temporary password (returned once) and end their sessions."""
    _refuse_self(actor, user, "reset the password of")
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.session_token = new_session_token()
    record_event("user.reset_password", actor=actor, obj=user)
    db.session.flush()
    return password
