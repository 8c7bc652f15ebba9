"""Buying voucher batches, issuing vouchers through the ledger, returns and expiry."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, update

from funds.audit import record_event
from funds.balances import available_to_award
from funds.database import lock_for_update
from funds.disbursements.services import (
    AlreadyRecorded,
    AwardInput,
    check_period,
    record_disbursement,
)
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Disbursement,
    Grant,
    Household,
    ItemType,
    User,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from funds.models.base import utcnow
from funds.money import format_money
from funds.vouchers.serials import MAX_BATCH, check_serials

#: What a voucher that cannot be issued (or returned) is, in words.
_NOT_IN_STOCK = {
    VoucherStatus.ISSUED: "has already been issued",
    VoucherStatus.RETURNED: "was returned to the supplier",
    VoucherStatus.EXPIRED: "has expired",
}


@dataclass(frozen=True)
class BatchInput:
    """What a form gives about a batch (serials are passed separately)."""

    grant_id: int
    supplier: str
    item_type_id: int
    face_value: Decimal
    quantity: int
    purchase_cost: Decimal
    purchased_on: date
    expires_on: date
    sale_or_return: bool = False
    terms: str | None = None
    reference: str | None = None


def _supplier_name(typed: str) -> str:
    """The supplier as stored: spaces tidied, and spelt as before if already known.

    Serials are unique per supplier, so "Tesco" and "TESCO " must be the same supplier
    for a repeated serial to be noticed.
    """
    supplier = re.sub(r"\s+", " ", typed or "").strip()
    if not supplier:
        return supplier
    known = db.session.scalar(
        select(VoucherBatch.supplier)
        .where(func.lower(VoucherBatch.supplier) == supplier.lower())
        .order_by(VoucherBatch.id)
        .limit(1)
    )
    return known or supplier


def create_batch(
    data: BatchInput, serials: list[str], *, actor: User, today: date
) -> VoucherBatch:
    """Record vouchers bought with a grant's money; their face value is held as stock.

    :raises ValidationError: for a closed grant, a date outside the period or in the future,
        an expiry before purchase, a serial count that is not the quantity, bad or repeated
        serials (in the list or already held for this supplier), or stock worth more than
        the grant has left to award.
    """
    grant = lock_for_update(Grant, data.grant_id)
    if grant is None:
        raise ValidationError("Choose a grant", field="grant")
    if not grant.is_open:
        raise ValidationError("This grant is closed", field="grant")
    supplier = _supplier_name(data.supplier)
    if not supplier:
        raise ValidationError("Enter the supplier", field="supplier")
    if len(supplier) > 120:
        raise ValidationError(
            "Enter a supplier of 120 characters or fewer", field="supplier"
        )
    item = db.session.get(ItemType, data.item_type_id)
    if item is None or not item.active or item.category.is_activity:
        raise ValidationError("Choose what the vouchers are for", field="item_type")
    if data.face_value <= 0:
        raise ValidationError("Enter a face value of £0.01 or more", field="face_value")
    if not 1 <= data.quantity <= MAX_BATCH:
        raise ValidationError(
            f"Enter a quantity from 1 to {MAX_BATCH:,}", field="quantity"
        )
    if data.purchase_cost < 0:
        raise ValidationError(
            "The purchase cost cannot be negative", field="purchase_cost"
        )
    check_period(grant, data.purchased_on, today=today, field="purchased_on")
    if data.expires_on < data.purchased_on:
        raise ValidationError(
            "The expiry date must be on or after the purchase date", field="expires_on"
        )
    check_serials(serials, field="serials")
    if len(serials) != data.quantity:
        raise ValidationError(
            f"The quantity is {data.quantity:,} but {len(serials):,} serial numbers "
            "were given",
            field="serials",
        )
    held = list(
        db.session.scalars(
            select(Voucher.serial)
            .where(Voucher.supplier == supplier, Voucher.serial.in_(serials))
            .order_by(Voucher.serial)
            .limit(5)
        )
    )
    if held:
        raise ValidationError(
            f"These serial numbers are already recorded for {supplier} in an earlier "
            f"batch: {', '.join(held)}",
            field="serials",
        )
    value = data.face_value * data.quantity
    available = available_to_award(grant)
    if value > available:
        raise ValidationError(
            f"These vouchers are worth {format_money(value)}, more than the grant has left to "
            f"award ({format_money(max(available, Decimal(0)))})",
            field="quantity",
        )
    batch = VoucherBatch(
        grant_id=grant.id,
        supplier=supplier,
        item_type_id=item.id,
        face_value=data.face_value,
        quantity=data.quantity,
        purchase_cost=data.purchase_cost,
        purchased_on=data.purchased_on,
        expires_on=data.expires_on,
        sale_or_return=data.sale_or_return,
        terms=data.terms or None,
        reference=data.reference or None,
        created_by_id=actor.id,
    )
    db.session.add(batch)
    db.session.flush()
    db.session.execute(
        Voucher.__table__.insert(),
        [
            {
                "batch_id": batch.id,
                "supplier": supplier,
                "serial": s,
                "status": VoucherStatus.IN_STOCK.value,
            }
            for s in serials
        ],
    )
    record_event(
        "voucher_batch.create",
        actor=actor,
        obj=batch,
        after={
            "grant_id": grant.id,
            "supplier": supplier,
            "face_value": data.face_value,
            "quantity": data.quantity,
            "purchase_cost": data.purchase_cost,
            "purchased_on": data.purchased_on,
            "expires_on": data.expires_on,
            "first_serial": serials[0],
            "last_serial": serials[-1],
        },
    )
    return batch


def _by_serial(serials: list[str]) -> list[Voucher]:
    """The vouchers typed or scanned, in the order given.

    :raises ValidationError: on ``serials`` for a repeated, unknown or ambiguous serial.
    """
    check_serials([s.upper() for s in serials], field="serials")
    # Typed serials match whatever the case (a scanner and a person may differ).
    found: dict[str, list[Voucher]] = {}
    for voucher in db.session.scalars(
        select(Voucher)
        .where(func.upper(Voucher.serial).in_([s.upper() for s in serials]))
        .order_by(Voucher.id)
    ):
        found.setdefault(voucher.serial.upper(), []).append(voucher)
    serials = [s.upper() for s in serials]
    unknown = [s for s in serials if s not in found]
    if unknown:
        raise ValidationError(
            f"No voucher has the serial number {', '.join(unknown[:5])}: check it and "
            "try again",
            field="serials",
        )
    ambiguous = [s for s in serials if len(found[s]) > 1]
    if ambiguous:
        raise ValidationError(
            f"More than one supplier has a voucher {ambiguous[0]}: tick it in the list "
            "of vouchers in stock instead",
            field="serials",
        )
    return [found[s][0] for s in serials]


def issue_vouchers(
    voucher_ids: list[int],
    *,
    actor: User,
    household_id: int,
    awarded_on: date,
    access_route: AccessRoute,
    today: date,
    idempotency_key: str | None = None,
    serials: Iterable[str] = (),
) -> list[Disbursement]:
    """Give vouchers to a household: one award at face value per voucher, atomically.

    Vouchers are given by id (ticked in a list) and/or by serial number (typed or scanned).
    A voucher moves from in stock to issued with a conditional UPDATE, after the grant's
    row is locked, so of two clerks issuing the same voucher at the same moment exactly
    one succeeds.

    :raises AlreadyRecorded: when this idempotency key was used before (the first award).
    :raises ValidationError: for no vouchers, a voucher not in stock or expired by the
        award date (on ``vouchers`` if ticked, on ``serials`` if typed), an unknown
        serial, and anything record_disbursement refuses.
    """
    ids = list(voucher_ids)
    if len(set(ids)) != len(ids):
        raise ValidationError("The same voucher was chosen twice", field="vouchers")
    typed_ids: set[int] = set()
    serials = [s for s in serials if s]
    if serials:
        for voucher in _by_serial(serials):
            typed_ids.add(voucher.id)
            if voucher.id not in ids:
                ids.append(voucher.id)
    if not ids:
        raise ValidationError(
            "Tick at least one voucher, or type its serial number", field="vouchers"
        )
    household = db.session.get(Household, household_id)
    if household is None or household.erased_at is not None:
        raise ValidationError("Choose a household that exists", field="household")
    grant_ids = set(
        db.session.scalars(
            select(VoucherBatch.grant_id)
            .join(Voucher, Voucher.batch_id == VoucherBatch.id)
            .where(Voucher.id.in_(ids))
        )
    )
    # Lock every grant involved, always in the same order, before reading any status.
    for grant_id in sorted(grant_ids):
        lock_for_update(Grant, grant_id)
    if idempotency_key:
        existing = db.session.scalar(
            select(Disbursement.id).where(
                Disbursement.idempotency_key == f"{idempotency_key}:0"
            )
        )
        if existing is not None:
            raise AlreadyRecorded(existing)
    vouchers = list(
        db.session.scalars(
            select(Voucher)
            .where(Voucher.id.in_(ids))
            .order_by(Voucher.supplier, Voucher.serial)
            .execution_options(populate_existing=True)
        )
    )
    if len(vouchers) != len(ids):
        raise ValidationError("One of those vouchers does not exist", field="vouchers")
    for voucher in vouchers:
        field = "serials" if voucher.id in typed_ids else "vouchers"
        if voucher.status != VoucherStatus.IN_STOCK:
            raise ValidationError(
                f"Voucher {voucher.serial} ({voucher.supplier}) "
                f"{_NOT_IN_STOCK[voucher.status]}",
                field=field,
            )
        if awarded_on > voucher.batch.expires_on:
            raise ValidationError(
                f"Voucher {voucher.serial} ({voucher.supplier}) expired on "
                f"{voucher.batch.expires_on:%-d %B %Y}",
                field=field,
            )
    awards = []
    for position, voucher in enumerate(vouchers):
        batch = voucher.batch
        claimed = db.session.execute(
            update(Voucher)
            .where(Voucher.id == voucher.id, Voucher.status == VoucherStatus.IN_STOCK)
            .values(status=VoucherStatus.ISSUED, status_changed_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if claimed != 1:  # pragma: no cover - the lock above makes this a last guard
            raise ValidationError(
                f"Voucher {voucher.serial} is not in stock", field="vouchers"
            )
        award = record_disbursement(
            AwardInput(
                grant_id=batch.grant_id,
                item_type_id=batch.item_type_id,
                amount=batch.face_value,
                awarded_on=awarded_on,
                delivery_method=DeliveryMethod.VOUCHER,
                access_route=access_route,
                household_id=household.id,
                supplier=batch.supplier,
                evidence_reference=f"Voucher {voucher.serial}",
            ),
            actor=actor,
            today=today,
            idempotency_key=f"{idempotency_key}:{position}"
            if idempotency_key
            else None,
        )
        db.session.execute(
            update(Voucher)
            .where(Voucher.id == voucher.id)
            .values(disbursement_id=award.id)
            .execution_options(synchronize_session=False)
        )
        record_event(
            "voucher.issue",
            actor=actor,
            obj=voucher,
            before={"status": VoucherStatus.IN_STOCK},
            after={
                "status": VoucherStatus.ISSUED,
                "household": household.reference,
                "disbursement_id": award.id,
            },
        )
        awards.append(award)
    for voucher in vouchers:
        db.session.refresh(voucher)
    return awards


def _change_stock(
    vouchers: list[Voucher],
    *,
    actor: User,
    to: VoucherStatus,
    action: str,
    reason: str | None,
) -> int:
    for voucher in vouchers:
        if voucher.status != VoucherStatus.IN_STOCK:
            raise NotAllowed(
                f"Voucher {voucher.serial} {_NOT_IN_STOCK[voucher.status]}: only "
                "vouchers in stock can be changed",
                field="serials",
            )
    changed = 0
    for voucher in vouchers:
        voucher.status = to
        voucher.status_changed_at = utcnow()
        record_event(
            action,
            actor=actor,
            obj=voucher,
            before={"status": VoucherStatus.IN_STOCK},
            after={"status": to, "reason": reason},
        )
        changed += 1
    db.session.flush()
    return changed


def return_vouchers(
    batch: VoucherBatch, serials: list[str], *, actor: User, reason: str | None = None
) -> int:
    """Send unused vouchers back to the supplier; their value is no longer held as stock.

    :raises ValidationError: for serials not in this batch; NotAllowed for ones not in stock.
    """
    lock_for_update(Grant, batch.grant_id)
    vouchers = _batch_vouchers(batch, serials)
    return _change_stock(
        vouchers,
        actor=actor,
        to=VoucherStatus.RETURNED,
        action="voucher.return",
        reason=reason,
    )


def expire_vouchers(batch: VoucherBatch, *, actor: User, today: date) -> int:
    """Mark every voucher still in stock after the batch's expiry date as expired.

    :raises NotAllowed: before the expiry date has passed, or with nothing left in stock.
    """
    if today <= batch.expires_on:
        raise NotAllowed(
            f"These vouchers are valid until {batch.expires_on:%-d %B %Y}: they can be "
            "marked expired from the day after"
        )
    lock_for_update(Grant, batch.grant_id)
    vouchers = list(
        db.session.scalars(
            select(Voucher)
            .where(
                Voucher.batch_id == batch.id,
                Voucher.status == VoucherStatus.IN_STOCK,
            )
            .order_by(Voucher.serial)
            .execution_options(populate_existing=True)
        )
    )
    if not vouchers:
        raise NotAllowed("No vouchers from this batch are left in stock")
    return _change_stock(
        vouchers,
        actor=actor,
        to=VoucherStatus.EXPIRED,
        action="voucher.expire",
        reason="past expiry date",
    )


def _batch_vouchers(batch: VoucherBatch, serials: list[str]) -> list[Voucher]:
    check_serials(serials, field="serials")
    vouchers = list(
        db.session.scalars(
            select(Voucher)
            .where(Voucher.batch_id == batch.id, Voucher.serial.in_(serials))
            .order_by(Voucher.serial)
            .execution_options(populate_existing=True)
        )
    )
    missing = set(serials) - {v.serial for v in vouchers}
    if missing:
        raise ValidationError(
            f"Not in this batch: {', '.join(sorted(missing)[:5])}", field="serials"
        )
    return vouchers
