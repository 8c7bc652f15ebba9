"""Reads for payment runs: the awards a run could pay, the runs, one run's lines."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from funds.disbursements.queries import LedgerFilter, ledger_query
from funds.extensions import db
from funds.models import (
    Disbursement,
    DisbursementPayment,
    Grant,
    Household,
    ItemType,
    PaymentRun,
    YoungPerson,
)
from funds.payment_status import PaymentStatus
from funds.payments.services import MAX_RUN_LINES


def payable_filter(filters: LedgerFilter) -> LedgerFilter:
    """The awards list's filter, narrowed to what is not yet paid (whatever it said)."""
    return replace(filters, payment_status=PaymentStatus.UNPAID)


def payable_awards(
    filters: LedgerFilter, *, limit: int = MAX_RUN_LINES
) -> list[Disbursement]:
    """Awards not yet paid that match ``filters``, oldest first, at most ``limit``."""
    query = (
        ledger_query(payable_filter(filters))
        .order_by(None)
        .order_by(Disbursement.awarded_on, Disbursement.id)
        .limit(limit)
    )
    return list(db.session.scalars(query).unique())


def list_runs() -> list[PaymentRun]:
    """Every payment run, newest first, with who made it."""
    return list(
        db.session.scalars(
            select(PaymentRun)
            .options(joinedload(PaymentRun.created_by))
            .order_by(PaymentRun.id.desc())
        )
    )


def get_run(run_id: int) -> PaymentRun | None:
    """One payment run, or None."""
    return db.session.scalar(
        select(PaymentRun)
        .options(joinedload(PaymentRun.created_by))
        .where(PaymentRun.id == run_id)
    )


def run_lines(run_id: int) -> list[Disbursement]:
    """The awards a run paid, by award id."""
    return list(
        db.session.scalars(
            select(Disbursement)
            .options(
                joinedload(Disbursement.grant),
                joinedload(Disbursement.item_type).joinedload(ItemType.category),
                joinedload(Disbursement.household),
                joinedload(Disbursement.young_person),
            )
            .join(
                DisbursementPayment,
                DisbursementPayment.disbursement_id == Disbursement.id,
            )
            .where(DisbursementPayment.payment_run_id == run_id)
            .order_by(Disbursement.id)
        ).unique()
    )


def remittance_rows(run: PaymentRun) -> Iterator[tuple]:
    """The remittance: per award the run reference, paid on, award id, date, grant,
    supplier, item, amount and the beneficiary's pseudonymous reference (never a name),
    then a total line. Read in batches while the file is written."""
    query = (
        select(
            Disbursement.id,
            Disbursement.awarded_on,
            Grant.reference,
            Disbursement.supplier,
            ItemType.name,
            Disbursement.amount,
            func.coalesce(Household.reference, YoungPerson.reference),
        )
        .join(
            DisbursementPayment,
            DisbursementPayment.disbursement_id == Disbursement.id,
        )
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
        .where(DisbursementPayment.payment_run_id == run.id)
        .order_by(Disbursement.id)
        .execution_options(yield_per=500)
    )
    reference, paid_on, total, lines = run.reference, run.paid_on, run.total, run.lines
    for row in db.session.execute(query):
        yield (reference, paid_on, *row)
    label = f"Total ({lines} award{'s' if lines != 1 else ''})"
    yield (reference, paid_on, None, None, None, None, label, total, None)
