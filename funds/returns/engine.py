"""The one engine: a definition and a scope in, every table's figures out, computed in SQL.

Each table's cells are described (measure and the dimension values it is filtered by) so
that the workbook writer can turn the very same description into a formula, and store the
figure computed here as the formula's value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import String, and_, case, cast, exists, func, literal, select
from sqlalchemy.orm import aliased

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    BudgetLine,
    Disbursement,
    SpendCategory,
    YoungPerson,
)
from funds.money import from_pence, pence_of
from funds.returns.context import ACTIVITIES, LEDGER, Context
from funds.returns.definition import Definition, TableDef
from funds.returns.dimensions import DIMENSIONS, KIND_LABELS, Dimension
from funds.returns.measures import (
    BUDGET,
    COUNT,
    DISTINCT,
    MEASURES,
    MONEY,
    RATIO,
    ROWS,
    SUM,
    VARIANCE,
    Measure,
    parts,
)
from funds.returns.xlsx import xml_safe
from funds.sql import days_between

#: Dimensions whose value for a person is taken at the first time they were helped.
AT_FIRST = frozenset({"age_band"})


# --- per-line SQL values ---------------------------------------------------------------------


def beneficiary_key():
    """``'H<id>'`` / ``'Y<id>'`` for a line's beneficiary, ``''`` when it has none."""
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


def kind_expression():
    return DIMENSIONS["beneficiary_kind"].expression(None, LEDGER)


def days_expression():
    """Days from request to award, for awards (not reversed) with a request date."""
    reversal = aliased(Disbursement, name="later_reversal")
    return case(
        (
            and_(
                Disbursement.reverses_id.is_(None),
                Disbursement.requested_on.is_not(None),
                ~exists().where(reversal.reverses_id == Disbursement.id),
            ),
            days_between(Disbursement.awarded_on, Disbursement.requested_on),
        ),
        else_=None,
    )


def within_expression(days):
    return case((days.is_(None), None), (days <= 2, 1), else_=0)


def ledger_value(column: str):
    """The per-line SQL value behind a ledger data column."""
    if column == "amount":
        return pence_of(Disbursement.amount)
    if column == "awards":
        return case((Disbursement.reverses_id.is_(None), 1), else_=-1)
    days = days_expression()
    if column == "days":
        return days
    if column == "within_2_days":
        return within_expression(days)
    raise KeyError(column)


def places_subquery():
    return (
        select(Attendance.session_id, func.count().label("places"))
        .group_by(Attendance.session_id)
        .subquery("session_places")
    )


def session_value(column: str, places):
    filled = func.coalesce(places.c.places, 0)
    return {
        "places": filled,
        "cost": pence_of(ActivitySession.cost),
        "carers": ActivitySession.carers,
        "contact_minutes": ActivitySession.duration_minutes * filled,
        "session_id": ActivitySession.id,
    }[column]


# --- labels ------------------------------------------------------------------------------------


class Labeller:
    """The one label of every dimension value in a build, safe for a workbook and unique.

    Labels are what the workbook's formulas match the data sheets on, so two values must
    never share one: a clash gets " (2)", " (3)"... in the order values are first seen.
    """

    def __init__(self, context: Context):
        self.context = context
        self._labels: dict[str, dict[str, str]] = {}
        self._taken: dict[str, set[str]] = {}
        self._fixed: dict[str, dict[str, str]] = {}

    def fixed(self, dimension: Dimension) -> list[tuple[str, str]]:
        values = dimension.fixed(self.context)
        self._fixed[dimension.key] = dict(values)
        return values

    def label(self, dimension: Dimension, code) -> str:
        code = "" if code is None else str(code)
        labels = self._labels.setdefault(dimension.key, {})
        if code in labels:
            return labels[code]
        if dimension.key not in self._fixed:
            self.fixed(dimension)
        chosen = self.context.value_labels.get(dimension.key, {}).get(code)
        if not chosen:
            chosen = self._fixed[dimension.key].get(code)
        if not chosen:
            chosen = dimension.extra_label(self.context, code)
        text = xml_safe(str(chosen)) or "(blank)"
        taken = self._taken.setdefault(dimension.key, set())
        unique, number = text, 1
        while unique in taken:
            number += 1
            unique = f"{text} ({number})"
        taken.add(unique)
        labels[code] = unique
        return unique


# --- the figures of a table --------------------------------------------------------------------


@dataclass
class Cell:
    """One figure: what it is (for the formula) and its value (for the page and the file).

    ``how``: ``measure`` (the measure over lines matching ``filters``), ``sum_row`` /
    ``sum_column`` (the sum of the value cells beside or above it), ``difference`` (the
    total above less the check above it), ``variance`` (budget less spend to date on its
    row), ``static`` (a figure typed in, such as a budget), ``blank``.
    """

    value: object
    how: str = "measure"
    measure: Measure | None = None
    filters: tuple[tuple[str, str], ...] = ()


@dataclass
class Column:
    label: str
    measure: Measure
    code: str | None = None
    total: bool = False


@dataclass
class Row:
    label: str
    kind: str  # value, measure, single, unallocated, total, check, difference
    code: str | None = None
    cells: list[Cell] = field(default_factory=list)


@dataclass
class TableFigures:
    """A table's figures, as the page shows them and the workbook writes them."""

    sheet: str
    definition: TableDef
    source: str
    static: bool
    row_dim: Dimension | None
    col_dim: Dimension | None
    heading: str
    columns: list[Column]
    rows: list[Row]

    @property
    def suppress_below(self) -> int:
        return self.definition.suppress_below

    def plain(self) -> dict:
        """JSON-ready figures: amounts as exact strings, suppressed counts as "<n"."""
        return {
            "sheet": self.sheet,
            "title": self.definition.title,
            "note": self.definition.note,
            "heading": [self.heading, *[c.label for c in self.columns]],
            # How each figure reads (money, count...), row by row: in a list of figures
            # each row is a different measure.
            "kinds": [
                [cell.measure.kind if cell.measure else "count" for cell in row.cells]
                for row in self.rows
            ],
            "rows": [
                [row.label, row.kind, *[_plain(cell.value) for cell in row.cells]]
                for row in self.rows
            ],
        }


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    return value


def ratio(numerator, denominator, measure: Measure) -> Decimal:
    """numerator / denominator rounded as the workbook's formula rounds it (half away from
    zero); 0 when the denominator is 0. Money numerators are divided as whole pence."""
    if not denominator:
        return Decimal("0").quantize(Decimal(1).scaleb(-measure.places))
    numerator_measure = MEASURES[measure.numerator]
    if numerator_measure.kind == MONEY:
        pence = Decimal(numerator).scaleb(2)
        return (
            (pence / Decimal(denominator))
            .quantize(Decimal(1), rounding=ROUND_HALF_UP)
            .scaleb(-2)
        )
    scaled = Decimal(numerator).scaleb(measure.places) / Decimal(denominator)
    return scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP).scaleb(-measure.places)


@dataclass
class DataNeeds:
    """What the data sheets must hold for the formulas of the non-static tables."""

    ledger_dims: set[str] = field(default_factory=set)
    ledger_partitions: set[tuple[str, ...]] = field(default_factory=set)
    to_date: bool = False
    days: bool = False
    activities: bool = False
    activity_dims: set[str] = field(default_factory=set)
    activity_partitions: set[tuple[str, ...]] = field(default_factory=set)


def partition(filters) -> tuple[str, ...]:
    """The dimensions a "first line" flag must be counted within for these filters."""
    return tuple(
        sorted(key for key, _ in filters if not DIMENSIONS[key].per_beneficiary)
    )


class Engine:
    """Computes a definition's figures over one scope, caching each SQL aggregate."""

    def __init__(self, definition: Definition, context: Context):
        self.definition = definition
        self.context = context
        self.labels = Labeller(context)
        self.needs = DataNeeds()
        self._cache: dict = {}

    # --- SQL -------------------------------------------------------------------------------

    def values(self, measure: Measure, dims: list[Dimension]) -> dict[tuple, object]:
        """{codes: value} for a measure grouped by these dimensions (``()`` when none)."""
        key = (measure.key, tuple(d.key for d in dims))
        if key not in self._cache:
            self._cache[key] = self._compute(measure, dims)
        return self._cache[key]

    def _compute(self, measure: Measure, dims: list[Dimension]) -> dict:
        if measure.how == RATIO:
            numerator = self.values(MEASURES[measure.numerator], dims)
            if isinstance(measure.denominator, int):
                return {
                    k: ratio(v, measure.denominator, measure)
                    for k, v in numerator.items()
                }
            denominator = self.values(MEASURES[measure.denominator], dims)
            return {
                k: ratio(numerator.get(k, 0), denominator.get(k, 0), measure)
                for k in set(numerator) | set(denominator)
            }
        if measure.how == BUDGET:
            return self._budget()
        if measure.how == VARIANCE:
            budget = self._budget()
            spent = self.values(MEASURES["net_spend_to_date"], dims)
            return {k: b - spent.get(k, Decimal("0.00")) for k, b in budget.items()}
        if measure.source == LEDGER:
            if measure.how == DISTINCT:
                return self._ledger_distinct(measure, dims)
            return self._ledger_sum(measure, dims)
        if measure.how == DISTINCT:
            return self._participants(dims)
        return self._session_sum(measure, dims)

    def _group(self, query, expressions):
        rows = db.session.execute(
            query.group_by(*expressions) if expressions else query
        )
        return {tuple(row[:-1]): row[-1] for row in rows}

    def _money(self, measure: Measure, result: dict) -> dict:
        if measure.kind == MONEY:
            return {k: from_pence(v or 0) for k, v in result.items()}
        return {k: int(v or 0) for k, v in result.items()}

    def _ledger_sum(self, measure: Measure, dims: list[Dimension]) -> dict:
        context = self.context
        expressions = [d.expression(context, LEDGER) for d in dims]
        value = ledger_value(measure.column)
        aggregate = func.count(value) if measure.how == ROWS else func.sum(value)
        where = context.ledger_where(to_date=measure.to_date)
        if measure.beneficiaries:
            where.append(kind_expression().in_(measure.beneficiaries))
        query = context.ledger(*expressions, aggregate).where(*where)
        return self._money(measure, self._group(query, expressions))

    def _first_split(self, dims: list[Dimension]) -> list[Dimension]:
        """The dimensions a person is counted within (age is taken at their first time)."""
        return [d for d in dims if d.key not in AT_FIRST]

    def _ledger_distinct(self, measure: Measure, dims: list[Dimension]) -> dict:
        context = self.context
        inner_dims = self._first_split(dims)
        # One expression object each, in the select list and the GROUP BY alike: PostgreSQL
        # matches them by their text, bound parameters included.
        expressions = [d.expression(context, LEDGER) for d in inner_dims]
        labelled = [
            e.label(f"d_{d.key}") for e, d in zip(expressions, inner_dims, strict=True)
        ]
        key = beneficiary_key()
        first_on = func.min(
            case((Disbursement.reverses_id.is_(None), Disbursement.awarded_on))
        )
        helped = (
            context.ledger(
                key.label("who"),
                Disbursement.young_person_id.label("person_id"),
                *labelled,
                first_on.label("first_on"),
            )
            .where(
                *context.ledger_where(),
                kind_expression().in_(measure.beneficiaries),
            )
            .group_by(key, Disbursement.young_person_id, *expressions)
            .having(func.sum(pence_of(Disbursement.amount)) > 0)
            .subquery("helped")
        )
        return self._count_people(helped, dims, LEDGER)

    def _count_people(self, helped, dims: list[Dimension], source: str) -> dict:
        """Count the people of a "helped" subquery (one row each) by the dimensions."""
        outer = []
        for dimension in dims:
            if dimension.key in AT_FIRST:
                outer.append(
                    dimension.expression(
                        self.context, source, first_on=helped.c.first_on
                    )
                )
            else:
                outer.append(helped.c[f"d_{dimension.key}"])
        query = (
            select(*outer, func.count())
            .select_from(helped)
            .outerjoin(YoungPerson, YoungPerson.id == helped.c.person_id)
        )
        return {k: int(v) for k, v in self._group(query, outer).items()}

    def _participants(self, dims: list[Dimension]) -> dict:
        context = self.context
        inner_dims = self._first_split(dims)
        expressions = [d.expression(context, ACTIVITIES) for d in inner_dims]
        helped = (
            context.attendances(
                Attendance.young_person_id.label("person_id"),
                *[
                    e.label(f"d_{d.key}")
                    for e, d in zip(expressions, inner_dims, strict=True)
                ],
                func.min(ActivitySession.held_on).label("first_on"),
            )
            .where(*context.live_sessions_where())
            .group_by(Attendance.young_person_id, *expressions)
            .subquery("attendance_helped")
        )
        return self._count_people(helped, dims, ACTIVITIES)

    def _session_sum(self, measure: Measure, dims: list[Dimension]) -> dict:
        context = self.context
        expressions = [d.expression(context, ACTIVITIES) for d in dims]
        if any(d.personal for d in dims):
            # Places by a person's facts: one register entry is one place.
            query = context.attendances(*expressions, func.count()).where(
                *context.live_sessions_where()
            )
            return self._money(measure, self._group(query, expressions))
        places = places_subquery()
        value = session_value(measure.column, places)
        aggregate = func.count(value) if measure.how == ROWS else func.sum(value)
        query = (
            context.sessions(*expressions, aggregate)
            .outerjoin(places, places.c.session_id == ActivitySession.id)
            .where(*context.live_sessions_where())
        )
        return self._money(measure, self._group(query, expressions))

    def _budget(self) -> dict:
        if "budget" not in self._cache:
            rows = db.session.execute(
                select(SpendCategory.name, BudgetLine.amount)
                .join(SpendCategory, SpendCategory.id == BudgetLine.category_id)
                .where(BudgetLine.grant_id == self.context.grant.id)
            )
            self._cache["budget"] = {(name,): amount for name, amount in rows}
        return self._cache["budget"]

    # --- tables ------------------------------------------------------------------------------

    def ordered(self, dimension: Dimension, listed, others: bool, present) -> list[str]:
        """The codes a table shows for a dimension, in order."""
        fixed = [code for code, _ in self.labels.fixed(dimension)]
        found = [c for c in present if c not in fixed]
        first = dimension.extras_first
        if dimension.key in ("month", "quarter"):
            found.sort()
        else:
            found.sort(key=lambda c: self.labels.label(dimension, c).casefold())
        # Known extras first, in their order; "Not mapped" and the like last.
        found.sort(
            key=lambda c: (
                first.index(c) if c in first else len(first),
                c in ("", None),
            )
        )
        if listed is None:
            return fixed + found
        codes = list(listed)
        if others:
            codes += [c for c in fixed + found if c not in codes]
        return codes

    def _cell(self, measure: Measure, filters, dims, codes) -> Cell:
        if measure.how == VARIANCE:
            return Cell(None, "variance", measure, filters)
        value = self.values(measure, dims).get(tuple(codes))
        if value is None and measure.how != BUDGET:
            value = Decimal("0.00") if measure.kind == MONEY else 0
            if measure.how == RATIO:
                value = ratio(0, 0, measure)
        if measure.how == BUDGET:
            return Cell(value, "static", measure)
        return Cell(value, "measure", measure, filters)

    def table(self, sheet: str, definition: TableDef) -> TableFigures:
        measures = [MEASURES[key] for key in definition.measures]
        source = measures[0].source
        row_dim = DIMENSIONS.get(definition.rows) if definition.rows else None
        col_dim = DIMENSIONS.get(definition.columns) if definition.columns else None
        dims = [d for d in (row_dim, col_dim) if d is not None]
        static = definition.suppress_below > 0 or any(d.personal for d in dims)
        if definition.row_heading:
            heading = definition.row_heading
        elif row_dim is not None:
            heading = row_dim.label
        else:
            heading = "" if col_dim is not None else "Figure"

        present_rows: set = set()
        present_columns: set = set()
        for measure in measures:
            for part in parts(measure):
                if part.how == VARIANCE:
                    continue
                for codes in self.values(part, dims):
                    if row_dim is not None:
                        present_rows.add(codes[0])
                    if col_dim is not None:
                        present_columns.add(codes[-1])
        row_codes = (
            self.ordered(
                row_dim, definition.row_values, definition.others, present_rows
            )
            if row_dim
            else [None]
        )
        col_codes = (
            self.ordered(
                col_dim, definition.column_values, definition.others, present_columns
            )
            if col_dim
            else [None]
        )

        if col_dim is not None:
            table = self._grid(
                definition, measures[0], row_dim, col_dim, row_codes, col_codes
            )
        elif row_dim is not None:
            table = self._by_rows(definition, measures, row_dim, row_codes)
        else:
            table = self._list(definition, measures)
        columns, rows = table
        figures = TableFigures(
            sheet, definition, source, static, row_dim, col_dim, heading, columns, rows
        )
        if static and definition.suppress_below:
            _suppress(figures, definition.suppress_below)
        if not static:
            self._note_needs(figures)
        return figures

    def _grid(self, definition, measure, row_dim, col_dim, row_codes, col_codes):
        columns = [
            Column(self.labels.label(col_dim, c), measure, code=c) for c in col_codes
        ]
        if definition.totals:
            columns.append(Column("Total", measure, total=True))
        rows: list[Row] = []
        if row_dim is None:
            cells = [
                self._cell(measure, ((col_dim.key, c),), [col_dim], [c])
                for c in col_codes
            ]
            if definition.totals:
                cells.append(self._total(measure, (), [], [], cells, "sum_row"))
            rows.append(Row(definition.label_for(measure.key), "single", None, cells))
        else:
            for r in row_codes:
                cells = [
                    self._cell(
                        measure,
                        ((row_dim.key, r), (col_dim.key, c)),
                        [row_dim, col_dim],
                        [r, c],
                    )
                    for c in col_codes
                ]
                if definition.totals:
                    cells.append(
                        self._total(
                            measure,
                            ((row_dim.key, r),),
                            [row_dim],
                            [r],
                            cells,
                            "sum_row",
                        )
                    )
                rows.append(Row(self.labels.label(row_dim, r), "value", r, cells))
            if definition.totals:
                totals = []
                for index, c in enumerate(col_codes):
                    above = [row.cells[index] for row in rows]
                    totals.append(
                        self._total(
                            measure,
                            ((col_dim.key, c),),
                            [col_dim],
                            [c],
                            above,
                            "sum_column",
                        )
                    )
                above = [row.cells[-1] for row in rows]
                totals.append(self._total(measure, (), [], [], above, "sum_column"))
                rows.append(Row("Total", "total", None, totals))
        self._checks(definition, rows, columns)
        return columns, rows

    def _by_rows(self, definition, measures, row_dim, row_codes):
        columns = [Column(definition.label_for(m.key), m) for m in measures]
        rows = []
        for r in row_codes:
            cells = [
                self._cell(m, ((row_dim.key, r),), [row_dim], [r]) for m in measures
            ]
            rows.append(Row(self.labels.label(row_dim, r), "value", r, cells))
        if any(m.how == BUDGET for m in measures):
            allocated = sum(self._budget().values(), Decimal("0.00"))
            unallocated = self.context.grant.total - allocated
            if unallocated:
                cells = [
                    Cell(unallocated, "static", m)
                    if m.how == BUDGET
                    else Cell(None, "blank", m)
                    for m in measures
                ]
                rows.append(
                    Row("Not allocated to a budget line", "unallocated", None, cells)
                )
        if definition.totals:
            cells = []
            for index, m in enumerate(measures):
                if m.how == VARIANCE:
                    cells.append(Cell(None, "variance", m))
                elif m.additive or m.how == BUDGET:
                    above = [row.cells[index] for row in rows]
                    cells.append(self._total(m, (), [], [], above, "sum_column"))
                else:
                    cells.append(self._cell(m, (), [], []))
            rows.append(Row("Total", "total", None, cells))
        self._checks(definition, rows, columns)
        for row in rows:
            self._variances(row, measures)
        return columns, rows

    def _list(self, definition, measures):
        column = Column("Value", measures[0])
        rows = [
            Row(
                definition.label_for(m.key),
                "measure",
                m.key,
                [self._cell(m, (), [], [])],
            )
            for m in measures
        ]
        return [column], rows

    def _total(self, measure, filters, dims, codes, cells, how) -> Cell:
        if measure.additive or measure.how == BUDGET:
            zero = Decimal("0.00") if measure.kind == MONEY else 0
            total = sum((c.value for c in cells if c.value is not None), zero)
            return Cell(total, how, measure)
        return self._cell(measure, filters, dims, codes)

    def _checks(self, definition: TableDef, rows: list[Row], columns: list[Column]):
        """Below the totals: every line of the scope, and what the table leaves out."""
        if not (definition.check and definition.totals):
            return
        checked = [
            i
            for i, column in enumerate(columns)
            if column.measure.additive and (column.total or column.code is None)
        ]
        if not checked:
            return
        total = next((row for row in rows if row.kind in ("total", "single")), None)
        if total is None:
            return
        check, difference = [], []
        for index, column in enumerate(columns):
            if index in checked:
                cell = self._cell(column.measure, (), [], [])
                check.append(cell)
                difference.append(
                    Cell(
                        total.cells[index].value - cell.value,
                        "difference",
                        column.measure,
                    )
                )
            else:
                check.append(Cell(None, "blank", column.measure))
                difference.append(Cell(None, "blank", column.measure))
        what = (
            "All lines in the period" if self._in_period_only(columns) else "All lines"
        )
        rows.append(Row(f"Check: {what.lower()}", "check", None, check))
        rows.append(Row("Difference (should be 0)", "difference", None, difference))

    def _in_period_only(self, columns) -> bool:
        return not any(c.measure.to_date for c in columns)

    def _variances(self, row: Row, measures: list[Measure]) -> None:
        keys = [m.key for m in measures]
        if "variance" not in keys:
            return
        budget = row.cells[keys.index("budget")].value
        spent = row.cells[keys.index("net_spend_to_date")].value
        cell = row.cells[keys.index("variance")]
        cell.value = (
            budget - spent if budget is not None and spent is not None else None
        )
        if row.kind == "unallocated":
            cell.how, cell.value = "blank", None

    def _note_needs(self, figures: TableFigures) -> None:
        for row in figures.rows:
            for cell in row.cells:
                if cell.how != "measure" or cell.measure is None:
                    continue
                for part in parts(cell.measure):
                    self._note_part(part, cell.filters)

    def _note_part(self, measure: Measure, filters) -> None:
        needs = self.needs
        dims = {key for key, _ in filters}
        if measure.source == ACTIVITIES:
            needs.activities = True
            needs.activity_dims |= dims
            if measure.how == DISTINCT:
                needs.activity_partitions.add(partition(filters))
            return
        needs.ledger_dims |= dims
        if measure.to_date:
            needs.to_date = True
        if measure.column in ("days", "within_2_days"):
            needs.days = True
        if measure.how == DISTINCT:
            needs.ledger_partitions.add(partition(filters))
        if measure.beneficiaries:
            needs.ledger_dims.add("beneficiary_kind")

    # --- the whole return ---------------------------------------------------------------------

    def figures(self) -> list[TableFigures]:
        """Every table of the definition, in order."""
        return [
            self.table(sheet.name, table) for sheet, table in self.definition.tables
        ]


def _suppress(figures: TableFigures, below: int) -> None:
    for row in figures.rows:
        for cell in row.cells:
            if (
                cell.measure is not None
                and cell.measure.kind == COUNT
                and isinstance(cell.value, int)
                and 0 < cell.value < below
            ):
                cell.value = f"<{below}"


__all__ = ["KIND_LABELS", "SUM", "Cell", "Column", "Engine", "Row", "TableFigures"]
