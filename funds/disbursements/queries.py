"""Reads of the ledger: filtered lists a page at a time (keyset), totals, one line's story."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.extensions import db
from funds.models import (
    Disbursement,
    DisbursementPayment,
    Grant,
    GrantStatus,
    Household,
    ItemType,
    SpendCategory,
    User,
    YoungPerson,
)
from funds.money import from_pence, pence_of, pence_sum

PAGE_SIZE = 50
#: The largest id a database row can have (BIGINT); anything bigger is not an id.
_MAX_ID = 2**63 - 1
_TOKEN = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})_([0-9]{1,19})", re.ASCII)


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

    @property
    def active(self) -> bool:
        """True when anything narrows the list."""
        return any(value is not None for value in vars(self).values())


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
        match = _TOKEN.fullmatch(token)
        if match is None:
            return None
        try:
            day = date.fromisoformat(match.group(1))
        except ValueError:
            return None
        ident = int(match.group(2))
        if not 0 < ident <= _MAX_ID:
            return None
        return cls(day, ident)


def _conditions(filters: LedgerFilter) -> list:
    """The WHERE clauses for ``filters`` (shared by the page and its totals)."""
    conditions = []
    if filters.grant_id is not None:
        conditions.append(Disbursement.grant_id == filters.grant_id)
    if filters.date_from is not None:
        conditions.append(Disbursement.awarded_on >= filters.date_from)
    if filters.date_to is not None:
        conditions.append(Disbursement.awarded_on <= filters.date_to)
    if filters.item_type_id is not None:
        conditions.append(Disbursement.item_type_id == filters.item_type_id)
    if filters.category_id is not None:
        conditions.append(
            Disbursement.item_type_id.in_(
                select(ItemType.id).where(ItemType.category_id == filters.category_id)
            )
        )
    if filters.household_id is not None:
        conditions.append(Disbursement.household_id == filters.household_id)
    if filters.young_person_id is not None:
        conditions.append(Disbursement.young_person_id == filters.young_person_id)
    return conditions


def ledger_query(filters: LedgerFilter) -> Select:
    """Ledger lines matching ``filters``, newest first, with what a list row shows loaded."""
    return (
        select(Disbursement)
        .options(
            joinedload(Disbursement.grant),
            joinedload(Disbursement.item_type).joinedload(ItemType.category),
            joinedload(Disbursement.household),
            joinedload(Disbursement.young_person),
        )
        .where(*_conditions(filters))
        .order_by(Disbursement.awarded_on.desc(), Disbursement.id.desc())
    )


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


@dataclass(frozen=True)
class LedgerTotals:
    """What a filtered list adds up to."""

    #: Awards (reversal lines are not counted; a reversed award still is).
    awards: int
    #: Reversal lines in the set.
    reversals: int
    #: Awards less reversals.
    net: Decimal


def ledger_totals(filters: LedgerFilter) -> LedgerTotals:
    """Count and net amount of every line matching ``filters``, in one SQL aggregate."""
    awards, reversals, pence = db.session.execute(
        select(
            func.count(case((Disbursement.reverses_id.is_(None), 1))),
            func.count(Disbursement.reverses_id),
            pence_sum(Disbursement.amount),
        ).where(*_conditions(filters))
    ).one()
    return LedgerTotals(int(awards), int(reversals), from_pence(pence))


def household_counts(grant_id: int) -> tuple[int, int]:
    """(distinct households helped, awards to households) on a grant.

    Reversal lines and the awards they cancelled are left out: a household helped five
    times is one household and five awards.
    """
    cancelled = select(Disbursement.reverses_id).where(
        Disbursement.reverses_id.is_not(None), Disbursement.grant_id == grant_id
    )
    households, awards = db.session.execute(
        select(
            func.count(func.distinct(Disbursement.household_id)),
            func.count(Disbursement.id),
        ).where(
            Disbursement.grant_id == grant_id,
            Disbursement.household_id.is_not(None),
            Disbursement.reverses_id.is_(None),
            Disbursement.id.not_in(cancelled),
        )
    ).one()
    return int(households), int(awards)


# --- what the forms offer -----------------------------------------------------------------

#: A household or young person reference as typed: ``H-7K3Q9M``, ``yp-abc234``.
BENEFICIARY_REFERENCE = re.compile(r"(H|YP)-[A-Z0-9]{1,12}", re.ASCII | re.IGNORECASE)


def find_beneficiary(reference: str) -> Household | YoungPerson | None:
    """The household or young person with this reference (not erased), or None."""
    cleaned = reference.strip().upper()
    if not BENEFICIARY_REFERENCE.fullmatch(cleaned):
        return None
    model = YoungPerson if cleaned.startswith("YP-") else Household
    return db.session.scalar(
        select(model).where(model.reference == cleaned, model.erased_at.is_(None))
    )


def grant_choices(*, open_only: bool) -> list[Grant]:
    """Grants to choose from: open ones for a new award, all of them for a filter."""
    query = select(Grant).order_by(Grant.reference)
    if open_only:
        query = query.where(Grant.status == GrantStatus.OPEN)
    return list(db.session.scalars(query))


def available_by_grant(grant_ids: list[int]) -> dict[int, Decimal]:
    """What each grant has available to award (total less net spend less vouchers held),
    in one query: the figure the award's own check uses."""
    from funds.grants.queries import _per_grant_held

    if not grant_ids:
        return {}
    spent = (
        select(
            Disbursement.grant_id.label("grant_id"),
            pence_sum(Disbursement.amount).label("spent"),
        )
        .where(Disbursement.grant_id.in_(grant_ids))
        .group_by(Disbursement.grant_id)
        .subquery()
    )
    held = _per_grant_held()
    rows = db.session.execute(
        select(
            Grant.id,
            pence_of(Grant.total)
            - func.coalesce(spent.c.spent, 0)
            - func.coalesce(held.c.held, 0),
        )
        .outerjoin(spent, spent.c.grant_id == Grant.id)
        .outerjoin(held, held.c.grant_id == Grant.id)
        .where(Grant.id.in_(grant_ids))
    )
    return {grant_id: from_pence(pence) for grant_id, pence in rows}


def item_choices(*, active_only: bool) -> list[tuple[int, str]]:
    """(item type id, "Category: Item"), ordered by category then item."""
    query = (
        select(ItemType.id, SpendCategory.name, ItemType.name)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .order_by(SpendCategory.name, ItemType.name)
    )
    if active_only:
        query = query.where(ItemType.active.is_(True), SpendCategory.active.is_(True))
    return [
        (item_id, f"{category}: {item}")
        for item_id, category, item in db.session.execute(query)
    ]


def category_choices() -> list[tuple[int, str]]:
    """(spend category id, name), alphabetical."""
    rows = db.session.execute(
        select(SpendCategory.id, SpendCategory.name).order_by(SpendCategory.name)
    )
    return [(category_id, name) for category_id, name in rows]


# --- one line's story ---------------------------------------------------------------------


@dataclass(frozen=True)
class AwardStory:
    """A ledger line with what happened to it afterwards."""

    line: Disbursement
    payment: DisbursementPayment | None
    #: Who marked it paid.
    paid_by: User | None
    #: The reversal that cancelled this award, if any.
    reversed_by: Disbursement | None

    @property
    def payable(self) -> bool:
        """Whether finance could still mark it paid."""
        return (
            not self.line.is_reversal
            and self.reversed_by is None
            and self.payment is None
        )

    @property
    def reversible(self) -> bool:
        """Whether it could still be reversed."""
        return not self.line.is_reversal and self.reversed_by is None


def award_story(disbursement_id: int) -> AwardStory | None:
    """One ledger line with its payment and reversal, or None when there is no such line."""
    line = db.session.scalar(
        select(Disbursement)
        .options(
            joinedload(Disbursement.grant),
            joinedload(Disbursement.item_type).joinedload(ItemType.category),
            joinedload(Disbursement.household),
            joinedload(Disbursement.young_person),
            joinedload(Disbursement.created_by),
            joinedload(Disbursement.reverses),
        )
        .where(Disbursement.id == disbursement_id)
    )
    if line is None:
        return None
    payment = db.session.scalar(
        select(DisbursementPayment).where(
            DisbursementPayment.disbursement_id == line.id
        )
    )
    reversed_by = db.session.scalar(
        select(Disbursement)
        .options(joinedload(Disbursement.created_by))
        .where(Disbursement.reverses_id == line.id)
    )
    paid_by = db.session.get(User, payment.recorded_by_id) if payment else None
    return AwardStory(line, payment, paid_by, reversed_by)
