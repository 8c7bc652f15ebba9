"""Whether an award still has to be paid: the one home of that rule.

An award is *not yet paid* when it is an award (not a reversal line), nothing reversed it,
finance has not marked it paid, and it is not a voucher from stock: a stock voucher was
paid for when its batch was bought, so giving it out pays nothing more.
"""

from __future__ import annotations

import enum

from sqlalchemy import and_, case, exists, select
from sqlalchemy.orm import aliased

from funds.models import Disbursement, DisbursementPayment, UnpaidAward, Voucher


class PaymentStatus(enum.StrEnum):
    """Where an award stands with payment, as the awards list filters it."""

    UNPAID = "unpaid"
    PAID = "paid"
    #: A voucher from stock: paid for when its batch was bought.
    VOUCHER_STOCK = "voucher-stock"
    REVERSED = "reversed"
    #: The line that cancels an award.
    REVERSAL = "reversal"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    PaymentStatus.UNPAID: "Not yet paid",
    PaymentStatus.PAID: "Paid",
    PaymentStatus.VOUCHER_STOCK: "Voucher from stock (paid with its batch)",
    PaymentStatus.REVERSED: "Reversed",
    PaymentStatus.REVERSAL: "Reversal",
}


def is_paid(line=Disbursement):
    """SQL: finance marked this line paid."""
    return exists(
        select(DisbursementPayment.id).where(
            DisbursementPayment.disbursement_id == line.id
        )
    )


def is_stock_voucher(line=Disbursement):
    """SQL: this line gave out a voucher from a batch already paid for."""
    return exists(select(Voucher.id).where(Voucher.disbursement_id == line.id))


def is_reversed(line=Disbursement):
    """SQL: a reversal cancelled this award."""
    reversal = aliased(Disbursement)
    return exists(select(reversal.id).where(reversal.reverses_id == line.id))


def unpaid(line=Disbursement):
    """SQL: the award still has to be paid (see the module's docstring)."""
    return and_(
        line.reverses_id.is_(None),
        ~is_reversed(line),
        ~is_paid(line),
        ~is_stock_voucher(line),
    )


def listed_unpaid(line=Disbursement):
    """SQL: the award is on the list of awards not yet paid that the ledger keeps
    (funds.models.rollups.UnpaidAward): the same set as ``unpaid()``, kept by triggers in
    every write's transaction and checked against ``unpaid()`` by ``flask ledger
    verify``. One primary-key probe where ``unpaid()`` makes three."""
    return exists(
        select(UnpaidAward.disbursement_id).where(
            UnpaidAward.disbursement_id == line.id
        )
    )


def status_of(line=Disbursement):
    """SQL: the line's PaymentStatus value."""
    return case(
        (line.reverses_id.is_not(None), PaymentStatus.REVERSAL.value),
        (is_reversed(line), PaymentStatus.REVERSED.value),
        (is_paid(line), PaymentStatus.PAID.value),
        (is_stock_voucher(line), PaymentStatus.VOUCHER_STOCK.value),
        else_=PaymentStatus.UNPAID.value,
    )


def condition(status: PaymentStatus, line=Disbursement):
    """SQL: the line has ``status`` (for the awards list's filter)."""
    if status is PaymentStatus.UNPAID:
        return listed_unpaid(line)
    if status is PaymentStatus.REVERSAL:
        return line.reverses_id.is_not(None)
    if status is PaymentStatus.REVERSED:
        return and_(line.reverses_id.is_(None), is_reversed(line))
    if status is PaymentStatus.PAID:
        return and_(line.reverses_id.is_(None), ~is_reversed(line), is_paid(line))
    return and_(
        line.reverses_id.is_(None),
        ~is_reversed(line),
        ~is_paid(line),
        is_stock_voucher(line),
    )
