"""Writes about a grant's income and transfers. Each is audited; receipts and transfers
are append-only (a correction is a further entry), expected income may be removed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from funds.audit import record_event
from funds.database import writes
from funds.errors import ValidationError
from funds.extensions import db
from funds.models import ExpectedIncome, FundTransfer, Grant, GrantReceipt, User


def _not_future(day: date, today: date, field: str) -> None:
    if day > today:
        raise ValidationError("The date cannot be in the future", field=field)


@writes
def record_receipt(
    grant: Grant,
    *,
    actor: User,
    received_on: date,
    amount: Decimal,
    reference: str,
    notes: str | None,
    today: date,
) -> GrantReceipt:
    """Money received from the funder (``amount`` < 0: paid back to the funder)."""
    _not_future(received_on, today, "received_on")
    if amount == 0:
        raise ValidationError("Enter an amount other than £0.00", field="amount")
    receipt = GrantReceipt(
        grant_id=grant.id,
        received_on=received_on,
        amount=amount,
        reference=reference,
        notes=notes or None,
        created_by_id=actor.id,
    )
    db.session.add(receipt)
    db.session.flush()
    record_event(
        "income.receive",
        actor=actor,
        obj=receipt,
        after={
            "grant": grant.reference,
            "received_on": received_on,
            "amount": amount,
            "reference": reference,
        },
    )
    return receipt


@writes
def add_expected(
    grant: Grant,
    *,
    actor: User,
    due_on: date,
    amount: Decimal,
    description: str | None,
) -> ExpectedIncome:
    """A payment the grant agreement says the funder will make."""
    expected = ExpectedIncome(
        grant_id=grant.id,
        due_on=due_on,
        amount=amount,
        description=description or None,
        created_by_id=actor.id,
    )
    db.session.add(expected)
    db.session.flush()
    record_event(
        "income.expect",
        actor=actor,
        obj=expected,
        after={
            "grant": grant.reference,
            "due_on": due_on,
            "amount": amount,
            "description": description,
        },
    )
    return expected


@writes
def remove_expected(expected: ExpectedIncome, *, actor: User) -> None:
    """Take a payment off the schedule (the agreement changed); the audit keeps it."""
    record_event(
        "income.unexpect",
        actor=actor,
        obj=expected,
        before={
            "grant_id": expected.grant_id,
            "due_on": expected.due_on,
            "amount": expected.amount,
            "description": expected.description,
        },
    )
    db.session.delete(expected)
    db.session.flush()


@writes
def record_transfer(
    grant: Grant,
    *,
    actor: User,
    direction: str,
    other_grant: Grant | None,
    other_fund: str | None,
    transferred_on: date,
    amount: Decimal,
    reason: str,
    today: date,
) -> FundTransfer:
    """Move money into (``direction`` "in") or out of ``grant``'s fund, from or to
    another grant's fund or a named fund."""
    _not_future(transferred_on, today, "transferred_on")
    if direction not in ("in", "out"):
        raise ValidationError(
            "Choose whether money comes in or goes out", field="direction"
        )
    if other_grant is not None and other_grant.id == grant.id:
        raise ValidationError(
            "Choose another grant: a fund cannot transfer to itself",
            field="other_grant",
        )
    if other_grant is None and not other_fund:
        raise ValidationError(
            "Choose the other grant or name the other fund", field="other_fund"
        )
    if other_grant is not None and other_fund:
        raise ValidationError(
            "Choose another grant or name a fund, not both", field="other_fund"
        )
    if not reason or not reason.strip():
        raise ValidationError("Enter the reason for the transfer", field="reason")
    into, out_of = (grant, other_grant) if direction == "in" else (other_grant, grant)
    transfer = FundTransfer(
        from_grant_id=out_of.id if out_of is not None else None,
        to_grant_id=into.id if into is not None else None,
        other_fund=other_fund,
        transferred_on=transferred_on,
        amount=amount,
        reason=reason,
        created_by_id=actor.id,
    )
    db.session.add(transfer)
    db.session.flush()
    record_event(
        "income.transfer",
        actor=actor,
        obj=transfer,
        after={
            "from": out_of.reference if out_of is not None else other_fund,
            "to": into.reference if into is not None else other_fund,
            "transferred_on": transferred_on,
            "amount": amount,
            "reason": reason,
        },
    )
    return transfer
