"""Activity sessions (a kayaking trip, a theatre visit) and who attended them."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, utcnow
from funds.models.disbursement import Disbursement
from funds.models.grant import Grant
from funds.models.people import YoungPerson
from funds.models.taxonomy import ItemType
from funds.models.team import Team
from funds.money import Money, money_checks


class ActivitySession(Base):
    """One group activity on one day; its cost is one ledger line from the grant."""

    __tablename__ = "activity_sessions"
    __table_args__ = (
        CheckConstraint(
            "duration_minutes > 0 AND duration_minutes <= 1440", name="duration_range"
        ),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("carers >= 0", name="carers_not_negative"),
        *money_checks("cost_pence", positive=True),
        Index("ix_activity_sessions_grant_date", "grant_id", "held_on"),
        # The sessions list pages newest first across every grant.
        Index("ix_activity_sessions_held_on_id", "held_on", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: An item type of an activity category (Kayaking, Theatre trip...).
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    held_on: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[time | None] = mapped_column(Time)
    duration_minutes: Mapped[int] = mapped_column(default=120)
    supplier: Mapped[str | None] = mapped_column(String(120))
    #: The whole session's cost, recorded as the ledger line ``disbursement_id``.
    cost: Mapped[Decimal] = mapped_column("cost_pence", Money)
    capacity: Mapped[int | None]
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    notes: Mapped[str | None] = mapped_column(Text)
    #: Accompanying parents or carers (counted, not named).
    carers: Mapped[int] = mapped_column(default=0)
    disbursement_id: Mapped[int] = mapped_column(
        ForeignKey("disbursements.id"), unique=True
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item_type: Mapped[ItemType] = relationship()
    grant: Mapped[Grant] = relationship()
    team: Mapped[Team | None] = relationship()
    disbursement: Mapped[Disbursement] = relationship()
    attendances: Mapped[list[Attendance]] = relationship(back_populates="session")


class Attendance(Base):
    """A young person at a session. Corrections add or remove rows (audited); money is untouched."""

    __tablename__ = "attendances"
    __table_args__ = (UniqueConstraint("session_id", "young_person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("activity_sessions.id"), index=True
    )
    young_person_id: Mapped[int] = mapped_column(
        ForeignKey("young_people.id"), index=True
    )
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[ActivitySession] = relationship(back_populates="attendances")
    young_person: Mapped[YoungPerson] = relationship()
