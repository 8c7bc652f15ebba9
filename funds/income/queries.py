"""Reads about income and fund movements; every figure one SQL aggregate.

The fund movement table is the Charities SORP fund note for each grant's restricted fund
and one financial year: balance brought forward, income (money received from the funder),
expenditure (net spend on the ledger: awards less reversals, by the day they were given),
transfers in and out, balance carried forward. Brought forward is the same sum over every
day before the year starts, so one year's carried forward is the next year's brought
forward, to the penny.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import joinedload

from funds.balances import spent_pence_sql
from funds.extensions import db
from funds.models import (
    ExpectedIncome,
    FundTransfer,
    Grant,
    GrantReceipt,
    LedgerDay,
)
from funds.money import from_pence, pence_of

ZERO = Decimal("0.00")


def year_start_month() -> int:
    """The month the organisation's financial year starts (April unless configured)."""
    month = current_app.config["FINANCIAL_YEAR_START_MONTH"]
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise RuntimeError("FINANCIAL_YEAR_START_MONTH must be a month number, 1 to 12")
    return month


@dataclass(frozen=True)
class FinancialYear:
    """A financial year, named by the calendar year it starts in."""

    starts: int

    @property
    def starts_on(self) -> date:
        return date(self.starts, year_start_month(), 1)

    @property
    def ends_on(self) -> date:
        month = year_start_month()
        if month == 1:
            return date(self.starts, 12, 31)
        return date(self.starts + 1, month, 1) - timedelta(days=1)

    @property
    def label(self) -> str:
        if year_start_month() == 1:
            return str(self.starts)
        return f"{self.starts}-{str(self.starts + 1)[2:]}"

    @classmethod
    def containing(cls, day: date) -> FinancialYear:
        return cls(day.year if day.month >= year_start_month() else day.year - 1)


@dataclass(frozen=True)
class Movement:
    """One fund's row of the fund note for one financial year."""

    grant_id: int
    reference: str
    title: str
    brought_forward: Decimal
    income: Decimal
    expenditure: Decimal
    transfers_in: Decimal
    transfers_out: Decimal

    @property
    def transfers(self) -> Decimal:
        return self.transfers_in - self.transfers_out

    @property
    def carried_forward(self) -> Decimal:
        return self.brought_forward + self.income - self.expenditure + self.transfers


def _sums(grant_column, day_column, amount_column, years: list[FinancialYear], *where):
    """Per grant, for each year: (pence before the year, pence during it) of one kind of
    flow, in one GROUP BY (each source summed on its own: no union of every line to
    materialise; the years are columns, so a grant's page of several years is one read)."""
    pence = pence_of(amount_column)
    columns = []
    for year in years:
        during = and_(day_column >= year.starts_on, day_column <= year.ends_on)
        columns += [
            func.coalesce(func.sum(case((day_column < year.starts_on, pence))), 0),
            func.coalesce(func.sum(case((during, pence))), 0),
        ]
    rows = db.session.execute(
        select(grant_column, *columns)
        .where(grant_column.is_not(None), *where)
        .group_by(grant_column)
    )
    return {
        grant_id: [(int(sums[n]), int(sums[n + 1])) for n in range(0, len(sums), 2)]
        for grant_id, *sums in rows
    }


def fund_movements(
    year: FinancialYear, *, grant_id: int | None = None
) -> list[Movement]:
    """The fund note for ``year``: one row per grant (every grant that started by the
    year's end, or just ``grant_id``)."""
    return fund_movements_by_year([year], grant_id=grant_id)[year]


def fund_movements_by_year(
    years: list[FinancialYear], *, grant_id: int | None = None
) -> dict[FinancialYear, list[Movement]]:
    """The fund note for each of ``years``. Each kind of flow is one SQL aggregate per
    grant, with a pair of columns per year; the rows add up those few sums."""
    if not years:
        return {}
    grants = select(Grant.id, Grant.reference, Grant.title, Grant.starts_on).where(
        Grant.starts_on <= max(year.ends_on for year in years)
    )
    narrow: list = []
    if grant_id is not None:
        grants = grants.where(Grant.id == grant_id)
    income = _sums(
        GrantReceipt.grant_id,
        GrantReceipt.received_on,
        GrantReceipt.amount,
        years,
        *([GrantReceipt.grant_id == grant_id] if grant_id is not None else narrow),
    )
    # Spend from each grant's day totals (funds.models.rollups), not its every line.
    spend = _sums(
        LedgerDay.grant_id,
        LedgerDay.awarded_on,
        LedgerDay.spent_pence,
        years,
        *([LedgerDay.grant_id == grant_id] if grant_id is not None else narrow),
    )
    into = _sums(
        FundTransfer.to_grant_id,
        FundTransfer.transferred_on,
        FundTransfer.amount,
        years,
        *([FundTransfer.to_grant_id == grant_id] if grant_id is not None else narrow),
    )
    out = _sums(
        FundTransfer.from_grant_id,
        FundTransfer.transferred_on,
        FundTransfer.amount,
        years,
        *([FundTransfer.from_grant_id == grant_id] if grant_id is not None else narrow),
    )
    nothing = [(0, 0)] * len(years)
    found: dict[FinancialYear, list[Movement]] = {year: [] for year in years}
    listed = db.session.execute(grants.order_by(Grant.reference))
    for gid, reference, title, starts_on in listed:
        flows = zip(
            years,
            income.get(gid, nothing),
            spend.get(gid, nothing),
            into.get(gid, nothing),
            out.get(gid, nothing),
            strict=True,
        )
        for year, (i_before, i_during), (s_before, s_during), t_in, t_out in flows:
            if starts_on > year.ends_on:
                continue
            (t_in_before, t_in_during), (t_out_before, t_out_during) = t_in, t_out
            found[year].append(
                Movement(
                    grant_id=gid,
                    reference=reference,
                    title=title,
                    brought_forward=from_pence(
                        i_before - s_before + t_in_before - t_out_before
                    ),
                    income=from_pence(i_during),
                    expenditure=from_pence(s_during),
                    transfers_in=from_pence(t_in_during),
                    transfers_out=from_pence(t_out_during),
                )
            )
    return found


def movement_totals(rows: list[Movement]) -> Movement:
    """The totals row (a sum of rows already summed in SQL)."""
    return Movement(
        grant_id=0,
        reference="Total",
        title="",
        brought_forward=sum((r.brought_forward for r in rows), ZERO),
        income=sum((r.income for r in rows), ZERO),
        expenditure=sum((r.expenditure for r in rows), ZERO),
        transfers_in=sum((r.transfers_in for r in rows), ZERO),
        transfers_out=sum((r.transfers_out for r in rows), ZERO),
    )


def years_with_activity() -> list[FinancialYear]:
    """Financial years from the earliest grant start to the latest grant end."""
    first, last = db.session.execute(
        select(func.min(Grant.starts_on), func.max(Grant.ends_on))
    ).one()
    if first is None:
        return []
    return years_between(first, last)


def years_between(first: date, last: date) -> list[FinancialYear]:
    """The financial years from the one containing ``first`` to the one containing
    ``last``: a grant's years, when given its start and end."""
    start = FinancialYear.containing(first).starts
    end = FinancialYear.containing(last).starts
    return [FinancialYear(year) for year in range(start, end + 1)]


# --- one grant's income --------------------------------------------------------------------


@dataclass(frozen=True)
class IncomePosition:
    """A grant's money in against its spend and its schedule."""

    received: Decimal
    expected: Decimal
    expected_to_date: Decimal
    spent: Decimal
    #: Net transfers into the fund (negative: out).
    transfers: Decimal = ZERO

    @property
    def cash(self) -> Decimal:
        """Received less spent plus net transfers: the fund's balance now (negative: the
        charity is paying ahead of the funder's money)."""
        return self.received - self.spent + self.transfers

    @property
    def behind_schedule(self) -> Decimal:
        """Expected by today but not yet received (0 when on or ahead of schedule)."""
        return max(self.expected_to_date - self.received, ZERO)


def income_position(grant_id: int, today: date) -> IncomePosition:
    """Money in, expected, spent and moved for one grant: one read of a few sums."""

    def total(amount, *where, when=None):
        pence = pence_of(amount) if when is None else case((when, pence_of(amount)))
        return select(func.coalesce(func.sum(pence), 0)).where(*where).scalar_subquery()

    received, expected, expected_to_date, spent, into, out = db.session.execute(
        select(
            total(GrantReceipt.amount, GrantReceipt.grant_id == grant_id),
            total(ExpectedIncome.amount, ExpectedIncome.grant_id == grant_id),
            total(
                ExpectedIncome.amount,
                ExpectedIncome.grant_id == grant_id,
                when=ExpectedIncome.due_on <= today,
            ),
            spent_pence_sql(grant_id),
            total(FundTransfer.amount, FundTransfer.to_grant_id == grant_id),
            total(FundTransfer.amount, FundTransfer.from_grant_id == grant_id),
        )
    ).one()
    return IncomePosition(
        from_pence(received),
        from_pence(expected),
        from_pence(expected_to_date),
        from_pence(spent),
        from_pence(into - out),
    )


def receipts(grant_id: int) -> list[GrantReceipt]:
    return list(
        db.session.scalars(
            select(GrantReceipt)
            .where(GrantReceipt.grant_id == grant_id)
            .order_by(GrantReceipt.received_on, GrantReceipt.id)
        )
    )


def schedule(grant_id: int) -> list[ExpectedIncome]:
    return list(
        db.session.scalars(
            select(ExpectedIncome)
            .where(ExpectedIncome.grant_id == grant_id)
            .order_by(ExpectedIncome.due_on, ExpectedIncome.id)
        )
    )


def transfers(grant_id: int) -> list[FundTransfer]:
    """Transfers into or out of the grant's fund, oldest first."""
    return list(
        db.session.scalars(
            select(FundTransfer)
            .options(
                joinedload(FundTransfer.from_grant), joinedload(FundTransfer.to_grant)
            )
            .where(
                or_(
                    FundTransfer.from_grant_id == grant_id,
                    FundTransfer.to_grant_id == grant_id,
                )
            )
            .order_by(FundTransfer.transferred_on, FundTransfer.id)
        )
    )


def other_grants(grant_id: int) -> list[tuple[int, str]]:
    return [
        (gid, f"{reference}: {title}")
        for gid, reference, title in db.session.execute(
            select(Grant.id, Grant.reference, Grant.title)
            .where(Grant.id != grant_id)
            .order_by(Grant.reference)
        )
    ]
