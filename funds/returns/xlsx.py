"""Writing safe, finance-friendly cells with openpyxl in write-only (streaming) mode."""

from __future__ import annotations

import io
import warnings
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

MONEY_FORMAT = '"£"#,##0.00;[Red]-"£"#,##0.00'
DATE_FORMAT = "DD/MM/YYYY"
COUNT_FORMAT = "#,##0"
FONT = "Calibri"
BODY = Font(name=FONT, size=11)
BOLD = Font(name=FONT, size=11, bold=True)
TITLE = Font(name=FONT, size=16, bold=True)
HEADER_FONT = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")
# Characters that make a spreadsheet treat text as a formula (OWASP CSV injection).
DANGEROUS_LEAD = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


class StreamCells:
    """Cells for streamed rows: each style is built once and shared by every cell using it.

    Setting ``number_format`` on each of 100,000 cells costs a registry look-up per cell;
    sharing one cell's style array (openpyxl's ``_style``) costs nothing.
    """

    def __init__(self, ws):
        self.ws = ws
        self._date = date_cell(ws, None)._style
        self._money = money_cell(ws, None)._style

    def date(self, value) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = self._date
        return cell

    def money(self, value) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell._style = self._money
        return cell

    def text(self, value):
        return plain_text(self.ws, value)


def plain_text(ws, value):
    """User text for a streamed row: a plain str when it is harmless, else a safe text cell.

    Plain strings are written as inline text by openpyxl unless they look like a formula or
    an error code or hold an illegal character; only those need the slower cell object.
    """
    if value is None or value == "":
        return ""
    text = str(value)
    if (
        text[:1] in DANGEROUS_LEAD
        or text.lstrip()[:1] in DANGEROUS_LEAD
        or text in ERROR_CODES
        or ILLEGAL_CHARACTERS_RE.search(text)
    ):
        return text_cell(ws, text)
    return text


def text_cell(ws, value, *, font=BODY) -> WriteOnlyCell:
    """A cell that is always text: never a formula, never an error, never a crash.

    Illegal XML characters become U+FFFD; text a spreadsheet could read as a formula gets
    Excel's quote prefix (it displays unchanged but stays text when edited).
    """
    text = "" if value is None else str(value)
    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)
    cell = WriteOnlyCell(ws, value=text)
    cell.data_type = "s"
    cell.font = font
    if text[:1] in DANGEROUS_LEAD or text.lstrip()[:1] in DANGEROUS_LEAD:
        cell.quotePrefix = True
    return cell


def money_cell(ws, value: Decimal | None, *, font=BODY, fill=None) -> WriteOnlyCell:
    """A number in pounds with the £ format (an exact Decimal, never a float)."""
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = MONEY_FORMAT
    cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def number_cell(
    ws, value, *, font=BODY, number_format=COUNT_FORMAT, fill=None
) -> WriteOnlyCell:
    """A plain count."""
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = number_format
    cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def date_cell(ws, value: date | None, *, font=BODY) -> WriteOnlyCell:
    """A real date shown the UK way (DD/MM/YYYY)."""
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = DATE_FORMAT
    cell.font = font
    return cell


def formula_cell(
    ws, formula: str, *, money: bool = False, font=BODY, fill=None
) -> WriteOnlyCell:
    """One of our own formulas (never built from user text)."""
    assert formula.startswith("=")
    cell = WriteOnlyCell(ws, value=formula)
    cell.number_format = MONEY_FORMAT if money else COUNT_FORMAT
    cell.font = font
    if fill is not None:
        cell.fill = fill
    return cell


def header_row(ws, labels: list[str]) -> list[WriteOnlyCell]:
    """Bold white-on-blue header cells (drawn by LibreOffice too, unlike table styles)."""
    cells = []
    for label in labels:
        cell = text_cell(ws, label, font=HEADER_FONT)
        cell.fill = HEADER_FILL
        cells.append(cell)
    return cells


def set_widths(ws, widths: list[int]) -> None:
    """Column widths (must be set before the first row in write-only mode)."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width


def print_setup(ws, *, title_rows: str | None = "1:1") -> None:
    """A4 landscape, fit to one page wide, header row repeated, page numbers."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    if title_rows:
        ws.print_title_rows = title_rows
    ws.oddFooter.center.text = "Page &P of &N"
    ws.oddHeader.left.text = "&A"


def add_table(ws, name: str, columns: list[str], last_row: int) -> None:
    """Make rows 1..last_row an Excel table with filter buttons (column names set by hand)."""
    last_row = max(last_row, 2)  # a table needs at least one data row
    ref = f"A1:{get_column_letter(len(columns))}{last_row}"
    table = Table(displayName=name, ref=ref)
    table.tableColumns = [
        TableColumn(id=i, name=c) for i, c in enumerate(columns, start=1)
    ]
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    with warnings.catch_warnings():
        # openpyxl warns that write-only tables need their columns set by hand: they are.
        warnings.simplefilter("ignore", UserWarning)
        ws.add_table(table)


def new_workbook() -> Workbook:
    """A streaming workbook (rows go to disk as they are appended)."""
    return Workbook(write_only=True)


def workbook_bytes(workbook: Workbook) -> bytes:
    """The finished .xlsx file."""
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
