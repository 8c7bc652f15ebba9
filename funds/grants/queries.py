"""Reads about grants: balances, spend by category, the overview. All sums in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, select

from funds.extensions import db
from funds.models import (
    BudgetLine,
    Disbursement,
    DisbursementPayment,
    Funder,
    Grant,
    ItemType,
    SpendCategory,
)
from funds.money import from_pence, pence_of, pence_sum

ZERO = Decimal("0.00")


def _pounds(pence) -> Decimal:
    return from_pence(pence or 0)


def spent_on_grant(grant_id: int) -> Decimal:
    """Net spend on a grant: awards less reversals."""
    pence = db.session.scalar(
        select(pence_sum(Disbursement.amount)).where(Disbursement.grant_id == grant_id)
    )
    return _pounds(pence)


def spent_in_category(grant_id: int, category_id: int) -> Decimal:
    """Net spend on a grant's items of one spend category."""
    pence = db.session.scalar(
        select(pence_sum(Disbursement.amount))
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .where(Disbursement.grant_id == grant_id, ItemType.category_id == category_id)
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

    @property
    def remaining(self) -> Decimal:
        return self.grant.total - self.spent

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


def grants_overview(*, include_closed: bool = True) -> list[GrantSummary]:
    """Every grant with its spend, unpaid awards and award count, in one query."""
    amount = pence_of(Disbursement.amount)
    unpaid_award = and_(
        Disbursement.reverses_id.is_(None),
        DisbursementPayment.id.is_(None),
        ~Disbursement.id.in_(
            select(Disbursement.reverses_id).where(
                Disbursement.reverses_id.is_not(None)
            )
        ),
    )
    totals = (
        select(
            Disbursement.grant_id.label("grant_id"),
            func.coalesce(func.sum(amount), 0).label("spent"),
            func.coalesce(func.sum(case((unpaid_award, amount), else_=0)), 0).label(
                "unpaid"
            ),
            func.count(case((Disbursement.reverses_id.is_(None), 1))).label("awards"),
        )
        .outerjoin(
            DisbursementPayment, DisbursementPayment.disbursement_id == Disbursement.id
        )
        .group_by(Disbursement.grant_id)
        .subquery()
    )
    query = (
        select(
            Grant,
            Funder.name,
            func.coalesce(totals.c.spent, 0),
            func.coalesce(totals.c.unpaid, 0),
            func.coalesce(totals.c.awards, 0),
        )
        .join(Funder, Funder.id == Grant.funder_id)
        .outerjoin(totals, totals.c.grant_id == Grant.id)
        .order_by(Grant.status, Grant.ends_on.desc(), Grant.reference)
    )
    if not include_closed:
        query = query.where(Grant.status == "open")
    return [
        GrantSummary(grant, funder, _pounds(spent), _pounds(unpaid), awards)
        for grant, funder, spent, unpaid, awards in db.session.execute(query)
    ]


def grant_summary(grant_id: int) -> GrantSummary | None:
    """The overview row for one grant."""
    for summary in grants_overview():
        if summary.grant.id == grant_id:
            return summary
    return None


@dataclass(frozen=True)
class LineSummary:
    """A budget line with its spend."""

    line: BudgetLine
    category_name: str
    spent: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.line.amount - self.spent


def budget_lines(grant_id: int) -> list[LineSummary]:
    """A grant's budget lines with the net spend in each category."""
    amount = pence_of(Disbursement.amount)
    spend = (
        select(ItemType.category_id, func.sum(amount).label("spent"))
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .where(Disbursement.grant_id == grant_id)
        .group_by(ItemType.category_id)
        .subquery()
    )
    query = (
        select(BudgetLine, SpendCategory.name, func.coalesce(spend.c.spent, 0))
        .join(SpendCategory, SpendCategory.id == BudgetLine.category_id)
        .outerjoin(spend, spend.c.category_id == BudgetLine.category_id)
        .where(BudgetLine.grant_id == grant_id)
        .order_by(SpendCategory.name)
    )
    return [
        LineSummary(line, name, _pounds(spent))
        for line, name, spent in db.session.execute(query)
    ]


def spend_by_category(grant_id: int) -> list[tuple[str, Decimal, int]]:
    """(category, net spend, awards) for a grant, largest first."""
    amount = pence_of(Disbursement.amount)
    query = (
        select(
            SpendCategory.name,
            func.sum(amount),
            func.count(case((Disbursement.reverses_id.is_(None), 1))),
        )
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .where(Disbursement.grant_id == grant_id)
        .group_by(SpendCategory.name)
        .order_by(func.sum(amount).desc())
    )
    return [
        (name, _pounds(total), awards)
        for name, total, awards in db.session.execute(query)
    ]
