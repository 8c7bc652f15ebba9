"""The demo data set behind ``flask seed-demo``: one year of a small service, as plain data.

:func:`build_plan` turns the constants below and a fixed random seed into a plan (plain
dataclasses, no database), the same every time. :func:`load_demo` records that plan through
the services — every period, budget and role rule applies — in the caller's transaction; the
caller commits once. Household and young-person references, and the users' passwords, are
random on purpose (references are never derived from anything; passwords are secrets).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from funds.admin.services import create_user, temporary_password
from funds.disbursements.services import (
    AwardInput,
    mark_paid,
    record_disbursement,
    reverse_disbursement,
)
from funds.extensions import db
from funds.grants.queries import GrantSummary, grants_overview
from funds.grants.services import (
    create_funder,
    create_grant,
    create_item_type,
    create_spend_category,
    create_team,
    map_item_type,
    set_budget_line,
)
from funds.models import (
    HSF_CATEGORIES,
    AccessRoute,
    BudgetControl,
    DeliveryMethod,
    Disability,
    Ethnicity,
    Funder,
    Gender,
    Grant,
    ItemType,
    Role,
    SpendCategory,
    User,
)
from funds.people.services import (
    HouseholdInput,
    YoungPersonInput,
    create_household,
    create_young_person,
)
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy

#: The random seed: the demo is the same every time it is loaded.
SEED = 20230401

YEAR_START = date(2023, 4, 1)
YEAR_END = date(2024, 3, 31)

# --- who ----------------------------------------------------------------------------------

YOUNG_PEOPLES_TEAM = "Young people's team"
FAMILY_SUPPORT_TEAM = "Family support team"
TEAMS = (YOUNG_PEOPLES_TEAM, FAMILY_SUPPORT_TEAM)

DEMO_EMAIL_DOMAIN = "demo.funds.example"
#: (role, email, name): one user per role.
USERS = (
    (Role.ADMIN, f"admin@{DEMO_EMAIL_DOMAIN}", "Sam Okoro"),
    (Role.MANAGER, f"manager@{DEMO_EMAIL_DOMAIN}", "Jo Reynolds"),
    (Role.FINANCE, f"finance@{DEMO_EMAIL_DOMAIN}", "Chris Walker"),
    (Role.STAFF, f"staff@{DEMO_EMAIL_DOMAIN}", "Aisha Khan"),
)

# --- funders, taxonomy and grants ---------------------------------------------------------

HSF_FUNDER = "Connect4Communities (Household Support Fund)"
MH_FUNDER = "Hampshire and Isle of Wight Mental Health board"
OPCC_FUNDER = "Office of the Police and Crime Commissioner"
OHID_FUNDER = "Office for Health Improvement and Disparities"

#: funder -> its return categories, in the return's order.
FUNDERS = {
    HSF_FUNDER: HSF_CATEGORIES,
    MH_FUNDER: ("Activities", "Equipment", "Transport"),
    OPCC_FUNDER: ("Staff costs", "Activities", "Overheads"),
    OHID_FUNDER: ("Staff costs", "Training", "Overheads"),
}

ACTIVITY_ITEMS = (
    "Kayaking",
    "Abseiling",
    "Raft building",
    "Bush crafts",
    "Doughnutting",
    "High ropes",
    "Theatre trip",
    "Restaurant visit",
    "Cinema voucher",
    "Steam train trip",
)

#: Spend categories (and their items) the demo adds to the default taxonomy.
EXTRA_TAXONOMY = {"Training": ("Training course", "Conference place")}

#: funder -> {its return category: our item types reported under it}. (The Household
#: Support Fund gets the default HSF mapping instead.)
FUNDER_MAPPINGS = {
    MH_FUNDER: {"Activities": ACTIVITY_ITEMS},
    OPCC_FUNDER: {
        "Staff costs": ("Salary", "Employer on-costs", "Training"),
        "Activities": ACTIVITY_ITEMS,
    },
    OHID_FUNDER: {
        "Staff costs": ("Salary", "Employer on-costs"),
        "Training": ("Training", "Training course", "Conference place"),
    },
}

HSF_REFERENCE = "C4C-HSF4-2023"
MH_REFERENCE = "HIOW-MH-2023"
OPCC_REFERENCE = "OPCC-MAT-2023"
OHID_REFERENCE = "OHID-SMT-2023"


@dataclass(frozen=True)
class GrantPlan:
    reference: str
    title: str
    funder: str
    team: str
    total: Decimal
    control: BudgetControl
    starts_on: date = YEAR_START
    ends_on: date = YEAR_END
    #: (our spend category, amount, control)
    budget_lines: tuple[tuple[str, Decimal, BudgetControl], ...] = ()
    notes: str | None = None


GRANTS = (
    GrantPlan(
        HSF_REFERENCE,
        "Household Support Fund 4: help with food, energy and essentials",
        HSF_FUNDER,
        FAMILY_SUPPORT_TEAM,
        Decimal("22000.00"),
        BudgetControl.BLOCK,
        notes="DWP Household Support Fund, passed on by the county council.",
    ),
    GrantPlan(
        MH_REFERENCE,
        "Young people's activity programme",
        MH_FUNDER,
        YOUNG_PEOPLES_TEAM,
        Decimal("11000.00"),
        BudgetControl.WARN,
        notes="Outdoor and cultural activities for 25 young people.",
    ),
    GrantPlan(
        OPCC_REFERENCE,
        "Multi-agency team: young people's worker",
        OPCC_FUNDER,
        YOUNG_PEOPLES_TEAM,
        Decimal("38000.00"),
        BudgetControl.BLOCK,
        budget_lines=(
            ("Staff costs", Decimal("34000.00"), BudgetControl.BLOCK),
            ("Activities", Decimal("4000.00"), BudgetControl.BLOCK),
        ),
    ),
    GrantPlan(
        OHID_REFERENCE,
        "Substance misuse treatment: family worker",
        OHID_FUNDER,
        FAMILY_SUPPORT_TEAM,
        Decimal("45000.00"),
        BudgetControl.BLOCK,
        budget_lines=(
            ("Staff costs", Decimal("42000.00"), BudgetControl.BLOCK),
            ("Training", Decimal("3000.00"), BudgetControl.BLOCK),
        ),
    ),
)

# --- what the Household Support Fund paid for ---------------------------------------------

HOUSEHOLDS = 108
#: The HSF grant is spent down to somewhere in this range (most, but not all, of £22,000).
HSF_TARGET = (Decimal("21600.00"), Decimal("21700.00"))
DISTRICTS = (
    "SO14",
    "SO15",
    "SO16",
    "SO17",
    "SO18",
    "SO19",
    "PO1",
    "PO4",
    "SO50",
    "SO53",
)
#: A few made-up contact names (most households are known only by reference).
HOUSEHOLD_NAMES = (
    "Kerry Matthews",
    "Daniel Price",
    "Marta Nowak",
    "Leanne Hughes",
    "Tomasz Zielinski",
    "Gemma Fowler",
)

#: Month numbers by season, for dating awards realistically.
ALL_MONTHS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
WINTER = (10, 11, 12, 1, 2, 3)
BACK_TO_SCHOOL = (7, 8, 9)


@dataclass(frozen=True)
class AwardKind:
    """One kind of HSF award: the item, typical amounts, how it is given, by whom, when."""

    item: str
    amounts: tuple[int, ...]
    delivery: DeliveryMethod
    suppliers: tuple[str, ...]
    months: tuple[int, ...] = ALL_MONTHS
    #: Relative frequency.
    weight: int = 1
    children_only: bool = False


HSF_KINDS = (
    AwardKind(
        "Food voucher",
        (20, 30, 40),
        DeliveryMethod.VOUCHER,
        ("Tesco", "Asda", "Sainsbury's", "Aldi"),
        weight=40,
    ),
    AwardKind(
        "Gas bill",
        (50, 75, 100, 125, 150),
        DeliveryMethod.BILL_PAYMENT,
        ("British Gas", "OVO Energy", "Octopus Energy", "E.ON Next"),
        months=WINTER,
        weight=11,
    ),
    AwardKind(
        "Electricity bill",
        (50, 60, 75, 100, 120, 150),
        DeliveryMethod.BILL_PAYMENT,
        ("EDF", "OVO Energy", "Octopus Energy", "British Gas"),
        weight=11,
    ),
    AwardKind(
        "Water bill",
        (50, 60, 75, 90),
        DeliveryMethod.BILL_PAYMENT,
        ("Southern Water", "Portsmouth Water"),
        weight=5,
    ),
    AwardKind(
        "Washing machine",
        (279, 299, 329, 349, 379),
        DeliveryMethod.DIRECT_PURCHASE,
        ("Currys", "AO"),
        weight=3,
    ),
    AwardKind(
        "Fridge",
        (259, 279, 299, 329),
        DeliveryMethod.DIRECT_PURCHASE,
        ("Currys", "AO"),
        weight=3,
    ),
    AwardKind(
        "Cooker",
        (299, 349, 389, 419),
        DeliveryMethod.DIRECT_PURCHASE,
        ("Currys", "AO"),
        weight=2,
    ),
    AwardKind(
        "School uniform voucher",
        (25, 30, 40, 50, 60),
        DeliveryMethod.VOUCHER,
        ("Hampshire Schoolwear", "Marks & Spencer", "Tesco"),
        months=BACK_TO_SCHOOL,
        weight=10,
        children_only=True,
    ),
    AwardKind(
        "Winter coat",
        (30, 35, 40, 45),
        DeliveryMethod.VOUCHER,
        ("Matalan", "Next", "George at Asda"),
        months=(10, 11, 12, 1),
        weight=7,
        children_only=True,
    ),
    AwardKind(
        "Shoes",
        (25, 30, 35, 40),
        DeliveryMethod.VOUCHER,
        ("Clarks", "Shoe Zone", "Next"),
        weight=6,
        children_only=True,
    ),
)
KINDS_BY_ITEM = {kind.item: kind for kind in HSF_KINDS}

#: Awards recorded by mistake and reversed: (item, amount, supplier, day, reversed on, reason).
HSF_MISTAKES = (
    (
        "Food voucher",
        Decimal("30.00"),
        "Tesco",
        date(2023, 5, 9),
        date(2023, 5, 10),
        "Recorded twice by mistake: the family received one voucher",
    ),
    (
        "Fridge",
        Decimal("289.00"),
        "Currys",
        date(2023, 6, 14),
        date(2023, 6, 23),
        "Order cancelled by Currys (out of stock) and refunded to the card",
    ),
    (
        "Gas bill",
        Decimal("75.00"),
        "British Gas",
        date(2023, 11, 6),
        date(2023, 11, 13),
        "Paid to the wrong account; British Gas refunded the payment",
    ),
)

# --- the activity programme (Mental Health board) -----------------------------------------

YOUNG_PEOPLE = 25
#: (date, item, cost per place, supplier, delivery)
ACTIVITY_SESSIONS = (
    (
        date(2023, 4, 15),
        "Bush crafts",
        25,
        "Wild Woods Bushcraft",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 5, 20),
        "Kayaking",
        45,
        "Calshot Activities Centre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 6, 17),
        "Raft building",
        35,
        "Calshot Activities Centre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 7, 12),
        "Doughnutting",
        30,
        "Calshot Activities Centre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 7, 26),
        "High ropes",
        38,
        "Go Ape Moors Valley",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 8, 9),
        "Abseiling",
        40,
        "Calshot Activities Centre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 8, 23),
        "Steam train trip",
        28,
        "Watercress Line",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 10, 28),
        "Theatre trip",
        32,
        "Mayflower Theatre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2023, 12, 16),
        "Restaurant visit",
        18,
        "Zizzi Southampton",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
    (
        date(2024, 2, 17),
        "Cinema voucher",
        10,
        "Odeon Southampton",
        DeliveryMethod.VOUCHER,
    ),
    (
        date(2024, 3, 9),
        "Kayaking",
        45,
        "Calshot Activities Centre",
        DeliveryMethod.ACTIVITY_PLACE,
    ),
)
#: Young people's ages (on 1 September 2023) are drawn from this range, mostly teenagers.
AGES = tuple(range(11, 25))
AGE_WEIGHTS = (3, 5, 8, 10, 10, 10, 9, 8, 6, 4, 3, 2, 2, 2)
GENDERS = (
    (Gender.FEMALE, 11),
    (Gender.MALE, 11),
    (Gender.NON_BINARY, 2),
    (Gender.NOT_SAID, 1),
)
ETHNICITIES = (
    (Ethnicity.WHITE, 18),
    (Ethnicity.MIXED, 3),
    (Ethnicity.ASIAN, 2),
    (Ethnicity.BLACK, 1),
    (Ethnicity.NOT_SAID, 1),
)

# --- staff posts (OPCC and OHID) ------------------------------------------------------------

#: grant -> (monthly salary, monthly employer on-costs)
MONTHLY_STAFF_COSTS = {
    OPCC_REFERENCE: (Decimal("2320.00"), Decimal("430.00")),
    OHID_REFERENCE: (Decimal("2950.00"), Decimal("540.00")),
}
#: (grant, date, item, amount, supplier): other spend on the staff grants.
OTHER_STAFF_GRANT_SPEND = (
    (OPCC_REFERENCE, date(2023, 8, 16), "High ropes", "360.00", "Go Ape Moors Valley"),
    (
        OPCC_REFERENCE,
        date(2023, 10, 21),
        "Bush crafts",
        "240.00",
        "Wild Woods Bushcraft",
    ),
    (OPCC_REFERENCE, date(2023, 12, 9), "Theatre trip", "310.00", "Mayflower Theatre"),
    (OHID_REFERENCE, date(2023, 5, 18), "Training course", "450.00", "Adfam"),
    (OHID_REFERENCE, date(2023, 9, 27), "Training course", "620.00", "Mentor UK"),
    (
        OHID_REFERENCE,
        date(2023, 11, 15),
        "Conference place",
        "295.00",
        "Collective Voice",
    ),
    (OHID_REFERENCE, date(2024, 2, 7), "Training course", "380.00", "Adfam"),
)


# --- the plan ------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdPlan:
    key: int
    adults: int
    children: int
    has_pensioner: bool
    has_disabled_person: bool
    has_care_leaver: bool
    postcode_district: str
    case_reference: str | None
    name: str | None


@dataclass(frozen=True)
class YoungPersonPlan:
    key: int
    date_of_birth: date
    gender: Gender
    ethnicity: Ethnicity
    disability: Disability
    case_reference: str | None
    #: Index of an HSF household this young person lives in, if any.
    household_key: int | None


@dataclass(frozen=True)
class AwardPlan:
    grant: str
    on: date
    item: str
    amount: Decimal
    delivery: DeliveryMethod
    supplier: str | None = None
    access_route: AccessRoute | None = None
    evidence: str | None = None
    household_key: int | None = None
    young_person_key: int | None = None
    paid_on: date | None = None
    payment_reference: str | None = None
    #: (reversed on, reason) for an award recorded by mistake.
    reversal: tuple[date, str] | None = None
    notes: str | None = None


@dataclass
class DemoPlan:
    households: list[HouseholdPlan] = field(default_factory=list)
    young_people: list[YoungPersonPlan] = field(default_factory=list)
    awards: list[AwardPlan] = field(default_factory=list)


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _day_in(rng: random.Random, months: tuple[int, ...]) -> date:
    month = rng.choice(months)
    year = YEAR_START.year if month >= 4 else YEAR_END.year
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first + timedelta(days=rng.randrange((following - first).days))


def _households(rng: random.Random) -> list[HouseholdPlan]:
    named = set(rng.sample(range(HOUSEHOLDS), len(HOUSEHOLD_NAMES)))
    names = iter(HOUSEHOLD_NAMES)
    households = []
    for key in range(HOUSEHOLDS):
        adults = _weighted(rng, [(1, 55), (2, 45)])
        children = _weighted(rng, [(0, 22), (1, 24), (2, 28), (3, 16), (4, 10)])
        pensioner = children == 0 and rng.random() < 0.35
        care_leaver = not pensioner and adults == 1 and rng.random() < 0.08
        households.append(
            HouseholdPlan(
                key=key,
                adults=adults,
                children=children,
                has_pensioner=pensioner,
                has_disabled_person=rng.random() < 0.2,
                has_care_leaver=care_leaver,
                postcode_district=rng.choice(DISTRICTS),
                case_reference=f"FS-{rng.randrange(10000, 99999)}"
                if rng.random() < 0.6
                else None,
                name=next(names) if key in named else None,
            )
        )
    return households


def _hsf_award(
    rng: random.Random,
    household: HouseholdPlan,
    kind: AwardKind,
    route: AccessRoute,
    serial: int,
    amount: int | None = None,
) -> AwardPlan:
    on = _day_in(rng, kind.months)
    supplier = rng.choice(kind.suppliers)
    if kind.delivery == DeliveryMethod.VOUCHER:
        evidence = f"VCH-{serial:05d}"
    elif kind.delivery == DeliveryMethod.DIRECT_PURCHASE:
        evidence = f"{supplier[:3].upper()}-INV-{rng.randrange(100000, 999999)}"
    else:
        evidence = f"BILL-{on:%y%m}-{serial:04d}"
    paid_on = payment_reference = None
    # Finance pays purchases and bills by bank transfer and marks most of them paid.
    if kind.delivery != DeliveryMethod.VOUCHER and rng.random() < 0.75:
        paid_on = on + timedelta(days=rng.randrange(1, 12))
        payment_reference = f"BACS-{paid_on:%y%m%d}-{serial % 100:02d}"
    return AwardPlan(
        grant=HSF_REFERENCE,
        on=on,
        item=kind.item,
        amount=Decimal(amount if amount is not None else rng.choice(kind.amounts)),
        delivery=kind.delivery,
        supplier=supplier,
        access_route=route,
        evidence=evidence,
        household_key=household.key,
        paid_on=paid_on,
        payment_reference=payment_reference,
    )


def _hsf_awards(rng: random.Random, households: list[HouseholdPlan]) -> list[AwardPlan]:
    serial = iter(range(1, 100_000))
    low, high = HSF_TARGET
    routes = [
        (AccessRoute.APPLICATION, 45),
        (AccessRoute.REFERRAL, 35),
        (AccessRoute.PROACTIVE, 20),
    ]
    first_route = {h.key: _weighted(rng, routes) for h in households}

    def kinds_for(household: HouseholdPlan):
        return [
            (kind, kind.weight)
            for kind in HSF_KINDS
            if household.children or not kind.children_only
        ]

    def award(household: HouseholdPlan, *, again: bool) -> AwardPlan:
        kind = _weighted(rng, kinds_for(household))
        # A family helped again is usually followed up by the team (proactive).
        route = (
            AccessRoute.PROACTIVE
            if again and rng.random() < 0.6
            else first_route[household.key]
        )
        return _hsf_award(rng, household, kind, route, next(serial))

    # Every household is helped at least once; some several times.
    awards = [award(h, again=False) for h in households]
    for household in households:
        for _ in range(_weighted(rng, [(0, 30), (1, 32), (2, 22), (3, 11), (5, 5)])):
            awards.append(award(household, again=True))
    total = sum(a.amount for a in awards)
    # Trim repeat awards, or add more, until the grant is spent down to the target range.
    while total > high:
        index = rng.randrange(HOUSEHOLDS, len(awards))
        total -= awards.pop(index).amount
    while total < low:
        household = rng.choice(households)
        candidate = award(household, again=True)
        if total + candidate.amount <= high:
            awards.append(candidate)
            total += candidate.amount
        elif total + Decimal(20) <= high:
            kind = KINDS_BY_ITEM["Food voucher"]
            awards.append(
                _hsf_award(
                    rng,
                    household,
                    kind,
                    AccessRoute.PROACTIVE,
                    next(serial),
                    amount=20,
                )
            )
            total += 20
    # The mistakes, each put right by a reversal (net effect nil).
    for item, amount, supplier, on, reversed_on, reason in HSF_MISTAKES:
        kind = KINDS_BY_ITEM[item]
        awards.append(
            AwardPlan(
                grant=HSF_REFERENCE,
                on=on,
                item=item,
                amount=amount,
                delivery=kind.delivery,
                supplier=supplier,
                access_route=AccessRoute.APPLICATION,
                evidence=f"ERR-{on:%y%m%d}",
                household_key=rng.randrange(HOUSEHOLDS),
                reversal=(reversed_on, reason),
            )
        )
    return awards


def _young_people(
    rng: random.Random, households: list[HouseholdPlan]
) -> list[YoungPersonPlan]:
    genders = [g for g, n in GENDERS for _ in range(n)]
    ethnicities = [e for e, n in ETHNICITIES for _ in range(n)]
    rng.shuffle(genders)
    rng.shuffle(ethnicities)
    with_children = [h.key for h in households if h.children]
    linked = set(rng.sample(range(YOUNG_PEOPLE), 3))
    people = []
    reference_day = date(2023, 9, 1)
    for key in range(YOUNG_PEOPLE):
        age = rng.choices(AGES, weights=AGE_WEIGHTS)[0]
        born = reference_day - timedelta(days=age * 365 + 30 + rng.randrange(330))
        people.append(
            YoungPersonPlan(
                key=key,
                date_of_birth=born,
                gender=genders[key],
                ethnicity=ethnicities[key],
                disability=_weighted(
                    rng,
                    [
                        (Disability.NO, 18),
                        (Disability.YES, 4),
                        (Disability.NOT_SAID, 3),
                    ],
                ),
                case_reference=f"YPT-{rng.randrange(1000, 9999)}"
                if rng.random() < 0.7
                else None,
                household_key=rng.choice(with_children) if key in linked else None,
            )
        )
    return people


def _activity_places(rng: random.Random) -> list[AwardPlan]:
    places = []
    attended: set[int] = set()
    for index, (on, item, cost, supplier, delivery) in enumerate(ACTIVITY_SESSIONS):
        group = set(rng.sample(range(YOUNG_PEOPLE), rng.randint(6, 10)))
        if index == len(ACTIVITY_SESSIONS) - 1:
            group |= set(range(YOUNG_PEOPLE)) - attended  # nobody is left out all year
        attended |= group
        for key in sorted(group):
            places.append(
                AwardPlan(
                    grant=MH_REFERENCE,
                    on=on,
                    item=item,
                    amount=Decimal(cost),
                    delivery=delivery,
                    supplier=supplier,
                    access_route=_weighted(
                        rng, [(AccessRoute.REFERRAL, 3), (AccessRoute.PROACTIVE, 2)]
                    ),
                    young_person_key=key,
                )
            )
    return places


def _staff_costs() -> list[AwardPlan]:
    lines = []
    for reference, (salary, on_costs) in MONTHLY_STAFF_COSTS.items():
        for month in ALL_MONTHS:
            year = YEAR_START.year if month >= 4 else YEAR_END.year
            on = date(year, month, 25)
            for item, amount in (("Salary", salary), ("Employer on-costs", on_costs)):
                lines.append(
                    AwardPlan(
                        grant=reference,
                        on=on,
                        item=item,
                        amount=amount,
                        delivery=DeliveryMethod.DIRECT_PURCHASE,
                        supplier="Payroll",
                        evidence=f"PAY-{on:%Y-%m}",
                        paid_on=on,
                        payment_reference=f"PAYROLL-{on:%Y-%m}",
                    )
                )
    for reference, on, item, amount, supplier in OTHER_STAFF_GRANT_SPEND:
        lines.append(
            AwardPlan(
                grant=reference,
                on=on,
                item=item,
                amount=Decimal(amount),
                delivery=DeliveryMethod.DIRECT_PURCHASE,
                supplier=supplier,
                evidence=f"INV-{on:%y%m%d}",
                paid_on=on + timedelta(days=14),
                payment_reference=f"BACS-{on + timedelta(days=14):%y%m%d}-01",
            )
        )
    return lines


def build_plan(seed: int = SEED) -> DemoPlan:
    """The whole demo year as plain data; the same ``seed`` always gives the same plan."""
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    households = _households(rng)
    young_people = _young_people(rng, households)
    awards = _hsf_awards(rng, households) + _activity_places(rng) + _staff_costs()
    return DemoPlan(households, young_people, awards)


# --- loading it ----------------------------------------------------------------------------


class AlreadyLoaded(Exception):
    """The database already holds grants or demo data; nothing was written."""


@dataclass
class DemoResult:
    """What was loaded, for the command's summary."""

    #: (role, email, password), the passwords in clear: show them once.
    accounts: list[tuple[Role, str, str]]
    grants: list[GrantSummary]
    counts: Counter


def already_loaded() -> str | None:
    """Why the demo must not be loaded into this database, or None if it may."""
    if db.session.scalar(select(func.count()).select_from(Grant)):
        return "This database already has grants"
    emails = [email for _, email, _ in USERS]
    if db.session.scalar(select(User.id).where(User.email.in_(emails)).limit(1)):
        return "This database already has the demo users"
    if db.session.scalar(select(Funder.id).where(Funder.name.in_(FUNDERS)).limit(1)):
        return "This database already has the demo funders"
    return None


def _ids_by_name(model) -> dict[str, int]:
    return dict(db.session.execute(select(model.name, model.id)).all())


def load_demo(*, today: date, plan: DemoPlan | None = None) -> DemoResult:
    """Record the demo year through the services (flushes; the caller commits once).

    :raises AlreadyLoaded: when :func:`already_loaded` says no (before writing anything).
    :raises FundsError: if a rule refuses part of the plan (the caller rolls back).
    """
    reason = already_loaded()
    if reason:
        raise AlreadyLoaded(reason)
    plan = plan or build_plan()
    counts: Counter = Counter()

    # People who sign in.
    accounts = []
    users: dict[Role, User] = {}
    for role, email, name in USERS:
        password = temporary_password()
        user, _ = create_user(
            actor=users.get(Role.ADMIN),
            email=email,
            name=name,
            role=role,
            password=password,
        )
        users[role] = user
        accounts.append((role, email, password))
    manager, staff, finance = (
        users[Role.MANAGER],
        users[Role.STAFF],
        users[Role.FINANCE],
    )

    # Teams, taxonomy, funders and their mappings.
    ensure_default_taxonomy()
    teams = {name: create_team(actor=manager, name=name).id for name in TEAMS}
    categories = _ids_by_name(SpendCategory)
    for category_name, items in EXTRA_TAXONOMY.items():
        if category_name not in categories:
            categories[category_name] = create_spend_category(
                actor=manager, name=category_name
            ).id
        for item in items:
            create_item_type(
                actor=manager, category_id=categories[category_name], name=item
            )
    items = {item.name: item for item in db.session.scalars(select(ItemType))}
    funders: dict[str, Funder] = {}
    for name, funder_categories in FUNDERS.items():
        funders[name] = create_funder(
            actor=manager, name=name, categories=list(funder_categories)
        )
    apply_default_hsf_mapping(funders[HSF_FUNDER])
    for funder_name, mapping in FUNDER_MAPPINGS.items():
        funder = funders[funder_name]
        by_name = {category.name: category.id for category in funder.categories}
        for category_name, item_names in mapping.items():
            for item_name in item_names:
                map_item_type(
                    items[item_name],
                    actor=manager,
                    funder=funder,
                    category_id=by_name[category_name],
                )

    # Grants and budget lines.
    grants: dict[str, Grant] = {}
    for spec in GRANTS:
        grant = create_grant(
            actor=manager,
            reference=spec.reference,
            title=spec.title,
            funder_id=funders[spec.funder].id,
            total=spec.total,
            starts_on=spec.starts_on,
            ends_on=spec.ends_on,
            control=spec.control,
            team_id=teams[spec.team],
            notes=spec.notes,
        )
        for category_name, amount, control in spec.budget_lines:
            set_budget_line(
                grant,
                actor=manager,
                category_id=categories[category_name],
                amount=amount,
                control=control,
            )
        grants[spec.reference] = grant

    # The people helped.
    households = {}
    for h in plan.households:
        households[h.key] = create_household(
            HouseholdInput(
                adults=h.adults,
                children=h.children,
                has_children=h.children > 0,
                has_pensioner=h.has_pensioner,
                has_disabled_person=h.has_disabled_person,
                has_care_leaver=h.has_care_leaver,
                postcode_district=h.postcode_district,
                case_reference=h.case_reference,
                team_id=teams[FAMILY_SUPPORT_TEAM],
                name=h.name,
            ),
            actor=staff,
        ).id
    young_people = {}
    for p in plan.young_people:
        young_people[p.key] = create_young_person(
            YoungPersonInput(
                date_of_birth=p.date_of_birth,
                gender=p.gender,
                ethnicity=p.ethnicity,
                disability=p.disability,
                case_reference=p.case_reference,
                team_id=teams[YOUNG_PEOPLES_TEAM],
                household_id=households[p.household_key]
                if p.household_key is not None
                else None,
            ),
            actor=staff,
            today=today,
        ).id

    # The ledger, in date order: awards, then that day's reversals, then payments.
    events = []
    for number, award in enumerate(plan.awards):
        events.append((award.on, 0, number, award))
        if award.reversal:
            events.append((award.reversal[0], 1, number, award))
        if award.paid_on:
            events.append((award.paid_on, 2, number, award))
    recorded = {}
    for day, kind, number, award in sorted(events, key=lambda e: e[:3]):
        if kind == 0:
            staff_costs = award.household_key is None and award.young_person_key is None
            recorded[number] = record_disbursement(
                AwardInput(
                    grant_id=grants[award.grant].id,
                    item_type_id=items[award.item].id,
                    amount=award.amount,
                    awarded_on=award.on,
                    delivery_method=award.delivery,
                    access_route=award.access_route,
                    household_id=households.get(award.household_key),
                    young_person_id=young_people.get(award.young_person_key),
                    supplier=award.supplier,
                    evidence_reference=award.evidence,
                    notes=award.notes,
                ),
                actor=finance if staff_costs else staff,
                today=today,
            )
            counts["awards"] += 1
        elif kind == 1:
            reverse_disbursement(
                recorded[number],
                actor=finance,
                reason=award.reversal[1],
                reversed_on=day,
                today=today,
            )
            counts["reversals"] += 1
        else:
            mark_paid(
                recorded[number],
                actor=finance,
                paid_on=day,
                payment_reference=award.payment_reference,
                today=today,
            )
            counts["paid"] += 1

    counts["households"] = len(households)
    counts["young people"] = len(young_people)
    counts["households helped"] = len(
        {a.household_key for a in plan.awards if a.household_key is not None}
    )
    counts["activity places"] = sum(
        1 for a in plan.awards if a.young_person_key is not None
    )
    return DemoResult(accounts=accounts, grants=grants_overview(), counts=counts)
