"""What a grant has left to award: total, less net spend, less voucher stock it holds."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from funds.extensions import db
from funds.models import Grant, GrantBalance, VoucherStatus
from funds.money import from_pence

#: Vouchers bought but never given out still hold the grant's money (returned ones do not).
UNISSUED = (VoucherStatus.IN_STOCK, VoucherStatus.EXPIRED)


def spent_pence(grant_id: int) -> int:
    """Net spend on a grant in pence: awards less reversals (its running total, which
    the ledger's triggers keep in the same transaction as every line)."""
    return db.session.scalar(select(spent_pence_sql(grant_id)))


def spent_pence_sql(grant_id: int):
    """``spent_pence`` as a scalar subquery, for a query that reads it with other sums."""
    return (
        select(func.coalesce(func.sum(GrantBalance.spent_pence), 0))
        .where(GrantBalance.grant_id == grant_id)
        .scalar_subquery()
    )


def voucher_stock_pence(grant_id: int) -> int:
    """Face value, in pence, of the grant's vouchers bought and not issued or returned."""
    return db.session.scalar(
        select(func.coalesce(func.sum(GrantBalance.held_pence), 0)).where(
            GrantBalance.grant_id == grant_id
        )
    )


def voucher_stock(grant_id: int) -> Decimal:
    """Face value of the grant's unissued vouchers (in stock or expired)."""
    return from_pence(voucher_stock_pence(grant_id))


def available_to_award(grant: Grant) -> Decimal:
    """Total − net spend − unissued voucher stock: what the budget control allows."""
    return grant.total - from_pence(
        spent_pence(grant.id) + voucher_stock_pence(grant.id)
    )
