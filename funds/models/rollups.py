"""Running totals the ledger keeps for itself, so that a page reads a handful of rows.

Database triggers (funds.models.rollup_triggers) change them in the same transaction as
every write to the ledger, its payments and the vouchers, under the lock that write holds.
They are never written by the application. ``flask ledger verify`` recomputes each one
from the ledger and reports any difference (funds.ledger_verify).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from funds.models.base import Base
from funds.models.rollup_triggers import make_rollups


class GrantBalance(Base):
    """One row per grant: its net spend, award count, awards not yet paid, vouchers held."""

    __tablename__ = "grant_balances"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    #: Net spend in pence: awards less reversals.
    spent_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Award lines (reversal lines are not counted) and all lines.
    awards: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[int] = mapped_column(BigInteger, default=0)
    #: The awards not yet paid (funds.payment_status): how many, and their value in pence.
    unpaid_awards: Mapped[int] = mapped_column(BigInteger, default=0)
    unpaid_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Face value of the grant's vouchers bought and not issued (in stock or expired).
    held_pence: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerRollup(Base):
    """Net spend and lines per grant, item type and month: a grant's categories and
    months are sums of at most a few thousand rows, whatever the ledger's size."""

    __tablename__ = "ledger_rollups"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    item_type_id: Mapped[int] = mapped_column(
        ForeignKey("item_types.id"), primary_key=True
    )
    #: The first day of the lines' month (of Disbursement.awarded_on).
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_pence: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Award lines (not reversals) and all lines.
    awards: Mapped[int] = mapped_column(BigInteger, default=0)
    lines: Mapped[int] = mapped_column(BigInteger, default=0)


class LedgerDay(Base):
    """Net spend per grant and day (the dashboard's recent spend and daily profile)."""

    __tablename__ = "ledger_days"

    grant_id: Mapped[int] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    awarded_on: Mapped[date] = mapped_column(Date, primary_key=True)
    spent_pence: Mapped[int] = mapped_column(BigInteger, default=0)


class UnpaidAward(Base):
    """The awards not yet paid, one row each: an award joins when it is recorded and
    leaves when it is paid, reversed or settled by a voucher from stock."""

    __tablename__ = "unpaid_awards"
    __table_args__ = (
        Index("ix_unpaid_awards_grant_day", "grant_id", "awarded_on"),
        Index("ix_unpaid_awards_day", "awarded_on", "disbursement_id"),
    )

    disbursement_id: Mapped[int] = mapped_column(
        ForeignKey("disbursements.id", ondelete="CASCADE"), primary_key=True
    )
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"))
    awarded_on: Mapped[date] = mapped_column(Date)
    amount_pence: Mapped[int] = mapped_column(BigInteger)


make_rollups(GrantBalance.metadata)
