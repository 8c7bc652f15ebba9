"""Money in and between funds: what the funder pays (and is expected to pay), transfers
between restricted and other funds, and finance's payment runs."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only
from funds.models.base import Base, UTCDateTime, utcnow
from funds.models.grant import Grant
from funds.models.user import User
from funds.money import Money, integer_check, money_checks


class GrantReceipt(Base):
    """Money received from the funder for a grant (a tranche). Append-only: a repayment to
    the funder, or a correction, is a negative receipt with its own reference."""

    __tablename__ = "grant_receipts"
    __table_args__ = (
        integer_check("amount_pence"),
        CheckConstraint("amount_pence <> 0", name="amount_not_zero"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    received_on: Mapped[date] = mapped_column(Date)
    #: Pence received (negative: paid back to the funder).
    amount: Mapped[Decimal] = mapped_column("amount_pence", Money)
    #: The bank or remittance reference.
    reference: Mapped[str] = mapped_column(String(80))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grant: Mapped[Grant] = relationship()
    created_by: Mapped[User] = relationship()


class ExpectedIncome(Base):
    """What the grant agreement says the funder will pay, and when (the schedule)."""

    __tablename__ = "expected_income"
    __table_args__ = (*money_checks("amount_pence", positive=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column("amount_pence", Money)
    description: Mapped[str | None] = mapped_column(String(120))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FundTransfer(Base):
    """Money moved between funds (Charities SORP: transfers between funds), with a reason.

    Each side is a grant's restricted fund or, when its grant is empty, the fund named in
    ``other_fund`` (e.g. "General fund"). Append-only: a mistake is put right by a transfer
    back.
    """

    __tablename__ = "fund_transfers"
    __table_args__ = (
        *money_checks("amount_pence", positive=True),
        CheckConstraint(
            "from_grant_id IS NOT NULL OR to_grant_id IS NOT NULL",
            name="touches_a_grant",
        ),
        CheckConstraint(
            "from_grant_id IS NULL OR to_grant_id IS NULL"
            " OR from_grant_id <> to_grant_id",
            name="two_funds",
        ),
        CheckConstraint(
            "(from_grant_id IS NOT NULL AND to_grant_id IS NOT NULL)"
            " OR other_fund IS NOT NULL",
            name="names_the_other_fund",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("grants.id"), index=True
    )
    to_grant_id: Mapped[int | None] = mapped_column(ForeignKey("grants.id"), index=True)
    #: The fund on the side that is not a grant.
    other_fund: Mapped[str | None] = mapped_column(String(120))
    transferred_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column("amount_pence", Money)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_grant: Mapped[Grant | None] = relationship(foreign_keys=[from_grant_id])
    to_grant: Mapped[Grant | None] = relationship(foreign_keys=[to_grant_id])
    created_by: Mapped[User] = relationship()


class PaymentRun(Base):
    """Awards finance marked paid together, on one date under one reference."""

    __tablename__ = "payment_runs"
    __table_args__ = (
        *money_checks("total_pence", non_negative=True),
        CheckConstraint("lines >= 1", name="lines_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    paid_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(80))
    #: How many awards, and their total, when the run was made.
    lines: Mapped[int]
    total: Mapped[Decimal] = mapped_column("total_pence", Money)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()


make_append_only(GrantReceipt.__table__)
make_append_only(FundTransfer.__table__)
make_append_only(PaymentRun.__table__)
