"""Everything a return reports, computed in SQL, and the transactions streamed for its sheet."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from funds.extensions import db
from funds.models import (
    AccessRoute,
    BudgetLine,
    DeliveryMethod,
    Disability,
    Disbursement,
    Ethnicity,
    FunderCategory,
    Gender,
    Grant,
    Household,
    ItemType,
    ItemTypeMapping,
    SpendCategory,
    YoungPerson,
)
from funds.money import from_pence, pence_of, pence_sum

NOT_MAPPED = "Not mapped"
GROUP_LABELS = {
    "children": "With children",
    "pensioner": "With a pensioner",
    "disabled": "With a disabled person",
    "other": "Other households",
}
#: The order the HSF return lists household groups in.
GROUP_ORDER = ("children", "pensioner", "disabled", "other")
GROUP_COLUMNS = {
    "children": Household.has_children,
    "pensioner": Household.has_pensioner,
    "disabled": Household.has_disabled_person,
}

TX_COLUMNS = [
    "Date",
    "Ledger ID",
    "Kind",
    "Reverses",
    "Beneficiary",
    "Household group",
    "Funder category",
    "Spend category",
    "Item",
    "Supplier",
    "Evidence reference",
    "Delivery method",
    "Access route",
    "Quantity",
    "Awards",
    "Amount",
    "New beneficiary",
    "In period",
]


@dataclass(frozen=True)
class Scope:
    """One grant and one period."""

    grant: Grant
    date_from: date
    date_to: date

    @property
    def funder_id(self) -> int:
        return self.grant.funder_id


def group_expression(scope: Scope):
    """The household group of a ledger line's household, by the funder's precedence."""
    order = scope.grant.funder.household_group_order
    return case(
        (Disbursement.household_id.is_(None), literal("")),
        *[(GROUP_COLUMNS[group].is_(True), literal(group)) for group in order],
        else_=literal("other"),
    )


def _category_join(query, scope: Scope):
    mapping = aliased(ItemTypeMapping)
    category = aliased(FunderCategory)
    query = query.outerjoin(
        mapping,
        and_(
            mapping.item_type_id == Disbursement.item_type_id,
            mapping.funder_id == scope.funder_id,
        ),
    ).outerjoin(category, category.id == mapping.funder_category_id)
    return query, func.coalesce(category.name, literal(NOT_MAPPED)), category


def _in_period(scope: Scope):
    return and_(
        Disbursement.awarded_on >= scope.date_from,
        Disbursement.awarded_on <= scope.date_to,
    )


def _ledger_where(scope: Scope, *, to_date: bool):
    where = [
        Disbursement.grant_id == scope.grant.id,
        Disbursement.awarded_on <= scope.date_to,
    ]
    if not to_date:
        where.append(Disbursement.awarded_on >= scope.date_from)
    return where


def beneficiary_key():
    """'H<id>' / 'Y<id>' for a line's beneficiary, '' when it has none."""
    return case(
        (
            Disbursement.household_id.is_not(None),
            literal("H") + cast(Disbursement.household_id, String),
        ),
        (
            Disbursement.young_person_id.is_not(None),
            literal("Y") + cast(Disbursement.young_person_id, String),
        ),
        else_=literal(""),
    )


def first_award_ids(scope: Scope, *, households_only: bool):
    """Ids of the first award line of each beneficiary helped in the period (net spend > 0).

    Flagging one line per beneficiary lets a spreadsheet count distinct beneficiaries with a
    plain SUMIFS, and a household helped five times counts once.
    """
    key = beneficiary_key()
    where = [Disbursement.grant_id == scope.grant.id, _in_period(scope)]
    if households_only:
        where.append(Disbursement.household_id.is_not(None))
    else:
        where.append(
            or_(
                Disbursement.household_id.is_not(None),
                Disbursement.young_person_id.is_not(None),
            )
        )
    helped = (
        select(key.label("key"))
        .where(*where)
        .group_by(key)
        .having(func.sum(pence_of(Disbursement.amount)) > 0)
    )
    ranked = (
        select(
            Disbursement.id.label("id"),
            func.row_number()
            .over(partition_by=key, order_by=(Disbursement.awarded_on, Disbursement.id))
            .label("rank"),
        )
        .where(*where, Disbursement.reverses_id.is_(None), key.in_(helped))
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.rank == 1)


def transactions(
    scope: Scope, *, to_date: bool = False, households_only: bool = False
) -> Iterator[tuple]:
    """The ledger lines of the return, oldest first, as plain tuples in TX_COLUMNS order.

    Streamed from the database in chunks (never all in memory). Pseudonymous references only:
    no names, dates of birth or contact details.
    """
    group = group_expression(scope)
    base = (
        select(Disbursement.id)
        .select_from(Disbursement)
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
    )
    base, funder_category, _ = _category_join(base, scope)
    first = first_award_ids(scope, households_only=households_only)
    query = (
        base.with_only_columns(
            Disbursement.awarded_on,
            Disbursement.id,
            case(
                (Disbursement.reverses_id.is_(None), literal("Award")),
                else_=literal("Reversal"),
            ),
            Disbursement.reverses_id,
            func.coalesce(Household.reference, YoungPerson.reference, literal("")),
            group,
            funder_category,
            SpendCategory.name,
            ItemType.name,
            Disbursement.supplier,
            Disbursement.evidence_reference,
            Disbursement.delivery_method,
            Disbursement.access_route,
            Disbursement.quantity,
            case((Disbursement.reverses_id.is_(None), 1), else_=-1),
            pence_of(Disbursement.amount),
            case((Disbursement.id.in_(first), 1), else_=0),
            case((_in_period(scope), 1), else_=0),
        )
        .where(*_ledger_where(scope, to_date=to_date))
        .order_by(Disbursement.awarded_on, Disbursement.id)
        .execution_options(yield_per=2000)
    )
    # Plain dict look-ups: this loop runs once per ledger line of the return.
    delivery_labels = {m.value: m.label for m in DeliveryMethod}
    route_labels = {r.value: r.label for r in AccessRoute}
    for row in db.session.execute(query):
        (
            on,
            ident,
            kind,
            reverses,
            ref,
            grp,
            fcat,
            scat,
            item,
            supplier,
            evidence,
            method,
            route,
            qty,
            awards,
            pence,
            new,
            in_period,
        ) = row
        yield (
            on,
            ident,
            kind,
            reverses,
            ref,
            GROUP_LABELS.get(grp, "") if grp else "",
            fcat,
            scat,
            item,
            supplier or "",
            evidence or "",
            delivery_labels[method],
            route_labels.get(route, ""),
            qty,
            awards,
            Decimal(pence).scaleb(-2),  # exact pence to pounds, cheaper than quantize
            new,
            in_period,
        )


def transaction_count(scope: Scope, *, to_date: bool = False) -> int:
    """How many ledger lines the Transactions sheet will have."""
    return db.session.scalar(
        select(func.count())
        .select_from(Disbursement)
        .where(*_ledger_where(scope, to_date=to_date))
    )


def _pounds(pence) -> Decimal:
    return from_pence(pence or 0)


def period_totals(scope: Scope) -> tuple[Decimal, int]:
    """(net spend, net awards) in the period."""
    spend, awards = db.session.execute(
        select(
            pence_sum(Disbursement.amount),
            func.coalesce(
                func.sum(case((Disbursement.reverses_id.is_(None), 1), else_=-1)), 0
            ),
        ).where(*_ledger_where(scope, to_date=False))
    ).one()
    return _pounds(spend), int(awards)


def hsf_figures(scope: Scope) -> dict:
    """Spend and awards by funder category x household group, households helped, splits."""
    group = group_expression(scope)
    query = (
        select()
        .select_from(Disbursement)
        .outerjoin(Household, Household.id == Disbursement.household_id)
    )
    query, funder_category, _ = _category_join(query, scope)
    signed = case((Disbursement.reverses_id.is_(None), 1), else_=-1)
    cells = db.session.execute(
        query.with_only_columns(
            funder_category, group, pence_sum(Disbursement.amount), func.sum(signed)
        )
        .where(*_ledger_where(scope, to_date=False))
        .group_by(funder_category, group)
    ).all()
    categories = [c.name for c in scope.grant.funder.categories]
    if any(name == NOT_MAPPED for name, *_ in cells):
        categories.append(NOT_MAPPED)
    groups = list(GROUP_ORDER)
    spend = {c: dict.fromkeys(groups, Decimal("0.00")) for c in categories}
    awards = {c: dict.fromkeys(groups, 0) for c in categories}
    for category, grp, pence, count in cells:
        grp = grp or "other"
        spend[category][grp] += _pounds(pence)
        awards[category][grp] += int(count or 0)

    first = first_award_ids(scope, households_only=True)
    households = dict.fromkeys(groups, 0)
    for grp, number in db.session.execute(
        select(group, func.count())
        .select_from(Disbursement)
        .join(Household, Household.id == Disbursement.household_id)
        .where(Disbursement.id.in_(first))
        .group_by(group)
    ):
        households[grp] = number

    def split(column, enum):
        totals = {member.label: [Decimal("0.00"), 0] for member in enum}
        for value, pence, count in db.session.execute(
            select(column, pence_sum(Disbursement.amount), func.sum(signed))
            .where(*_ledger_where(scope, to_date=False))
            .group_by(column)
        ):
            label = enum(value).label if value else "Not recorded"
            totals.setdefault(label, [Decimal("0.00"), 0])
            totals[label][0] += _pounds(pence)
            totals[label][1] += int(count or 0)
        return {label: {"spend": v[0], "awards": v[1]} for label, v in totals.items()}

    total_spend, total_awards = period_totals(scope)
    return {
        "categories": categories,
        "groups": groups,
        "spend": spend,
        "awards": awards,
        "households": households,
        "households_total": sum(households.values()),
        "delivery": split(Disbursement.delivery_method, DeliveryMethod),
        "access": split(Disbursement.access_route, AccessRoute),
        "total_spend": total_spend,
        "total_awards": total_awards,
    }


def budget_figures(scope: Scope) -> dict:
    """Budget lines against spend in the period and to date, beneficiaries, demographics."""
    in_period = case((_in_period(scope), pence_of(Disbursement.amount)), else_=0)
    spend_rows = db.session.execute(
        select(
            SpendCategory.name,
            func.coalesce(func.sum(in_period), 0),
            pence_sum(Disbursement.amount),
        )
        .select_from(Disbursement)
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .where(*_ledger_where(scope, to_date=True))
        .group_by(SpendCategory.name)
    ).all()
    lines = dict(
        db.session.execute(
            select(SpendCategory.name, BudgetLine.amount)
            .join(SpendCategory, SpendCategory.id == BudgetLine.category_id)
            .where(BudgetLine.grant_id == scope.grant.id)
        ).all()
    )
    spent = {
        name: (_pounds(period), _pounds(to_date))
        for name, period, to_date in spend_rows
    }
    names = sorted(set(lines) | set(spent))
    rows = []
    for name in names:
        budget = lines.get(name)
        period, to_date = spent.get(name, (Decimal("0.00"), Decimal("0.00")))
        rows.append(
            {"line": name, "budget": budget, "period": period, "to_date": to_date}
        )
    unallocated = scope.grant.total - sum((b for b in lines.values()), Decimal("0.00"))

    first = first_award_ids(scope, households_only=False)
    households, young_people = db.session.execute(
        select(
            func.count(Disbursement.household_id),
            func.count(Disbursement.young_person_id),
        ).where(Disbursement.id.in_(first))
    ).one()
    return {
        "lines": rows,
        "unallocated": unallocated,
        "total": scope.grant.total,
        "period_spend": sum((r["period"] for r in rows), Decimal("0.00")),
        "to_date_spend": sum((r["to_date"] for r in rows), Decimal("0.00")),
        "beneficiaries": households + young_people,
        "households": households,
        "young_people": young_people,
        "demographics": young_people_demographics(first),
    }


def young_people_demographics(first_ids) -> dict:
    """Counts of the young people helped by gender, ethnicity, disability and age band."""
    from funds.activities.queries import AGE_BANDS, age_band_expression
    from funds.sql import age_in_years

    people = (
        select(
            Disbursement.young_person_id.label("person_id"),
            Disbursement.awarded_on.label("first_on"),
        )
        .where(
            Disbursement.id.in_(first_ids), Disbursement.young_person_id.is_not(None)
        )
        .subquery()
    )
    joined = (
        select()
        .select_from(people)
        .join(YoungPerson, YoungPerson.id == people.c.person_id)
    )
    band = age_band_expression(
        case(
            (YoungPerson.date_of_birth.is_(None), None),
            else_=age_in_years(YoungPerson.date_of_birth, people.c.first_on),
        )
    )

    def counted(column, labels, convert):
        result = dict.fromkeys(labels, 0)
        for value, number in db.session.execute(
            joined.with_only_columns(column, func.count()).group_by(column)
        ):
            result[convert(value)] = number
        return result

    return {
        "Age band": counted(band, AGE_BANDS, str),
        "Gender": counted(
            YoungPerson.gender, [g.label for g in Gender], lambda v: Gender(v).label
        ),
        "Ethnicity": counted(
            YoungPerson.ethnicity,
            [e.label for e in Ethnicity],
            lambda v: Ethnicity(v).label,
        ),
        "Disability": counted(
            YoungPerson.disability,
            [d.label for d in Disability],
            lambda v: Disability(v).label,
        ),
    }


def suppressed(count: int) -> int | str:
    """Small counts are shown as "<5" so nobody can be recognised in a small community."""
    return "<5" if 0 < count < 5 else count


# --- activity programme --------------------------------------------------------------------


def _live_session_where(scope: Scope):
    from funds.models import ActivitySession

    reversed_costs = select(Disbursement.reverses_id).where(
        Disbursement.reverses_id.is_not(None)
    )
    return [
        ActivitySession.grant_id == scope.grant.id,
        ActivitySession.held_on >= scope.date_from,
        ActivitySession.held_on <= scope.date_to,
        ActivitySession.disbursement_id.not_in(reversed_costs),
    ]


def activity_sessions(scope: Scope) -> list[tuple]:
    """(date, id, activity, ledger id, cost, places, minutes, contact minutes, carers) per live session."""
    from funds.models import ActivitySession, Attendance

    places = func.count(Attendance.id)
    rows = db.session.execute(
        select(
            ActivitySession.held_on,
            ActivitySession.id,
            ItemType.name,
            ActivitySession.disbursement_id,
            pence_of(ActivitySession.cost),
            places,
            ActivitySession.duration_minutes,
            ActivitySession.carers,
        )
        .join(ItemType, ItemType.id == ActivitySession.item_type_id)
        .outerjoin(Attendance, Attendance.session_id == ActivitySession.id)
        .where(*_live_session_where(scope))
        .group_by(ActivitySession.id, ItemType.name)
        .order_by(ActivitySession.held_on, ActivitySession.id)
    ).all()
    return [
        (
            on,
            ident,
            name,
            ledger,
            from_pence(cost),
            filled,
            minutes,
            minutes * filled,
            carers,
        )
        for on, ident, name, ledger, cost, filled, minutes, carers in rows
    ]


def activity_attendances(scope: Scope) -> list[tuple]:
    """One row per attendance, with age band at that session and first-attendance flags."""
    from funds.activities.queries import age_band_expression
    from funds.models import ActivitySession, Attendance
    from funds.sql import age_in_years

    band = age_band_expression(
        case(
            (YoungPerson.date_of_birth.is_(None), None),
            else_=age_in_years(YoungPerson.date_of_birth, ActivitySession.held_on),
        )
    )
    order = (ActivitySession.held_on, ActivitySession.id)
    first_all = func.row_number().over(
        partition_by=Attendance.young_person_id, order_by=order
    )
    first_activity = func.row_number().over(
        partition_by=(Attendance.young_person_id, ActivitySession.item_type_id),
        order_by=order,
    )
    rows = db.session.execute(
        select(
            ActivitySession.held_on,
            ActivitySession.id,
            ItemType.name,
            YoungPerson.reference,
            band,
            YoungPerson.gender,
            first_all,
            first_activity,
        )
        .select_from(Attendance)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .join(ItemType, ItemType.id == ActivitySession.item_type_id)
        .join(YoungPerson, YoungPerson.id == Attendance.young_person_id)
        .where(*_live_session_where(scope))
        .order_by(ActivitySession.held_on, ActivitySession.id, YoungPerson.reference)
    ).all()
    return [
        (
            on,
            ident,
            name,
            ref,
            label,
            Gender(gender).label,
            int(rank_all == 1),
            int(rank_activity == 1),
        )
        for on, ident, name, ref, label, gender, rank_all, rank_activity in rows
    ]


def activity_figures(scope: Scope) -> dict:
    """The programme for the period (from the activity queries) plus spend by spend category."""
    from funds.activities.queries import programme

    result = programme(scope.grant.id, date_from=scope.date_from, date_to=scope.date_to)
    budget = budget_figures(scope)
    return {
        "activities": [
            {
                "activity": row.activity,
                "sessions": row.sessions,
                "places": row.places,
                "young_people": row.young_people,
                "cost": row.cost,
                "cost_per_participant": row.cost_per_participant or Decimal("0.00"),
                "contact_hours": row.contact_hours,
            }
            for row in result.rows
        ],
        "sessions": result.sessions,
        "places": result.places,
        "young_people": result.young_people,
        "cost": result.cost,
        "cost_per_participant": result.cost_per_participant or Decimal("0.00"),
        "average_sessions": result.average_sessions or Decimal("0.0"),
        "contact_hours": result.contact_hours,
        "carers": result.carers,
        "age_bands": age_gender_grid(
            scope, list(result.age_bands), list(result.genders)
        ),
        "genders": result.genders,
        "age_band_totals": result.age_bands,
        "budget": [
            {"line": r["line"], "budget": r["budget"], "period": r["period"]}
            for r in budget["lines"]
        ],
        "period_spend": budget["period_spend"],
    }


def age_gender_grid(scope: Scope, bands: list[str], genders: list[str]) -> dict:
    """Young people by age band (at their first session in the period) and gender."""
    from funds.activities.queries import age_band_expression
    from funds.models import ActivitySession, Attendance
    from funds.sql import age_in_years

    ranked = (
        select(
            Attendance.young_person_id.label("person_id"),
            ActivitySession.held_on.label("held_on"),
            func.row_number()
            .over(
                partition_by=Attendance.young_person_id,
                order_by=(ActivitySession.held_on, ActivitySession.id),
            )
            .label("rank"),
        )
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(*_live_session_where(scope))
        .subquery()
    )
    band = age_band_expression(
        case(
            (YoungPerson.date_of_birth.is_(None), None),
            else_=age_in_years(YoungPerson.date_of_birth, ranked.c.held_on),
        )
    )
    grid = {b: dict.fromkeys(genders, 0) for b in bands}
    for label, gender, number in db.session.execute(
        select(band, YoungPerson.gender, func.count())
        .select_from(ranked)
        .join(YoungPerson, YoungPerson.id == ranked.c.person_id)
        .where(ranked.c.rank == 1)
        .group_by(band, YoungPerson.gender)
    ):
        grid[label][Gender(gender).label] = number
    return grid
