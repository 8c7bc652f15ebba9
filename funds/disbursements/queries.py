"""Reads of the ledger: filtered lists a page at a time (keyset), one line's story."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.extensions import db
from funds.models import Disbursement, DisbursementPayment, ItemType

PAGE_SIZE = 50


@dataclass(frozen=True)
class LedgerFilter:
    """What a ledger list is narrowed to; every field optional."""

    grant_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    category_id: int | None = None
    item_type_id: int | None = None
    household_id: int | None = None
    young_person_id: int | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: newest first by (date, id), so the next page starts below it."""

    awarded_on: date
    id: int

    def token(self) -> str:
        return f"{self.awarded_on.isoformat()}_{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> Cursor | None:
        """Read a cursor from the URL; anything malformed means "first page"."""
        if not token:
            return None
        try:
            day, ident = token.split("_", 1)
            return cls(date.fromisoformat(day), int(ident))
        except ValueError:
            return None


def ledger_query(filters: LedgerFilter) -> Select:
    """Ledger lines matching ``filters``, newest first, with what a list row shows loaded."""
    query = (
        select(Disbursement)
        .options(
            joinedload(Disbursement.grant),
            joinedload(Disbursement.item_type).joinedload(ItemType.category),
            joinedload(Disbursement.household),
            joinedload(Disbursement.young_person),
        )
        .order_by(Disbursement.awarded_on.desc(), Disbursement.id.desc())
    )
    if filters.grant_id is not None:
        query = query.where(Disbursement.grant_id == filters.grant_id)
    if filters.date_from is not None:
        query = query.where(Disbursement.awarded_on >= filters.date_from)
    if filters.date_to is not None:
        query = query.where(Disbursement.awarded_on <= filters.date_to)
    if filters.item_type_id is not None:
        query = query.where(Disbursement.item_type_id == filters.item_type_id)
    if filters.category_id is not None:
        query = query.where(
            Disbursement.item_type_id.in_(
                select(ItemType.id).where(ItemType.category_id == filters.category_id)
            )
        )
    if filters.household_id is not None:
        query = query.where(Disbursement.household_id == filters.household_id)
    if filters.young_person_id is not None:
        query = query.where(Disbursement.young_person_id == filters.young_person_id)
    return query


@dataclass(frozen=True)
class LedgerPage:
    """One page of ledger lines and the cursor for the next (None on the last page)."""

    rows: list[Disbursement]
    paid: dict[int, DisbursementPayment]
    reversed_ids: set[int]
    next_cursor: Cursor | None


def ledger_page(
    filters: LedgerFilter, *, after: Cursor | None = None, size: int = PAGE_SIZE
) -> LedgerPage:
    """A page of ledger lines below ``after`` (keyset pagination: no OFFSET scans)."""
    query = ledger_query(filters)
    if after is not None:
        query = query.where(
            or_(
                Disbursement.awarded_on < after.awarded_on,
                and_(
                    Disbursement.awarded_on == after.awarded_on,
                    Disbursement.id < after.id,
                ),
            )
        )
    rows = list(db.session.scalars(query.limit(size + 1)).unique())
    more = len(rows) > size
    rows = rows[:size]
    ids = [row.id for row in rows]
    paid = {
        payment.disbursement_id: payment
        for payment in db.session.scalars(
            select(DisbursementPayment).where(
                DisbursementPayment.disbursement_id.in_(ids)
            )
        )
    }
    reversal = aliased(Disbursement)
    reversed_ids = set(
        db.session.scalars(
            select(reversal.reverses_id).where(reversal.reverses_id.in_(ids))
        )
    )
    next_cursor = Cursor(rows[-1].awarded_on, rows[-1].id) if more else None
    return LedgerPage(rows, paid, reversed_ids, next_cursor)
