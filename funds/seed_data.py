"""The demo data set behind ``flask seed-demo``: one year of a small service, as plain data.

Four grants: the Household Support Fund (awards to 108 households, many of them vouchers
bought in batches and issued from stock), the Mental Health board's activity programme
(sessions across the year for 25 young people), and two staff posts.

:func:`build_plan` turns the constants below and a fixed random seed into a plan (plain
dataclasses, no database), the same every time. :func:`load_demo` records that plan through
the services — every period, budget and role rule applies — in the caller's transaction; the
caller commits once. Household and young-person references, and the users' passwords, are
random on purpose (references are never derived from anything; passwords are secrets).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from funds.activities.queries import Programme, programme
from funds.activities.services import SessionInput, record_session, set_attendance
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
from funds.income.services import add_expected, record_receipt
from funds.models import (
    HSF_CATEGORIES,
    AccessRoute,
    BudgetControl,
    DeliveryMethod,
    Disability,
    Disbursement,
    Ethnicity,
    Funder,
    Gender,
    Grant,
    ItemType,
    Role,
    SpendCategory,
    User,
    Voucher,
    VoucherBatch,
)
from funds.people.services import (
    HouseholdInput,
    YoungPersonInput,
    create_household,
    create_young_person,
)
from funds.seed_crf import CrfResult, load_crf
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from funds.vouchers.queries import Reconciliation, reconciliation
from funds.vouchers.services import (
    BatchInput,
    create_batch,
    expire_vouchers,
    issue_vouchers,
    return_vouchers,
)

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

#: Nominal codes for spend categories in the demo's chart of accounts (others: 5000,
#: direct charitable expenditure).
DEMO_NOMINAL_CODES = {"Staff costs": "7000", "Training": "7200", "Activities": "5100"}

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
    #: The code the accounts know the grant by (a Xero tracking option).
    accounts_code: str | None = None
    #: The funder's payments, as the agreement sets them and as they arrived:
    #: (due on, received on, amount, bank reference).
    tranches: tuple[tuple[date, date, Decimal, str], ...] = ()


def _halves(
    total: Decimal, reference: str
) -> tuple[tuple[date, date, Decimal, str], ...]:
    """Half the total due at the start of the year and half at the half-year, each paid a
    fortnight after it was due."""
    half = total / 2
    return (
        (YEAR_START, YEAR_START + timedelta(days=14), half, f"{reference} T1"),
        (
            date(YEAR_START.year, 10, 1),
            date(YEAR_START.year, 10, 15),
            total - half,
            f"{reference} T2",
        ),
    )


GRANTS = (
    GrantPlan(
        HSF_REFERENCE,
        "Household Support Fund 4: help with food, energy and essentials",
        HSF_FUNDER,
        FAMILY_SUPPORT_TEAM,
        Decimal("22000.00"),
        BudgetControl.BLOCK,
        notes="DWP Household Support Fund, passed on by the county council.",
        accounts_code="HSF4",
        tranches=_halves(Decimal("22000.00"), "HSF4"),
    ),
    GrantPlan(
        MH_REFERENCE,
        "Young people's activity programme",
        MH_FUNDER,
        YOUNG_PEOPLES_TEAM,
        Decimal("11000.00"),
        BudgetControl.WARN,
        notes="Outdoor and cultural activities for 25 young people.",
        accounts_code="MH-ACT",
        tranches=_halves(Decimal("11000.00"), "MH-ACT"),
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
        accounts_code="OPCC-MAT",
        tranches=_halves(Decimal("38000.00"), "OPCC-MAT"),
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
        accounts_code="OHID-SMT",
        tranches=_halves(Decimal("45000.00"), "OHID-SMT"),
    ),
)

# --- what the Household Support Fund paid for ---------------------------------------------

HOUSEHOLDS = 108
#: The HSF awards add up to somewhere in this range. The vouchers still held as stock at
#: the end of the year (in stock or expired) come on top, and the grant's money is never
#: committed beyond its £22,000 (see :func:`peak_commitments`).
HSF_TARGET = (Decimal("21250.00"), Decimal("21350.00"))
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
        # Mostly Tesco vouchers from the stock bought in bulk; other shops' e-vouchers
        # are bought one at a time where a family has no Tesco nearby.
        ("Tesco", "Tesco", "Tesco", "Asda", "Sainsbury's", "Aldi"),
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
        ("Hampshire Schoolwear", "Hampshire Schoolwear", "Marks & Spencer", "Tesco"),
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
        ("Shoe Zone", "Shoe Zone", "Clarks", "Next"),
        weight=6,
        children_only=True,
    ),
)
KINDS_BY_ITEM = {kind.item: kind for kind in HSF_KINDS}


@dataclass(frozen=True)
class StockLine:
    """Vouchers bought in bulk from one supplier at one face value, batch after batch."""

    supplier: str
    item: str
    face_value: int
    #: The supplier's serial numbers: this prefix, then a running number of ``digits``.
    prefix: str
    digits: int
    #: One batch each: (purchased on, months it is valid, at least this many spare).
    purchases: tuple[tuple[date, int, int], ...]
    sale_or_return: bool = False
    terms: str | None = None
    #: (day, reason): unused vouchers of the line's batches go back to the supplier.
    returned: tuple[date, str] | None = None
    #: Batches are bought in multiples of this.
    round_to: int = 10


TESCO_TERMS = "Not refundable: any value left at the expiry date is lost."
STOCK_LINES = (
    StockLine(
        "Tesco",
        "Food voucher",
        20,
        "TES20-",
        6,
        (
            (date(2023, 4, 3), 12, 2),
            (date(2023, 7, 3), 12, 2),
            (date(2023, 10, 2), 12, 2),
            (date(2024, 1, 8), 12, 3),
        ),
        terms=TESCO_TERMS,
    ),
    StockLine(
        "Tesco",
        "Food voucher",
        30,
        "TES30-",
        6,
        # The first batch is valid for six months only: what is left of it expires.
        ((date(2023, 4, 3), 6, 4), (date(2023, 10, 9), 12, 2)),
        terms=TESCO_TERMS,
        round_to=5,
    ),
    StockLine(
        "Hampshire Schoolwear",
        "School uniform voucher",
        25,
        "HSW",
        5,
        ((date(2023, 7, 3), 6, 4),),
        sale_or_return=True,
        terms="Sale or return: unused vouchers refunded in full if returned by 31 October.",
        returned=(
            date(2023, 10, 13),
            "Sale or return: not needed after the back-to-school rush",
        ),
        round_to=5,
    ),
    StockLine(
        "Shoe Zone",
        "Shoes",
        25,
        "SZ",
        7,
        ((date(2023, 4, 11), 12, 2), (date(2023, 10, 10), 12, 2)),
        sale_or_return=True,
        terms="Unused vouchers may be returned for a refund up to 12 months after purchase.",
        round_to=5,
    ),
)
#: Award amounts a household gets from stock, by (supplier, item): whole vouchers.
STOCKED_AMOUNTS = {
    ("Tesco", "Food voucher"): (20, 30, 40),
    ("Hampshire Schoolwear", "School uniform voucher"): (25, 50),
    ("Shoe Zone", "Shoes"): (25, 50),
}

#: Awards recorded by mistake and reversed: (item, amount, supplier, day, reversed on, reason).
HSF_MISTAKES = (
    (
        "Food voucher",
        Decimal("30.00"),
        "Asda",
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


@dataclass(frozen=True)
class ActivityKind:
    """How one activity runs: who provides it, how long, how many places, what it costs."""

    supplier: str
    minutes: int
    capacity: int
    starts_at: time
    #: Priced per group: the session costs between these (whole pounds, steps of £5)...
    group_price: tuple[int, int] | None = None
    #: ...or per ticket, for the young people, any carers and two staff.
    ticket_price: int | None = None


STAFF_PER_SESSION = 2
ACTIVITIES = {
    "Kayaking": ActivityKind(
        "Calshot Activities Centre", 180, 12, time(10, 0), group_price=(360, 420)
    ),
    "Abseiling": ActivityKind(
        "Calshot Activities Centre", 150, 10, time(13, 30), group_price=(280, 340)
    ),
    "Raft building": ActivityKind(
        "Calshot Activities Centre", 180, 14, time(10, 0), group_price=(300, 360)
    ),
    "Bush crafts": ActivityKind(
        "Wild Woods Bushcraft", 240, 12, time(10, 0), group_price=(220, 280)
    ),
    "Doughnutting": ActivityKind(
        "Solent Watersports", 90, 8, time(14, 0), group_price=(240, 300)
    ),
    "High ropes": ActivityKind(
        "Go Ape Moors Valley", 180, 12, time(10, 30), ticket_price=32
    ),
    "Theatre trip": ActivityKind(
        "Mayflower Theatre", 180, 16, time(19, 0), ticket_price=26
    ),
    "Restaurant visit": ActivityKind(
        "Zizzi Southampton", 120, 14, time(17, 30), ticket_price=17
    ),
    "Cinema voucher": ActivityKind(
        "Odeon Southampton", 150, 16, time(18, 0), ticket_price=11
    ),
    "Steam train trip": ActivityKind(
        "Watercress Line", 300, 16, time(10, 15), ticket_price=24
    ),
}

#: (date, activity, notes): the year's sessions, mostly Saturdays and school holidays.
PROGRAMME = (
    (date(2023, 4, 8), "Bush crafts", "Shelter building and fire lighting"),
    (date(2023, 4, 12), "Steam train trip", "Easter holidays: Alresford to Alton"),
    (date(2023, 4, 29), "Kayaking", None),
    (date(2023, 5, 13), "Raft building", None),
    (date(2023, 5, 31), "High ropes", "Half-term"),
    (date(2023, 6, 10), "Kayaking", None),
    (date(2023, 6, 24), "Abseiling", None),
    (date(2023, 7, 8), "Doughnutting", None),
    (date(2023, 7, 15), "Restaurant visit", "End of the school year meal"),
    (date(2023, 7, 26), "Raft building", "Summer holidays"),
    (date(2023, 8, 2), "Kayaking", "Summer holidays"),
    (date(2023, 8, 9), "High ropes", "Summer holidays"),
    (date(2023, 8, 16), "Doughnutting", "Summer holidays"),
    (date(2023, 8, 23), "Steam train trip", "Summer holidays"),
    (date(2023, 8, 30), "Abseiling", "Summer holidays"),
    (date(2023, 9, 16), "Kayaking", None),
    (date(2023, 9, 30), "Bush crafts", None),
    (date(2023, 10, 14), "Kayaking", None),
    (date(2023, 10, 25), "Theatre trip", "Half-term matinee"),
    (date(2023, 10, 28), "Bush crafts", None),
    (date(2023, 11, 11), "Cinema voucher", None),
    (date(2023, 11, 25), "Abseiling", "Indoor wall (weather)"),
    (date(2023, 12, 9), "Theatre trip", "Pantomime"),
    (date(2023, 12, 16), "Restaurant visit", "Christmas meal"),
    (date(2023, 12, 28), "Cinema voucher", "Christmas holidays"),
    (date(2024, 1, 13), "Bush crafts", None),
    (date(2024, 1, 27), "Cinema voucher", None),
    (date(2024, 2, 10), "High ropes", None),
    (date(2024, 2, 14), "Theatre trip", "Half-term matinee"),
    (date(2024, 2, 24), "Restaurant visit", None),
    (date(2024, 3, 9), "Kayaking", None),
    (date(2024, 3, 16), "Raft building", None),
    (date(2024, 3, 23), "Steam train trip", None),
    (date(2024, 3, 28), "Cinema voucher", "Easter holidays"),
)
#: The session called off, and how finance put its cost right: (date, reversed on, reason).
CANCELLED_SESSION = (
    date(2023, 10, 14),
    date(2023, 10, 17),
    "Cancelled by Calshot on the morning (high winds on the water); "
    "the booking was refunded in full",
)
#: How keen the young people are, as (how many, relative chance of coming to a session).
#: Every one of them takes part at least once in the year.
KEENNESS = ((4, 12), (9, 5), (6, 2), (6, 0.7))
#: Some young people joined during the year: (how many, from this day); the last two
#: were referred in March and came to the Easter holiday sessions.
LATE_STARTERS = (
    (2, date(2023, 9, 1)),
    (1, date(2023, 11, 1)),
    (2, date(2024, 1, 1)),
    (2, date(2024, 3, 1)),
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
    #: (batch key, serial) of vouchers issued from stock: then the award is made by
    #: issuing them (one ledger line per voucher, at face value; ``amount`` is their sum).
    vouchers: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class SessionPlan:
    """One activity session: its cost is one ledger line; the register says who came."""

    grant: str
    on: date
    item: str
    starts_at: time
    minutes: int
    cost: Decimal
    supplier: str
    capacity: int
    attendees: tuple[int, ...]
    carers: int
    notes: str | None = None
    paid_on: date | None = None
    payment_reference: str | None = None
    #: (reversed on, reason) for a session called off: finance reverses its cost.
    cancelled: tuple[date, str] | None = None


@dataclass(frozen=True)
class BatchPlan:
    """Vouchers bought in bulk with a grant's money, and what became of the unused ones."""

    key: int
    grant: str
    supplier: str
    item: str
    face_value: Decimal
    serials: tuple[str, ...]
    purchased_on: date
    expires_on: date
    reference: str
    sale_or_return: bool = False
    terms: str | None = None
    #: (day, serials, reason): unused vouchers sent back to the supplier.
    returned: tuple[date, tuple[str, ...], str] | None = None
    #: The day finance marks what is left of the batch expired (after its expiry date).
    expired_on: date | None = None

    @property
    def value(self) -> Decimal:
        return self.face_value * len(self.serials)


@dataclass
class DemoPlan:
    households: list[HouseholdPlan] = field(default_factory=list)
    young_people: list[YoungPersonPlan] = field(default_factory=list)
    awards: list[AwardPlan] = field(default_factory=list)
    sessions: list[SessionPlan] = field(default_factory=list)
    batches: list[BatchPlan] = field(default_factory=list)


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
    if amount is None:
        amount = rng.choice(STOCKED_AMOUNTS.get((supplier, kind.item), kind.amounts))
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
        amount=Decimal(amount),
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


def _add_months(day: date, months: int) -> date:
    """The same day of the month, ``months`` later (days up to the 28th only)."""
    index = day.month - 1 + months
    return date(day.year + index // 12, index % 12 + 1, min(day.day, 28))


def _weighted_sample(
    rng: random.Random, weights: dict[int, float], n: int
) -> list[int]:
    """``n`` keys drawn without replacement, each with a chance in proportion to its weight."""
    drawn = sorted(
        weights, key=lambda key: rng.random() ** (1 / weights[key]), reverse=True
    )
    return sorted(drawn[:n])


def _sessions(rng: random.Random) -> list[SessionPlan]:
    """The activity programme: who comes to what varies with keenness and when they joined."""
    keys = list(range(YOUNG_PEOPLE))
    rng.shuffle(keys)
    order = iter(keys)
    keenness = {
        next(order): weight for number, weight in KEENNESS for _ in range(number)
    }
    starts = dict.fromkeys(keys, YEAR_START)
    keen = [key for key in keys if keenness[key]]
    late = iter(rng.sample(keen, sum(number for number, _ in LATE_STARTERS)))
    for number, day in LATE_STARTERS:
        for _ in range(number):
            starts[next(late)] = day
    cancelled_on, reversed_on, reason = CANCELLED_SESSION

    registers: list[list[int]] = []
    for on, item, _ in PROGRAMME:
        capacity = ACTIVITIES[item].capacity
        if on == cancelled_on:
            registers.append([])  # called off: nobody's attendance was taken
            continue
        eligible = {k: w for k, w in keenness.items() if w and starts[k] <= on}
        wanted = rng.randint(max(5, capacity * 6 // 10), capacity)
        registers.append(_weighted_sample(rng, eligible, min(wanted, len(eligible))))
    # Everyone who comes at all has been to something by the end of the year.
    attended = {key for register in registers for key in register}
    for key in sorted(k for k in keen if k not in attended):
        for index in reversed(range(len(PROGRAMME))):
            on, item, _ = PROGRAMME[index]
            if (
                on != cancelled_on
                and starts[key] <= on
                and len(registers[index]) < ACTIVITIES[item].capacity
            ):
                registers[index] = sorted([*registers[index], key])
                break

    sessions = []
    for number, ((on, item, notes), register) in enumerate(
        zip(PROGRAMME, registers, strict=True), start=1
    ):
        kind = ACTIVITIES[item]
        cancelled = on == cancelled_on
        carers = 0 if cancelled or rng.random() > 0.25 else rng.choice((1, 1, 2))
        if kind.ticket_price is not None:
            tickets = len(register) + carers + STAFF_PER_SESSION
            cost = Decimal(kind.ticket_price * tickets)
        else:
            low, high = kind.group_price
            cost = Decimal(rng.randrange(low, high + 1, 5))
        paid_on = None if cancelled else on + timedelta(days=rng.randrange(5, 21))
        sessions.append(
            SessionPlan(
                grant=MH_REFERENCE,
                on=on,
                item=item,
                starts_at=kind.starts_at,
                minutes=kind.minutes,
                cost=cost,
                supplier=kind.supplier,
                capacity=kind.capacity,
                attendees=tuple(register),
                carers=carers,
                notes=notes,
                paid_on=paid_on,
                payment_reference=f"BACS-{paid_on:%y%m%d}-A{number:02d}"
                if paid_on
                else None,
                cancelled=(reversed_on, reason) if cancelled else None,
            )
        )
    return sessions


@dataclass
class _Batch:
    """A batch being planned: bought for the awards of its window, then issued first in,
    first out."""

    line: StockLine
    bought: date
    expires: date
    #: The last day the batch is bought for (the line's next purchase, expiry or return).
    last_day: date
    spare: int
    demand: int = 0
    serials: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def _voucher_stock(
    rng: random.Random, awards: list[AwardPlan]
) -> tuple[list[AwardPlan], list[BatchPlan]]:
    """Batches bought through the year, and the awards given from them.

    An award is given from stock when its supplier and item are stocked, its amount is one
    or two vouchers of a stocked face value and a batch was valid on the day; otherwise
    the voucher was bought for that family alone (an e-voucher) and recorded directly.
    """
    planned: list[_Batch] = []
    for line in STOCK_LINES:
        for index, (bought, months, spare) in enumerate(line.purchases):
            expires = _add_months(bought, months)
            following = (
                line.purchases[index + 1][0]
                if index + 1 < len(line.purchases)
                else YEAR_END + timedelta(days=1)
            )
            last_day = min(expires, following - timedelta(days=1))
            if line.returned:
                last_day = min(last_day, line.returned[0] - timedelta(days=1))
            planned.append(_Batch(line, bought, expires, last_day, spare))
    planned.sort(key=lambda b: (b.bought, STOCK_LINES.index(b.line)))

    def windows(award: AwardPlan) -> list[_Batch] | None:
        """The batch each voucher of this award is bought for, or None (not from stock)."""
        if award.reversal or award.delivery != DeliveryMethod.VOUCHER:
            return None
        for line in sorted(STOCK_LINES, key=lambda line: -line.face_value):
            if (line.supplier, line.item) != (award.supplier, award.item):
                continue
            count, rest = divmod(award.amount, line.face_value)
            if rest or not 1 <= count <= 2:
                continue
            batch = next(
                (
                    b
                    for b in planned
                    if b.line is line and b.bought <= award.on <= b.last_day
                ),
                None,
            )
            return [batch] * int(count) if batch else None
        return None

    from_stock: dict[int, tuple[StockLine, int]] = {}
    for number, award in enumerate(awards):
        needed = windows(award)
        if needed:
            from_stock[number] = (needed[0].line, len(needed))
            needed[0].demand += len(needed)
    # Line by line, batch by batch: buy in round numbers what the batch's window needs,
    # less what is left of earlier batches, plus a few spare; then issue first in, first
    # out (the batch that expires first, among those valid on the day).
    given = list(awards)
    for line in STOCK_LINES:
        serial = rng.randrange(10, 90) * 1000 + 1
        bought: list[_Batch] = []
        for batch in (b for b in planned if b.line is line):
            carried = sum(len(b.left) for b in bought if b.expires >= batch.last_day)
            wanted = max(batch.demand + batch.spare - carried, 1)
            quantity = -(-wanted // line.round_to) * line.round_to
            batch.serials = [
                f"{line.prefix}{n:0{line.digits}d}"
                for n in range(serial, serial + quantity)
            ]
            batch.left = list(batch.serials)
            serial += -(-quantity // 1000) * 1000  # the next book of serials
            bought.append(batch)
            window = sorted(
                (n for n, (stocked, _) in from_stock.items() if stocked is line),
                key=lambda n: (awards[n].on, n),
            )
            for number in window:
                award = awards[number]
                if not batch.bought <= award.on <= batch.last_day:
                    continue
                vouchers = []
                for _ in range(from_stock[number][1]):
                    source = min(
                        (
                            b
                            for b in bought
                            if b.left and b.bought <= award.on <= b.expires
                        ),
                        key=lambda b: (b.expires, b.bought),
                    )
                    vouchers.append((planned.index(source), source.left.pop(0)))
                given[number] = replace(award, vouchers=tuple(vouchers), evidence=None)

    batches = []
    for key, batch in enumerate(planned):
        line = batch.line
        returned = expired_on = None
        if batch.left and line.returned:
            returned = (line.returned[0], tuple(batch.left), line.returned[1])
        elif batch.left and batch.expires < YEAR_END:
            # Finance marks what is left expired at its next weekly stock check.
            expired_on = min(batch.expires + timedelta(days=6), YEAR_END)
        batches.append(
            BatchPlan(
                key=key,
                grant=HSF_REFERENCE,
                supplier=line.supplier,
                item=line.item,
                face_value=Decimal(line.face_value),
                serials=tuple(batch.serials),
                purchased_on=batch.bought,
                expires_on=batch.expires,
                reference=f"INV-{line.prefix.rstrip('-')}-{batch.bought:%y%m%d}",
                sale_or_return=line.sale_or_return,
                terms=line.terms,
                returned=returned,
                expired_on=expired_on,
            )
        )
    return given, batches


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
                        access_route=AccessRoute.NOT_APPLICABLE,
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
                access_route=AccessRoute.NOT_APPLICABLE,
                supplier=supplier,
                evidence=f"INV-{on:%y%m%d}",
                paid_on=on + timedelta(days=14),
                payment_reference=f"BACS-{on + timedelta(days=14):%y%m%d}-01",
            )
        )
    return lines


#: What happens on one day, in this order: vouchers bought, then awards, sessions and
#: vouchers issued, then reversals, payments, returns to suppliers and expiries.
BUY, RECORD, REVERSE, PAY, RETURN, EXPIRE = range(6)


def timeline(plan: DemoPlan) -> list[tuple[date, int, int, object]]:
    """Every step of the plan as (day, step, number, plan item), in the order it is loaded."""
    events: list[tuple[date, int, int, object]] = []
    for number, batch in enumerate(plan.batches):
        events.append((batch.purchased_on, BUY, number, batch))
        if batch.returned:
            events.append((batch.returned[0], RETURN, number, batch))
        if batch.expired_on:
            events.append((batch.expired_on, EXPIRE, number, batch))
    for number, item in enumerate([*plan.awards, *plan.sessions]):
        events.append((item.on, RECORD, number, item))
        undone = item.reversal if isinstance(item, AwardPlan) else item.cancelled
        if undone:
            events.append((undone[0], REVERSE, number, item))
        if item.paid_on:
            events.append((item.paid_on, PAY, number, item))
    return sorted(events, key=lambda event: event[:3])


def peak_commitments(plan: DemoPlan) -> dict[str, Decimal]:
    """The most each grant ever has committed (net spend plus unissued voucher stock).

    Budget controls refuse anything that would take this past a grant's total, so every
    value must be at most the total for the plan to load.
    """
    committed: Counter = Counter()
    peak: dict[str, Decimal] = {}
    for _, step, _, item in timeline(plan):
        if step == BUY:
            change = item.value
        elif step == RETURN:
            change = -item.face_value * len(item.returned[1])
        elif step in (RECORD, REVERSE):
            if isinstance(item, AwardPlan):
                # Issuing vouchers moves their value from stock to spend.
                change = Decimal(0) if item.vouchers else item.amount
            else:
                change = item.cost
            if step == REVERSE:
                change = -change
        else:
            continue
        committed[item.grant] += change
        peak[item.grant] = max(peak.get(item.grant, Decimal(0)), committed[item.grant])
    return peak


def build_plan(seed: int = SEED) -> DemoPlan:
    """The whole demo year as plain data; the same ``seed`` always gives the same plan.

    :raises ValueError: if the constants above would commit a grant beyond its total
        (the services would refuse to load it).
    """
    rng = random.Random(seed)  # noqa: S311 - demo data, not a secret
    households = _households(rng)
    young_people = _young_people(rng, households)
    hsf_awards, batches = _voucher_stock(rng, _hsf_awards(rng, households))
    plan = DemoPlan(
        households,
        young_people,
        hsf_awards + _staff_costs(),
        _sessions(rng),
        batches,
    )
    totals = {spec.reference: spec.total for spec in GRANTS}
    for reference, peak in peak_commitments(plan).items():
        if peak > totals[reference]:
            raise ValueError(f"The demo plan commits {reference} beyond its total")
    return plan


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
    #: The Mental Health board's activity programme, as its page shows it.
    programme: Programme
    #: The Household Support Fund grant's voucher reconciliation.
    vouchers: Reconciliation
    #: The Crisis and Resilience Fund quarter (April to June 2026).
    crf: CrfResult


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
    # The accounts' codes: a charity's chart of accounts posts grant spending to a few
    # nominal codes; none of it carries VAT the charity can reclaim.
    for category in db.session.scalars(select(SpendCategory)):
        category.nominal_code = DEMO_NOMINAL_CODES.get(category.name, "5000")
        category.tax_rate = "No VAT"
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
        grant.accounts_code = spec.accounts_code
        for due_on, received_on, amount, bank_reference in spec.tranches:
            add_expected(
                grant,
                actor=manager,
                due_on=due_on,
                amount=amount,
                description="Tranche under the grant agreement",
            )
            record_receipt(
                grant,
                actor=manager,
                received_on=received_on,
                amount=amount,
                reference=bank_reference,
                notes=None,
                today=today,
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

    # The ledger and the voucher stock, day by day (see timeline()).
    recorded: dict[int, Disbursement] = {}
    batches: dict[int, VoucherBatch] = {}
    voucher_ids: dict[tuple[int, str], int] = {}
    for day, step, number, entry in timeline(plan):
        if step == BUY:
            batch = create_batch(
                BatchInput(
                    grant_id=grants[entry.grant].id,
                    supplier=entry.supplier,
                    item_type_id=items[entry.item].id,
                    face_value=entry.face_value,
                    quantity=len(entry.serials),
                    purchase_cost=entry.value,
                    purchased_on=entry.purchased_on,
                    expires_on=entry.expires_on,
                    sale_or_return=entry.sale_or_return,
                    terms=entry.terms,
                    reference=entry.reference,
                ),
                list(entry.serials),
                actor=finance,
                today=today,
            )
            batches[entry.key] = batch
            for serial, ident in db.session.execute(
                select(Voucher.serial, Voucher.id).where(Voucher.batch_id == batch.id)
            ):
                voucher_ids[entry.key, serial] = ident
        elif step == RETURN:
            returned_on, serials, reason = entry.returned
            counts["vouchers returned"] += return_vouchers(
                batches[entry.key],
                list(serials),
                actor=finance,
                reason=f"{reason} ({returned_on:%-d %B %Y})",
            )
        elif step == EXPIRE:
            counts["vouchers expired"] += expire_vouchers(
                batches[entry.key], actor=finance, today=today
            )
        elif step == RECORD and isinstance(entry, SessionPlan):
            session = record_session(
                SessionInput(
                    grant_id=grants[entry.grant].id,
                    item_type_id=items[entry.item].id,
                    held_on=entry.on,
                    cost=entry.cost,
                    duration_minutes=entry.minutes,
                    starts_at=entry.starts_at,
                    supplier=entry.supplier,
                    capacity=entry.capacity,
                    team_id=teams[YOUNG_PEOPLES_TEAM],
                    notes=entry.notes,
                ),
                actor=staff,
                today=today,
            )
            if entry.attendees or entry.carers:
                set_attendance(
                    session,
                    actor=staff,
                    young_person_ids={young_people[key] for key in entry.attendees},
                    carers=entry.carers,
                )
            recorded[number] = session.disbursement
            counts["sessions"] += 1
            counts["awards"] += 1  # its cost is one ledger line
        elif step == RECORD and entry.vouchers:
            issued = issue_vouchers(
                [voucher_ids[voucher] for voucher in entry.vouchers],
                actor=staff,
                household_id=households[entry.household_key],
                awarded_on=entry.on,
                access_route=entry.access_route,
                today=today,
            )
            counts["awards"] += len(issued)
            counts["vouchers issued"] += len(issued)
        elif step == RECORD:
            staff_costs = entry.household_key is None and entry.young_person_key is None
            recorded[number] = record_disbursement(
                AwardInput(
                    grant_id=grants[entry.grant].id,
                    item_type_id=items[entry.item].id,
                    amount=entry.amount,
                    awarded_on=entry.on,
                    delivery_method=entry.delivery,
                    access_route=entry.access_route,
                    household_id=households.get(entry.household_key),
                    young_person_id=young_people.get(entry.young_person_key),
                    supplier=entry.supplier,
                    evidence_reference=entry.evidence,
                    notes=entry.notes,
                ),
                actor=finance if staff_costs else staff,
                today=today,
            )
            counts["awards"] += 1
        elif step == REVERSE:
            undone = entry.reversal if isinstance(entry, AwardPlan) else entry.cancelled
            reverse_disbursement(
                recorded[number],
                actor=finance,
                reason=undone[1],
                reversed_on=day,
                today=today,
            )
            counts["reversals"] += 1
        else:
            mark_paid(
                recorded[number],
                actor=finance,
                paid_on=day,
                payment_reference=entry.payment_reference,
                today=today,
            )
            counts["paid"] += 1

    # A quarter of the Crisis and Resilience Fund that replaced the HSF (2026).
    crf = load_crf(
        manager=manager,
        staff=staff,
        finance=finance,
        household_ids=list(households.values()),
        today=today,
    )

    counts["households"] = len(households)
    counts["young people"] = len(young_people)
    counts["households helped"] = len(
        {a.household_key for a in plan.awards if a.household_key is not None}
    )
    counts["voucher batches"] = len(batches)
    mh_id = grants[MH_REFERENCE].id
    hsf_id = grants[HSF_REFERENCE].id
    return DemoResult(
        accounts=accounts,
        grants=grants_overview(),
        counts=counts,
        programme=programme(mh_id),
        vouchers=reconciliation(grant_id=hsf_id),
        crf=crf,
    )
