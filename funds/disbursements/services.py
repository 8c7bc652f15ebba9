"""Recording, reversing and paying ledger lines, with period and budget controls under lock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from funds.audit import record_event
from funds.balances import available_to_award
from funds.database import begin_writing, lock_for_update
from funds.errors import Conflict, FundsError, NotAllowed, ValidationError
from funds.extensions import db
from funds.grants.queries import spent_in_category
from funds.locks import active_lock, check_not_locked, lock_problem
from funds.models import (
    AccessRoute,
    BudgetControl,
    BudgetLine,
    DeliveryMethod,
    Disbursement,
    DisbursementPayment,
    Grant,
    Household,
    ItemType,
    PeriodLock,
    Role,
    User,
    Voucher,
    VoucherStatus,
    YoungPerson,
)
from funds.models.base import utcnow
from funds.models.disbursement import CASH_FIRST_METHODS
from funds.money import format_money
from funds.payment_status import PaymentStatus, status_of

#: Roles that may confirm spending past a ``warn`` control.
OVERRIDE_ROLES = (Role.MANAGER, Role.ADMIN)
#: Roles that may reverse a ledger line.
REVERSAL_ROLES = (Role.FINANCE, Role.MANAGER, Role.ADMIN)
#: Roles that may mark a line paid.
PAYMENT_ROLES = (Role.FINANCE, Role.ADMIN)


class Overspend(ValidationError):
    """The amount is more than is left on the grant or the budget line."""

    field = "amount"

    def __init__(self, message: str, *, remaining: Decimal, can_confirm: bool):
        super().__init__(message)
        self.remaining = remaining
        self.can_confirm = can_confirm


class AlreadyRecorded(Conflict):
    """This form was already submitted (double-click or browser retry)."""

    def __init__(self, disbursement_id: int):
        super().__init__("This was already recorded; it has not been recorded twice.")
        self.disbursement_id = disbursement_id


@dataclass(frozen=True)
class AwardInput:
    """What a clerk typed for one award (already parsed by the form)."""

    grant_id: int
    item_type_id: int
    amount: Decimal
    awarded_on: date
    delivery_method: DeliveryMethod
    access_route: AccessRoute | None = None
    quantity: int = 1
    household_id: int | None = None
    young_person_id: int | None = None
    supplier: str | None = None
    evidence_reference: str | None = None
    notes: str | None = None
    #: The day the person asked for help (cash-first grants report days to payment).
    requested_on: date | None = None
    #: Why it was not paid cash-first, on a cash-first grant.
    method_reason: str | None = None
    extra: dict = field(default_factory=dict)


def check_period(
    grant: Grant, day: date, *, today: date, field: str = "awarded_on"
) -> None:
    """A ledger date must lie within the grant's period and not in the future.

    :raises ValidationError: on ``field``.
    """
    if day > today:
        raise ValidationError("The date cannot be in the future", field=field)
    if not grant.covers(day):
        raise ValidationError(
            f"The date must be within the grant's period, "
            f"{grant.starts_on:%-d %B %Y} to {grant.ends_on:%-d %B %Y}",
            field=field,
        )


def available_on_grant(grant: Grant) -> Decimal:
    """What is left to award: total, less net spend, less unissued voucher stock."""
    return available_to_award(grant)


def _check_budget(
    *,
    amount: Decimal,
    remaining: Decimal,
    control: BudgetControl,
    what: str,
    actor: User,
    confirm: bool,
) -> bool:
    """Apply one control; return True when a manager confirmed an overspend."""
    if amount <= remaining:
        return False
    left = format_money(max(remaining, Decimal(0)))
    can_confirm = control == BudgetControl.WARN and actor.role in OVERRIDE_ROLES
    if control == BudgetControl.WARN and can_confirm and confirm:
        return True
    if control == BudgetControl.BLOCK:
        message = (
            f"This is more than is available to award from {what}: {left} available"
        )
    elif can_confirm:
        message = (
            f"This is more than is available to award from {what} ({left} available). "
            "Tick the box to confirm the overspend."
        )
    else:
        message = (
            f"This is more than is available to award from {what} ({left} available). "
            "Only a manager can confirm an overspend."
        )
    raise Overspend(message, remaining=remaining, can_confirm=can_confirm)


def _beneficiary(data: AwardInput) -> ValidationError | None:
    """What is wrong with the award's beneficiary, if anything."""
    if data.household_id is not None and data.young_person_id is not None:
        return ValidationError(
            "Choose a household or a young person, not both", field="beneficiary"
        )
    if data.household_id is not None:
        household = db.session.get(Household, data.household_id)
        if household is None or household.erased_at is not None:
            return ValidationError(
                "Choose a household that exists", field="beneficiary"
            )
    if data.young_person_id is not None:
        person = db.session.get(YoungPerson, data.young_person_id)
        if person is None or person.erased_at is not None:
            return ValidationError(
                "Choose a young person who exists", field="beneficiary"
            )
    return None


def _check_largest(grant: Grant, amount: Decimal, *, field: str) -> None:
    """One award is never more than the grant's largest single award (a typo guard)."""
    if amount > grant.max_award:
        raise ValidationError(
            f"Enter an amount of {format_money(grant.max_award)} or less: the largest "
            f"single award on {grant.reference} (a manager can change it on the grant)",
            field=field,
        )


def ledger_problems(
    *,
    grant_id: int | None,
    day: date | None,
    amount: Decimal | None,
    today: date,
    date_field: str = "awarded_on",
    amount_field: str = "amount",
) -> list[FundsError]:
    """What the ledger's own rules would refuse (closed grant, a date outside the period,
    in the future or in a locked period, more than is available to award), checked
    without writing or raising: so that a form shows them in the same round as its own
    errors. The service checks them all again, under the grant's lock.
    """
    grant = db.session.get(Grant, grant_id) if grant_id else None
    if grant is None:
        return []
    problems: list[FundsError] = []
    if not grant.is_open:
        problems.append(
            ValidationError(
                "This grant is closed: it takes no new awards", field="grant"
            )
        )
    if day is not None:
        try:
            check_period(grant, day, today=today, field=date_field)
            check_not_locked(grant.id, day, field=date_field)
        except ValidationError as error:
            problems.append(error)
    if amount is not None and amount > grant.max_award:
        try:
            _check_largest(grant, amount, field=amount_field)
        except ValidationError as error:
            problems.append(error)
        return problems
    if amount is not None and grant.control == BudgetControl.BLOCK:
        available = available_on_grant(grant)
        if amount > available:
            problems.append(
                ValidationError(
                    f"This is more than is available to award from grant "
                    f"{grant.reference}: {format_money(max(available, Decimal(0)))} "
                    "available",
                    field=amount_field,
                )
            )
    return problems


def _access_and_cash_first(grant: Grant, data: AwardInput) -> None:
    """ "Not applicable" access only without a beneficiary; a request date no later than
    the award; and on a cash-first grant, a reason for any other way of paying and (for a
    person) the date they asked."""
    has_beneficiary = data.household_id is not None or data.young_person_id is not None
    if data.access_route == AccessRoute.NOT_APPLICABLE and has_beneficiary:
        raise ValidationError(
            "Choose how they came to be helped: “Not applicable” is for spending with "
            "no beneficiary",
            field="access_route",
        )
    if data.requested_on is not None:
        if data.requested_on > data.awarded_on:
            raise ValidationError(
                "The date they asked for help must be on or before the date given",
                field="requested_on",
            )
        if (data.awarded_on - data.requested_on).days > 366:
            raise ValidationError(
                "The date they asked for help must be within a year of the date given",
                field="requested_on",
            )
    if not grant.funder.cash_first:
        return
    if data.delivery_method not in CASH_FIRST_METHODS and not (
        data.method_reason and data.method_reason.strip()
    ):
        raise ValidationError(
            f"{grant.reference} is cash-first: say why this was not paid by bank "
            "transfer, cash or a cash-out voucher",
            field="method_reason",
        )
    if has_beneficiary and data.requested_on is None:
        raise ValidationError(
            f"{grant.reference} reports days to payment: enter the date the person "
            "asked for help",
            field="requested_on",
        )


def award_rules(
    data: AwardInput,
    *,
    grant: Grant,
    item: ItemType | None,
    beneficiary: ValidationError | None = None,
    today: date,
    lock: PeriodLock | None,
    available: Decimal,
    line: BudgetLine | None,
    line_spent: Decimal | None,
    actor: User,
    confirm: bool = False,
) -> bool:
    """Every rule one award must meet, given what the database holds now: the one home of
    these rules, for the award form and for imports (which look everything up once for a
    whole file). Returns True when a manager confirmed an overspend.

    :raises ValidationError: naming the form field at fault.
    :raises Overspend: when the amount is more than is available (grant or budget line).
    """
    if not grant.is_open:
        raise ValidationError(
            "This grant is closed: it takes no new awards", field="grant"
        )
    if data.amount <= 0:
        raise ValidationError("Enter an amount of £0.01 or more", field="amount")
    _check_largest(grant, data.amount, field="amount")
    if data.quantity < 1:
        raise ValidationError("Enter a quantity of 1 or more", field="quantity")
    check_period(grant, data.awarded_on, today=today)
    if lock is not None:
        raise lock_problem(lock, data.awarded_on)
    if item is None or not item.active:
        raise ValidationError("Choose an item", field="item_type")
    if beneficiary is not None:
        raise beneficiary
    _access_and_cash_first(grant, data)
    confirmed = _check_budget(
        amount=data.amount,
        remaining=available,
        control=grant.control,
        what=f"grant {grant.reference}",
        actor=actor,
        confirm=confirm,
    )
    if line is not None:
        confirmed |= _check_budget(
            amount=data.amount,
            remaining=line.amount - line_spent,
            control=line.control,
            what=f"the {item.category.name} budget line",
            actor=actor,
            confirm=confirm,
        )
    return confirmed


def record_disbursement(
    data: AwardInput,
    *,
    actor: User,
    today: date,
    idempotency_key: str | None = None,
    confirm_overspend: bool = False,
) -> Disbursement:
    """Record one award against a grant.

    The grant row is locked first (``FOR UPDATE`` on PostgreSQL; on SQLite the transaction
    already holds the write lock), so the balance read here cannot change before the insert.

    :raises AlreadyRecorded: when this idempotency key was used before.
    :raises ValidationError: for a closed grant, a date outside the period or in the future,
        an unknown item or beneficiary.
    :raises Overspend: when the amount is more than is left (grant or budget line).
    """
    grant = lock_for_update(Grant, data.grant_id)
    if grant is None:
        raise ValidationError("Choose a grant", field="grant")
    # Checked under the lock, so two copies of one form cannot both get past it.
    if idempotency_key:
        existing = db.session.scalar(
            select(Disbursement.id).where(
                Disbursement.idempotency_key == idempotency_key
            )
        )
        if existing is not None:
            raise AlreadyRecorded(existing)
    item = db.session.get(ItemType, data.item_type_id)
    line = None
    if item is not None:
        line = db.session.scalar(
            select(BudgetLine).where(
                BudgetLine.grant_id == grant.id,
                BudgetLine.category_id == item.category_id,
            )
        )
    confirmed = award_rules(
        data,
        grant=grant,
        item=item,
        beneficiary=_beneficiary(data),
        today=today,
        lock=active_lock(grant.id, data.awarded_on),
        available=available_on_grant(grant),
        line=line,
        line_spent=(
            spent_in_category(grant.id, item.category_id) if line is not None else None
        ),
        actor=actor,
        confirm=confirm_overspend,
    )

    disbursement = Disbursement(
        grant_id=grant.id,
        item_type_id=item.id,
        household_id=data.household_id,
        young_person_id=data.young_person_id,
        quantity=data.quantity,
        amount=data.amount,
        awarded_on=data.awarded_on,
        supplier=data.supplier or None,
        delivery_method=data.delivery_method,
        access_route=data.access_route,
        evidence_reference=data.evidence_reference or None,
        notes=data.notes or None,
        requested_on=data.requested_on,
        method_reason=data.method_reason or None,
        overspend_confirmed=confirmed,
        idempotency_key=idempotency_key or None,
        created_by_id=actor.id,
    )
    _insert_once(disbursement, idempotency_key)
    record_event(
        "disbursement.create",
        actor=actor,
        obj=disbursement,
        after=_values(disbursement),
    )
    if confirmed:
        record_event(
            "disbursement.overspend_override",
            actor=actor,
            obj=disbursement,
            after={"grant": grant.reference, "amount": data.amount},
        )
    return disbursement


def _insert_once(disbursement: Disbursement, idempotency_key: str | None) -> None:
    """Insert the line; if another transaction (on another grant, so not serialised by
    the grant's lock) took the same form token first, say so instead of failing.

    :raises AlreadyRecorded: with the id of the line the other request recorded.
    """
    savepoint = db.session.begin_nested()
    db.session.add(disbursement)
    try:
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        existing = idempotency_key and db.session.scalar(
            select(Disbursement.id).where(
                Disbursement.idempotency_key == idempotency_key
            )
        )
        if not existing:
            raise
        raise AlreadyRecorded(existing) from None
    savepoint.commit()


def reversal_of(
    original: Disbursement, *, reason: str, reversed_on: date, actor: User
) -> dict:
    """The line that cancels ``original`` exactly (its fields, for the ORM or a batch)."""
    return {
        "grant_id": original.grant_id,
        "item_type_id": original.item_type_id,
        "household_id": original.household_id,
        "young_person_id": original.young_person_id,
        "quantity": original.quantity,
        "amount": -original.amount,
        "awarded_on": reversed_on,
        "supplier": original.supplier,
        "delivery_method": original.delivery_method,
        "access_route": original.access_route,
        "evidence_reference": original.evidence_reference,
        "reverses_id": original.id,
        "reason": reason.strip(),
        "created_by_id": actor.id,
    }


def reverse_disbursement(
    original: Disbursement,
    *,
    actor: User,
    reason: str,
    reversed_on: date,
    today: date,
) -> Disbursement:
    """Cancel an award with a reversal line of the opposite amount.

    :raises NotAllowed: for a reversal, an award already reversed, or a role that may not.
    :raises ValidationError: for a missing reason or a date outside the grant's period.
    """
    if actor.role not in REVERSAL_ROLES:
        raise NotAllowed("Only finance or a manager can reverse an award")
    grant = lock_for_update(Grant, original.grant_id)
    if original.is_reversal:
        raise NotAllowed("A reversal cannot itself be reversed")
    already = db.session.scalar(
        select(Disbursement.id).where(Disbursement.reverses_id == original.id)
    )
    if already is not None:
        raise NotAllowed("This award has already been reversed")
    if not reason or not reason.strip():
        raise ValidationError("Say why this award is being reversed", field="reason")
    check_period(grant, reversed_on, today=today, field="reversed_on")
    check_not_locked(grant.id, reversed_on, field="reversed_on")
    if reversed_on < original.awarded_on:
        raise ValidationError(
            "A reversal cannot be dated before the award", field="reversed_on"
        )
    reversal = Disbursement(
        **reversal_of(original, reason=reason, reversed_on=reversed_on, actor=actor)
    )
    db.session.add(reversal)
    db.session.flush()
    record_event(
        "disbursement.reverse",
        actor=actor,
        obj=reversal,
        before={"reverses": original.id, "amount": original.amount},
        after={**_values(reversal), "reason": reversal.reason},
    )
    _restock_voucher(original, actor=actor)
    return reversal


def _restock_voucher(original: Disbursement, *, actor: User) -> None:
    """A reversed voucher award puts its voucher back in stock (it can be issued again,
    returned to the supplier or left to expire), so the money and the stock stay in step."""
    voucher = db.session.scalar(
        select(Voucher).where(Voucher.disbursement_id == original.id)
    )
    if voucher is None:
        return
    voucher.status = VoucherStatus.IN_STOCK
    voucher.disbursement_id = None
    voucher.status_changed_at = utcnow()
    db.session.flush()
    record_event(
        "voucher.restock",
        actor=actor,
        obj=voucher,
        before={"status": VoucherStatus.ISSUED, "disbursement_id": original.id},
        after={"status": VoucherStatus.IN_STOCK, "reason": "award reversed"},
    )


def payment_statuses(disbursement_ids) -> dict[int, PaymentStatus]:
    """Where each of these lines stands with payment now (one query; funds.payment_status
    is the one home of "not yet paid"). An id with no line is left out."""
    ids = list(disbursement_ids)
    if not ids:
        return {}
    return {
        ident: PaymentStatus(status)
        for ident, status in db.session.execute(
            select(Disbursement.id, status_of()).where(Disbursement.id.in_(ids))
        )
    }


#: Why a line that is not "not yet paid" cannot be paid, by its status.
_NOT_PAYABLE = {
    PaymentStatus.REVERSAL: "A reversal is not paid",
    PaymentStatus.PAID: "This award is already marked paid",
    PaymentStatus.REVERSED: "This award was reversed; there is nothing to pay",
    PaymentStatus.VOUCHER_STOCK: (
        "This voucher came from stock: it was paid for when its batch was bought"
    ),
}


def payment_rules(
    disbursement: Disbursement,
    status: PaymentStatus,
    *,
    paid_on: date,
    payment_reference: str,
    today: date,
) -> None:
    """Every rule one payment must meet, given where the award stands now: the one home
    of these rules, for one award and for a payment run. Call it under the grant's lock.

    :raises NotAllowed: for a reversal, a reversed award, one already paid, a stock voucher.
    :raises ValidationError: for a date in the future or before the award, no reference.
    """
    if status is not PaymentStatus.UNPAID:
        raise NotAllowed(_NOT_PAYABLE[status])
    if paid_on > today:
        raise ValidationError(
            "The payment date cannot be in the future", field="paid_on"
        )
    if paid_on < disbursement.awarded_on:
        raise ValidationError(
            "The payment date cannot be before the award", field="paid_on"
        )
    if not payment_reference or not payment_reference.strip():
        raise ValidationError("Enter the payment reference", field="payment_reference")


def mark_paid(
    disbursement: Disbursement,
    *,
    actor: User,
    paid_on: date,
    payment_reference: str,
    today: date,
) -> DisbursementPayment:
    """Record that an award was paid; the ledger row itself is untouched.

    :raises NotAllowed: for a reversal, a reversed award, one already paid, a voucher from
        stock, or a role that may not.
    :raises ValidationError: for a date in the future or before the award.
    """
    if actor.role not in PAYMENT_ROLES:
        raise NotAllowed("Only finance can mark an award paid")
    # Serialises two clerks marking the same award (the second then sees the first).
    lock_for_update(Grant, disbursement.grant_id)
    status = payment_statuses([disbursement.id])[disbursement.id]
    payment_rules(
        disbursement,
        status,
        paid_on=paid_on,
        payment_reference=payment_reference,
        today=today,
    )
    payment = DisbursementPayment(
        disbursement_id=disbursement.id,
        paid_on=paid_on,
        payment_reference=payment_reference.strip(),
        recorded_by_id=actor.id,
    )
    db.session.add(payment)
    db.session.flush()
    record_event(
        "disbursement.mark_paid",
        actor=actor,
        obj=disbursement,
        after={"paid_on": paid_on, "payment_reference": payment.payment_reference},
    )
    return payment


def record_download(*, actor: User, fmt: str, filters: dict) -> None:
    """Put a download of the awards list on record (its format and filter)."""
    begin_writing()
    record_event(
        "list.download",
        actor=actor,
        after={"list": "awards", "format": fmt, "filters": filters},
    )


def _values(d: Disbursement) -> dict:
    return {
        "grant_id": d.grant_id,
        "item_type_id": d.item_type_id,
        "household_id": d.household_id,
        "young_person_id": d.young_person_id,
        "quantity": d.quantity,
        "amount": d.amount,
        "awarded_on": d.awarded_on,
        "delivery_method": d.delivery_method,
        "access_route": d.access_route,
        "supplier": d.supplier,
        "evidence_reference": d.evidence_reference,
        "requested_on": d.requested_on,
        "method_reason": d.method_reason,
        "overspend_confirmed": d.overspend_confirmed,
    }
