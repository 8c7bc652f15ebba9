"""Reads about grants: balances, spend by category, the overview. All sums in SQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, case, func, or_, select

from funds.extensions import db
from funds.models import (
    BudgetLine,
    Funder,
    Grant,
    GrantBalance,
    GrantStatus,
    GrantTotalChange,
    Household,
    ItemType,
    LedgerRollup,
    SpendCategory,
    Team,
    User,
    YoungPerson,
)
from funds.money import from_pence, pence_of, pence_sum

ZERO = Decimal("0.00")


def _pounds(pence) -> Decimal:
    return from_pence(pence or 0)


def spent_on_grant(grant_id: int) -> Decimal:
    """Net spend on a grant: awards less reversals (its running total)."""
    from funds.balances import spent_pence

    return _pounds(spent_pence(grant_id))


def spent_in_category(grant_id: int, category_id: int) -> Decimal:
    """Net spend on a grant's items of one spend category (from its day totals)."""
    pence = db.session.scalar(
        select(func.coalesce(func.sum(LedgerRollup.spent_pence), 0))
        .join(ItemType, ItemType.id == LedgerRollup.item_type_id)
        .where(LedgerRollup.grant_id == grant_id, ItemType.category_id == category_id)
    )
    return _pounds(pence)


def allocated_to_lines(
    grant_id: int, *, excluding_category: int | None = None
) -> Decimal:
    """The total of a grant's budget lines (optionally leaving one category out)."""
    query = select(pence_sum(BudgetLine.amount)).where(BudgetLine.grant_id == grant_id)
    if excluding_category is not None:
        query = query.where(BudgetLine.category_id != excluding_category)
    return _pounds(db.session.scalar(query))


@dataclass(frozen=True)
class GrantSummary:
    """One row of the grants overview."""

    grant: Grant
    funder_name: str
    spent: Decimal
    unpaid: Decimal
    awards: int
    #: Face value of the grant's vouchers bought and not yet issued (or returned).
    held: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        """Total less net spend (vouchers not yet given out are not spent)."""
        return self.grant.total - self.spent

    @property
    def available(self) -> Decimal:
        """Available to award: total less net spend less vouchers held. The one figure
        the award form, its messages, the grant page and the overview all show."""
        return self.grant.total - self.spent - self.held

    @property
    def percent_spent(self) -> int:
        if not self.grant.total:
            return 0
        return int(self.spent * 100 / self.grant.total)

    def percent_elapsed(self, today: date) -> int:
        """How much of the grant's period has passed, 0 to 100."""
        start, end = self.grant.starts_on, self.grant.ends_on
        if today <= start:
            return 0
        if today >= end:
            return 100
        return int((today - start).days * 100 / ((end - start).days + 1))


@lru_cache(maxsize=4)
def _overview_statement(include_closed: bool, one_grant: bool) -> Select:
    """The overview's query, built once for each shape (``grant_id`` bound when run)."""
    query = (
        select(
            Grant,
            Funder.name,
            func.coalesce(GrantBalance.spent_pence, 0),
            func.coalesce(GrantBalance.unpaid_pence, 0),
            func.coalesce(GrantBalance.awards, 0),
            func.coalesce(GrantBalance.held_pence, 0),
        )
        .join(Funder, Funder.id == Grant.funder_id)
        .outerjoin(GrantBalance, GrantBalance.grant_id == Grant.id)
        .order_by(
            case((Grant.status == GrantStatus.OPEN, 0), else_=1),
            Grant.ends_on.desc(),
            Grant.reference,
        )
    )
    if not include_closed:
        query = query.where(Grant.status == GrantStatus.OPEN)
    if one_grant:
        query = query.where(Grant.id == bindparam("grant_id"))
    return query


def grants_overview(
    *, include_closed: bool = True, grant_id: int | None = None
) -> list[GrantSummary]:
    """Every grant (open ones first) with its spend, vouchers held, unpaid awards and
    award count: the running totals the ledger keeps (funds.models.rollups)."""
    query = _overview_statement(include_closed, grant_id is not None)
    rows = db.session.execute(
        query, {"grant_id": grant_id} if grant_id is not None else {}
    )
    return [
        GrantSummary(
            grant, funder, _pounds(spent), _pounds(unpaid), awards, _pounds(vouchers)
        )
        for grant, funder, spent, unpaid, awards, vouchers in rows
    ]


@dataclass(frozen=True)
class OverviewTotals:
    """The totals row of the grants overview (every figure summed in SQL)."""

    grants: int
    total: Decimal
    spent: Decimal
    remaining: Decimal
    unpaid: Decimal
    awards: int
    held: Decimal = ZERO

    @property
    def available(self) -> Decimal:
        return self.remaining - self.held

    @property
    def percent_spent(self) -> int:
        if not self.total:
            return 0
        return int(self.spent * 100 / self.total)


def overview_totals(*, include_closed: bool = True) -> OverviewTotals:
    """Totals over the grants the overview lists: one aggregate query."""
    total = pence_sum(Grant.total)
    spent = func.coalesce(func.sum(GrantBalance.spent_pence), 0)
    query = (
        select(
            func.count(Grant.id),
            total,
            spent,
            total - spent,
            func.coalesce(func.sum(GrantBalance.unpaid_pence), 0),
            func.coalesce(func.sum(GrantBalance.awards), 0),
            func.coalesce(func.sum(GrantBalance.held_pence), 0),
        )
        .select_from(Grant)
        .outerjoin(GrantBalance, GrantBalance.grant_id == Grant.id)
    )
    if not include_closed:
        query = query.where(Grant.status == GrantStatus.OPEN)
    grants, total_p, spent_p, remaining_p, unpaid_p, awards, held_p = (
        db.session.execute(query).one()
    )
    return OverviewTotals(
        grants=grants,
        total=_pounds(total_p),
        spent=_pounds(spent_p),
        remaining=_pounds(remaining_p),
        unpaid=_pounds(unpaid_p),
        awards=int(awards),
        held=_pounds(held_p),
    )


def grant_summary(grant_id: int) -> GrantSummary | None:
    """The overview row for one grant."""
    rows = grants_overview(grant_id=grant_id)
    return rows[0] if rows else None


def total_changes(grant_id: int) -> list[tuple[GrantTotalChange, str]]:
    """A grant's total changes, oldest first, with who made each."""
    query = (
        select(GrantTotalChange, User.name)
        .join(User, User.id == GrantTotalChange.changed_by_id)
        .where(GrantTotalChange.grant_id == grant_id)
        .order_by(GrantTotalChange.changed_at, GrantTotalChange.id)
    )
    return [(change, name) for change, name in db.session.execute(query)]


def beneficiary_by_reference(reference: str) -> tuple[str, int] | None:
    """``("household", id)`` or ``("young_person", id)`` for a reference, else None."""
    reference = reference.strip().upper()
    if reference.startswith("H-"):
        ident = db.session.scalar(
            select(Household.id).where(Household.reference == reference)
        )
        return ("household", ident) if ident is not None else None
    if reference.startswith("YP-"):
        ident = db.session.scalar(
            select(YoungPerson.id).where(YoungPerson.reference == reference)
        )
        return ("young_person", ident) if ident is not None else None
    return None


def spend_categories() -> list[SpendCategory]:
    """Every spend category, by name."""
    return list(db.session.scalars(select(SpendCategory).order_by(SpendCategory.name)))


def category_and_item_names() -> tuple[
    list[tuple[int, str]], list[tuple[int, str, str]]
]:
    """(id, name) of every spend category by name, and (id, name, category's name) of
    every item type by category then item: one read, for the ledger's filters."""
    rows = db.session.execute(
        select(SpendCategory.id, SpendCategory.name, ItemType.id, ItemType.name)
        .outerjoin(ItemType, ItemType.category_id == SpendCategory.id)
        .order_by(SpendCategory.name, SpendCategory.id, ItemType.name)
    ).all()
    categories = list(dict.fromkeys((row[0], row[1]) for row in rows))
    items = [(row[2], row[3], row[1]) for row in rows if row[2] is not None]
    return categories, items


@dataclass(frozen=True)
class LineSummary:
    """A budget line with its spend."""

    line: BudgetLine
    category_name: str
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.line.amount - self.spent


def _spend_by_category(grant_id: int):
    """Net spend and awards per spend category of a grant, as a subquery (pence),
    from its day totals."""
    return (
        select(
            ItemType.category_id.label("category_id"),
            func.sum(LedgerRollup.spent_pence).label("spent"),
            func.sum(LedgerRollup.awards).label("awards"),
        )
        .join(ItemType, ItemType.id == LedgerRollup.item_type_id)
        .where(LedgerRollup.grant_id == grant_id)
        .group_by(ItemType.category_id)
        .subquery()
    )


@dataclass(frozen=True)
class GrantSpend:
    """A grant's budget lines with their spend, and its spend by category."""

    lines: list[LineSummary]
    #: (category, net spend, awards) for each category it has spent in, largest first.
    categories: list[tuple[str, Decimal, int]]


def grant_spend(grant_id: int) -> GrantSpend:
    """The grant's budget lines and its spend by category in one read: each category
    with its net spend (from the day totals) and the grant's line in it, if any."""
    spend = _spend_by_category(grant_id)
    query = (
        select(SpendCategory.name, spend.c.spent, spend.c.awards, BudgetLine)
        .select_from(SpendCategory)
        .outerjoin(spend, spend.c.category_id == SpendCategory.id)
        .outerjoin(
            BudgetLine,
            and_(
                BudgetLine.category_id == SpendCategory.id,
                BudgetLine.grant_id == grant_id,
            ),
        )
        .where(or_(spend.c.category_id.is_not(None), BudgetLine.id.is_not(None)))
        .order_by(SpendCategory.name)
    )
    rows = db.session.execute(query).all()
    lines = [
        LineSummary(line, name, _pounds(spent or 0))
        for name, spent, _, line in rows
        if line is not None
    ]
    categories = sorted(
        (
            (name, _pounds(spent), int(awards))
            for name, spent, awards, _ in rows
            if awards is not None
        ),
        key=lambda row: row[1],
        reverse=True,
    )  # a stable sort: equal spends stay in the name order the database gave
    return GrantSpend(lines, categories)


def budget_lines(grant_id: int) -> list[LineSummary]:
    """A grant's budget lines with the net spend in each category."""
    return grant_spend(grant_id).lines


def grant_download_rows(*, include_closed: bool = True) -> Iterator[tuple]:
    """The grants overview as download rows, in its order: reference, title, funder,
    team, total, spent, held in vouchers, available, not yet paid, start, end, status.
    One query over the running totals, read 1,000 rows at a time."""
    spent = func.coalesce(GrantBalance.spent_pence, 0)
    vouchers = func.coalesce(GrantBalance.held_pence, 0)
    query = (
        select(
            Grant.reference,
            Grant.title,
            Funder.name,
            Team.name,
            pence_of(Grant.total),
            spent,
            vouchers,
            pence_of(Grant.total) - spent - vouchers,
            func.coalesce(GrantBalance.unpaid_pence, 0),
            Grant.starts_on,
            Grant.ends_on,
            Grant.status,
        )
        .join(Funder, Funder.id == Grant.funder_id)
        .outerjoin(Team, Team.id == Grant.team_id)
        .outerjoin(GrantBalance, GrantBalance.grant_id == Grant.id)
        .order_by(
            case((Grant.status == GrantStatus.OPEN, 0), else_=1),
            Grant.ends_on.desc(),
            Grant.reference,
        )
        .execution_options(yield_per=1000)
    )
    if not include_closed:
        query = query.where(Grant.status == GrantStatus.OPEN)
    for row in db.session.execute(query):
        (reference, title, funder, team, total, spent_p, held_p, available_p) = row[:8]
        unpaid_p, starts_on, ends_on, status = row[8:]
        yield (
            reference,
            title,
            funder,
            team,
            _pounds(total),
            _pounds(spent_p),
            _pounds(held_p),
            _pounds(available_p),
            _pounds(unpaid_p),
            starts_on,
            ends_on,
            GrantStatus(status).value.capitalize(),
        )
