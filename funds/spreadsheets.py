"""Reading untrusted uploaded spreadsheets safely (zip-bomb and macro checks before openpyxl)."""

from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
from defusedxml.ElementTree import iterparse

from funds.errors import ValidationError

#: The most a workbook may unpack to (a 20,000-row list of serials is about 2 MB).
MAX_UNCOMPRESSED = 8 * 1024 * 1024
MAX_MEMBERS = 200
#: Deflate rarely packs real XML better than this; a bomb of zeros packs about 1000:1.
MAX_RATIO = 100
#: Parts smaller than this are not checked for their ratio (tiny parts pack oddly).
RATIO_FLOOR = 1024 * 1024
MAX_ROWS = 20_000
#: Caps on the work a small file can ask for: openpyxl reads every shared string into
#: memory before the first row, so a 2 MB file of 900,000 short strings took 8 s and 138 MB.
MAX_SHARED_STRINGS = 50_000
MAX_CELLS = 200_000
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

_UNREADABLE = "The file could not be read: upload a .xlsx or .csv file"


def _check_xlsx(data: bytes, field: str) -> None:
    """Refuse a workbook before openpyxl opens it if it is not one, has macros or is a bomb.

    zipfile never unpacks more than a part's declared size, so checking the declared sizes
    bounds what openpyxl can be made to read.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception as error:  # BadZipFile, but also OSError/ValueError on garbage
        raise ValidationError(_UNREADABLE, field=field) from error
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if any(name.lower().endswith("vbaproject.bin") for name in names):
            raise ValidationError(
                "Workbooks with macros are not accepted: save it as .xlsx", field=field
            )
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise ValidationError(_UNREADABLE, field=field)
        if len(members) > MAX_MEMBERS:
            raise ValidationError(
                "The file could not be read: it has too many parts", field=field
            )
        total = sum(member.file_size for member in members)
        if total > MAX_UNCOMPRESSED:
            raise ValidationError("The file is too large once unpacked", field=field)
        for member in members:
            if member.file_size and not member.compress_size:
                raise ValidationError("The file could not be read safely", field=field)
            if (
                member.file_size > RATIO_FLOOR
                and member.file_size / member.compress_size > MAX_RATIO
            ):
                raise ValidationError("The file could not be read safely", field=field)
        _count(
            archive,
            "xl/sharedStrings.xml",
            "si",
            MAX_SHARED_STRINGS,
            field,
            "different pieces of text",
        )
        first_sheet = sorted(
            n
            for n in names
            if n.startswith("xl/worksheets/sheet") and n.endswith(".xml")
        )
        if first_sheet:
            _count(archive, first_sheet[0], "c", MAX_CELLS, field, "cells")


def _count(archive, name: str, tag: str, limit: int, field: str, what: str) -> None:
    """Stream through one part counting ``tag`` elements; refuse past ``limit``.

    Reads as it goes (never the whole part), with defusedxml (no DTDs, no entities).
    """
    if name not in archive.namelist():
        return
    found = 0
    try:
        with archive.open(name) as part:
            for _, element in iterparse(part, events=("end",)):
                if element.tag == _MAIN + tag:
                    found += 1
                    if found > limit:
                        raise ValidationError(
                            f"The file has more than {limit:,} {what}: upload the "
                            "serial numbers only, one a row",
                            field=field,
                        )
                element.clear()
    except ValidationError:
        raise
    except Exception as error:  # malformed XML, a DTD, an entity: all unreadable
        raise ValidationError(_UNREADABLE, field=field) from error


def _read_csv(data: bytes, field: str) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(
            "Save the CSV file as UTF-8 and try again", field=field
        ) from error
    values: list[str] = []
    try:
        for row in csv.reader(io.StringIO(text, newline="")):
            if row and row[0].strip():
                values.append(row[0].strip())
            if len(values) > MAX_ROWS:
                raise ValidationError(
                    f"The file has more than {MAX_ROWS:,} rows", field=field
                )
    except csv.Error as error:  # a field over the size limit, a NUL byte...
        raise ValidationError(
            "The CSV file could not be read: check it opens in a spreadsheet",
            field=field,
        ) from error
    return values


def _cell_text(cell, field: str) -> str | None:
    """A cell's value as text; a formula (of any kind) is refused, never evaluated."""
    if cell is None:
        return None
    if isinstance(cell, bool):
        raise ValidationError(
            "The first column holds TRUE or FALSE values, not serial numbers",
            field=field,
        )
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, (str, int, float)):
        text = str(cell).strip()
        if text.startswith("="):
            raise ValidationError(
                "The file contains formulas: paste the values instead", field=field
            )
        return text or None
    if "formula" in type(cell).__name__.lower():  # ArrayFormula, DataTableFormula
        raise ValidationError(
            "The file contains formulas: paste the values instead", field=field
        )
    # Dates, times and anything else are not serial numbers.
    raise ValidationError(
        "The first column must hold serial numbers as text or whole numbers",
        field=field,
    )


def _read_xlsx(data: bytes, field: str) -> list[str]:
    _check_xlsx(data, field)
    values: list[str] = []
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data),
            read_only=True,
            data_only=False,
            keep_vba=False,
            keep_links=False,
        )
        try:
            sheet = workbook.worksheets[0]
            for (cell,) in sheet.iter_rows(min_col=1, max_col=1, values_only=True):
                text = _cell_text(cell, field)
                if text is None:
                    continue
                values.append(text)
                if len(values) > MAX_ROWS:
                    raise ValidationError(
                        f"The file has more than {MAX_ROWS:,} rows", field=field
                    )
        finally:
            workbook.close()
    except ValidationError:
        raise
    except (
        Exception
    ) as error:  # openpyxl and defusedxml raise many kinds; all mean "unreadable"
        raise ValidationError(_UNREADABLE, field=field) from error
    return values


def read_first_column(filename: str, data: bytes, *, field: str = "file") -> list[str]:
    """The text of the first column of a .csv or .xlsx file, one string per non-empty row.

    Formulas are never evaluated: a cell holding one is refused. A heading row is kept
    (see funds.vouchers.serials.without_header).

    :raises ValidationError: on ``field`` for anything unreadable or unsafe.
    """
    name = (filename or "").lower()
    if name.endswith(".csv"):
        return _read_csv(data, field)
    if name.endswith(".xlsx"):
        return _read_xlsx(data, field)
    if name.endswith((".xlsm", ".xltm", ".xlam")):
        raise ValidationError(
            "Workbooks with macros are not accepted: save it as .xlsx", field=field
        )
    raise ValidationError("Upload a .xlsx or .csv file", field=field)
