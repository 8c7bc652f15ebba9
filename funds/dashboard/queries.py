"""The dashboard's figures: each one SQL aggregate over the ledger's running totals
(funds.models.rollups), never rows in Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select, union_all

from funds.dashboard.forecast import RECENT_DAYS, Forecast
from funds.extensions import db
from funds.models import (
    BudgetLine,
    Funder,
    FundTransfer,
    Grant,
    GrantBalance,
    GrantReceipt,
    GrantStatus,
    ItemType,
    LedgerDay,
    LedgerRollup,
    PeriodLock,
    SpendCategory,
    UnpaidAward,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from funds.money import from_pence, pence_of
from funds.vouchers.queries import batches_expiring_by

#: Vouchers expiring within this many days are listed.
EXPIRING_DAYS = 30
#: Grants ending within this many days with money left are listed.
ENDING_DAYS = 60
#: Returns due within this many days (or overdue) are listed.
RETURNS_DUE_DAYS = 30


def _ledger_by_grant(today: date):
    """Net spend, and net spend over the recent window, per grant (pence): the grant's
    running total and its day totals over the window (funds.models.rollups)."""
    recent_from = today - timedelta(days=RECENT_DAYS - 1)
    recent = (
        select(
            LedgerDay.grant_id.label("grant_id"),
            func.sum(LedgerDay.spent_pence).label("recent"),
        )
        .where(LedgerDay.awarded_on >= recent_from, LedgerDay.awarded_on <= today)
        .group_by(LedgerDay.grant_id)
        .subquery()
    )
    return (
        select(
            GrantBalance.grant_id.label("grant_id"),
            GrantBalance.spent_pence.label("spent"),
            func.coalesce(recent.c.recent, 0).label("recent"),
        )
        .outerjoin(recent, recent.c.grant_id == GrantBalance.grant_id)
        .subquery()
    )


def _received_by_grant():
    return (
        select(
            GrantReceipt.grant_id.label("grant_id"),
            func.sum(pence_of(GrantReceipt.amount)).label("received"),
        )
        .group_by(GrantReceipt.grant_id)
        .subquery()
    )


def _transfers_by_grant():
    """Net transfers into each grant's fund (in less out), pence."""
    into = select(
        FundTransfer.to_grant_id.label("grant_id"),
        pence_of(FundTransfer.amount).label("pence"),
    ).where(FundTransfer.to_grant_id.is_not(None))
    out = select(FundTransfer.from_grant_id, -pence_of(FundTransfer.amount)).where(
        FundTransfer.from_grant_id.is_not(None)
    )
    moves = union_all(into, out).subquery()
    return (
        select(moves.c.grant_id, func.sum(moves.c.pence).label("net"))
        .group_by(moves.c.grant_id)
        .subquery()
    )


@dataclass(frozen=True)
class GrantPosition:
    """One row of the dashboard: a grant's money and where it is heading."""

    grant: Grant
    funder_name: str
    received: Decimal
    spent: Decimal
    held: Decimal
    forecast: Forecast
    #: Net transfers into the grant's fund from other funds (negative: out).
    transfers: Decimal = Decimal("0.00")

    @property
    def available(self) -> Decimal:
        return self.grant.total - self.spent - self.held

    @property
    def cash(self) -> Decimal:
        """Received from the funder less spent, plus net transfers: the fund's balance
        now (the fund note's balance carried forward to date)."""
        return self.received - self.spent + self.transfers


def grant_positions(today: date, *, grant_id: int | None = None) -> list[GrantPosition]:
    """Every open grant (or one grant) with its figures and forecast: one query."""
    ledger = _ledger_by_grant(today)
    received = _received_by_grant()
    transfers = _transfers_by_grant()
    query = (
        select(
            Grant,
            Funder.name,
            func.coalesce(received.c.received, 0),
            func.coalesce(ledger.c.spent, 0),
            func.coalesce(ledger.c.recent, 0),
            func.coalesce(GrantBalance.held_pence, 0),
            func.coalesce(transfers.c.net, 0),
        )
        .join(Funder, Funder.id == Grant.funder_id)
        .outerjoin(ledger, ledger.c.grant_id == Grant.id)
        .outerjoin(GrantBalance, GrantBalance.grant_id == Grant.id)
        .outerjoin(received, received.c.grant_id == Grant.id)
        .outerjoin(transfers, transfers.c.grant_id == Grant.id)
        .order_by(Grant.ends_on, Grant.reference)
    )
    if grant_id is None:
        query = query.where(Grant.status == GrantStatus.OPEN)
    else:
        query = query.where(Grant.id == grant_id)
    positions = []
    for (
        grant,
        funder,
        received_p,
        spent_p,
        recent_p,
        held_p,
        net_p,
    ) in db.session.execute(query):
        spent, held_value = from_pence(spent_p), from_pence(held_p)
        forecast = Forecast(
            total=grant.total,
            spent=spent,
            recent=from_pence(recent_p),
            starts_on=grant.starts_on,
            ends_on=grant.ends_on,
            today=today,
            tolerance=grant.forecast_tolerance,
            available=grant.total - spent - held_value,
        )
        positions.append(
            GrantPosition(
                grant,
                funder,
                from_pence(received_p),
                spent,
                held_value,
                forecast,
                from_pence(net_p),
            )
        )
    return positions


# --- spend per month against a straight-line profile ----------------------------------------


@dataclass(frozen=True)
class MonthRow:
    """One month of a grant's (or budget line's) spend against its straight-line profile."""

    month: str  # YYYY-MM
    spent: Decimal
    cumulative: Decimal
    #: What a straight line from nothing at the start to the total at the end has spent
    #: by the end of this month.
    profile: Decimal
    #: The month has not begun yet (nothing to show as spent).
    future: bool = False

    @property
    def short_label(self) -> str:
        """``Apr``, or ``Jan 27`` where a year starts (for the chart's axis)."""
        year, month = self.month.split("-")
        name = f"{date(int(year), int(month), 1):%b}"
        return f"{name} {year[2:]}" if month == "01" else name

    @property
    def label(self) -> str:
        year, month = self.month.split("-")
        return f"{date(int(year), int(month), 1):%b %Y}"

    @property
    def difference(self) -> Decimal:
        return self.cumulative - self.profile


def months_of(starts_on: date, ends_on: date) -> list[tuple[str, date]]:
    """(YYYY-MM, the month's last day within the period) for each month of the period."""
    months = []
    day = starts_on.replace(day=1)
    while day <= ends_on:
        following = (day + timedelta(days=32)).replace(day=1)
        last = min(following - timedelta(days=1), ends_on)
        months.append((f"{day:%Y-%m}", last))
        day = following
    return months


def monthly_profile(
    total: Decimal,
    starts_on: date,
    ends_on: date,
    spent_by_month: dict[str, Decimal],
    today: date | None = None,
) -> list[MonthRow]:
    """Month rows from spend per month (YYYY-MM -> net spend); months after ``today``'s
    are marked future."""
    from funds.dashboard.forecast import days_gone, pennies, period_days

    days = Decimal(period_days(starts_on, ends_on))
    rows, cumulative = [], Decimal("0.00")
    for month, last in months_of(starts_on, ends_on):
        spent = spent_by_month.get(month, Decimal("0.00"))
        cumulative += spent
        share = Decimal(days_gone(starts_on, ends_on, last)) / days
        future = today is not None and month > f"{today:%Y-%m}"
        rows.append(MonthRow(month, spent, cumulative, pennies(total * share), future))
    return rows


def spend_by_month(grant_id: int) -> dict[str, Decimal]:
    """Net spend per calendar month of a grant.

    Read from the grant's month totals per item type (funds.models.rollups).
    """
    rows = db.session.execute(
        select(LedgerRollup.month, func.sum(LedgerRollup.spent_pence))
        .where(LedgerRollup.grant_id == grant_id)
        .group_by(LedgerRollup.month)
    )
    months: dict[str, int] = {}
    for day, pence in rows:
        key = f"{day:%Y-%m}"
        months[key] = months.get(key, 0) + int(pence)
    return {key: from_pence(pence) for key, pence in months.items()}


def spend_by_line_and_month(grant_id: int) -> dict[int, dict[str, Decimal]]:
    """Net spend per spend category and month of a grant: category id -> month -> spend
    (its month totals per item type, added into categories)."""
    categories: dict[int, int] = {}
    for item, category in db.session.execute(select(ItemType.id, ItemType.category_id)):
        categories[item] = category
    rows = db.session.execute(
        select(
            LedgerRollup.item_type_id,
            LedgerRollup.month,
            LedgerRollup.spent_pence,
        ).where(LedgerRollup.grant_id == grant_id)
    )
    pence_by: dict[int, dict[str, int]] = {}
    for item_type_id, day, pence in rows:
        months = pence_by.setdefault(categories[item_type_id], {})
        key = f"{day:%Y-%m}"
        months[key] = months.get(key, 0) + int(pence)
    return {
        category: {key: from_pence(p) for key, p in months.items()}
        for category, months in pence_by.items()
    }


def budget_lines(grant_id: int) -> list[tuple[BudgetLine, str]]:
    """A grant's budget lines with their category names, by name."""
    return list(
        db.session.execute(
            select(BudgetLine, SpendCategory.name)
            .join(SpendCategory, SpendCategory.id == BudgetLine.category_id)
            .where(BudgetLine.grant_id == grant_id)
            .order_by(SpendCategory.name)
        )
    )


# --- what needs doing ----------------------------------------------------------------------


@dataclass(frozen=True)
class Unpaid:
    """Awards not yet paid: how many, their value and the oldest date."""

    count: int
    value: Decimal
    oldest: date | None


def unpaid_awards() -> Unpaid:
    """Every award still to be paid (funds.payment_status), in one aggregate over the
    list of awards not yet paid the ledger keeps (funds.models.rollups)."""
    count, pence = db.session.execute(
        select(
            func.coalesce(func.sum(GrantBalance.unpaid_awards), 0),
            func.coalesce(func.sum(GrantBalance.unpaid_pence), 0),
        )
    ).one()
    oldest = db.session.scalar(select(func.min(UnpaidAward.awarded_on)))
    return Unpaid(int(count), from_pence(pence), oldest)


@dataclass(frozen=True)
class Expiring:
    grant_id: int
    reference: str
    expires_on: date
    vouchers: int
    value: Decimal


def vouchers_expiring(today: date) -> list[Expiring]:
    """Vouchers in stock whose batch expires within EXPIRING_DAYS (or has expired),
    per grant and expiry date, soonest first."""
    rows = db.session.execute(
        select(
            Grant.id,
            Grant.reference,
            VoucherBatch.expires_on,
            func.count(Voucher.id),
            func.sum(pence_of(VoucherBatch.face_value)),
        )
        .join(VoucherBatch, VoucherBatch.grant_id == Grant.id)
        .join(Voucher, Voucher.batch_id == VoucherBatch.id)
        .where(
            Voucher.status == VoucherStatus.IN_STOCK,
            VoucherBatch.expires_on <= today + timedelta(days=EXPIRING_DAYS),
            Voucher.batch_id.in_(
                batches_expiring_by(today + timedelta(days=EXPIRING_DAYS))
            ),
        )
        .group_by(Grant.id, Grant.reference, VoucherBatch.expires_on)
        .order_by(VoucherBatch.expires_on, Grant.reference)
    )
    return [
        Expiring(grant_id, reference, expires, int(count), from_pence(pence))
        for grant_id, reference, expires, count, pence in rows
    ]


def ending_with_money_left(
    positions: list[GrantPosition], today: date
) -> list[GrantPosition]:
    """Open grants ending within ENDING_DAYS that still have money to award."""
    limit = today + timedelta(days=ENDING_DAYS)
    return [
        p for p in positions if today <= p.grant.ends_on <= limit and p.available > 0
    ]


def returns_due(positions: list[GrantPosition], today: date) -> list[GrantPosition]:
    """Open grants whose next return is due within RETURNS_DUE_DAYS, or overdue."""
    limit = today + timedelta(days=RETURNS_DUE_DAYS)
    due = [
        p
        for p in positions
        if p.grant.return_due_on is not None and p.grant.return_due_on <= limit
    ]
    return sorted(due, key=lambda p: p.grant.return_due_on)


def locked_periods() -> list[tuple[PeriodLock, str]]:
    """Periods locked now (not unlocked), newest first, with the grant's reference."""
    return list(
        db.session.execute(
            select(PeriodLock, Grant.reference)
            .join(Grant, Grant.id == PeriodLock.grant_id)
            .where(PeriodLock.unlocked_at.is_(None), Grant.status == GrantStatus.OPEN)
            .order_by(PeriodLock.ends_on.desc(), Grant.reference)
        )
    )
