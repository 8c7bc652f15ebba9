"""Recompute every rollup (funds.models.rollups) from the ledger and list differences.

The triggers keep the rollups; this is the independent check: the same figures summed
the slow way, straight from the lines, with the one rule for "not yet paid"
(funds.payment_status.unpaid) and for vouchers held (funds.balances.UNISSUED).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from funds.extensions import db
from funds.models import (
    Disbursement,
    Grant,
    GrantBalance,
    LedgerDay,
    LedgerRollup,
    UnpaidAward,
    Voucher,
    VoucherBatch,
)
from funds.money import pence_of, pence_sum

#: The figures of a grant balance, in the order of its columns.
_BALANCE = ("spent", "awards", "lines", "unpaid_awards", "unpaid", "held")


@dataclass(frozen=True)
class Difference:
    """One figure the rollups hold that the ledger does not give."""

    rollup: str
    key: tuple
    figure: str
    stored: object
    computed: object

    def __str__(self) -> str:
        key = ", ".join(str(part) for part in self.key)
        return (
            f"{self.rollup} ({key}) {self.figure}: stored {self.stored},"
            f" from the ledger {self.computed}"
        )


def _balances_stored() -> dict[tuple, dict[str, int]]:
    rows = db.session.execute(
        select(
            GrantBalance.grant_id,
            GrantBalance.spent_pence,
            GrantBalance.awards,
            GrantBalance.lines,
            GrantBalance.unpaid_awards,
            GrantBalance.unpaid_pence,
            GrantBalance.held_pence,
        )
    )
    return {
        (grant,): dict(zip(_BALANCE, figures, strict=True)) for grant, *figures in rows
    }


def _balances_computed() -> dict[tuple, dict[str, int]]:
    from funds.balances import UNISSUED
    from funds.payment_status import unpaid

    figures = {
        (grant,): dict.fromkeys(_BALANCE, 0)
        for grant in db.session.scalars(select(Grant.id))
    }
    amount = pence_of(Disbursement.amount)
    ledger = db.session.execute(
        select(
            Disbursement.grant_id,
            pence_sum(Disbursement.amount),
            func.count(case((Disbursement.reverses_id.is_(None), 1))),
            func.count(),
        ).group_by(Disbursement.grant_id)
    )
    for grant, spent, awards, lines in ledger:
        figures[(grant,)].update(spent=int(spent), awards=int(awards), lines=int(lines))
    owed = db.session.execute(
        select(Disbursement.grant_id, func.count(), func.sum(amount))
        .where(unpaid())
        .group_by(Disbursement.grant_id)
    )
    for grant, count, pence in owed:
        figures[(grant,)].update(unpaid_awards=int(count), unpaid=int(pence))
    held = db.session.execute(
        select(VoucherBatch.grant_id, func.sum(pence_of(VoucherBatch.face_value)))
        .join(Voucher, Voucher.batch_id == VoucherBatch.id)
        .where(Voucher.status.in_(UNISSUED))
        .group_by(VoucherBatch.grant_id)
    )
    for grant, pence in held:
        figures[(grant,)]["held"] = int(pence)
    return figures


def _months_stored() -> dict[tuple, dict[str, int]]:
    rows = db.session.execute(
        select(
            LedgerRollup.grant_id,
            LedgerRollup.item_type_id,
            LedgerRollup.month,
            LedgerRollup.spent_pence,
            LedgerRollup.awards,
            LedgerRollup.lines,
        )
    )
    return {
        (grant, item, month): {"spent": s, "awards": a, "lines": n}
        for grant, item, month, s, a, n in rows
    }


def _days_stored() -> dict[tuple, dict[str, int]]:
    rows = db.session.execute(
        select(LedgerDay.grant_id, LedgerDay.awarded_on, LedgerDay.spent_pence)
    )
    return {(grant, day): {"spent": s} for grant, day, s in rows}


def _months_and_days_computed() -> tuple[dict, dict]:
    """Both from one pass: the ledger summed per grant, item and day, in SQL, then
    added into months and into days (the months' first days are made in Python, the
    same on both engines)."""
    rows = db.session.execute(
        select(
            Disbursement.grant_id,
            Disbursement.item_type_id,
            Disbursement.awarded_on,
            pence_sum(Disbursement.amount),
            func.count(case((Disbursement.reverses_id.is_(None), 1))),
            func.count(),
        ).group_by(
            Disbursement.grant_id, Disbursement.item_type_id, Disbursement.awarded_on
        )
    )
    months: dict[tuple, dict[str, int]] = {}
    days: dict[tuple, dict[str, int]] = {}
    for grant, item, day, spent, awards, lines in rows:
        month = months.setdefault(
            (grant, item, day.replace(day=1)), {"spent": 0, "awards": 0, "lines": 0}
        )
        month["spent"] += int(spent)
        month["awards"] += int(awards)
        month["lines"] += int(lines)
        days.setdefault((grant, day), {"spent": 0})["spent"] += int(spent)
    return months, days


def _compare(rollup: str, stored: dict, computed: dict) -> list[Difference]:
    differences = []
    for key in sorted(stored.keys() | computed.keys(), key=str):
        have, want = stored.get(key, {}), computed.get(key, {})
        for figure in sorted(have.keys() | want.keys()):
            if have.get(figure) != want.get(figure):
                differences.append(
                    Difference(rollup, key, figure, have.get(figure), want.get(figure))
                )
    return differences


def _unpaid_listed() -> list[Difference]:
    from funds.payment_status import unpaid

    listed = {
        ident: (grant, day, pence)
        for ident, grant, day, pence in db.session.execute(
            select(
                UnpaidAward.disbursement_id,
                UnpaidAward.grant_id,
                UnpaidAward.awarded_on,
                UnpaidAward.amount_pence,
            )
        )
    }
    owed = {
        ident: (grant, day, int(pence))
        for ident, grant, day, pence in db.session.execute(
            select(
                Disbursement.id,
                Disbursement.grant_id,
                Disbursement.awarded_on,
                pence_of(Disbursement.amount),
            ).where(unpaid())
        )
    }
    return [
        Difference(
            "unpaid award", (ident,), "listed", listed.get(ident), owed.get(ident)
        )
        for ident in sorted(listed.keys() | owed.keys())
        if listed.get(ident) != owed.get(ident)
    ]


def verify_rollups() -> list[Difference]:
    """Every difference between the rollups and the ledger (an empty list: all agree)."""
    months, days = _months_and_days_computed()
    return [
        *_compare("grant balance", _balances_stored(), _balances_computed()),
        *_compare("month", _months_stored(), months),
        *_compare("day", _days_stored(), days),
        *_unpaid_listed(),
    ]
