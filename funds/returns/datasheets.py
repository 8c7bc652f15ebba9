"""The data sheets a return's formulas count: Transactions (one row per ledger line) and
Sessions (one row per activity session). Their columns follow what the definition needs;
their rows are streamed from the database, never held in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, literal, select

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    Household,
    YoungPerson,
)
from funds.money import pence_of
from funds.returns.context import ACTIVITIES, LEDGER
from funds.returns.dimensions import DIMENSIONS
from funds.returns.engine import (
    Engine,
    beneficiary_key,
    days_expression,
    places_subquery,
    within_expression,
)
from funds.suppliers import supplier_for_sharing

# How a column's values are written.
DATE, NUMBER, MONEY, TEXT = "date", "number", "money", "text"


@dataclass(frozen=True)
class DataColumn:
    key: str
    heading: str
    width: float
    kind: str


@dataclass
class DataSheet:
    """A data sheet: its columns in order, how many rows, and which columns print."""

    name: str
    table_name: str
    columns: list[DataColumn]
    rows: int
    print_columns: int
    to_date: bool = False
    letters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        from openpyxl.utils import get_column_letter

        self.letters = {
            c.key: get_column_letter(i) for i, c in enumerate(self.columns, start=1)
        }

    def range(self, key: str) -> str:
        """An absolute range over one column's data rows (plain ranges work anywhere)."""
        letter = self.letters[key]
        return f"{self.name}!${letter}$2:${letter}${max(self.rows + 1, 2)}"

    @property
    def headings(self) -> list[str]:
        return [c.heading for c in self.columns]


def _dim(key: str, width: float) -> DataColumn:
    return DataColumn(f"dim:{key}", DIMENSIONS[key].label, width, TEXT)


def flag_heading(partition: tuple[str, ...], first: str) -> str:
    if not partition:
        return first
    return f"{first} by " + " and ".join(DIMENSIONS[k].label.lower() for k in partition)


# --- Transactions ------------------------------------------------------------------------------

#: The columns a person reads (and the page prints), in order.
LEDGER_COLUMNS = [
    DataColumn("date", "Date", 10.5, DATE),
    DataColumn("id", "Ledger ID", 8.5, NUMBER),
    DataColumn("line", "Kind", 8.5, TEXT),
    DataColumn("reverses", "Reverses", 9, NUMBER),
    DataColumn("beneficiary", "Beneficiary", 11.5, TEXT),
    _dim("household_group", 16),
    _dim("funder_category", 17),
    _dim("item", 14),
    DataColumn("amount", "Amount", 11, MONEY),
    _dim("spend_category", 13),
    _dim("delivery_method", 13),
    _dim("access_route", 11),
    DataColumn("supplier", "Supplier", 14, TEXT),
    DataColumn("evidence", "Evidence reference", 11, TEXT),
    DataColumn("quantity", "Quantity", 9, NUMBER),
]
FIRST_BENEFICIARY = "First line of beneficiary"


def ledger_sheet(engine: Engine) -> DataSheet:
    """The Transactions sheet for what the definition's formulas need."""
    needs = engine.needs
    columns = list(LEDGER_COLUMNS)
    present = {c.key for c in columns}
    for key in DIMENSIONS:
        if key in needs.ledger_dims and f"dim:{key}" not in present:
            if key == "beneficiary_kind":
                continue
            columns.append(_dim(key, 16))
    columns += [
        _dim("beneficiary_kind", 14),
        DataColumn("awards", "Awards", 9, NUMBER),
        DataColumn("in_period", "In period", 9, NUMBER),
    ]
    for partition in sorted(needs.ledger_partitions):
        columns.append(
            DataColumn(
                "first:" + ",".join(partition),
                flag_heading(partition, FIRST_BENEFICIARY),
                14,
                NUMBER,
            )
        )
    if needs.days:
        columns += [
            DataColumn("days", "Days from request to award", 12, NUMBER),
            DataColumn("within_2_days", "Within 2 days", 9, NUMBER),
        ]
    context = engine.context
    count = db.session.scalar(
        select(func.count())
        .select_from(Disbursement)
        .where(*context.ledger_where(to_date=needs.to_date))
    )
    return DataSheet(
        "Transactions",
        "tblTransactions",
        columns,
        count,
        len(LEDGER_COLUMNS),
        to_date=needs.to_date,
    )


def _first_flags(engine: Engine, partitions) -> list:
    """Per partition: 1 on each beneficiary's first line helped within it, else 0.

    Window functions over the sheet's own query (a joined subquery would make SQLite scan
    it once per line): lines are ranked within (in period?, beneficiary, partition), awards
    before reversals, then by date; a beneficiary whose lines there net to nothing or less
    was not helped. Lines before the period (to-date sheets) are never flagged.
    """
    context = engine.context
    key = beneficiary_key()
    in_period = case((context.in_period(), 1), else_=0)
    flags = []
    for partition in partitions:
        expressions = [DIMENSIONS[k].expression(context, LEDGER) for k in partition]
        within = [in_period, key, *expressions]
        rank = func.row_number().over(
            partition_by=within,
            order_by=(
                case((Disbursement.reverses_id.is_(None), 0), else_=1),
                Disbursement.awarded_on,
                Disbursement.id,
            ),
        )
        net = func.sum(pence_of(Disbursement.amount)).over(partition_by=within)
        flags.append(
            case(
                (and_(in_period == 1, key != "", rank == 1, net > 0), 1),
                else_=0,
            )
        )
    return flags


def ledger_rows(engine: Engine, sheet: DataSheet) -> Iterator[list]:
    """The Transactions rows, oldest first, in the sheet's column order (streamed).

    Pseudonymous references only: no names, dates of birth or contact details.
    """
    context = engine.context
    labels = engine.labels
    dims = [c.key[4:] for c in sheet.columns if c.key.startswith("dim:")]
    partitions = [
        tuple(filter(None, c.key[6:].split(",")))
        for c in sheet.columns
        if c.key.startswith("first:")
    ]
    flags = _first_flags(engine, partitions)
    days = days_expression()
    values = {
        "date": Disbursement.awarded_on,
        "id": Disbursement.id,
        "line": case(
            (Disbursement.reverses_id.is_(None), literal("Award")),
            else_=literal("Reversal"),
        ),
        "reverses": Disbursement.reverses_id,
        "beneficiary": func.coalesce(
            Household.reference, YoungPerson.reference, literal("")
        ),
        "amount": pence_of(Disbursement.amount),
        # money paid to the person helped: the box may hold their name (not shared)
        "supplier": supplier_for_sharing(),
        "evidence": Disbursement.evidence_reference,
        "quantity": Disbursement.quantity,
        "awards": case((Disbursement.reverses_id.is_(None), 1), else_=-1),
        "in_period": case((context.in_period(), 1), else_=0),
        "days": days,
        "within_2_days": within_expression(days),
    }
    expressions = []
    for column in sheet.columns:
        if column.key.startswith("dim:"):
            expressions.append(DIMENSIONS[column.key[4:]].expression(context, LEDGER))
        elif column.key.startswith("first:"):
            expressions.append(flags[partitions.index(_partition(column.key))])
        else:
            expressions.append(values[column.key])
    query = (
        context.ledger(*expressions)
        .where(*context.ledger_where(to_date=sheet.to_date))
        .order_by(Disbursement.awarded_on, Disbursement.id)
        .execution_options(yield_per=2000)
    )
    yield from _rows(db.session.execute(query), sheet, labels, dims)


def _partition(key: str) -> tuple[str, ...]:
    return tuple(filter(None, key[6:].split(",")))


def _rows(result, sheet: DataSheet, labels, dims) -> Iterator[list]:
    """Rows as Python values: money in pounds, dimension codes as their labels."""
    from decimal import Decimal

    converters = []
    for column in sheet.columns:
        if column.key.startswith("dim:"):
            dimension = DIMENSIONS[column.key[4:]]
            cache: dict = {}

            def label(code, dimension=dimension, cache=cache):
                if code not in cache:
                    cache[code] = labels.label(dimension, code)
                return cache[code]

            converters.append(("label", label))
        elif column.kind == MONEY:
            converters.append(("money", None))
        elif column.kind == TEXT:
            converters.append(("text", None))
        else:
            converters.append((None, None))
    for row in result:
        out = []
        for value, (how, convert) in zip(row, converters, strict=True):
            if how == "label":
                out.append(convert(value))
            elif how == "money":
                # Exact pence to pounds, cheaper than quantize.
                out.append(Decimal(value).scaleb(-2))
            else:
                out.append(value)
        yield out


# --- Sessions ------------------------------------------------------------------------------------

SESSION_COLUMNS = [
    DataColumn("date", "Date", 10.5, DATE),
    DataColumn("session_id", "Session ID", 9, NUMBER),
    _dim("activity", 18),
    DataColumn("ledger_id", "Ledger ID", 8.5, NUMBER),
    DataColumn("cost", "Cost", 11, MONEY),
    DataColumn("places", "Places", 8.5, NUMBER),
    DataColumn("minutes", "Session minutes", 10, NUMBER),
    DataColumn("contact_minutes", "Contact minutes", 10, NUMBER),
    DataColumn("carers", "Carers", 8.5, NUMBER),
]
NEW_PEOPLE = "New young people"


def sessions_sheet(engine: Engine) -> DataSheet:
    needs = engine.needs
    columns = list(SESSION_COLUMNS)
    for key in ("month", "quarter"):
        if key in needs.activity_dims:
            columns.append(_dim(key, 12))
    for partition in sorted(needs.activity_partitions):
        columns.append(
            DataColumn(
                "first:" + ",".join(partition),
                flag_heading(partition, NEW_PEOPLE),
                13,
                NUMBER,
            )
        )
    count = db.session.scalar(
        select(func.count())
        .select_from(ActivitySession)
        .where(*engine.context.live_sessions_where())
    )
    return DataSheet("Sessions", "tblSessions", columns, count, len(SESSION_COLUMNS))


def session_rows(engine: Engine, sheet: DataSheet) -> Iterator[list]:
    """One row per session held (cancelled ones left out), oldest first."""
    context = engine.context
    places = places_subquery()
    filled = func.coalesce(places.c.places, 0)
    partitions = [
        _partition(c.key) for c in sheet.columns if c.key.startswith("first:")
    ]
    newcomers = []
    for index, partition in enumerate(partitions):
        expressions = [DIMENSIONS[k].expression(context, ACTIVITIES) for k in partition]
        ranked = (
            context.attendances(
                Attendance.session_id.label("session_id"),
                func.row_number()
                .over(
                    partition_by=[Attendance.young_person_id, *expressions],
                    order_by=(ActivitySession.held_on, ActivitySession.id),
                )
                .label("rank"),
            )
            .where(*context.live_sessions_where())
            .subquery(f"ranked_{index}")
        )
        new = (
            select(
                ranked.c.session_id,
                func.sum(case((ranked.c.rank == 1, 1), else_=0)).label("new"),
            )
            .group_by(ranked.c.session_id)
            .subquery(f"new_{index}")
        )
        newcomers.append(new)
    values = {
        "date": ActivitySession.held_on,
        "session_id": ActivitySession.id,
        "ledger_id": ActivitySession.disbursement_id,
        "cost": pence_of(ActivitySession.cost),
        "places": filled,
        "minutes": ActivitySession.duration_minutes,
        "contact_minutes": ActivitySession.duration_minutes * filled,
        "carers": ActivitySession.carers,
    }
    expressions = []
    for column in sheet.columns:
        if column.key.startswith("dim:"):
            expressions.append(
                DIMENSIONS[column.key[4:]].expression(context, ACTIVITIES)
            )
        elif column.key.startswith("first:"):
            new = newcomers[partitions.index(_partition(column.key))]
            expressions.append(func.coalesce(new.c.new, 0))
        else:
            expressions.append(values[column.key])
    query = context.sessions(*expressions).outerjoin(
        places, places.c.session_id == ActivitySession.id
    )
    for new in newcomers:
        query = query.outerjoin(new, new.c.session_id == ActivitySession.id)
    query = query.where(*context.live_sessions_where()).order_by(
        ActivitySession.held_on, ActivitySession.id
    )
    dims = [c.key[4:] for c in sheet.columns if c.key.startswith("dim:")]
    yield from _rows(db.session.execute(query), sheet, engine.labels, dims)
