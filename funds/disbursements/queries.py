"""Reads of the ledger: filtered lists a page at a time (keyset), totals, one line's story."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.evidence.queries import missing_evidence
from funds.extensions import db
from funds.models import (
    BudgetLine,
    DeliveryMethod,
    Disbursement,
    DisbursementPayment,
    Grant,
    GrantBalance,
    GrantStatus,
    Household,
    ItemType,
    PaymentRun,
    SpendCategory,
    UnpaidAward,
    User,
    YoungPerson,
)
from funds.money import from_pence, pence_of, pence_sum
from funds.payment_status import PaymentStatus, condition, listed_unpaid, status_of

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
    payment_status: PaymentStatus | None = None
    #: Matched whole and without regard to case; ``%``, ``_``, ``*`` and ``?`` are
    #: ordinary characters (an equality, never a pattern).
    supplier: str | None = None
    delivery_method: DeliveryMethod | None = None
    #: A grant's budget line: that grant's lines in the line's spend category.
    budget_line_id: int | None = None
    #: Who recorded the line.
    created_by_id: int | None = None
    #: True: only awards missing their evidence (funds.evidence.queries).
    evidence_missing: bool | None = None

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
    if filters.payment_status is not None:
        conditions.append(condition(filters.payment_status))
    if filters.evidence_missing:
        conditions.append(missing_evidence())
    if filters.supplier is not None:
        # lower() on both sides, so that each engine folds case the same way for both.
        conditions.append(
            func.lower(Disbursement.supplier) == func.lower(filters.supplier)
        )
    if filters.delivery_method is not None:
        conditions.append(Disbursement.delivery_method == filters.delivery_method)
    if filters.budget_line_id is not None:
        conditions.append(
            Disbursement.grant_id
            == select(BudgetLine.grant_id)
            .where(BudgetLine.id == filters.budget_line_id)
            .scalar_subquery()
        )
        conditions.append(
            Disbursement.item_type_id.in_(
                select(ItemType.id)
                .join(BudgetLine, BudgetLine.category_id == ItemType.category_id)
                .where(BudgetLine.id == filters.budget_line_id)
            )
        )
    if filters.created_by_id is not None:
        conditions.append(Disbursement.created_by_id == filters.created_by_id)
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


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """What a list shows of a ledger line: read as plain columns (a page of 50 rows
    loaded as objects, with their grants, items and people, cost more than drawing it)."""

    id: int
    awarded_on: date
    grant_id: int
    grant_reference: str
    item_name: str
    quantity: int
    household_id: int | None
    household_reference: str | None
    young_person_id: int | None
    young_person_reference: str | None
    amount: Decimal
    overspend_confirmed: bool
    #: This line reverses another.
    is_reversal: bool
    #: Another line reverses this one.
    reversed: bool
    #: The award is marked paid.
    paid: bool


@dataclass(frozen=True)
class LedgerPage:
    """One page of ledger lines and the cursor for the next (None on the last page)."""

    rows: list[LedgerRow]
    next_cursor: Cursor | None


#: The filters whose values are bound at execution (the others choose the SQL itself).
_BOUND = (
    "grant_id",
    "date_from",
    "date_to",
    "category_id",
    "item_type_id",
    "household_id",
    "young_person_id",
    "supplier",
    "delivery_method",
    "budget_line_id",
    "created_by_id",
)


def ledger_page(
    filters: LedgerFilter, *, after: Cursor | None = None, size: int = PAGE_SIZE
) -> LedgerPage:
    """A page of ledger lines below ``after`` (keyset pagination: no OFFSET scans), in
    one query: the page's lines are chosen first (on the ledger's own indexes), and only
    those are joined to their names and checked for a reversal and a payment."""
    values = {
        f"f_{name}": getattr(filters, name)
        for name in _BOUND
        if getattr(filters, name) is not None
    }
    if after is not None:
        values.update(after_on=after.awarded_on, after_id=after.id)
    statement = _page_statement(
        frozenset(values),
        filters.payment_status,
        filters.evidence_missing,
        size,
    )
    rows = sorted(
        (
            LedgerRow(*row[:12], *map(bool, row[12:]))
            for row in db.session.execute(statement, values)
        ),
        key=lambda row: (row.awarded_on, row.id),
        reverse=True,
    )  # in Python: the joins need not keep the chosen lines' order, and 51 rows sort fast
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = Cursor(rows[-1].awarded_on, rows[-1].id) if more else None
    return LedgerPage(rows, next_cursor)


@lru_cache(maxsize=512)
def _page_statement(
    bound: frozenset[str],
    payment_status: PaymentStatus | None,
    evidence_missing: bool,
    size: int,
) -> Select:
    """The page's SQL for one shape of filter, built once: the values are bound when it
    runs (building the statement cost twice as much as running it)."""
    placeholders = LedgerFilter(
        **{name: bindparam(f"f_{name}") for name in _BOUND if f"f_{name}" in bound},
        payment_status=payment_status,
        evidence_missing=evidence_missing,
    )
    chosen = select(
        Disbursement.id,
        Disbursement.awarded_on,
        Disbursement.grant_id,
        Disbursement.item_type_id,
        Disbursement.quantity,
        Disbursement.household_id,
        Disbursement.young_person_id,
        Disbursement.amount,
        Disbursement.overspend_confirmed,
        Disbursement.reverses_id,
    ).where(*_conditions(placeholders))
    if "after_on" in bound:
        chosen = chosen.where(
            or_(
                Disbursement.awarded_on < bindparam("after_on"),
                and_(
                    Disbursement.awarded_on == bindparam("after_on"),
                    Disbursement.id < bindparam("after_id"),
                ),
            )
        )
    newest_first = (Disbursement.awarded_on.desc(), Disbursement.id.desc())
    line = chosen.order_by(*newest_first).limit(size + 1).subquery("line")
    reversal = aliased(Disbursement)
    return (
        select(
            line.c.id,
            line.c.awarded_on,
            line.c.grant_id,
            Grant.reference,
            ItemType.name,
            line.c.quantity,
            line.c.household_id,
            Household.reference,
            line.c.young_person_id,
            YoungPerson.reference,
            line.c.amount,
            line.c.overspend_confirmed,
            line.c.reverses_id.is_not(None),
            _one_of(select(reversal.id).where(reversal.reverses_id == line.c.id)),
            _one_of(
                select(DisbursementPayment.id).where(
                    DisbursementPayment.disbursement_id == line.c.id
                )
            ),
        )
        .join(Grant, Grant.id == line.c.grant_id)
        .join(ItemType, ItemType.id == line.c.item_type_id)
        .outerjoin(Household, Household.id == line.c.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == line.c.young_person_id)
    )


def _one_of(rows: Select):
    """Whether ``rows`` has a row, looked up through its index for each line of a page.
    (PostgreSQL may plan an EXISTS here as a hash of the whole table.)"""
    return rows.limit(1).scalar_subquery().is_not(None)


@dataclass(frozen=True)
class LedgerTotals:
    """What a filtered list adds up to."""

    #: Awards (reversal lines are not counted; a reversed award still is).
    awards: int
    #: Reversal lines in the set.
    reversals: int
    #: Awards less reversals.
    net: Decimal
    #: Awards in the set not yet paid (funds.payment_status), their value, the oldest's date.
    unpaid: int = 0
    unpaid_value: Decimal = Decimal("0.00")
    oldest_unpaid: date | None = None


def ledger_totals(filters: LedgerFilter) -> LedgerTotals:
    """Count and net amount of every line matching ``filters``, and what of it is not yet
    paid, in one SQL aggregate. The whole ledger, or one grant's, is read from the
    running totals the ledger keeps (funds.models.rollups): a few rows, whatever its size."""
    if _only_grant(filters):
        return _grant_totals(filters.grant_id)
    if _only_grant(replace(filters, payment_status=None)) and (
        filters.payment_status is PaymentStatus.UNPAID
    ):
        return _grant_totals(filters.grant_id, unpaid_only=True)
    not_paid = listed_unpaid()
    awards, reversals, pence, unpaid_count, unpaid_pence, oldest = db.session.execute(
        select(
            func.count(case((Disbursement.reverses_id.is_(None), 1))),
            func.count(Disbursement.reverses_id),
            pence_sum(Disbursement.amount),
            func.count(case((not_paid, 1))),
            pence_sum(case((not_paid, Disbursement.amount))),
            func.min(case((not_paid, Disbursement.awarded_on))),
        ).where(*_conditions(filters))
    ).one()
    return _totals(awards, reversals, pence, unpaid_count, unpaid_pence, oldest)


def _only_grant(filters: LedgerFilter) -> bool:
    """True when nothing but (at most) the grant narrows the list."""
    narrowing = {
        key for key, value in vars(filters).items() if value not in (None, False)
    }
    return narrowing <= {"grant_id"}


def _grant_totals(grant_id: int | None, *, unpaid_only: bool = False) -> LedgerTotals:
    """The totals of every line (of one grant), or of its awards not yet paid, from the
    grants' running totals."""
    balances = select(
        func.coalesce(func.sum(GrantBalance.awards), 0),
        func.coalesce(func.sum(GrantBalance.lines - GrantBalance.awards), 0),
        func.coalesce(func.sum(GrantBalance.spent_pence), 0),
        func.coalesce(func.sum(GrantBalance.unpaid_awards), 0),
        func.coalesce(func.sum(GrantBalance.unpaid_pence), 0),
    )
    oldest = select(func.min(UnpaidAward.awarded_on))
    if grant_id is not None:
        balances = balances.where(GrantBalance.grant_id == grant_id)
        oldest = oldest.where(UnpaidAward.grant_id == grant_id)
    awards, reversals, pence, unpaid_count, unpaid_pence = db.session.execute(
        balances
    ).one()
    if unpaid_only:
        awards, reversals, pence = unpaid_count, 0, unpaid_pence
    return _totals(
        awards, reversals, pence, unpaid_count, unpaid_pence, db.session.scalar(oldest)
    )


def _totals(
    awards, reversals, pence, unpaid_count, unpaid_pence, oldest
) -> LedgerTotals:
    """LedgerTotals from counts and pence as SQL returns them."""
    return LedgerTotals(
        int(awards),
        int(reversals),
        from_pence(pence),
        int(unpaid_count),
        from_pence(unpaid_pence),
        oldest,
    )


#: Ledger lines a download reads from the database at a time.
DOWNLOAD_BATCH = 500


def ledger_download_rows(filters: LedgerFilter):
    """Every line matching ``filters`` (all pages, in the list's order) as download rows:
    id, date, grant, category, item, supplier, delivery method, beneficiary reference
    (pseudonymous, never a name), amount, payment status, paid on, payment reference,
    recorded by. Read from the database in batches while the file is written."""
    recorder = aliased(User)
    # Aliased so that status_of()'s own subqueries are not correlated with this join.
    payment = aliased(DisbursementPayment)
    query = (
        select(
            Disbursement.id,
            Disbursement.awarded_on,
            Grant.reference,
            SpendCategory.name,
            ItemType.name,
            Disbursement.supplier,
            Disbursement.delivery_method,
            func.coalesce(Household.reference, YoungPerson.reference),
            Disbursement.amount,
            status_of(),
            payment.paid_on,
            payment.payment_reference,
            recorder.name,
        )
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .join(recorder, recorder.id == Disbursement.created_by_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
        .outerjoin(payment, payment.disbursement_id == Disbursement.id)
        .where(*_conditions(filters))
        .order_by(Disbursement.awarded_on.desc(), Disbursement.id.desc())
        .execution_options(yield_per=DOWNLOAD_BATCH)
    )
    for row in db.session.execute(query):
        (ident, day, grant, category, item, supplier, method, reference) = row[:8]
        amount, status, paid_on, payment_reference, recorded_by = row[8:]
        yield (
            ident,
            day,
            grant,
            category,
            item,
            supplier,
            DeliveryMethod(method).label,
            reference,
            amount,
            PaymentStatus(status).label,
            paid_on,
            payment_reference,
            recorded_by,
        )


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
    in one query over the grants' running totals: the figure the award's own check uses."""
    if not grant_ids:
        return {}
    rows = db.session.execute(
        select(
            Grant.id,
            pence_of(Grant.total)
            - func.coalesce(GrantBalance.spent_pence, 0)
            - func.coalesce(GrantBalance.held_pence, 0),
        )
        .outerjoin(GrantBalance, GrantBalance.grant_id == Grant.id)
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


def budget_line_choices() -> list[tuple[int, str]]:
    """(budget line id, "Grant reference: Category"), by grant then category."""
    rows = db.session.execute(
        select(BudgetLine.id, Grant.reference, SpendCategory.name)
        .join(Grant, Grant.id == BudgetLine.grant_id)
        .join(SpendCategory, SpendCategory.id == BudgetLine.category_id)
        .order_by(Grant.reference, SpendCategory.name)
    )
    return [(line_id, f"{grant}: {category}") for line_id, grant, category in rows]


def recorder_choices() -> list[tuple[int, str]]:
    """(user id, name) of everyone who could have recorded a line, by name."""
    rows = db.session.execute(select(User.id, User.name).order_by(User.name, User.id))
    return [(user_id, name) for user_id, name in rows]


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
    #: The payment run that paid it, if it was paid in one.
    payment_run: PaymentRun | None = None
    #: Where it stands with payment (funds.payment_status).
    status: PaymentStatus | None = None

    @property
    def payable(self) -> bool:
        """Whether finance could still mark it paid (it is not yet paid)."""
        return self.status is PaymentStatus.UNPAID

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
    run = (
        db.session.get(PaymentRun, payment.payment_run_id)
        if payment is not None and payment.payment_run_id is not None
        else None
    )
    status = PaymentStatus(
        db.session.scalar(select(status_of()).where(Disbursement.id == line.id))
    )
    return AwardStory(line, payment, paid_by, reversed_by, run, status)
