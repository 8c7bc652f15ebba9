"""Figures to cells: one writer for every definition. Each figure is a formula over the data
sheets that also stores the value computed in SQL, so the file reads the same everywhere."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break

from funds.returns.context import ACTIVITIES, LEDGER
from funds.returns.datasheets import (
    DataSheet,
    ledger_rows,
    ledger_sheet,
    session_rows,
    sessions_sheet,
)
from funds.returns.definition import COVER_FIELDS, SIGNOFF_FIELDS, Definition, SheetDef
from funds.returns.dimensions import DIMENSIONS
from funds.returns.engine import Cell, Engine, Row, TableFigures, partition
from funds.returns.measures import (
    COUNT,
    DECIMAL,
    DISTINCT,
    MEASURES,
    RATIO,
    ROWS,
    SHARE,
    SUM,
    Measure,
)
from funds.returns.measures import MONEY as MONEY_KIND
from funds.returns.xlsx import (
    BODY,
    BOLD,
    CHECK_FILL,
    COUNT_FORMAT,
    DECIMAL_FORMAT,
    ITALIC,
    LEFT,
    MONEY_FORMAT,
    RIGHT,
    ROW_HEIGHT,
    SHARE_FORMAT,
    TITLE,
    TOTAL_FILL,
    WRAP,
    WRAP_LABEL,
    DataRows,
    add_table,
    date_cell,
    formula_cell,
    header_row,
    money_cell,
    new_sheet,
    new_workbook,
    number_cell,
    printable_height,
    text_cell,
    wrapped_lines,
)

FORMATS = {
    MONEY_KIND: MONEY_FORMAT,
    COUNT: COUNT_FORMAT,
    DECIMAL: DECIMAL_FORMAT,
    SHARE: SHARE_FORMAT,
}


@dataclass(frozen=True)
class CoverFacts:
    """What the cover and sign-off sheets say about a return."""

    organisation: str
    funder: str
    grant_reference: str
    grant_title: str
    grant_total: Decimal
    grant_starts_on: date
    grant_ends_on: date
    period_from: date
    period_to: date
    prepared_by: str
    prepared_on: date
    checksum: str
    #: {"signatories": [{field: text}...], "contact": {"name", "email", "phone"}}
    signoff: dict = field(default_factory=dict)
    charity_number: str = ""
    #: The address on one line.
    organisation_address: str = ""


# --- formulas ----------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class Formulas:
    """Builds each cell's formula from the same description the SQL figure came from."""

    def __init__(self, engine: Engine, sheets: dict[str, DataSheet]):
        self.engine = engine
        self.sheets = sheets

    def _kind_condition(self, sheet: DataSheet, measure: Measure) -> str | None:
        if not measure.beneficiaries or measure.source != LEDGER:
            return None
        dimension = DIMENSIONS["beneficiary_kind"]
        tests = [
            f"EXACT({sheet.range('dim:beneficiary_kind')},"
            f"{_quoted(self.engine.labels.label(dimension, kind))})"
            for kind in measure.beneficiaries
        ]
        return tests[0] if len(tests) == 1 else f"({'+'.join(tests)})"

    def expression(self, measure: Measure, filters, refs: dict[str, str]) -> str:
        """The spreadsheet expression (no leading ``=``) of a measure over filtered rows."""
        if measure.how == RATIO:
            numerator_measure = MEASURES[measure.numerator]
            numerator = self.expression(numerator_measure, filters, refs)
            scale = 10**measure.places
            if isinstance(measure.denominator, int):
                return f"ROUND(({numerator})*{scale}/{measure.denominator},0)/{scale}"
            denominator = self.expression(MEASURES[measure.denominator], filters, refs)
            if numerator_measure.kind == MONEY_KIND:
                rounded = f"ROUND(ROUND(({numerator})*100,0)/({denominator}),0)/100"
            else:
                rounded = f"ROUND(({numerator})*{scale}/({denominator}),0)/{scale}"
            return f"IF(({denominator})=0,0,{rounded})"
        sheet = self.sheets[measure.source]
        conditions = [
            f"EXACT({sheet.range('dim:' + key)},{refs[key]})" for key, _ in filters
        ]
        if measure.source == LEDGER and sheet.to_date and not measure.to_date:
            conditions.append(f"({sheet.range('in_period')}=1)")
        kind = self._kind_condition(sheet, measure)
        if kind:
            conditions.append(kind)
        if measure.how == DISTINCT:
            column = sheet.range("first:" + ",".join(partition(filters)))
        else:
            column = sheet.range(measure.column)
        if measure.how == ROWS:
            if not conditions:
                return f"COUNT({column})"
            return f"SUMPRODUCT({'*'.join(conditions)}*ISNUMBER({column}))"
        if measure.how in (SUM, DISTINCT):
            if not conditions:
                return f"SUM({column})"
            return f"SUMPRODUCT({'*'.join(conditions)}*{column})"
        raise ValueError(f"no formula for {measure.key}")


# --- tables sheets ------------------------------------------------------------------------------


@dataclass
class _Placed:
    """A table with the sheet rows it will occupy."""

    table: TableFigures
    title: int
    note: int | None
    header: int
    first: int  # first body row
    end: int  # the blank row after it

    def row_number(self, index: int) -> int:
        return self.first + index


def _layout(tables: list[TableFigures]) -> list[_Placed]:
    placed, row = [], 1
    for table in tables:
        title = row
        note = row + 1 if table.definition.note else None
        header = (note or title) + 1
        first = header + 1
        end = first + len(table.rows)
        placed.append(_Placed(table, title, note, header, first, end))
        row = end + 1
    return placed


def _widths(tables: list[TableFigures]) -> list[float]:
    """Column A fits the row labels (wrapping past 48); value columns fit their headings in
    at most three lines, with room for £1,234,567.89."""
    label_lengths = [len(t.heading) for t in tables] + [
        len(row.label) for t in tables for row in t.rows
    ]
    first = min(48.0, max(24.0, max(label_lengths, default=24) + 2))
    widths = [first]
    columns = max((len(t.columns) for t in tables), default=1)
    for index in range(columns):
        labels = [t.columns[index].label for t in tables if index < len(t.columns)]
        longest_word = max(
            (len(word) for label in labels for word in label.split()), default=0
        )
        third = max((math.ceil(len(label) / 3) for label in labels), default=0)
        widths.append(min(24.0, max(13.0, longest_word + 2, third + 2)))
    return widths


def _cell_format(cell: Cell) -> str:
    measure = cell.measure
    return FORMATS.get(measure.kind if measure else COUNT, COUNT_FORMAT)


class TablesSheet:
    """Writes one sheet of tables: titles, headings, each figure as formula and value."""

    def __init__(self, workbook: Workbook, sheet: SheetDef, tables, formulas):
        self.sheet = sheet
        self.placed = _layout(tables)
        self.formulas = formulas
        self.widths = _widths(tables)
        print_titles = None
        if len(tables) == 1:
            print_titles = f"{self.placed[0].title}:{self.placed[0].header}"
        self.ws = new_sheet(
            workbook, sheet.name, self.widths, orientation=sheet.orientation
        )
        if print_titles:
            self.ws.print_title_rows = print_titles
        self._heights_and_breaks()

    def _heights_and_breaks(self) -> None:
        """Fixed row heights (so pages are the same in every program) and a page break
        before any table that would not fit on what is left of the page."""
        ws = self.ws
        scale = ws.page_setup.scale or 100
        page = printable_height(self.sheet.orientation, scale)
        used = 0.0
        for placed in self.placed:
            heights = {placed.title: 22.0}
            if placed.note is not None:
                span = sum(self.widths[: len(placed.table.columns) + 1])
                lines = wrapped_lines(placed.table.definition.note, span)
                heights[placed.note] = lines * ROW_HEIGHT + 2
            labels = [placed.table.heading, *[c.label for c in placed.table.columns]]
            lines = max(
                wrapped_lines(label, width)
                for label, width in zip(labels, self.widths, strict=False)
            )
            heights[placed.header] = lines * ROW_HEIGHT + 4
            for index, row in enumerate(placed.table.rows):
                lines = wrapped_lines(row.label, self.widths[0])
                heights[placed.row_number(index)] = lines * ROW_HEIGHT
            heights[placed.end] = ROW_HEIGHT
            for number, height in heights.items():
                ws.row_dimensions[number].height = height
            block = sum(heights.values())
            if used and used + block > page:
                ws.row_breaks.append(Break(id=placed.title - 1))
                used = 0.0
            used += block

    def write(self) -> None:
        ws = self.ws
        row_number = 0
        for placed in self.placed:
            table = placed.table
            while row_number < placed.title - 1:
                ws.append([])
                row_number += 1
            ws.append([text_cell(ws, table.definition.title, font=TITLE)])
            if placed.note is not None:
                # The note spans the table's width and wraps inside it.
                last = get_column_letter(len(table.columns) + 1)
                ws.merged_cells.add(f"A{placed.note}:{last}{placed.note}")
                ws.append(
                    [text_cell(ws, table.definition.note, font=ITALIC, alignment=WRAP)]
                )
            ws.append(
                header_row(
                    ws,
                    [table.heading, *[c.label for c in table.columns]],
                    numeric_from=1,
                )
            )
            for index, row in enumerate(table.rows):
                ws.append(self._row(placed, index, row))
            ws.append([])
            row_number = placed.end

    def _row(self, placed: _Placed, index: int, row: Row) -> list:
        ws = self.ws
        if row.kind in ("total", "single"):
            font, fill = BOLD, TOTAL_FILL if row.kind == "total" else None
        elif row.kind in ("check", "difference"):
            font, fill = ITALIC, CHECK_FILL
        else:
            font, fill = BODY, None
        cells = [text_cell(ws, row.label, font=font, fill=fill, alignment=WRAP_LABEL)]
        for column_index, cell in enumerate(row.cells):
            cells.append(self._cell(placed, index, column_index, row, cell, font, fill))
        return cells

    def _cell(self, placed, index, column_index, row, cell: Cell, font, fill):
        ws = self.ws
        table = placed.table
        number_format = _cell_format(cell)
        if cell.how == "blank" or (cell.value is None and cell.how == "static"):
            return text_cell(ws, "", fill=fill) if fill else None
        if table.static or cell.how == "static":
            return _value_cell(ws, cell.value, number_format, font, fill)
        letter = get_column_letter(column_index + 2)
        number = placed.row_number(index)
        formula = self._formula(placed, index, column_index, row, cell, letter, number)
        stored = cell.value
        if cell.how == "variance" and stored is None:
            stored = ""
        return formula_cell(
            ws, "=" + formula, stored, number_format=number_format, font=font, fill=fill
        )

    def _formula(self, placed, index, column_index, row, cell, letter, number) -> str:
        table = placed.table
        if cell.how == "measure":
            refs = {}
            for key, _ in cell.filters:
                if table.row_dim is not None and key == table.row_dim.key:
                    refs[key] = f"$A{number}"
                else:
                    refs[key] = f"{letter}${placed.header}"
            return self.formulas.expression(cell.measure, cell.filters, refs)
        if cell.how == "sum_row":
            values = [i for i, c in enumerate(table.columns) if not c.total]
            first = get_column_letter(values[0] + 2)
            last = get_column_letter(values[-1] + 2)
            return f"SUM({first}{number}:{last}{number})"
        if cell.how == "sum_column":
            body = [
                placed.row_number(i)
                for i, r in enumerate(table.rows)
                if r.kind in ("value", "unallocated")
            ]
            if not body:
                return "0"
            return f"SUM({letter}{body[0]}:{letter}{body[-1]})"
        if cell.how == "difference":
            total = next(
                placed.row_number(i)
                for i, r in enumerate(table.rows)
                if r.kind in ("total", "single")
            )
            check = next(
                placed.row_number(i)
                for i, r in enumerate(table.rows)
                if r.kind == "check"
            )
            return f"{letter}{total}-{letter}{check}"
        if cell.how == "variance":
            keys = [c.measure.key for c in table.columns]
            budget = get_column_letter(keys.index("budget") + 2)
            spent = get_column_letter(keys.index("net_spend_to_date") + 2)
            return f'IF(ISNUMBER({budget}{number}),{budget}{number}-{spent}{number},"")'
        raise ValueError(cell.how)


def _value_cell(ws, value, number_format, font, fill):
    if isinstance(value, str):
        cell = text_cell(ws, value, font=font, fill=fill)
        cell.alignment = RIGHT
        return cell
    if number_format == MONEY_FORMAT:
        return money_cell(ws, value, font=font, fill=fill)
    return number_cell(ws, value, font=font, number_format=number_format, fill=fill)


# --- cover and sign-off ---------------------------------------------------------------------------


def _cover_value(ws, name: str, facts: CoverFacts, definition: Definition):
    if name == "grant_total":
        cell = money_cell(ws, facts.grant_total)
        cell.alignment = LEFT
        return [cell]
    if name == "grant_period":
        return [
            text_cell(
                ws,
                f"{facts.grant_starts_on:%d/%m/%Y} to {facts.grant_ends_on:%d/%m/%Y}",
            )
        ]
    if name == "period":
        return [
            text_cell(ws, f"{facts.period_from:%d/%m/%Y} to {facts.period_to:%d/%m/%Y}")
        ]
    if name == "prepared_on":
        cell = date_cell(ws, facts.prepared_on)
        cell.alignment = LEFT
        return [cell]
    if name == "definition":
        return [
            text_cell(
                ws,
                f"{definition.title} ({definition.key}, version {definition.version})",
            )
        ]
    value = {
        "organisation": facts.organisation,
        "charity_number": facts.charity_number,
        "address": facts.organisation_address,
        "funder": facts.funder,
        "grant_reference": facts.grant_reference,
        "grant": facts.grant_title,
        "prepared_by": facts.prepared_by,
        "checksum": facts.checksum,
    }[name]
    return [text_cell(ws, value)]


def write_cover(workbook, sheet: SheetDef, facts: CoverFacts, definition: Definition):
    ws = new_sheet(workbook, sheet.name, [36, 72], orientation=sheet.orientation)
    title = definition.cover.title or f"{definition.title} return"
    ws.append([text_cell(ws, title, font=TITLE)])
    ws.append([])
    for name in definition.cover.fields:
        ws.append(
            [
                text_cell(ws, COVER_FIELDS[name], font=BOLD),
                *_cover_value(ws, name, facts, definition),
            ]
        )
    ws.append([])
    notes = (
        "Each figure on the other sheets is a formula over the Transactions sheet (and the "
        "Sessions sheet for activities) that also holds its value: every figure can be "
        "traced to the ledger lines behind it.",
        "People are identified only by pseudonymous references.",
        *definition.cover.notes,
    )
    row = 2 + len(definition.cover.fields) + 1  # the title, a gap, the fields, a gap
    for index, line in enumerate(notes):
        row += 1
        ws.row_dimensions[row].height = wrapped_lines(line, 72) * ROW_HEIGHT
        label = text_cell(
            ws, "About these figures" if index == 0 else "", font=BOLD, alignment=WRAP
        )
        ws.append([label, text_cell(ws, line, alignment=WRAP)])


def _signoff_value(ws, entry: dict, name: str):
    value = entry.get(name)
    if name == "date" and isinstance(value, str) and value:
        value = date.fromisoformat(value)
    if name == "date" and isinstance(value, date):
        cell = date_cell(ws, value)
        cell.alignment = LEFT
        return cell
    return text_cell(ws, value or "")


def write_signoff(workbook, sheet: SheetDef, facts: CoverFacts, definition: Definition):
    """The statement, each signatory (typed details if given, else blanks to fill in) and
    the funder's single point of contact. Landscape: one row each; portrait: a block each."""
    signoff = definition.signoff
    fields = list(signoff.fields)
    given = facts.signoff.get("signatories", [])
    contact = facts.signoff.get("contact", {})
    portrait = sheet.orientation == "portrait"
    if portrait:
        widths = [30.0, 56.0]
    else:
        widths = [30.0] + [
            {"name": 22, "role": 22, "email": 28, "date": 12, "signature": 22}[f]
            for f in fields
        ]
    ws = new_sheet(workbook, sheet.name, widths, orientation=sheet.orientation)
    row = 0

    def append(cells: list, *, lines: int = 1) -> None:
        nonlocal row
        row += 1
        if lines > 1:
            ws.row_dimensions[row].height = lines * ROW_HEIGHT + 4
        ws.append(cells)

    append([text_cell(ws, signoff.title, font=TITLE)])
    append([])
    if signoff.statement:
        # The statement spans the sheet's width (merged), wrapping inside it.
        ws.merged_cells.add(f"A3:{get_column_letter(len(widths))}3")
        append(
            [text_cell(ws, signoff.statement, alignment=WRAP)],
            lines=wrapped_lines(signoff.statement, sum(widths) - 4),
        )
        append([])
    if portrait:
        for index, role in enumerate(signoff.signatories):
            entry = given[index] if index < len(given) else {}
            append(header_row(ws, [role, ""]), lines=wrapped_lines(role, widths[0]))
            for name in fields:
                append(
                    [
                        text_cell(ws, SIGNOFF_FIELDS[name], font=BOLD),
                        _signoff_value(ws, entry, name),
                    ]
                )
            append([])
        if signoff.contact:
            append(header_row(ws, ["Single point of contact", ""]))
            for label, key in (
                ("Name", "name"),
                ("Email", "email"),
                ("Phone", "phone"),
            ):
                append(
                    [
                        text_cell(ws, label, font=BOLD),
                        text_cell(ws, contact.get(key, "")),
                    ]
                )
        return
    append(header_row(ws, ["Sign-off", *[SIGNOFF_FIELDS[f] for f in fields]]))
    for index, role in enumerate(signoff.signatories):
        entry = given[index] if index < len(given) else {}
        append(
            [
                text_cell(ws, role, font=BOLD, alignment=WRAP),
                *[_signoff_value(ws, entry, name) for name in fields],
            ],
            lines=wrapped_lines(role, widths[0]),
        )
    if signoff.contact:
        append([])
        append(header_row(ws, ["Single point of contact", "Name", "Email", "Phone"]))
        append(
            [
                text_cell(ws, "For questions about this return", font=BOLD),
                text_cell(ws, contact.get("name", "")),
                text_cell(ws, contact.get("email", "")),
                text_cell(ws, contact.get("phone", "")),
            ]
        )


# --- data sheets -------------------------------------------------------------------------------


def write_data_sheet(workbook, sheet: DataSheet, rows: Iterable[list]) -> None:
    """A data sheet as an Excel table with filter buttons, streamed row by row."""
    widths = [c.width for c in sheet.columns]
    ws = new_sheet(
        workbook, sheet.name, widths, freeze="A2", print_columns=sheet.print_columns
    )
    ws.print_title_rows = "1:1"
    ws.row_dimensions[1].height = 3 * ROW_HEIGHT + 4
    out = DataRows(ws, [c.kind for c in sheet.columns])
    out.header(header_row(ws, sheet.headings))
    written = 0
    for row in rows:
        out.append(row)
        written += 1
    if written != sheet.rows:
        raise RuntimeError(
            f"expected {sheet.rows} rows on {sheet.name}, wrote {written}"
        )
    last = get_column_letter(sheet.print_columns)
    ws.print_area = f"A1:{last}{max(written + 1, 2)}"
    add_table(ws, sheet.table_name, sheet.headings, written + 1)


# --- the workbook ------------------------------------------------------------------------------


def build_workbook(
    engine: Engine, figures: list[TableFigures], facts: CoverFacts
) -> Workbook:
    """Every sheet of the definition in order, a cover if it has none, then the data."""
    definition = engine.definition
    sheets: dict[str, DataSheet] = {LEDGER: ledger_sheet(engine)}
    if any(t.source == ACTIVITIES for t in figures):
        sheets[ACTIVITIES] = sessions_sheet(engine)
    formulas = Formulas(engine, sheets)
    workbook = new_workbook()
    for sheet in definition.sheets:
        if sheet.kind == "cover":
            write_cover(workbook, sheet, facts, definition)
        elif sheet.kind == "signoff":
            write_signoff(workbook, sheet, facts, definition)
        else:
            tables = [t for t in figures if t.sheet == sheet.name]
            writer = TablesSheet(workbook, sheet, tables, formulas)
            writer.write()
    if not any(s.kind == "cover" for s in definition.sheets):
        taken = {s.name.casefold() for s in definition.sheets}
        name = "Cover" if "cover" not in taken else "About this return"
        write_cover(workbook, SheetDef(name=name, kind="cover"), facts, definition)
    write_data_sheet(workbook, sheets[LEDGER], ledger_rows(engine, sheets[LEDGER]))
    if ACTIVITIES in sheets:
        write_data_sheet(
            workbook, sheets[ACTIVITIES], session_rows(engine, sheets[ACTIVITIES])
        )
    return workbook
