"""Reads for voucher stock: reconciliation by status, expiring soon, issued serials. In SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager, joinedload

from funds.balances import available_to_award, spent_pence, voucher_stock_pence
from funds.extensions import db
from funds.models import (
    Disbursement,
    Grant,
    GrantStatus,
    Household,
    ItemType,
    SpendCategory,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from funds.money import from_pence, pence_of

EXPIRY_WARNING_DAYS = 30
#: bought = issued + in stock + returned + expired
IDENTITY_ORDER = (
    VoucherStatus.ISSUED,
    VoucherStatus.IN_STOCK,
    VoucherStatus.RETURNED,
    VoucherStatus.EXPIRED,
)


@dataclass(frozen=True)
class StatusLine:
    """How many vouchers are in one status, and their face value."""

    status: VoucherStatus
    count: int
    value: Decimal


@dataclass(frozen=True)
class Reconciliation:
    """bought = issued + in stock + returned + expired, in count and value."""

    bought_count: int
    bought_value: Decimal
    lines: dict[VoucherStatus, StatusLine]

    @property
    def accounted_count(self) -> int:
        return sum(line.count for line in self.lines.values())

    @property
    def accounted_value(self) -> Decimal:
        return sum((line.value for line in self.lines.values()), Decimal("0.00"))

    @property
    def ordered_lines(self) -> list[StatusLine]:
        """The lines in the order of the identity: issued, in stock, returned, expired."""
        return [self.lines[status] for status in IDENTITY_ORDER]

    @property
    def balances(self) -> bool:
        return (
            self.bought_count == self.accounted_count
            and self.bought_value == self.accounted_value
        )


def reconciliation(
    *, grant_id: int | None = None, batch_id: int | None = None
) -> Reconciliation:
    """The reconciliation for one grant's vouchers or one batch."""
    scope = []
    if grant_id is not None:
        scope.append(VoucherBatch.grant_id == grant_id)
    if batch_id is not None:
        scope.append(VoucherBatch.id == batch_id)
    bought_count, bought_value = db.session.execute(
        select(
            func.coalesce(func.sum(VoucherBatch.quantity), 0),
            func.coalesce(
                func.sum(pence_of(VoucherBatch.face_value) * VoucherBatch.quantity), 0
            ),
        ).where(*scope)
    ).one()
    lines = {status: StatusLine(status, 0, Decimal("0.00")) for status in VoucherStatus}
    for status, number, value in db.session.execute(
        select(
            Voucher.status,
            func.count(),
            func.coalesce(func.sum(pence_of(VoucherBatch.face_value)), 0),
        )
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
        .where(*scope)
        .group_by(Voucher.status)
    ):
        status = VoucherStatus(status)
        lines[status] = StatusLine(status, number, from_pence(value))
    return Reconciliation(int(bought_count), from_pence(bought_value), lines)


def batches(grant_id: int | None = None):
    """Batches (newest first) with the number still in stock."""
    in_stock = (
        select(func.count())
        .where(
            Voucher.batch_id == VoucherBatch.id,
            Voucher.status == VoucherStatus.IN_STOCK,
        )
        .correlate(VoucherBatch)
        .scalar_subquery()
    )
    query = (
        select(VoucherBatch, in_stock)
        .options(joinedload(VoucherBatch.grant))
        .order_by(VoucherBatch.purchased_on.desc(), VoucherBatch.id.desc())
    )
    if grant_id is not None:
        query = query.where(VoucherBatch.grant_id == grant_id)
    return db.session.execute(query).all()


def batch_download_rows() -> Iterator[tuple]:
    """Every batch (newest first, as the stock page lists them) with its vouchers in each
    status, counted and valued in one aggregate query: batch id, reference, grant,
    supplier, item, face value, bought on, expires on, bought count and value, then the
    count and value in stock, issued, returned and expired."""
    face = pence_of(VoucherBatch.face_value)
    per_status = []
    for status in (
        VoucherStatus.IN_STOCK,
        VoucherStatus.ISSUED,
        VoucherStatus.RETURNED,
        VoucherStatus.EXPIRED,
    ):
        count = func.count(case((Voucher.status == status, Voucher.id)))
        per_status += [count, count * face]
    query = (
        select(
            VoucherBatch.id,
            VoucherBatch.reference,
            Grant.reference,
            VoucherBatch.supplier,
            ItemType.name,
            face,
            VoucherBatch.purchased_on,
            VoucherBatch.expires_on,
            VoucherBatch.quantity,
            VoucherBatch.quantity * face,
            *per_status,
        )
        .join(Grant, Grant.id == VoucherBatch.grant_id)
        .join(ItemType, ItemType.id == VoucherBatch.item_type_id)
        .outerjoin(Voucher, Voucher.batch_id == VoucherBatch.id)
        .group_by(VoucherBatch.id, Grant.reference, ItemType.name)
        .order_by(VoucherBatch.purchased_on.desc(), VoucherBatch.id.desc())
        .execution_options(yield_per=1000)
    )
    for row in db.session.execute(query):
        ident, reference, grant, supplier, item, face_p, bought_on, expires_on = row[:8]
        counts = row[8:]
        yield (
            ident,
            reference,
            grant,
            supplier,
            item,
            from_pence(face_p),
            bought_on,
            expires_on,
            *(
                from_pence(value) if index % 2 else int(value)
                for index, value in enumerate(counts)
            ),
        )


def batches_expiring_by(day: date):
    """SQL: the ids of batches expiring on or before ``day``. Vouchers are then read by
    (batch, status) for those few batches only, never every voucher ever bought."""
    return select(VoucherBatch.id).where(VoucherBatch.expires_on <= day)


def expiring_soon(today: date, *, grant_id: int | None = None):
    """(batch, grant reference, vouchers still in stock) for batches expiring within 30 days
    (or already past), soonest first."""
    query = (
        select(VoucherBatch, Grant.reference, func.count(Voucher.id))
        .join(Grant, Grant.id == VoucherBatch.grant_id)
        .join(Voucher, Voucher.batch_id == VoucherBatch.id)
        .where(
            Voucher.status == VoucherStatus.IN_STOCK,
            VoucherBatch.expires_on <= today + timedelta(days=EXPIRY_WARNING_DAYS),
            Voucher.batch_id.in_(
                batches_expiring_by(today + timedelta(days=EXPIRY_WARNING_DAYS))
            ),
        )
        .group_by(VoucherBatch.id, Grant.id)
        .order_by(VoucherBatch.expires_on, VoucherBatch.id)
    )
    if grant_id is not None:
        query = query.where(VoucherBatch.grant_id == grant_id)
    return db.session.execute(query).all()


#: The most issued vouchers the reconciliation page lists (the CSV has them all).
ISSUED_SHOWN = 500


def _issued_query(grant_id: int | None, batch_id: int | None):
    query = (
        select(
            Voucher.serial,
            Voucher.supplier,
            Household.reference,
            Disbursement.awarded_on,
            VoucherBatch.face_value,
            Disbursement.id.label("disbursement_id"),
            Household.id.label("household_id"),
        )
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
        .join(Disbursement, Disbursement.id == Voucher.disbursement_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .where(Voucher.status == VoucherStatus.ISSUED)
        .order_by(Voucher.supplier, Voucher.serial)
    )
    if grant_id is not None:
        query = query.where(VoucherBatch.grant_id == grant_id)
    if batch_id is not None:
        query = query.where(VoucherBatch.id == batch_id)
    return query


def issued_serials(
    *,
    grant_id: int | None = None,
    batch_id: int | None = None,
    limit: int | None = None,
):
    """(serial, supplier, reference, awarded_on, face_value, disbursement_id, household_id)
    of issued vouchers by supplier and serial, for the supplier's redemption statement:
    all of them, or the first ``limit``."""
    query = _issued_query(grant_id, batch_id)
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).all()


def issued_serial_rows(grant_id: int) -> Iterator:
    """The same rows for one grant, all of them, read 1,000 at a time when first asked
    (for the CSV: its query runs after the download is put on record)."""
    query = _issued_query(grant_id, None).execution_options(yield_per=1000)
    yield from db.session.execute(query)


def stock_for_issue(grant_id: int | None, today: date, *, limit: int = 200):
    """Vouchers that can be issued today (in stock, not expired), oldest expiry first."""
    query = (
        select(Voucher)
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
        .options(
            contains_eager(Voucher.batch).joinedload(VoucherBatch.grant),
        )
        .where(
            Voucher.status == VoucherStatus.IN_STOCK, VoucherBatch.expires_on >= today
        )
        .order_by(
            VoucherBatch.expires_on, Voucher.supplier, VoucherBatch.id, Voucher.serial
        )
        .limit(limit)
    )
    if grant_id is not None:
        query = query.where(VoucherBatch.grant_id == grant_id)
    return list(db.session.scalars(query))


@dataclass(frozen=True)
class StockGroup:
    """Vouchers of one batch offered for issue."""

    batch: VoucherBatch
    vouchers: list[Voucher]


def stock_groups(
    grant_id: int | None, today: date, *, limit: int = 200
) -> list[StockGroup]:
    """stock_for_issue grouped by batch, in the same order."""
    groups: list[StockGroup] = []
    for voucher in stock_for_issue(grant_id, today, limit=limit):
        if not groups or groups[-1].batch.id != voucher.batch_id:
            groups.append(StockGroup(voucher.batch, []))
        groups[-1].vouchers.append(voucher)
    return groups


def stock_count(grant_id: int | None, today: date) -> int:
    """How many vouchers can be issued today (in stock, not expired)."""
    query = (
        select(func.count())
        .select_from(Voucher)
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
        .where(
            Voucher.status == VoucherStatus.IN_STOCK, VoucherBatch.expires_on >= today
        )
    )
    if grant_id is not None:
        query = query.where(VoucherBatch.grant_id == grant_id)
    return db.session.scalar(query)


def grants_with_stock() -> list[Grant]:
    """Grants that have bought vouchers, by reference (for the reconciliation links)."""
    return list(
        db.session.scalars(
            select(Grant)
            .where(
                Grant.id.in_(select(VoucherBatch.grant_id).distinct().scalar_subquery())
            )
            .order_by(Grant.reference)
        )
    )


def open_grants_with_available() -> list[tuple[Grant, Decimal]]:
    """Open grants with what each has left to award (for buying a batch)."""
    grants = db.session.scalars(
        select(Grant).where(Grant.status == GrantStatus.OPEN).order_by(Grant.reference)
    )
    return [(grant, available_to_award(grant)) for grant in grants]


def voucher_item_choices() -> list[tuple[int, str]]:
    """(id, "Food voucher (Food)") for active item types that are not activities."""
    rows = db.session.execute(
        select(ItemType.id, ItemType.name, SpendCategory.name)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .where(
            ItemType.active.is_(True),
            SpendCategory.active.is_(True),
            SpendCategory.is_activity.is_(False),
        )
        .order_by(SpendCategory.name, ItemType.name)
    )
    return [(ident, f"{name} ({category})") for ident, name, category in rows]


def grant_choices_for_stock(today: date) -> list[tuple[int, str]]:
    """(id, reference) of grants with vouchers that can be issued today."""
    rows = db.session.execute(
        select(Grant.id, Grant.reference)
        .where(
            Grant.id.in_(
                select(VoucherBatch.grant_id)
                .join(Voucher, Voucher.batch_id == VoucherBatch.id)
                .where(
                    Voucher.status == VoucherStatus.IN_STOCK,
                    VoucherBatch.expires_on >= today,
                )
                .scalar_subquery()
            )
        )
        .order_by(Grant.reference)
    )
    return [(ident, reference) for ident, reference in rows]


@dataclass(frozen=True)
class GrantStock:
    """A grant's money seen with its vouchers: what is spent, held as stock, and left."""

    grant: Grant
    spent: Decimal
    unissued_stock: Decimal
    available: Decimal


def grant_stock(grant: Grant) -> GrantStock:
    """total − spent − unissued voucher stock = available to award (funds.balances)."""
    return GrantStock(
        grant=grant,
        spent=from_pence(spent_pence(grant.id)),
        unissued_stock=from_pence(voucher_stock_pence(grant.id)),
        available=available_to_award(grant),
    )


@dataclass(frozen=True)
class VoucherRow:
    """One voucher of a batch, with the award that issued it (if any)."""

    id: int
    serial: str
    status: VoucherStatus
    disbursement_id: int | None
    awarded_on: date | None
    household_id: int | None
    household_reference: str | None


def batch_vouchers(
    batch_id: int, *, status: VoucherStatus | None = None, limit: int = 1000
) -> list[VoucherRow]:
    """A batch's vouchers by serial, with household reference and date for issued ones."""
    query = (
        select(
            Voucher.id,
            Voucher.serial,
            Voucher.status,
            Voucher.disbursement_id,
            Disbursement.awarded_on,
            Household.id,
            Household.reference,
        )
        .outerjoin(Disbursement, Disbursement.id == Voucher.disbursement_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .where(Voucher.batch_id == batch_id)
        .order_by(Voucher.serial)
        .limit(limit)
    )
    if status is not None:
        query = query.where(Voucher.status == status)
    return [
        VoucherRow(
            id=row[0],
            serial=row[1],
            status=VoucherStatus(row[2]),
            disbursement_id=row[3],
            awarded_on=row[4],
            household_id=row[5],
            household_reference=row[6],
        )
        for row in db.session.execute(query)
    ]


def awards_for_form(token: str, user_id: int):
    """(award, serial) for the vouchers one issue form (one-time token) recorded."""
    return db.session.execute(
        select(Disbursement, Voucher.serial)
        .join(Voucher, Voucher.disbursement_id == Disbursement.id)
        .options(joinedload(Disbursement.household))
        .where(
            Disbursement.idempotency_key.startswith(f"{token}:", autoescape=True),
            Disbursement.created_by_id == user_id,
        )
        .order_by(Disbursement.id)
    ).all()
