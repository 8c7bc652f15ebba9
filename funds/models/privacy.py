"""Keeping and erasing records: retention rules, holds, and the log of erasures."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only
from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.user import User


class RecordKind(enum.StrEnum):
    """The kinds of record a retention rule covers."""

    HOUSEHOLDS = "households"
    YOUNG_PEOPLE = "young-people"
    EVIDENCE = "evidence"
    AUDIT = "audit"

    @property
    def label(self) -> str:
        return {
            "households": "Households and their awards",
            "young-people": "Young people and their registers",
            "evidence": "Evidence files",
            "audit": "Audit trail",
        }[self]


class RetentionEvent(enum.StrEnum):
    """The event a retention period runs from."""

    LAST_AWARD = "last-award"
    BIRTHDAY_25 = "25th-birthday"
    YEAR_END = "year-end"

    @property
    def label(self) -> str:
        return {
            "last-award": "the last award or attendance",
            "25th-birthday": "the 25th birthday",
            "year-end": "the end of the financial year",
        }[self]


class RetentionRule(Base):
    """How long one kind of record is kept: ``months`` after ``event``."""

    __tablename__ = "retention_rules"
    __table_args__ = (
        CheckConstraint("months BETWEEN 0 AND 1200", name="months_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RecordKind] = mapped_column(db_enum(RecordKind), unique=True)
    months: Mapped[int]
    event: Mapped[RetentionEvent] = mapped_column(db_enum(RetentionEvent))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    updated_by: Mapped[User | None] = relationship()


class RetentionHold(Base):
    """A pause on retention and erasure (a complaint, litigation) for one person or grant."""

    __tablename__ = "retention_holds"
    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN household_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN young_person_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN grant_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="holds_one_record",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id"), index=True
    )
    young_person_id: Mapped[int | None] = mapped_column(
        ForeignKey("young_people.id"), index=True
    )
    grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str | None] = mapped_column(Text)

    placed_by: Mapped[User | None] = relationship(foreign_keys=[placed_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class ErasureLog(Base):
    """That a person was erased: reference only, so the erasure can be applied again after
    an older backup is restored. Append-only."""

    __tablename__ = "erasure_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``household`` or ``young-person``.
    subject_type: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(16), index=True)
    erased_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: None when a schedule (the CLI's retention apply) erased it.
    erased_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: Why (the request, the retention rule); never the erased values.
    reason: Mapped[str] = mapped_column(Text)

    erased_by: Mapped[User | None] = relationship()


make_append_only(ErasureLog.__table__)
