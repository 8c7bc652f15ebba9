"""Reading untrusted uploaded spreadsheets safely: one reader for every upload (imports and
voucher serials). Workbooks are checked before anything parses them (zip bombs, macros,
formulas, too many cells or strings), then read with python-calamine (cached values only);
CSV files are decoded as UTF-8 (with or without a byte order mark) or Windows-1252 and
their separator sniffed."""

from __future__ import annotations

import csv
import functools
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from xml.parsers import expat

from python_calamine import CalamineWorkbook

from funds.errors import ValidationError


@dataclass(frozen=True)
class Limits:
    """How much work one uploaded file may ask for."""

    #: The most a workbook may unpack to.
    unpacked: int
    #: Distinct pieces of text in a workbook (a small file can hold very many).
    shared_strings: int
    cells: int
    rows: int
    #: Whether old .xls workbooks are read (they cannot be checked before reading).
    xls: bool = True


#: A list of voucher serials: a 20,000-row list of serials is about 2 MB unpacked.
SERIALS = Limits(8 * 1024 * 1024, 50_000, 200_000, 20_000, xls=False)
#: An import: 200,000 rows of a dozen columns.
IMPORTS = Limits(400 * 1024 * 1024, 2_500_000, 3_000_000, 200_000)

MAX_MEMBERS = 200
#: Deflate rarely packs real XML better than this; a bomb of zeros packs about 1000:1.
MAX_RATIO = 100
#: Parts smaller than this are not checked for their ratio (tiny parts pack oddly).
RATIO_FLOOR = 1024 * 1024
#: The widest row read (columns past it are ignored by the importer anyway).
MAX_COLUMNS = 60

# Kept for the voucher serial tests and messages.
MAX_ROWS = SERIALS.rows
MAX_SHARED_STRINGS = SERIALS.shared_strings
MAX_CELLS = SERIALS.cells
MAX_UNCOMPRESSED = SERIALS.unpacked

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main "
_ODS_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 "
_UNREADABLE = "The file could not be read: upload a .xlsx, .ods, .xls or .csv file"
_FORMULAS = "The file contains formulas: paste the values instead"

Cell = str | float | int | bool | date | datetime | time | timedelta | None


def _refuse(message: str, field: str) -> ValidationError:
    return ValidationError(message, field=field)


# --- checks before anything parses a workbook ----------------------------------------------


def _open_zip(data: bytes, field: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except Exception as error:  # BadZipFile, but also OSError/ValueError on garbage
        raise _refuse(_UNREADABLE, field) from error


def _check_members(archive: zipfile.ZipFile, limits: Limits, field: str) -> set[str]:
    members = archive.infolist()
    names = {member.filename for member in members}
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise _refuse("Workbooks with macros are not accepted: save it as .xlsx", field)
    if len(members) > MAX_MEMBERS:
        raise _refuse("The file could not be read: it has too many parts", field)
    total = sum(member.file_size for member in members)
    if total > limits.unpacked:
        raise _refuse("The file is too large once unpacked", field)
    for member in members:
        if member.file_size and not member.compress_size:
            raise _refuse("The file could not be read safely", field)
        if (
            member.file_size > RATIO_FLOOR
            and member.file_size / member.compress_size > MAX_RATIO
        ):
            raise _refuse("The file could not be read safely", field)
    return names


def check_workbook_zip(data: bytes, limits: Limits, field: str) -> dict[str, bytes]:
    """The one zip-bomb and macro check for any uploaded workbook (imports use it through
    _check_xlsx, evidence files directly): members, unpacked size and ratios are checked
    from the zip's directory before anything is unpacked. Returns the two small parts a
    caller may look in: ``[Content_Types].xml`` and ``xl/workbook.xml`` (empty if missing).
    """
    with _open_zip(data, field) as archive:
        names = _check_members(archive, limits, field)
        parts = {}
        for name in ("[Content_Types].xml", "xl/workbook.xml"):
            try:
                parts[name] = archive.read(name) if name in names else b""
            except Exception as error:  # a damaged member
                raise _refuse(_UNREADABLE, field) from error
        return parts


class _Refused(Exception):
    """Raised inside the XML scan: a DTD or an entity declaration."""


def _no_dtd(*args) -> None:
    raise _Refused


def _scan(archive, name: str, field: str, start=None) -> None:
    """Stream through one XML part with expat (never the whole part at once), refusing
    DTDs and entities as defusedxml does; ``start(name, attributes)`` sees each element as
    it opens, its name as ``namespace local-name``. Nothing is built: this only counts."""
    if name not in archive.namelist():
        return
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.EntityDeclHandler = _no_dtd
    parser.ExternalEntityRefHandler = _no_dtd
    if start is not None:
        parser.StartElementHandler = start
    try:
        with archive.open(name) as part:
            while chunk := part.read(256 * 1024):
                parser.Parse(chunk, False)
            parser.Parse(b"", True)
    except ValidationError:
        raise
    except Exception as error:  # malformed XML, a DTD, an entity: all unreadable
        raise _refuse(_UNREADABLE, field) from error


def _counter(tag: str, limit: int, field: str, message: str):
    found = 0

    def start(name, attributes) -> None:
        nonlocal found
        if name == tag:
            found += 1
            if found > limit:
                raise _refuse(message, field)

    return start


_PREFIX = rb"<(?:[A-Za-z_][\w.\-]*:)?"
_CELL = re.compile(_PREFIX + rb"c(?=[\s/>])")
_STRING = re.compile(_PREFIX + rb"si(?=[\s/>])")
_FORMULA = re.compile(_PREFIX + rb"f(?=[\s/>])")
_CELL_OR_FORMULA = re.compile(_PREFIX + rb"(c|f)(?=[\s/>])([^>]*)>")
_LAST_CELL = re.compile(rb"(?s).*" + _PREFIX + rb"c(?=[\s/>])([^>]*)>")
_REFERENCE = re.compile(rb'\sr\s*=\s*["\']([A-Za-z]{1,3})')
_CELL_REFERENCE = re.compile(
    _PREFIX + rb'c\s[^>]*?\br\s*=\s*["\']([A-Za-z]{1,3})([0-9]{1,7})'
)
#: A sheet's area (rows by columns, empty cells included) allowed whatever its cells.
_AREA_FLOOR = 100_000
#: How much of a part is counted at a time.
_PIECE = 1024 * 1024
#: No start tag of a real workbook is longer than this.
_LONGEST_TAG = 1024 * 1024


def _chunks(archive, name: str, field: str) -> Iterator[bytes]:
    """A large XML part in pieces cut after a ">" (so that no tag is split), for counting
    its tags without parsing it: a tag inside a comment counts too, which errs on the side
    of refusing. A DTD is refused (without one no entity can be declared), as defusedxml
    would; anything else malformed is refused by the reader."""
    if name not in archive.namelist():
        return
    try:
        with archive.open(name) as part:
            carry = b""
            while piece := part.read(_PIECE):
                piece = carry + piece
                cut = piece.rfind(b">") + 1
                piece, carry = piece[:cut], piece[cut:]
                if len(carry) > _LONGEST_TAG:
                    raise _refuse(_UNREADABLE, field)
                if b"<!DOCTYPE" in piece or b"<!ENTITY" in piece:
                    raise _refuse(_UNREADABLE, field)
                yield piece
    except ValidationError:
        raise
    except Exception as error:  # a damaged zip member
        raise _refuse(_UNREADABLE, field) from error


def _count(piece: bytes, tag: bytes, pattern: re.Pattern) -> int:
    """How many ``tag`` start tags a piece holds: counted as bytes (fast) unless a
    namespace prefix or a line break after the name needs the pattern."""
    if b":" + tag in piece or any(
        b"<" + tag + space in piece for space in (b"\n", b"\t", b"\r")
    ):
        return len(pattern.findall(piece))
    return sum(piece.count(b"<" + tag + end) for end in (b" ", b">", b"/"))


def _column_of(attributes: bytes) -> int:
    reference = _REFERENCE.search(attributes)
    return _letters_index(reference.group(1).decode("ascii")) if reference else 0


def _sheet_counts(archive, name: str, field: str, limits: Limits) -> set[int]:
    """Refuse a sheet of too many cells, or whose cells lie far apart (a reader lays out
    every cell between the first and the last); the columns holding formulas."""
    cells, column = 0, 0
    last_row, last_column = 0, 0
    formulas: set[int] = set()
    for piece in _chunks(archive, name, field):
        cells += _count(piece, b"c", _CELL)
        if cells > limits.cells:
            raise _refuse(f"The file has more than {limits.cells:,} cells", field)
        references = _CELL_REFERENCE.findall(piece)
        if references:
            last_row = max(last_row, max(int(row) for _, row in references))
            widest = max((letters for letters, _ in references), key=len)
            if len(widest) > 1 or last_column < 26:
                last_column = max(
                    last_column,
                    max(
                        _letters_index(letters.decode("ascii"))
                        for letters, _ in references
                        if len(letters) == len(widest)
                    ),
                )
            if last_row > limits.rows + 100:
                raise _refuse(f"The file has more than {limits.rows:,} rows", field)
            if last_row * (last_column + 1) > max(2 * limits.cells, _AREA_FLOOR):
                raise _refuse(
                    "The sheet's cells are spread over too large an area: copy the "
                    "rows you need into a new sheet and upload that",
                    field,
                )
        if (b"<f" in piece or b":f" in piece) and _FORMULA.search(piece):
            # Rare: then each formula's cell is found.
            for match in _CELL_OR_FORMULA.finditer(piece):
                if match.group(1) == b"c":
                    column = _column_of(match.group(2))
                else:
                    formulas.add(column)
        last = _LAST_CELL.match(piece)
        if last:
            column = _column_of(last.group(1))
    return formulas


_RELATIONSHIP_ID = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships id"
)


def _first_sheet(archive, sheets: list[str], field: str) -> str:
    """The worksheet part a reader opens first: the workbook's first sheet, through its
    relationships (the lowest-numbered part when they do not say)."""
    first: list[str] = []
    targets: dict[str, str] = {}

    def sheet(name, attributes) -> None:
        if name == _MAIN + "sheet" and not first:
            first.append(attributes.get(_RELATIONSHIP_ID, ""))

    def relationship(name, attributes) -> None:
        if name.endswith(" Relationship"):
            targets[attributes.get("Id", "")] = attributes.get("Target", "")

    _scan(archive, "xl/workbook.xml", field, sheet)
    _scan(archive, "xl/_rels/workbook.xml.rels", field, relationship)
    target = targets.get(first[0], "") if first else ""
    path = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return path if path in sheets else sheets[0]


@functools.cache
def _letters_index(letters: str) -> int:
    index = 0
    for char in letters:
        index = index * 26 + (ord(char.upper()) - 64)
    return index - 1


def _column_index(reference: str) -> int:
    """0 for A1, 1 for B7, 26 for AA3."""
    return _letters_index(reference.rstrip("0123456789")[:3])


def _check_xlsx(data: bytes, field: str, limits: Limits = SERIALS) -> set[int]:
    """Refuse a workbook before it is parsed if it is not one, has macros or is a bomb;
    the columns of its first sheet that hold formulas. zipfile never unpacks more than a
    part's declared size, so checking the declared sizes bounds what can be read."""
    with _open_zip(data, field) as archive:
        names = _check_members(archive, limits, field)
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise _refuse(_UNREADABLE, field)
        # The reader's own XML parser does not expand entities, but a part holding a DTD
        # is no workbook a spreadsheet program saves: refused like any unreadable file.
        if (
            "content.xml" in names
        ):  # parts of two kinds of file: a reader might pick either
            raise _refuse(_UNREADABLE, field)
        _scan(archive, "[Content_Types].xml", field)
        strings = 0
        for piece in _chunks(archive, "xl/sharedStrings.xml", field):
            strings += _count(piece, b"si", _STRING)
            if strings > limits.shared_strings:
                raise _refuse(
                    f"The file has more than {limits.shared_strings:,} different "
                    "pieces of text",
                    field,
                )
        sheets = sorted(
            n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml")
        )
        formulas: set[int] = set()
        if sheets:
            first = _first_sheet(archive, sheets, field)
            for name in sheets:  # every sheet within the limits, whichever is read
                found = _sheet_counts(archive, name, field, limits)
                if name == first:
                    formulas = found
        return formulas


def _check_ods(data: bytes, field: str, limits: Limits) -> None:
    with _open_zip(data, field) as archive:
        names = _check_members(archive, limits, field)
        if "content.xml" not in names or "xl/workbook.xml" in names:
            raise _refuse(_UNREADABLE, field)
        cells = 0
        row_repeat = 1
        row = _ODS_TABLE + "table-row"
        rows_repeated = _ODS_TABLE + "number-rows-repeated"
        cell, formula = _ODS_TABLE + "table-cell", _ODS_TABLE + "formula"
        repeats = _ODS_TABLE + "number-columns-repeated"

        def _repeat(attributes, key) -> int:
            value = attributes.get(key, "1")
            return int(value) if value.isascii() and value.isdigit() else 1

        def start(name, attributes) -> None:
            nonlocal cells, row_repeat
            if name == row:
                row_repeat = _repeat(attributes, rows_repeated)
            elif name == cell:
                if formula in attributes:
                    raise _refuse(_FORMULAS, field)
                # A repeated empty cell pads rows to the sheet's width: not work. A cell
                # with a value counts as often as it and its row are repeated.
                if repeats not in attributes or attributes.get(_OFFICE + "value-type"):
                    cells += _repeat(attributes, repeats) * row_repeat
                    if cells > limits.cells:
                        raise _refuse(
                            f"The file has more than {limits.cells:,} cells", field
                        )

        _scan(archive, "content.xml", field, start)


# --- the table --------------------------------------------------------------------------


@dataclass
class Table:
    """The first sheet of a file: its heading row and its rows, read as they are asked for."""

    header: list[str]
    #: Rows after the heading (empty rows included in the count, skipped when read).
    height: int
    _rows: object
    #: The spreadsheet row number of the heading (1 for most files).
    header_row: int = 1
    #: Columns (0 for the first read) holding formulas: refused, never read.
    formula_columns: frozenset[int] = frozenset()
    #: The sheet's column the rows start at (0 for A).
    first_column: int = 0

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        """(spreadsheet row number, cells) for each row after the heading that has any
        value; the cells padded to the heading's width."""
        width = len(self.header)
        for number, cells in self._rows():
            if not any(_present(cell) for cell in cells):
                continue
            cells = list(cells[:width]) + [None] * (width - len(cells))
            yield number, cells


def _present(cell: Cell) -> bool:
    return not (cell is None or (isinstance(cell, str) and not cell.strip()))


def _heading(cells: list[Cell]) -> list[str]:
    heading = []
    for cell in cells[:MAX_COLUMNS]:
        if isinstance(cell, float) and cell.is_integer():
            cell = int(cell)
        heading.append("" if cell is None else str(cell).strip())
    while heading and not heading[-1]:
        heading.pop()
    return heading


def _calamine_table(data: bytes, field: str, limits: Limits) -> Table:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet = book.get_sheet_by_index(0)
        height = sheet.height
        start_row = sheet.start[0] if sheet.start else 0
        first_column = sheet.start[1] if sheet.start else 0
    except Exception as error:  # CalamineError, PasswordError, ZipError, XmlError...
        raise _refuse(_UNREADABLE, field) from error
    if height > limits.rows + 1:
        raise _refuse(f"The file has more than {limits.rows:,} rows", field)
    rows = sheet.iter_rows()
    header: list[str] = []
    header_row = start_row + 1
    for index, cells in enumerate(rows):
        if any(_present(cell) for cell in cells):
            header = _heading(cells)
            header_row = start_row + index + 1
            break
    used = header_row - start_row

    def following():
        for offset, cells in enumerate(rows):
            yield header_row + offset + 1, cells

    return Table(
        header, max(height - used, 0), following, header_row, first_column=first_column
    )


def _decode_csv(data: bytes, field: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        raise _refuse(
            "The CSV file could not be read: save it from your spreadsheet as "
            "“CSV UTF-8” and try again",
            field,
        )
    # Excel's plain "CSV" is Windows-1252 in the UK; bytes it does not define are refused.
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError as error:
        raise _refuse(
            "Save the CSV file as “CSV UTF-8” and try again", field
        ) from error


def _csv_table(data: bytes, field: str, limits: Limits) -> Table:
    text = _decode_csv(data, field)
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    height = text.count("\n") + 1
    if height > limits.rows + 2:
        raise _refuse(f"The file has more than {limits.rows:,} rows", field)

    def read():
        try:
            yield from enumerate(
                csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
            )
        except csv.Error as error:  # a field over the size limit, a NUL byte...
            raise _refuse(
                "The CSV file could not be read: check it opens in a spreadsheet", field
            ) from error

    reader = read()
    header: list[str] = []
    header_row = 1
    for number, cells in reader:
        if any(_present(cell) for cell in cells):
            header, header_row = _heading(cells), number
            break

    def following():
        counted = 0
        for number, cells in reader:
            counted += 1
            if counted > limits.rows:
                raise _refuse(f"The file has more than {limits.rows:,} rows", field)
            yield number, cells

    return Table(header, max(height - header_row, 0), following, header_row)


SUFFIXES = (".xlsx", ".ods", ".xls", ".csv")


def open_table(
    filename: str,
    data: bytes,
    *,
    field: str = "file",
    limits: Limits = IMPORTS,
    checked: bool = False,
) -> Table:
    """The first sheet of an uploaded .xlsx, .ods, .xls or .csv file.

    ``checked``: the same bytes already passed these checks (a file kept since its
    upload): the workbook is read without scanning it again, and ``formula_columns`` is
    left for the caller to supply from what the first scan found.

    :raises ValidationError: on ``field`` for anything unreadable, unsafe or too big.
    """
    name = (filename or "").lower()
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise _refuse("Workbooks with macros are not accepted: save it as .xlsx", field)
    if name.endswith(".csv"):
        return _csv_table(data, field, limits)
    formulas: set[int] = set()
    if checked and name.endswith((".xlsx", ".ods", ".xls")):
        pass
    elif name.endswith(".xlsx"):
        formulas = _check_xlsx(data, field, limits)
    elif name.endswith(".ods"):
        _check_ods(data, field, limits)
    elif name.endswith(".xls"):
        if not limits.xls:
            raise _refuse(
                "Save the file as .xlsx or .csv: old .xls workbooks are not read here",
                field,
            )
        if not data.startswith(b"\xd0\xcf\x11\xe0"):
            raise _refuse(_UNREADABLE, field)
    else:
        raise _refuse("Upload a .xlsx, .ods, .xls or .csv file", field)
    table = _calamine_table(data, field, limits)
    # The reader's rows start at the sheet's first used column.
    table.formula_columns = frozenset(
        column - table.first_column
        for column in formulas
        if column >= table.first_column
    )
    return table


# --- voucher serials: the first column -----------------------------------------------------


def _serial_text(cell: Cell, field: str) -> str | None:
    """A cell's value as a serial; dates, times and TRUE/FALSE are not serials."""
    if not _present(cell):
        return None
    if isinstance(cell, bool):
        raise _refuse(
            "The first column holds TRUE or FALSE values, not serial numbers", field
        )
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (str, int, float)):
        text = str(cell).strip()
        if text.startswith("="):
            raise _refuse(_FORMULAS, field)
        return text or None
    raise _refuse(
        "The first column must hold serial numbers as text or whole numbers", field
    )


def read_first_column(filename: str, data: bytes, *, field: str = "file") -> list[str]:
    """The text of the first column of a spreadsheet, one string per non-empty row; a
    heading row is kept (see funds.vouchers.serials.without_header).

    :raises ValidationError: on ``field`` for anything unreadable or unsafe.
    """
    table = open_table(filename, data, field=field, limits=SERIALS)
    if 0 in table.formula_columns:
        raise _refuse(_FORMULAS, field)
    values: list[str] = []
    first = _serial_text(table.header[0] if table.header else None, field)
    if first is not None:
        values.append(first)
    for _, cells in table.rows():
        text = _serial_text(cells[0] if cells else None, field)
        if text is None:
            continue
        values.append(text)
        if len(values) > SERIALS.rows:
            raise _refuse(f"The file has more than {SERIALS.rows:,} rows", field)
    return values
