"""Failed log-in attempts, counted in the database so every worker sees the same throttle."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from funds.models.base import Base, UTCDateTime, utcnow


class LoginFailure(Base):
    """One failed log-in, keyed by a hash of the email typed and by the client address."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the lower-cased email typed, whether or not such a user exists.
    email_key: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
