"""Reads for the hand-off to the accounts: a grant's bank payments in a period, its
ledger lines, and the known timing differences between funds and the accounts.

What counts as a *payment in the period* (the lines of every accounting file):

- an award finance marked paid, dated on its payment date (``paid_on``);
- a voucher batch bought with the grant's money, dated on its purchase (stock vouchers
  are paid for when the batch is bought, so issuing one pays nothing more); a batch that
  cost nothing is left out;
- the reversal of an award that was paid, as money coming back (a negative amount),
  dated on the reversal, or on the payment when the reversal was dated before it. The
  reversal of an award never paid (or of a stock voucher) moved no money and is left out.

Awards are never netted against their reversals: the accounts see the payment in its
period and the credit in the reversal's period.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from funds.extensions import db
from funds.locks import active_locks, covering
from funds.models import (
    Disbursement,
    DisbursementPayment,
    Grant,
    Household,
    ItemType,
    SpendCategory,
    Voucher,
    VoucherBatch,
    VoucherStatus,
    YoungPerson,
)
from funds.money import PENNY, from_pence, pence_of, pence_sum
from funds.payment_status import status_of, unpaid
from funds.suppliers import supplier_for_sharing

AWARD = "award"
REVERSAL = "reversal"
BATCH = "voucher-batch"
_KIND_ORDER = {AWARD: 0, BATCH: 1, REVERSAL: 2}


def txn_id(record_id: int, kind: str = AWARD) -> str:
    """The id funds gives a line in the accounts: ``FUNDS-12`` or ``FUNDS-VB-3``."""
    return f"FUNDS-VB-{record_id}" if kind == BATCH else f"FUNDS-{record_id}"


@dataclass(frozen=True)
class PaymentLine:
    """One bank payment (or refund) of a grant, as the accounting files carry it."""

    kind: str
    record_id: int
    on: date
    #: Pounds: positive is money out (spending), negative money back (a reversal).
    amount: Decimal
    supplier: str | None
    item: str
    category_id: int
    category: str
    nominal_code: str | None
    tax_rate: str | None
    payment_reference: str | None
    #: The pseudonymous reference of the household or young person (never a name).
    beneficiary: str | None
    quantity: int
    #: For a reversal: the id of the award it cancels.
    reverses_id: int | None = None
    #: For a voucher batch: each voucher's face value.
    face_value: Decimal | None = None

    @property
    def txn_id(self) -> str:
        return txn_id(self.record_id, self.kind)


def _beneficiary():
    return func.coalesce(Household.reference, YoungPerson.reference)


def _with_category(stmt, item_type_id):
    return (
        stmt.join(ItemType, ItemType.id == item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
    )


_CATEGORY_COLUMNS = (
    ItemType.name,
    SpendCategory.id,
    SpendCategory.name,
    SpendCategory.nominal_code,
    SpendCategory.tax_rate,
)


def _supplier():
    """The supplier, except for money paid to the person helped (cash, bank transfer,
    cash-out voucher): there the "supplier" box may hold a person's name, which must not
    reach the accounts, so the default contact is used instead."""
    return supplier_for_sharing()


def _paid_awards(grant_id: int, date_from: date, date_to: date):
    stmt = select(
        Disbursement.id,
        DisbursementPayment.paid_on,
        Disbursement.amount,
        _supplier(),
        *_CATEGORY_COLUMNS,
        DisbursementPayment.payment_reference,
        _beneficiary(),
        Disbursement.quantity,
    ).join(DisbursementPayment, DisbursementPayment.disbursement_id == Disbursement.id)
    return _with_category(stmt, Disbursement.item_type_id).where(
        Disbursement.grant_id == grant_id,
        Disbursement.reverses_id.is_(None),
        DisbursementPayment.paid_on.between(date_from, date_to),
    )


def _credit_parts():
    """(original award, its payment, the day the money comes back) for reversals."""
    original = aliased(Disbursement)
    payment = aliased(DisbursementPayment)
    credit_on = case(
        (Disbursement.awarded_on < payment.paid_on, payment.paid_on),
        else_=Disbursement.awarded_on,
    )
    return original, payment, credit_on


def _paid_reversals(grant_id: int, date_from: date, date_to: date):
    original, payment, credit_on = _credit_parts()
    stmt = (
        select(
            Disbursement.id,
            credit_on.label("credit_on"),
            Disbursement.amount,
            _supplier(),
            *_CATEGORY_COLUMNS,
            payment.payment_reference,
            _beneficiary(),
            Disbursement.quantity,
            original.id,
        )
        .join(original, original.id == Disbursement.reverses_id)
        .join(payment, payment.disbursement_id == original.id)
    )
    return _with_category(stmt, Disbursement.item_type_id).where(
        Disbursement.grant_id == grant_id,
        credit_on.between(date_from, date_to),
    )


def _batches(grant_id: int, date_from: date, date_to: date):
    return (
        select(
            VoucherBatch.id,
            VoucherBatch.purchased_on,
            VoucherBatch.purchase_cost,
            VoucherBatch.supplier,
            *_CATEGORY_COLUMNS,
            VoucherBatch.reference,
            VoucherBatch.quantity,
            VoucherBatch.face_value,
        )
        .join(ItemType, ItemType.id == VoucherBatch.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .where(
            VoucherBatch.grant_id == grant_id,
            VoucherBatch.purchased_on.between(date_from, date_to),
            pence_of(VoucherBatch.purchase_cost) > 0,
        )
    )


def payment_lines(grant_id: int, date_from: date, date_to: date) -> list[PaymentLine]:
    """Every payment of the grant in the period (see the module's docstring), oldest
    first."""
    lines: list[PaymentLine] = []
    for row in db.session.execute(_paid_awards(grant_id, date_from, date_to)):
        lines.append(PaymentLine(AWARD, *row))
    for row in db.session.execute(_paid_reversals(grant_id, date_from, date_to)):
        *fields, reverses_id = row
        lines.append(PaymentLine(REVERSAL, *fields, reverses_id=reverses_id))
    for row in db.session.execute(_batches(grant_id, date_from, date_to)):
        *fields, quantity, face_value = row
        lines.append(
            PaymentLine(
                BATCH,
                *fields,
                beneficiary=None,
                quantity=quantity,
                face_value=face_value,
            )
        )
    lines.sort(key=lambda line: (line.on, _KIND_ORDER[line.kind], line.record_id))
    return lines


def paid_total(grant_id: int, date_from: date, date_to: date) -> Decimal:
    """The net of the grant's payments in the period, summed in SQL: what the accounts
    should show for the grant's code."""
    awards = (
        select(pence_sum(Disbursement.amount))
        .join(
            DisbursementPayment, DisbursementPayment.disbursement_id == Disbursement.id
        )
        .where(
            Disbursement.grant_id == grant_id,
            Disbursement.reverses_id.is_(None),
            DisbursementPayment.paid_on.between(date_from, date_to),
        )
    )
    original, payment, credit_on = _credit_parts()
    reversals = (
        select(pence_sum(Disbursement.amount))
        .join(original, original.id == Disbursement.reverses_id)
        .join(payment, payment.disbursement_id == original.id)
        .where(Disbursement.grant_id == grant_id, credit_on.between(date_from, date_to))
    )
    batches = select(pence_sum(VoucherBatch.purchase_cost)).where(
        VoucherBatch.grant_id == grant_id,
        VoucherBatch.purchased_on.between(date_from, date_to),
    )
    pence = sum(int(db.session.scalar(stmt)) for stmt in (awards, reversals, batches))
    return from_pence(pence)


# --- the ledger export ------------------------------------------------------------------


def ledger_rows(grant_id: int, date_from: date, date_to: date) -> Iterator:
    """Every ledger line of the grant dated in the period, with its payment, read in
    batches (for a streamed download)."""
    # Aliased: status_of() looks payments up in its own subqueries.
    payment = aliased(DisbursementPayment)
    stmt = (
        select(
            Disbursement.id,
            Disbursement.awarded_on,
            Disbursement.amount,
            Disbursement.supplier,
            *_CATEGORY_COLUMNS,
            Disbursement.quantity,
            Disbursement.reverses_id,
            status_of().label("status"),
            payment.paid_on,
            payment.payment_reference,
            Disbursement.delivery_method,
            _beneficiary(),
        )
        .outerjoin(payment, payment.disbursement_id == Disbursement.id)
        .where(
            Disbursement.grant_id == grant_id,
            Disbursement.awarded_on.between(date_from, date_to),
        )
        .order_by(Disbursement.awarded_on, Disbursement.id)
        .execution_options(yield_per=500)
    )
    stmt = _with_category(stmt, Disbursement.item_type_id)
    return iter(db.session.execute(stmt))


# --- reconciliation ---------------------------------------------------------------------


@dataclass(frozen=True)
class TimingItem:
    """One line of a known timing difference."""

    reference: str
    on: date
    description: str
    #: What it would add to (accounts − funds) if the accounts already count it.
    effect: Decimal


def unpaid_awards(grant_id: int, date_from: date, date_to: date) -> list[TimingItem]:
    """Awards dated in the period that finance has not marked paid (the accounts may
    already show them, paid from the bank or accrued)."""
    stmt = _with_category(
        select(Disbursement.id, Disbursement.awarded_on, Disbursement.amount)
        .add_columns(ItemType.name, SpendCategory.name)
        .where(
            Disbursement.grant_id == grant_id,
            Disbursement.awarded_on.between(date_from, date_to),
            unpaid(),
        )
        .order_by(Disbursement.awarded_on, Disbursement.id),
        Disbursement.item_type_id,
    )
    return [
        TimingItem(txn_id(id_), on, f"{item} ({category}), not yet paid", amount)
        for id_, on, amount, item, category in db.session.execute(stmt)
    ]


def unissued_vouchers(
    grant_id: int, date_from: date, date_to: date
) -> list[TimingItem]:
    """Vouchers of batches bought in the period still in stock: paid for here, but the
    accounts may hold them as stock rather than spending. Their cost is the batch's cost
    shared equally between its vouchers, rounded to the penny."""
    in_stock = (
        select(Voucher.batch_id, func.count(Voucher.id).label("left"))
        .where(Voucher.status == VoucherStatus.IN_STOCK)
        .group_by(Voucher.batch_id)
        .subquery()
    )
    stmt = (
        select(
            VoucherBatch.id,
            VoucherBatch.purchased_on,
            VoucherBatch.supplier,
            VoucherBatch.purchase_cost,
            VoucherBatch.quantity,
            in_stock.c.left,
        )
        .join(in_stock, in_stock.c.batch_id == VoucherBatch.id)
        .where(
            VoucherBatch.grant_id == grant_id,
            VoucherBatch.purchased_on.between(date_from, date_to),
            pence_of(VoucherBatch.purchase_cost) > 0,
        )
        .order_by(VoucherBatch.purchased_on, VoucherBatch.id)
    )
    items = []
    for id_, on, supplier, cost, quantity, left in db.session.execute(stmt):
        value = (cost * left / quantity).quantize(PENNY, rounding=ROUND_HALF_UP)
        items.append(
            TimingItem(
                txn_id(id_, BATCH),
                on,
                f"{left} of {quantity} vouchers from {supplier} not yet issued",
                -value,
            )
        )
    return items


def late_reversals(grant_id: int, date_from: date, date_to: date) -> list[TimingItem]:
    """Reversals of awards paid in the period, dated after it because the award's period
    was locked: funds shows the credit later; the accounts may have put it in this
    period."""
    original, payment, credit_on = _credit_parts()
    stmt = (
        select(
            Disbursement.id,
            credit_on.label("credit_on"),
            Disbursement.amount,
            original.id,
            original.awarded_on,
        )
        .join(original, original.id == Disbursement.reverses_id)
        .join(payment, payment.disbursement_id == original.id)
        .where(
            Disbursement.grant_id == grant_id,
            payment.paid_on.between(date_from, date_to),
            credit_on > date_to,
        )
        .order_by(Disbursement.id)
    )
    rows = list(db.session.execute(stmt))
    locks = active_locks([grant_id])[grant_id]
    items = []
    for id_, on, amount, original_id, awarded_on in rows:
        lock = covering(locks, awarded_on)
        if lock is None or on <= lock.ends_on:
            continue
        items.append(
            TimingItem(
                txn_id(id_),
                on,
                f"Reversal of {txn_id(original_id)}, after the period "
                f"{lock.starts_on:%d/%m/%Y} to {lock.ends_on:%d/%m/%Y} was locked",
                amount,
            )
        )
    return items


def grant_by_reference(reference: str) -> Grant | None:
    """The grant with this reference, if any."""
    return db.session.scalar(select(Grant).where(Grant.reference == reference))
