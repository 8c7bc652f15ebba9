"""The ways a return can split its figures: each a SQL expression giving a code per line, and
the values it always shows, in order, with their labels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import String, and_, case, literal, select, type_coerce

from funds.models import (
    AccessRoute,
    ActivitySession,
    BudgetLine,
    DeliveryMethod,
    Disability,
    Disbursement,
    Ethnicity,
    Gender,
    Household,
    ItemType,
    SpendCategory,
    YoungPerson,
)
from funds.models.disbursement import CASH_FIRST_METHODS
from funds.models.funder import DISPLAY_GROUP_ORDER
from funds.returns.context import ACTIVITIES, LEDGER, Context
from funds.sql import age_in_years, financial_quarter, year_month

AGE_BANDS = ("Under 11", "11 to 15", "16 to 17", "18 to 24", "25 and over", "Not known")
#: The code of "this line has no such fact" (no young person for a gender, say).
NOT_APPLICABLE = "n/a"

_GROUP_FLAGS = {
    "children": Household.has_children,
    "pensioner": Household.has_pensioner,
    "disabled": Household.has_disabled_person,
}


@dataclass(frozen=True)
class Dimension:
    """One way to split a table's rows or columns.

    ``expression(context, source, first_on)`` gives each line's code in SQL; ``first_on``
    (a date column) replaces the line's own date where a person's age is counted once, at
    the first time they were helped. ``fixed(context)`` lists the values always shown, in
    order; codes found in the data but not fixed are added after them, labelled by
    ``extra_label``.
    """

    key: str
    label: str
    description: str
    sources: frozenset[str]
    expression: Callable
    fixed: Callable[[Context], list[tuple[str, str]]]
    extra_label: Callable[[Context, str], str] = lambda context, code: code
    #: A fact about a person (age, gender, ethnicity, disability): tables using it are written
    #: as figures only, never as per-person rows.
    personal: bool = False
    #: The same on every line of one beneficiary: counting people by it needs no per-value
    #: "first line" flags.
    per_beneficiary: bool = False
    #: Codes found in the data that always come in this order (after the fixed values,
    #: before any other found value).
    extras_first: tuple[str, ...] = ()

    def applies_to(self, source: str) -> bool:
        return source in self.sources


def _text(column):
    """An enum column as its stored text (so a code that is not a member cannot break)."""
    return type_coerce(column, String)


def _labels_of(enum_class) -> list[tuple[str, str]]:
    return [(member.value, member.label) for member in enum_class]


# --- ledger dimensions ---------------------------------------------------------------------


def _funder_category(context: Context, source: str, first_on=None):
    return case(
        (context.category.name.is_(None), literal("")),
        else_=context.category.name,
    )


def _funder_categories(context: Context) -> list[tuple[str, str]]:
    return [(c.name, c.name) for c in context.funder.categories]


def _not_mapped(context: Context, code: str) -> str:
    return "Not mapped" if code == "" else code


def _household_group(context: Context, source: str, first_on=None):
    order = context.funder.household_group_order
    return case(
        (
            and_(
                Disbursement.household_id.is_(None),
                Disbursement.young_person_id.is_(None),
            ),
            literal("none"),
        ),
        (Disbursement.household_id.is_(None), literal("young-person")),
        *[(_GROUP_FLAGS[group].is_(True), literal(group)) for group in order],
        else_=literal("other"),
    )


def _group_label(context: Context, code: str) -> str:
    return context.funder.group_labels_with_defaults.get(code, code)


def _household_groups(context: Context) -> list[tuple[str, str]]:
    return [(g, _group_label(context, g)) for g in DISPLAY_GROUP_ORDER]


def _disabled_household(context: Context, source: str, first_on=None):
    return case(
        (Disbursement.household_id.is_(None), literal("not-household")),
        (Household.has_disabled_person.is_(True), literal("yes")),
        else_=literal("no"),
    )


_DISABLED_LABELS = {
    "yes": "Households with a disabled person",
    "no": "Households without a disabled person",
    "not-household": "Not a household",
}


def _beneficiary_kind(context: Context, source: str, first_on=None):
    return case(
        (Disbursement.household_id.is_not(None), literal("household")),
        (Disbursement.young_person_id.is_not(None), literal("young-person")),
        else_=literal("none"),
    )


#: Fixed: the formulas of a return test the beneficiary kind by these words.
KIND_LABELS = {
    "household": "Household",
    "young-person": "Young person",
    "none": "No beneficiary",
}


def _delivery_method(context: Context, source: str, first_on=None):
    return _text(Disbursement.delivery_method)


def _delivery_route(context: Context, source: str, first_on=None):
    routes = context.funder.delivery_routes_with_defaults
    return case(
        *[
            (Disbursement.delivery_method == method, literal(route))
            for method, route in routes.items()
            if route
        ],
        else_=literal(""),
    )


def _delivery_routes(context: Context) -> list[tuple[str, str]]:
    seen: list[str] = []
    for route in context.funder.delivery_routes_with_defaults.values():
        if route and route not in seen:
            seen.append(route)
    return [(route, route) for route in seen]


def _cash_first(context: Context, source: str, first_on=None):
    return case(
        (
            Disbursement.delivery_method.in_([m.value for m in CASH_FIRST_METHODS]),
            literal("yes"),
        ),
        else_=literal("no"),
    )


_CASH_FIRST_LABELS = {
    "yes": "Cash-first (bank transfer, cash or cash-out voucher)",
    "no": "Not cash-first (reason recorded)",
}


def _access_route(context: Context, source: str, first_on=None):
    return case(
        (Disbursement.access_route.is_not(None), _text(Disbursement.access_route)),
        (
            and_(
                Disbursement.household_id.is_(None),
                Disbursement.young_person_id.is_(None),
            ),
            literal(AccessRoute.NOT_APPLICABLE.value),
        ),
        else_=literal("not-recorded"),
    )


def _access_routes(context: Context) -> list[tuple[str, str]]:
    return [
        (r.value, r.label) for r in AccessRoute if r is not AccessRoute.NOT_APPLICABLE
    ]


def _access_extra(context: Context, code: str) -> str:
    if code == AccessRoute.NOT_APPLICABLE.value:
        return AccessRoute.NOT_APPLICABLE.label
    return "Not recorded" if code == "not-recorded" else code


def _spend_category(context: Context, source: str, first_on=None):
    return SpendCategory.name


def _budget_lines(context: Context) -> list[tuple[str, str]]:
    from funds.extensions import db

    names = db.session.scalars(
        select(SpendCategory.name)
        .join(BudgetLine, BudgetLine.category_id == SpendCategory.id)
        .where(BudgetLine.grant_id == context.grant.id)
        .order_by(SpendCategory.name)
    )
    return [(name, name) for name in names]


def _item(context: Context, source: str, first_on=None):
    return ItemType.name


def _activity(context: Context, source: str, first_on=None):
    return context.activity.name


def _date_column(source: str):
    return ActivitySession.held_on if source == ACTIVITIES else Disbursement.awarded_on


def _month(context: Context, source: str, first_on=None):
    return year_month(_date_column(source))


def _month_label(context: Context, code: str) -> str:
    try:
        return date(int(code[:4]), int(code[5:7]), 1).strftime("%b %Y")
    except (ValueError, IndexError):
        return code


def _months(context: Context) -> list[tuple[str, str]]:
    day = context.scope.date_from.replace(day=1)
    values = []
    while day <= context.scope.date_to:
        code = f"{day:%Y-%m}"
        values.append((code, _month_label(context, code)))
        day = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return values


def _quarter(context: Context, source: str, first_on=None):
    return financial_quarter(_date_column(source))


_QUARTER_MONTHS = {1: "Apr to Jun", 2: "Jul to Sep", 3: "Oct to Dec", 4: "Jan to Mar"}


def _quarter_code(day: date) -> str:
    year = day.year if day.month >= 4 else day.year - 1
    return f"{year}-Q{(day.month + 8) % 12 // 3 + 1}"


def _quarter_label(context: Context, code: str) -> str:
    try:
        year, quarter = int(code[:4]), int(code[-1])
        return f"{year}-{(year + 1) % 100:02d} Q{quarter} ({_QUARTER_MONTHS[quarter]})"
    except (ValueError, KeyError):
        return code


def _quarters(context: Context) -> list[tuple[str, str]]:
    codes: list[str] = []
    for code, _ in _months(context):
        quarter = _quarter_code(date(int(code[:4]), int(code[5:7]), 1))
        if quarter not in codes:
            codes.append(quarter)
    return [(code, _quarter_label(context, code)) for code in codes]


def _none(context: Context) -> list[tuple[str, str]]:
    return []


def _by_label(context: Context, code: str) -> str:
    return code


# --- facts about a young person (figures only, never rows) ---------------------------------


def _person_fact(column):
    def expression(context: Context, source: str, first_on=None):
        return case(
            (YoungPerson.id.is_(None), literal(NOT_APPLICABLE)), else_=_text(column)
        )

    return expression


def _age_band(context: Context, source: str, first_on=None):
    on = first_on if first_on is not None else _date_column(source)
    age = age_in_years(YoungPerson.date_of_birth, on)
    return case(
        (YoungPerson.id.is_(None), literal(NOT_APPLICABLE)),
        (YoungPerson.date_of_birth.is_(None), literal("Not known")),
        (age < 11, literal("Under 11")),
        (age <= 15, literal("11 to 15")),
        (age <= 17, literal("16 to 17")),
        (age <= 24, literal("18 to 24")),
        else_=literal("25 and over"),
    )


def _not_a_young_person(context: Context, code: str) -> str:
    return "Not a young person" if code == NOT_APPLICABLE else code


def _fixed(pairs: list[tuple[str, str]]):
    return lambda context: list(pairs)


def _from(labels: dict[str, str]):
    return lambda context, code: labels.get(code, code)


BOTH = frozenset({LEDGER, ACTIVITIES})
LEDGER_ONLY = frozenset({LEDGER})
ACTIVITIES_ONLY = frozenset({ACTIVITIES})

DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension(
            "funder_category",
            "Funder category",
            "The funder's own categories (HSF categories, CRF strands), through the item mapping",
            LEDGER_ONLY,
            _funder_category,
            _funder_categories,
            _not_mapped,
        ),
        Dimension(
            "household_group",
            "Household group",
            "Households with children, a pensioner, a disabled person or none of these (one group "
            "each, in the funder's order), young people, and spending with no beneficiary",
            LEDGER_ONLY,
            _household_group,
            _household_groups,
            _group_label,
            per_beneficiary=True,
            extras_first=("young-person", "none"),
        ),
        Dimension(
            "disabled_household",
            "Household with a disabled person",
            "Whether the household has a disabled person, whatever its first group",
            LEDGER_ONLY,
            _disabled_household,
            _fixed([("yes", _DISABLED_LABELS["yes"]), ("no", _DISABLED_LABELS["no"])]),
            _from(_DISABLED_LABELS),
            per_beneficiary=True,
        ),
        Dimension(
            "beneficiary_kind",
            "Beneficiary kind",
            "Household, young person, or no beneficiary (staff and running costs)",
            LEDGER_ONLY,
            _beneficiary_kind,
            _fixed(list(KIND_LABELS.items())),
            _from(KIND_LABELS),
            per_beneficiary=True,
        ),
        Dimension(
            "item",
            "Item",
            "What was given (Food voucher, Fridge, Gas bill...)",
            LEDGER_ONLY,
            _item,
            _none,
            _by_label,
        ),
        Dimension(
            "activity",
            "Activity",
            "The activity of a session (Kayaking, Theatre trip...)",
            ACTIVITIES_ONLY,
            _activity,
            _none,
            _by_label,
        ),
        Dimension(
            "spend_category",
            "Spend category",
            "Our own spend categories (White goods, Utility bills...)",
            LEDGER_ONLY,
            _spend_category,
            _none,
            _by_label,
        ),
        Dimension(
            "budget_line",
            "Budget line",
            "The grant's budget lines (our spend categories), then any other category spent on",
            LEDGER_ONLY,
            _spend_category,
            _budget_lines,
            _by_label,
        ),
        Dimension(
            "delivery_method",
            "Delivery method",
            "How it was given, in our own words (voucher, bank transfer, bill payment...)",
            LEDGER_ONLY,
            _delivery_method,
            _fixed(_labels_of(DeliveryMethod)),
            _from({m.value: m.label for m in DeliveryMethod}),
        ),
        Dimension(
            "delivery_route",
            "Delivery route",
            "How it was given, in the funder's words (through the funder's route mapping)",
            LEDGER_ONLY,
            _delivery_route,
            _delivery_routes,
            _not_mapped,
        ),
        Dimension(
            "cash_first",
            "Payment method",
            "Cash-first (bank transfer, cash, cash-out voucher) or not (a reason is recorded)",
            LEDGER_ONLY,
            _cash_first,
            _fixed(list(_CASH_FIRST_LABELS.items())),
            _from(_CASH_FIRST_LABELS),
        ),
        Dimension(
            "access_route",
            "Access route",
            "How the person came to be helped (application, proactive, referral)",
            LEDGER_ONLY,
            _access_route,
            _access_routes,
            _access_extra,
            extras_first=(AccessRoute.NOT_APPLICABLE.value, "not-recorded"),
        ),
        Dimension(
            "month",
            "Month",
            "The calendar month of the award or session",
            BOTH,
            _month,
            _months,
            _month_label,
        ),
        Dimension(
            "quarter",
            "Quarter",
            "The quarter of the UK financial year (April to March)",
            BOTH,
            _quarter,
            _quarters,
            _quarter_label,
        ),
        Dimension(
            "age_band",
            "Age band",
            "A young person's age band, at the first time they were helped in the period",
            BOTH,
            _age_band,
            _fixed([(band, band) for band in AGE_BANDS]),
            _not_a_young_person,
            personal=True,
        ),
        Dimension(
            "gender",
            "Gender",
            "A young person's gender",
            BOTH,
            _person_fact(YoungPerson.gender),
            _fixed(_labels_of(Gender)),
            lambda context, code: _not_a_young_person(context, code),
            personal=True,
            per_beneficiary=True,
        ),
        Dimension(
            "ethnicity",
            "Ethnicity",
            "A young person's ethnic group (ONS 2021 census groups)",
            BOTH,
            _person_fact(YoungPerson.ethnicity),
            _fixed(_labels_of(Ethnicity)),
            lambda context, code: _not_a_young_person(context, code),
            personal=True,
            per_beneficiary=True,
        ),
        Dimension(
            "disability",
            "Disability",
            "Whether a young person considers themselves disabled",
            BOTH,
            _person_fact(YoungPerson.disability),
            _fixed(_labels_of(Disability)),
            lambda context, code: _not_a_young_person(context, code),
            personal=True,
            per_beneficiary=True,
        ),
    )
}
