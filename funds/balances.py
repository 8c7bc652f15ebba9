"""What a grant has left to award: total, less net spend, less voucher stock it holds."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from funds.extensions import db
from funds.models import Disbursement, Grant, Voucher, VoucherBatch, VoucherStatus
from funds.money import from_pence, pence_of, pence_sum

#: Vouchers bought but never given out still hold the grant's money (returned ones do not).
UNISSUED = (VoucherStatus.IN_STOCK, VoucherStatus.EXPIRED)


def spent_pence(grant_id: int) -> int:
    """Net spend on a grant in pence: awards less reversals."""
    return db.session.scalar(
        select(pence_sum(Disbursement.amount)).where(Disbursement.grant_id == grant_id)
    )


def voucher_stock_pence(grant_id: int) -> int:
    """Face value, in pence, of the grant's vouchers bought and not issued or returned."""
    return db.session.scalar(
        select(func.coalesce(func.sum(pence_of(VoucherBatch.face_value)), 0))
        .select_from(Voucher)
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
        .where(VoucherBatch.grant_id == grant_id, Voucher.status.in_(UNISSUED))
    )


def voucher_stock(grant_id: int) -> Decimal:
    """Face value of the grant's unissued vouchers (in stock or expired)."""
    return from_pence(voucher_stock_pence(grant_id))


def available_to_award(grant: Grant) -> Decimal:
    """Total − net spend − unissued voucher stock: what the budget control allows."""
    return grant.total - from_pence(
        spent_pence(grant.id) + voucher_stock_pence(grant.id)
    )
