"""Submitted funder returns and the period locks they create."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only
from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.grant import Grant
from funds.models.user import User


class ReturnTemplate(enum.StrEnum):
    """The shapes of return funds can build."""

    HSF = "hsf"
    ACTIVITIES = "activities"
    BUDGET = "budget"

    @property
    def label(self) -> str:
        return {
            "hsf": "Household Support Fund",
            "activities": "Activity programme",
            "budget": "Budget against actual",
        }[self]


class FunderReturn(Base):
    """A return as submitted: the workbook and its figures are kept exactly as sent."""

    __tablename__ = "funder_returns"
    __table_args__ = (
        CheckConstraint("period_to >= period_from", name="period_order"),
        Index("ix_funder_returns_grant", "grant_id", "period_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    template: Mapped[ReturnTemplate] = mapped_column(db_enum(ReturnTemplate))
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    #: The summary figures as computed from the ledger when submitted.
    figures: Mapped[dict] = mapped_column(JSON)
    #: SHA-256 of the figures, shown on the workbook's cover sheet.
    checksum: Mapped[str] = mapped_column(String(64))
    workbook: Mapped[bytes] = mapped_column(LargeBinary)
    filename: Mapped[str] = mapped_column(String(120))
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grant: Mapped[Grant] = relationship()
    submitted_by: Mapped[User] = relationship()


make_append_only(FunderReturn.__table__)


class PeriodLock(Base):
    """No ledger change may be dated inside a locked period of a grant until it is unlocked."""

    __tablename__ = "period_locks"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_order"),
        Index("ix_period_locks_grant", "grant_id", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    funder_return_id: Mapped[int | None] = mapped_column(
        ForeignKey("funder_returns.id")
    )
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    grant: Mapped[Grant] = relationship()
    funder_return: Mapped[FunderReturn | None] = relationship()
    locked_by: Mapped[User] = relationship(foreign_keys=[locked_by_id])
    unlocked_by: Mapped[User | None] = relationship(foreign_keys=[unlocked_by_id])

    @property
    def active(self) -> bool:
        return self.unlocked_at is None
