"""Where each grant is heading: the share of its period gone, the forecast spend at the end
of the period, and a plain status with its reason in words.

Pure arithmetic on figures the queries summed in SQL; Decimal throughout, rounded to the
penny half up only where a figure is shown.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from funds.money import format_money as money_text

PENNY = Decimal("0.01")
#: The recent rate is the net spend of the last RECENT_DAYS days of the period so far.
RECENT_DAYS = 90


class Outlook(enum.StrEnum):
    """The plain status of a grant on the dashboard."""

    NOT_STARTED = "not-started"
    ON_TRACK = "on-track"
    UNDERSPENDING = "underspending"
    OVERSPENDING = "overspending"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Outlook.NOT_STARTED: "Not started",
    Outlook.ON_TRACK: "On track",
    Outlook.UNDERSPENDING: "Underspending",
    Outlook.OVERSPENDING: "At risk of overspending",
    Outlook.ENDED: "Period ended",
}


def pennies(value: Decimal) -> Decimal:
    return value.quantize(PENNY, rounding=ROUND_HALF_UP)


def period_days(starts_on: date, ends_on: date) -> int:
    """Days in the period, both ends included."""
    return (ends_on - starts_on).days + 1


def days_gone(starts_on: date, ends_on: date, today: date) -> int:
    """Days of the period up to and including today (0 before it starts)."""
    if today < starts_on:
        return 0
    return min((today - starts_on).days + 1, period_days(starts_on, ends_on))


@dataclass(frozen=True)
class Forecast:
    """A grant's forecast and status, from its total, spend and period."""

    total: Decimal
    spent: Decimal
    #: Net spend over the last RECENT_DAYS days (or the days gone, if fewer).
    recent: Decimal
    starts_on: date
    ends_on: date
    today: date
    #: Percent of the total the forecast may fall short by and still be on track.
    tolerance: int
    #: Available to award (total less spend less vouchers held).
    available: Decimal

    @property
    def days(self) -> int:
        return period_days(self.starts_on, self.ends_on)

    @property
    def gone(self) -> int:
        return days_gone(self.starts_on, self.ends_on, self.today)

    @property
    def days_left(self) -> int:
        return self.days - self.gone

    @property
    def share_gone(self) -> Decimal:
        """Share of the period gone, 0 to 1."""
        return Decimal(self.gone) / Decimal(self.days)

    @property
    def share_spent(self) -> Decimal:
        """Share of the total spent (may pass 1)."""
        return self.spent / self.total if self.total else Decimal(0)

    @property
    def at_current_rate(self) -> Decimal:
        """Spend at the end of the period if it goes on at its average rate so far."""
        if self.gone == 0:
            return self.spent
        return pennies(self.spent * Decimal(self.days) / Decimal(self.gone))

    @property
    def recent_days(self) -> int:
        return min(RECENT_DAYS, self.gone)

    @property
    def at_recent_rate(self) -> Decimal:
        """Spend at the end if the last RECENT_DAYS days' rate goes on."""
        if self.recent_days == 0:
            return self.spent
        return pennies(
            self.spent
            + self.recent * Decimal(self.days_left) / Decimal(self.recent_days)
        )

    @property
    def projected_variance(self) -> Decimal:
        """Forecast (current rate) less total: above 0 an overspend, below an underspend."""
        return self.at_current_rate - self.total

    @property
    def profile_to_date(self) -> Decimal:
        """What a straight-line profile would have spent by today."""
        return pennies(self.total * self.share_gone)

    @property
    def outlook(self) -> Outlook:
        if self.gone == 0:
            return Outlook.NOT_STARTED
        if self.available < 0 or self.at_current_rate > self.total:
            return Outlook.OVERSPENDING
        if self.days_left == 0:
            return Outlook.ENDED
        floor = self.total * Decimal(100 - self.tolerance) / Decimal(100)
        if self.at_current_rate < floor:
            return Outlook.UNDERSPENDING
        return Outlook.ON_TRACK

    @property
    def reason(self) -> str:
        """The status in words: why the grant shows as it does."""
        outlook = self.outlook
        end = f"{self.ends_on:%-d %B %Y}"
        spent = _percent(self.share_spent)
        gone = _percent(self.share_gone)
        if outlook is Outlook.NOT_STARTED:
            return f"The period starts on {self.starts_on:%-d %B %Y}."
        if outlook is Outlook.OVERSPENDING:
            if self.available < 0:
                return (
                    f"{money_text(-self.available)} more is committed than the total "
                    "(spent and vouchers held)."
                )
            return (
                f"At the rate so far it will spend {money_text(self.at_current_rate)} "
                f"by {end}, {money_text(self.projected_variance)} more than its total "
                f"({spent} spent with {gone} of the period gone)."
            )
        if outlook is Outlook.ENDED:
            if self.available > 0:
                held = self.total - self.spent - self.available
                in_vouchers = (
                    f" ({money_text(held)} more is in unissued vouchers)"
                    if held
                    else ""
                )
                return (
                    f"The period ended on {end} with {money_text(self.available)} "
                    f"not awarded{in_vouchers}."
                )
            return f"The period ended on {end}; the total is spent."
        if outlook is Outlook.UNDERSPENDING:
            return (
                f"At the rate so far it will spend {money_text(self.at_current_rate)} "
                f"by {end}, leaving {money_text(-self.projected_variance)} unspent "
                f"({spent} spent with {gone} of the period gone)."
            )
        return (
            f"At the rate so far it will spend {money_text(self.at_current_rate)} "
            f"by {end} ({spent} spent with {gone} of the period gone)."
        )


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)}%"
