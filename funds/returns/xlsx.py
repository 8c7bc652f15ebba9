"""Safe, finance-friendly cells for openpyxl's write-only (streaming) workbooks.

Two things openpyxl does not do on its own, done here:
- a formula cell also stores its value (``FormulaCell``), so that a program that does not
  recalculate (pandas, python-calamine, a phone's preview, Excel's Protected View) reads the
  figure instead of an empty cell;
- no text can break the file: every string passes through ``xml_safe``.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import textwrap
import warnings
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import (
    WorksheetWriter,
    create_temporary_file,
    write_cell,
)
from openpyxl.worksheet.filters import AutoFilter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

MONEY_FORMAT = '"£"#,##0.00;[Red]-"£"#,##0.00'
DATE_FORMAT = "DD/MM/YYYY"
COUNT_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.00"
SHARE_FORMAT = "0.00%"
FONT = "Calibri"
BODY = Font(name=FONT, size=11)
BOLD = Font(name=FONT, size=11, bold=True)
ITALIC = Font(name=FONT, size=11, italic=True)
TITLE = Font(name=FONT, size=14, bold=True)
HEADER_FONT = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL_FILL = PatternFill("solid", fgColor="DDEBF7")
CHECK_FILL = PatternFill("solid", fgColor="F2F2F2")
WRAP = Alignment(wrap_text=True, vertical="top")
#: Row labels wrap and sit at the foot of the row, level with their figures.
WRAP_LABEL = Alignment(wrap_text=True)
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
HEADER_ALIGN_RIGHT = Alignment(wrap_text=True, vertical="center", horizontal="right")
LEFT = Alignment(horizontal="left")
RIGHT = Alignment(horizontal="right")
# Characters that make a spreadsheet treat text as a formula (OWASP CSV injection).
DANGEROUS_LEAD = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")

# What XML 1.0 (and so an .xlsx) cannot hold: C0 controls other than tab and line ends,
# lone surrogates, U+FFFE and U+FFFF; and the other Unicode non-characters, which the
# forms refuse too.
_XML_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}"
        for plane in range(17)
    )
    + "]"
)

# --- page set-up (A4; all in points) -----------------------------------------------------
A4 = {"landscape": (841.89, 595.28), "portrait": (595.28, 841.89)}
MARGIN_SIDE, MARGIN_TOP, MARGIN_HEADER = 0.4, 0.6, 0.3  # inches
ROW_HEIGHT = 15.0  # points: one line of 11 pt Calibri
#: The smallest print scale funds uses: 11 pt text prints at 8 pt or more.
MIN_SCALE = 73


def xml_safe(text: str) -> str:
    """The text with anything a workbook cannot hold replaced by U+FFFD."""
    return _XML_UNSAFE.sub("\ufffd", text)


class FormulaCell(Cell):
    """A formula that also stores the value it gives (what a reader sees without
    recalculating). Written by ``StoredValueWriter``."""

    __slots__ = ("stored",)

    def __init__(self, ws, formula: str, stored):
        super().__init__(ws, row=1, column=1, value=formula)
        self.stored = stored


class StoredValueWriter(WorksheetWriter):
    """openpyxl's sheet writer, but a ``FormulaCell`` is written with its value, and the
    rows of a ``DataRows`` are spliced in when the sheet is finished."""

    rows: DataRows | None = None

    def close(self) -> None:
        super().close()
        if self.rows is not None:
            self.out = self.rows.splice_into(self.out)
            self.rows = None

    def write_row(self, xf, row, row_idx):
        attrs = {"r": f"{row_idx}"}
        attrs.update(self.ws.row_dimensions.get(row_idx, {}))
        with xf.element("row", attrs):
            for cell in row:
                if isinstance(cell, FormulaCell):
                    _write_formula(xf, cell)
                elif cell._value is not None or cell.has_style:
                    write_cell(xf, self.ws, cell, cell.has_style)


def _stored_text(value) -> tuple[str | None, str]:
    """(cell type, text) for a formula's stored value."""
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, str):
        return "str", xml_safe(value)
    if isinstance(value, Decimal):
        return None, format(value, "f")
    if isinstance(value, int):
        return None, str(value)
    raise TypeError(f"cannot store {type(value).__name__} as a formula's value")


def _write_formula(xf, cell: FormulaCell) -> None:
    attrs = {"r": cell.coordinate}
    if cell.has_style:
        attrs["s"] = f"{cell.style_id}"
    kind, text = _stored_text("" if cell.stored is None else cell.stored)
    if kind:
        attrs["t"] = kind
    with xf.element("c", attrs):
        with xf.element("f"):
            xf.write(cell._value[1:])
        with xf.element("v"):
            xf.write(text)


# --- cells -----------------------------------------------------------------------------------


def _styled(cell: Cell, *, font=BODY, number_format=None, fill=None, alignment=None):
    cell.font = font
    if number_format is not None:
        cell.number_format = number_format
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def text_cell(ws, value, *, font=BODY, fill=None, alignment=None) -> Cell:
    """A cell that is always text: never a formula, never an error, never a broken file.

    Text a spreadsheet could read as a formula gets Excel's quote prefix (it displays
    unchanged and stays text when edited).
    """
    text = xml_safe("" if value is None else str(value))
    cell = Cell(ws, row=1, column=1)
    cell._value = text
    cell.data_type = "s"
    if text[:1] in DANGEROUS_LEAD or text.lstrip()[:1] in DANGEROUS_LEAD:
        cell.quotePrefix = True
    return _styled(cell, font=font, fill=fill, alignment=alignment)


def money_cell(ws, value: Decimal | None, *, font=BODY, fill=None) -> Cell:
    """A number in pounds with the £ format (an exact Decimal, never a float)."""
    return _styled(
        Cell(ws, row=1, column=1, value=value),
        font=font,
        number_format=MONEY_FORMAT,
        fill=fill,
    )


def number_cell(ws, value, *, font=BODY, number_format=COUNT_FORMAT, fill=None) -> Cell:
    return _styled(
        Cell(ws, row=1, column=1, value=value),
        font=font,
        number_format=number_format,
        fill=fill,
    )


def date_cell(ws, value: date | None, *, font=BODY) -> Cell:
    """A real date shown the UK way (DD/MM/YYYY)."""
    return _styled(
        Cell(ws, row=1, column=1, value=value), font=font, number_format=DATE_FORMAT
    )


def formula_cell(
    ws, formula: str, stored, *, number_format=COUNT_FORMAT, font=BODY, fill=None
) -> FormulaCell:
    """One of our own formulas (never built from user text) and the value it gives."""
    assert formula.startswith("=")
    cell = FormulaCell(ws, formula, stored)
    alignment = RIGHT if isinstance(stored, str) else None
    return _styled(
        cell, font=font, number_format=number_format, fill=fill, alignment=alignment
    )


def header_row(ws, labels: list[str], *, numeric_from: int | None = None) -> list[Cell]:
    """Bold white-on-blue header cells that wrap (drawn by LibreOffice too); headings of
    number columns (from ``numeric_from``) are right-aligned like their figures."""
    return [
        text_cell(
            ws,
            label,
            font=HEADER_FONT,
            fill=HEADER_FILL,
            alignment=HEADER_ALIGN_RIGHT
            if numeric_from is not None and index >= numeric_from
            else HEADER_ALIGN,
        )
        for index, label in enumerate(labels)
    ]


_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()
#: How lxml escapes a text node (a carriage return too, so that it survives reading).
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})


class DataRows:
    """Streams a data sheet's rows to disk as the XML openpyxl would write for them.

    openpyxl makes, checks and styles a cell object for every value, and even one lxml
    element a row cost more than the SQL behind a return: a data sheet of a million lines
    needs neither. Each column has a kind (``date``, ``money``, ``number``, ``text``);
    text that could be read as a formula gets Excel's quote prefix, and anything a
    workbook cannot hold is replaced (``xml_safe``). The rows are written as text to a
    file of their own, and spliced into the sheet when it is saved (``close``): the
    bytes are those lxml writes (tests/test_data_rows.py compares them). Use instead of
    ``ws.append`` once the sheet exists; saving the workbook ends it.
    """

    #: Rows kept as text before they are written out.
    BATCH = 2000
    #: Texts whose cell is kept once written (a sheet repeats its labels on every row).
    REMEMBERED = 20_000

    def __init__(self, ws, kinds: list[str]):
        self.ws = ws
        self.kinds = kinds
        self.letters = [get_column_letter(i) for i in range(1, len(kinds) + 1)]
        self.date_style = str(date_cell(ws, None).style_id)
        self.money_style = str(money_cell(ws, None).style_id)
        self.quoted_style = str(text_cell(ws, "=").style_id)
        self._xf = ws._writer.xf.send(True)
        self._data = self._xf.element("sheetData")
        self._data.__enter__()
        ws._rows = self  # the sheet's close() ends the data here
        ws._writer.rows = self  # and its writer splices them in (StoredValueWriter)
        self.row = 0
        # A path, not an open file: a sheet abandoned half-way leaves no handle behind
        # (openpyxl deletes its temporary files when the process ends).
        self._spool = create_temporary_file()
        self._pending: list[str] = []
        self._texts: dict[str, str] = {}

    def header(self, cells: list[Cell]) -> None:
        """The heading row, as ordinary styled cells (before any other row)."""
        self.row += 1
        attrs = {"r": str(self.row)}
        attrs.update(self.ws.row_dimensions.get(self.row, {}))
        with self._xf.element("row", attrs):
            for column, cell in enumerate(cells, start=1):
                cell.row, cell.column = self.row, column
                write_cell(self._xf, self.ws, cell, cell.has_style)

    def append(self, values) -> None:
        self.row += 1
        number = str(self.row)
        parts = [f'<row r="{number}">']
        add = parts.append
        for letter, kind, value in zip(self.letters, self.kinds, values, strict=True):
            if value is None or value == "":
                continue
            if kind == "date":
                days = value.toordinal() - _EPOCH_ORDINAL
                add(f'<c r="{letter}{number}" s="{self.date_style}"><v>{days}</v></c>')
            elif kind == "money":
                add(
                    f'<c r="{letter}{number}" s="{self.money_style}">'
                    f"<v>{value:f}</v></c>"
                )
            elif isinstance(value, str):
                add(self._text(letter + number, value))
            else:
                add(f'<c r="{letter}{number}" t="n"><v>{value}</v></c>')
        if len(parts) == 1:  # nothing in it: an empty element, as lxml writes it
            parts[0] = f'<row r="{number}"/>'
        else:
            add("</row>")
        self._pending.append("".join(parts))
        if len(self._pending) >= self.BATCH:
            self._write_pending()

    def _text(self, ref: str, value: str) -> str:
        cell = self._texts.get(value)
        if cell is None:
            text = xml_safe(value) if _XML_UNSAFE.search(value) else value
            quoted = text[:1] in DANGEROUS_LEAD or text.lstrip()[:1] in DANGEROUS_LEAD
            style = f' s="{self.quoted_style}"' if quoted else ""
            space = ' xml:space="preserve"' if text != text.strip() else ""
            cell = (
                f' t="inlineStr"{style}><is><t{space}>'
                f"{text.translate(_TEXT_ESCAPES)}</t></is></c>"
            )
            if len(self._texts) < self.REMEMBERED:
                self._texts[value] = cell
        return f'<c r="{ref}"{cell}'

    def _write_pending(self) -> None:
        # As lxml writes it: ASCII, anything else as a character reference.
        with open(self._spool, "ab") as spool:
            spool.write("".join(self._pending).encode("ascii", "xmlcharrefreplace"))
        self._pending.clear()

    def close(self) -> None:
        self._write_pending()
        self._data.__exit__(None, None, None)
        self.ws._writer.xf.send(None)

    def splice_into(self, path: str) -> str:
        """A copy of the finished sheet at ``path`` with the rows in their place (before
        ``</sheetData>``); the sheet without them is a few kilobytes."""
        with open(path, "rb") as sheet:
            whole = sheet.read()
        end = whole.rindex(b"</sheetData>")
        joined = create_temporary_file()
        with open(joined, "wb") as out, open(self._spool, "rb") as rows:
            out.write(whole[:end])
            shutil.copyfileobj(rows, out, 1 << 20)
            out.write(whole[end:])
        os.remove(path)
        os.remove(self._spool)
        return joined


# --- sheets ----------------------------------------------------------------------------------


def new_workbook() -> Workbook:
    """A streaming workbook (rows go to disk as they are appended)."""
    return Workbook(write_only=True)


def new_sheet(
    workbook: Workbook,
    title: str,
    widths: list[float],
    *,
    freeze: str | None = None,
    orientation: str = "landscape",
    print_columns: int | None = None,
):
    """A write-only sheet whose formulas store their values, set up for A4 printing.

    Widths and frozen panes are written at the top of the sheet, so they are set here;
    the print scale is chosen so that the first ``print_columns`` columns fit the width.
    """
    ws = workbook.create_sheet(xml_safe(title)[:31])
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    if freeze:
        ws.freeze_panes = freeze
    ws._writer = StoredValueWriter(ws)
    ws._writer.write_top()
    page_setup(ws, widths[:print_columns] if print_columns else widths, orientation)
    return ws


def column_points(width: float) -> float:
    """A column's printed width in points (Calibri 11: 7 pixels a character, 5 of padding)."""
    return (math.trunc(width * 7 + 5)) * 0.75


def print_scale(widths: list[float], orientation: str = "landscape") -> int:
    """The scale (percent) at which these columns fit the printable width of A4, but no
    smaller than MIN_SCALE."""
    paper_width = A4[orientation][0]
    printable = paper_width - 2 * MARGIN_SIDE * 72
    # LibreOffice draws columns about 4% wider than Excel's pixel rule: keep 6% spare.
    needed = sum(column_points(w) for w in widths) * 1.06
    # Never smaller than MIN_SCALE: wider tables go on to a second page across instead.
    return max(MIN_SCALE, min(100, math.floor(100 * printable / needed)))


def printable_height(orientation: str, scale: int) -> float:
    """Points of sheet rows that fit on one printed page at this scale."""
    paper_height = A4[orientation][1]
    return (paper_height - 2 * MARGIN_TOP * 72) / (scale / 100)


def page_setup(ws, widths: list[float], orientation: str = "landscape") -> int:
    """A4, an explicit scale that fits the width (the same in every program), margins,
    the sheet name at the top and page numbers at the foot. Returns the scale."""
    scale = print_scale(widths, orientation)
    ws.page_setup.orientation = orientation
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.scale = scale
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_margins = PageMargins(
        left=MARGIN_SIDE,
        right=MARGIN_SIDE,
        top=MARGIN_TOP,
        bottom=MARGIN_TOP,
        header=MARGIN_HEADER,
        footer=MARGIN_HEADER,
    )
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddHeader.left.text = "&A"
    return scale


def wrapped_lines(text: str, width: float) -> int:
    """How many lines ``text`` wraps to in a column of this width (an estimate that errs
    on the tall side: a character is taken as one digit's width)."""
    if not text:
        return 1
    usable = max(1, int(width) - 1)
    return max(1, len(textwrap.wrap(text, usable, break_long_words=True)))


def add_table(ws, name: str, columns: list[str], last_row: int) -> None:
    """Make rows 1..last_row an Excel table with filter buttons on every header."""
    last_row = max(last_row, 2)  # a table needs at least one data row
    ref = f"A1:{get_column_letter(len(columns))}{last_row}"
    table = Table(displayName=name, ref=ref, autoFilter=AutoFilter(ref=ref))
    table.tableColumns = [
        TableColumn(id=i, name=xml_safe(c)) for i, c in enumerate(columns, start=1)
    ]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():
        # openpyxl warns that write-only tables need their columns set by hand: they are.
        warnings.simplefilter("ignore", UserWarning)
        ws.add_table(table)


def workbook_bytes(workbook: Workbook) -> bytes:
    """The finished .xlsx file. The zip is written to a temporary file and read back
    once: in memory it is then held once, not twice (a growing buffer and its copy)."""
    import tempfile

    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        return file.read()
