"""User accounts and roles."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from funds.models.base import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do; the permission table in funds.permissions maps roles to routes."""

    ADMIN = "admin"
    MANAGER = "manager"
    FINANCE = "finance"
    STAFF = "staff"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.ADMIN: "Administrator",
    Role.MANAGER: "Manager",
    Role.FINANCE: "Finance",
    Role.STAFF: "Staff",
}


def new_session_token() -> str:
    """A fresh random token; rotating it ends every session the user has open."""
    return secrets.token_urlsafe(32)


class User(UserMixin, Base):
    """Someone who signs in to funds."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-cased; the sign-in name.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(
        Enum(
            Role,
            native_enum=False,
            length=20,
            values_callable=lambda e: [r.value for r in e],
        )
    )
    #: argon2id hash; never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Flask-Login's "alternative token": the session cookie carries this, not the user id,
    #: so rotating it (logout, password change, disable) makes old cookies worthless.
    session_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=new_session_token
    )
    disabled: Mapped[bool] = mapped_column(default=False)
    #: Set when an administrator resets the password: the user must choose a new one.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The TOTP secret (base32) once the second step is set up; None until then.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: When the user confirmed their authenticator app (the second step is on from then).
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last 30-second step accepted, so a code is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
