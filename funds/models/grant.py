"""Grants, their budget lines and the history of their totals."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only
from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.funder import Funder
from funds.models.taxonomy import SpendCategory
from funds.models.team import Team
from funds.money import Money, money_checks


class BudgetControl(enum.StrEnum):
    """What happens when an award would spend more than is left."""

    BLOCK = "block"  # refused
    WARN = "warn"  # a manager may confirm it; recorded as an override

    @property
    def label(self) -> str:
        return {"block": "Block overspending", "warn": "Warn; a manager may confirm"}[
            self
        ]


class GrantStatus(enum.StrEnum):
    """Open grants take new awards; closed ones do not."""

    OPEN = "open"
    CLOSED = "closed"


#: The largest single award a new grant takes unless a manager sets another.
DEFAULT_MAX_AWARD = Decimal("10000.00")
#: How far (percent) a new grant's forecast may fall short unless a manager sets another.
DEFAULT_TOLERANCE = 10


class Grant(Base):
    """One award of money from a funder, to be spent within its period."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_order"),
        CheckConstraint(
            "forecast_tolerance BETWEEN 0 AND 100", name="tolerance_percent"
        ),
        *money_checks("total_pence", positive=True),
        *money_checks("evidence_required_above_pence", non_negative=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The funder's or our own reference, e.g. ``C4C-HSF4-2023``; unique.
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    #: The amount awarded, in pence; changed only through change_grant_total (audited).
    total: Mapped[Decimal] = mapped_column("total_pence", Money)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    control: Mapped[BudgetControl] = mapped_column(
        db_enum(BudgetControl), default=BudgetControl.BLOCK
    )
    #: The largest single award (pence): a slip of the keyboard is caught; payroll lines
    #: on a staff grant can be allowed more.
    max_award: Mapped[Decimal] = mapped_column(
        "max_award_pence",
        Money,
        default=DEFAULT_MAX_AWARD,
        server_default=str(int(DEFAULT_MAX_AWARD * 100)),
    )
    status: Mapped[GrantStatus] = mapped_column(
        db_enum(GrantStatus), default=GrantStatus.OPEN
    )
    notes: Mapped[str | None] = mapped_column(Text)
    #: The code the accounts know this grant by (Xero tracking option, QuickBooks class,
    #: Sage analysis type).
    accounts_code: Mapped[str | None] = mapped_column(String(60))
    #: When the funder expects the next return.
    return_due_on: Mapped[date | None] = mapped_column(Date)
    #: How far (percent of the total) the forecast may fall short of the total before the
    #: grant shows as underspending.
    forecast_tolerance: Mapped[int] = mapped_column(
        default=DEFAULT_TOLERANCE, server_default=str(DEFAULT_TOLERANCE)
    )
    #: Awards above this amount need an evidence file (None: no rule).
    evidence_required_above: Mapped[Decimal | None] = mapped_column(
        "evidence_required_above_pence", Money
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    funder: Mapped[Funder] = relationship()
    team: Mapped[Team | None] = relationship()
    budget_lines: Mapped[list[BudgetLine]] = relationship(back_populates="grant")

    @property
    def is_open(self) -> bool:
        return self.status == GrantStatus.OPEN

    def covers(self, day: date) -> bool:
        """True if ``day`` lies within the grant's period (both ends included)."""
        return self.starts_on <= day <= self.ends_on

    def __repr__(self) -> str:
        return f"<Grant {self.reference}>"


class BudgetLine(Base):
    """Part of a grant set aside for one spend category, with its own control."""

    __tablename__ = "budget_lines"
    __table_args__ = (
        UniqueConstraint("grant_id", "category_id"),
        *money_checks("amount_pence", non_negative=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("spend_categories.id"))
    #: Pence set aside; all lines of a grant together never exceed its total.
    amount: Mapped[Decimal] = mapped_column("amount_pence", Money)
    control: Mapped[BudgetControl] = mapped_column(
        db_enum(BudgetControl), default=BudgetControl.BLOCK
    )

    grant: Mapped[Grant] = relationship(back_populates="budget_lines")
    category: Mapped[SpendCategory] = relationship()


class GrantTotalChange(Base):
    """Each change of a grant's total, kept for ever (append-only)."""

    __tablename__ = "grant_total_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    old_total: Mapped[Decimal] = mapped_column("old_total_pence", Money)
    new_total: Mapped[Decimal] = mapped_column("new_total_pence", Money)
    reason: Mapped[str] = mapped_column(Text)
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


make_append_only(GrantTotalChange.__table__)
