"""What a return can count: each measure sums or counts a column of a data sheet, the same
way in SQL (the page) and in the workbook's formulas."""

from __future__ import annotations

from dataclasses import dataclass

from funds.returns.context import ACTIVITIES, LEDGER

# How a measure is computed.
SUM = "sum"  # the sum of a column (money, +1/-1 awards, places...)
ROWS = "rows"  # how many rows have a number in a column
DISTINCT = "distinct"  # people counted once (first-line flags)
RATIO = "ratio"  # one measure over another (or over a constant), rounded
BUDGET = "budget"  # the grant's budget lines (figures typed in, not counted)
VARIANCE = "variance"  # budget less spend to date, on the same row

# How a figure is shown.
MONEY = "money"
COUNT = "count"
DECIMAL = "decimal"
SHARE = "share"


@dataclass(frozen=True)
class Measure:
    """One figure a table can show for each of its cells."""

    key: str
    label: str
    description: str
    source: str
    kind: str
    how: str
    #: The data-sheet column summed (SUM) or counted (ROWS).
    column: str | None = None
    #: Counted from the grant's start to the period's end (others: the period only).
    to_date: bool = False
    #: DISTINCT (and SUM, when set): which beneficiary kinds are counted.
    beneficiaries: tuple[str, ...] = ()
    #: RATIO: numerator measure, and denominator measure or a constant.
    numerator: str | None = None
    denominator: str | int | None = None
    #: RATIO: decimal places kept (half away from zero, as a spreadsheet's ROUND).
    places: int = 2
    #: A helper for other measures, not offered on its own.
    hidden: bool = False
    #: May be split by a person's facts (age, gender...) in a figures-only table.
    personal: bool = False

    @property
    def additive(self) -> bool:
        """Totals are the sum of the cells (so a total shows any line left out)."""
        return self.how in (SUM, ROWS)

    @property
    def counts_people_or_things(self) -> bool:
        """A count that small-number suppression hides (money and ratios are not)."""
        return self.kind == COUNT


MEASURES: dict[str, Measure] = {
    m.key: m
    for m in (
        # --- the ledger -------------------------------------------------------------------
        Measure(
            "net_spend",
            "Net spend",
            "Awards less reversals dated in the period",
            LEDGER,
            MONEY,
            SUM,
            column="amount",
            personal=True,
        ),
        Measure(
            "net_spend_to_date",
            "Spend to date",
            "Awards less reversals from the grant's start to the end of the period",
            LEDGER,
            MONEY,
            SUM,
            column="amount",
            to_date=True,
        ),
        Measure(
            "awards",
            "Awards",
            "Number of awards in the period, less reversals",
            LEDGER,
            COUNT,
            SUM,
            column="awards",
            personal=True,
        ),
        Measure(
            "households",
            "Households helped",
            "Distinct households helped in the period (each counted once)",
            LEDGER,
            COUNT,
            DISTINCT,
            beneficiaries=("household",),
        ),
        Measure(
            "young_people",
            "Young people helped",
            "Distinct young people given an award in the period (each counted once)",
            LEDGER,
            COUNT,
            DISTINCT,
            beneficiaries=("young-person",),
            personal=True,
        ),
        Measure(
            "beneficiaries",
            "Beneficiaries helped",
            "Distinct households and young people helped in the period",
            LEDGER,
            COUNT,
            DISTINCT,
            beneficiaries=("household", "young-person"),
        ),
        Measure(
            "average_award",
            "Average per household",
            "Net spend on households divided by the households helped",
            LEDGER,
            MONEY,
            RATIO,
            numerator="household_spend",
            denominator="households",
        ),
        Measure(
            "household_spend",
            "Spend on households",
            "Net spend on lines for a household",
            LEDGER,
            MONEY,
            SUM,
            column="amount",
            beneficiaries=("household",),
            hidden=True,
        ),
        Measure(
            "budget",
            "Budget",
            "The grant's budget line for the row (needs budget lines as rows)",
            LEDGER,
            MONEY,
            BUDGET,
        ),
        Measure(
            "variance",
            "Variance (budget less spend to date)",
            "Budget less spend to date (needs Budget and Spend to date in the table)",
            LEDGER,
            MONEY,
            VARIANCE,
        ),
        Measure(
            "timed_awards",
            "Awards with a request date",
            "Awards (not reversed) whose request date is recorded",
            LEDGER,
            COUNT,
            ROWS,
            column="days",
        ),
        Measure(
            "days_total",
            "Days from request to award",
            "Total days from request to award",
            LEDGER,
            COUNT,
            SUM,
            column="days",
            hidden=True,
        ),
        Measure(
            "within_2_days",
            "Paid within 2 days",
            "Awards paid within 2 days of the request",
            LEDGER,
            COUNT,
            SUM,
            column="within_2_days",
        ),
        Measure(
            "average_days_to_payment",
            "Average days from request to payment",
            "Average whole days from the request to the day the money reached the person",
            LEDGER,
            DECIMAL,
            RATIO,
            numerator="days_total",
            denominator="timed_awards",
        ),
        Measure(
            "share_within_2_days",
            "Share paid within 2 days",
            "Awards paid within 2 days of the request, as a share of those with a request date",
            LEDGER,
            SHARE,
            RATIO,
            numerator="within_2_days",
            denominator="timed_awards",
            places=4,
        ),
        # --- activity sessions and registers ----------------------------------------------
        Measure(
            "sessions",
            "Sessions",
            "Sessions held in the period (cancelled ones left out)",
            ACTIVITIES,
            COUNT,
            ROWS,
            column="session_id",
        ),
        Measure(
            "places",
            "Places (attendances)",
            "Places filled: a young person at five sessions is five places",
            ACTIVITIES,
            COUNT,
            SUM,
            column="places",
            personal=True,
        ),
        Measure(
            "participants",
            "Young people (unique)",
            "Distinct young people who came to at least one session",
            ACTIVITIES,
            COUNT,
            DISTINCT,
            beneficiaries=("young-person",),
            personal=True,
        ),
        Measure(
            "activity_cost",
            "Cost",
            "What the sessions cost",
            ACTIVITIES,
            MONEY,
            SUM,
            column="cost",
        ),
        Measure(
            "carers",
            "Parents or carers (places)",
            "Accompanying parents or carers",
            ACTIVITIES,
            COUNT,
            SUM,
            column="carers",
        ),
        Measure(
            "contact_minutes",
            "Contact minutes",
            "Session minutes times places",
            ACTIVITIES,
            COUNT,
            SUM,
            column="contact_minutes",
            hidden=True,
        ),
        Measure(
            "contact_hours",
            "Contact hours",
            "Person-hours: each session's length times the young people who came",
            ACTIVITIES,
            DECIMAL,
            RATIO,
            numerator="contact_minutes",
            denominator=60,
        ),
        Measure(
            "cost_per_participant",
            "Cost per participant",
            "Cost divided by the young people who came (each counted once)",
            ACTIVITIES,
            MONEY,
            RATIO,
            numerator="activity_cost",
            denominator="participants",
        ),
        Measure(
            "cost_per_place",
            "Cost per place",
            "Cost divided by the places filled",
            ACTIVITIES,
            MONEY,
            RATIO,
            numerator="activity_cost",
            denominator="places",
        ),
        Measure(
            "average_sessions",
            "Average sessions per young person",
            "Places divided by the young people who came",
            ACTIVITIES,
            DECIMAL,
            RATIO,
            numerator="places",
            denominator="participants",
        ),
    )
}


def offered() -> list[Measure]:
    """The measures a definition may name (helpers left out)."""
    return [m for m in MEASURES.values() if not m.hidden]


def parts(measure: Measure) -> list[Measure]:
    """The measure and every measure it is computed from."""
    found = [measure]
    if measure.how == RATIO:
        found += parts(MEASURES[measure.numerator])
        if isinstance(measure.denominator, str):
            found += parts(MEASURES[measure.denominator])
    return found
