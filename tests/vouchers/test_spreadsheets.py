"""Reading a supplier's file of serials: CSV and XLSX, and hostile files refused quickly."""

from __future__ import annotations

import io
import zipfile
from unittest import mock

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.formula import ArrayFormula

from funds import spreadsheets
from funds.errors import ValidationError
from funds.spreadsheets import MAX_ROWS, read_first_column
from funds.vouchers.serials import without_header


def _xlsx(rows, *, title="Serials") -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rebuild(
    data: bytes, *, replace: dict | None = None, add: dict | None = None
) -> bytes:
    """A copy of a workbook's zip with some parts replaced or added."""
    replace, add = replace or {}, add or {}
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(
                item, replace.get(item.filename, source.read(item.filename))
            )
        for name, body in add.items():
            target.writestr(name, body)
    return out.getvalue()


def _refused(filename: str, data: bytes, words: str) -> ValidationError:
    """Refused with a message on the field, before the file reaches the reader."""
    reader = spreadsheets.CalamineWorkbook
    with mock.patch.object(spreadsheets, "CalamineWorkbook") as opened:
        opened.from_filelike.side_effect = reader.from_filelike
        with pytest.raises(ValidationError) as refused:
            read_first_column(filename, data, field="serial_file")
    if words not in ("could not be read", "serial numbers", "formulas"):
        assert not opened.from_filelike.called, "a hostile file must not be unpacked"
    assert refused.value.field == "serial_file"
    assert words in refused.value.message
    return refused.value


# --- what a supplier really sends --------------------------------------------------------


def test_a_csv_with_a_header_row():
    data = "Serial number,Value\r\nTES0001,20\r\nTES0002,20\r\n\r\n TES0003 ,20\r\n"
    values = read_first_column("tesco-batch.CSV", data.encode("utf-8"))
    assert values == ["Serial number", "TES0001", "TES0002", "TES0003"]
    assert without_header(values) == ["TES0001", "TES0002", "TES0003"]


def test_a_csv_saved_by_excel_with_a_byte_order_mark():
    data = "\ufeffSerial\r\n1001\r\n1002\r\n".encode()
    assert without_header(read_first_column("s.csv", data)) == ["1001", "1002"]


def test_an_xlsx_with_a_header_and_numeric_serials():
    data = _xlsx([["Serial"], [1001], [1002.0], ["TES0003"], [None], ["  TES0004  "]])
    values = read_first_column("supplier.xlsx", data)
    assert values == ["Serial", "1001", "1002", "TES0003", "TES0004"]
    assert "1001.0" not in values and "1002.0" not in values
    assert without_header(values)[0] == "1001"


def test_only_the_first_column_is_read():
    data = _xlsx([["Serial", "=SUM(1,2)"], ["TES0001", "=A2"]])
    assert read_first_column("s.xlsx", data) == ["Serial", "TES0001"]


# --- refused ------------------------------------------------------------------------------


@pytest.mark.parametrize("formula", ["=A2+1", '=HYPERLINK("http://x")'])
def test_an_xlsx_containing_a_formula_is_refused(formula):
    data = _xlsx([["Serial"], ["TES0001"], [formula]])
    _refused("s.xlsx", data, "formulas")


def test_an_xlsx_containing_an_array_formula_is_refused():
    workbook = Workbook()
    workbook.active["A1"] = "TES0001"
    workbook.active["A2"] = ArrayFormula("A2:A2", "=SUM(A1:A1)")
    buffer = io.BytesIO()
    workbook.save(buffer)
    _refused("s.xlsx", buffer.getvalue(), "formulas")


def test_a_date_in_the_first_column_is_refused():
    from datetime import datetime

    _refused("s.xlsx", _xlsx([["Serial"], [datetime(2024, 5, 1)]]), "serial numbers")


@pytest.mark.parametrize("filename", ["macros.xlsm", "macros.xlsx"])
def test_a_macro_enabled_workbook_is_refused(filename):
    data = _rebuild(
        _xlsx([["TES0001"]]), add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0fake"}
    )
    _refused(filename, data, "macros")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    # 60 MB of zeros packs into about 60 KB: a sheet that would unpack to 60 MB.
    data = _rebuild(
        _xlsx([["TES0001"]]),
        add={"xl/worksheets/sheet2.xml": b"\0" * (60 * 1024 * 1024)},
    )
    assert len(data) < 1024 * 1024
    _refused("bomb.xlsx", data, "too large once unpacked")


def test_a_highly_compressed_part_is_refused():
    # Under the size limit but packed far tighter than any real workbook part.
    data = _rebuild(
        _xlsx([["TES0001"]]),
        add={"xl/media/padding.bin": b"\0" * (5 * 1024 * 1024)},
    )
    _refused("bomb.xlsx", data, "could not be read safely")


def test_a_workbook_of_many_parts_is_refused():
    data = _rebuild(
        _xlsx([["TES0001"]]), add={f"xl/extra/{n}.xml": b"<a/>" for n in range(300)}
    )
    _refused("parts.xlsx", data, "too many parts")


@pytest.mark.parametrize(
    "data",
    [
        b"this is a text file renamed to .xlsx",
        b"PK\x03\x04 truncated zip",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .xls or a password-protected file",
        b"",
    ],
)
def test_a_file_that_is_not_a_workbook_is_refused(data):
    _refused("renamed.xlsx", data, "could not be read")


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hello")
    _refused("archive.xlsx", out.getvalue(), "could not be read")


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>
</worksheet>"""


@pytest.mark.parametrize(
    "part", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"]
)
def test_a_billion_laughs_workbook_is_refused(part):
    data = _rebuild(_xlsx([["TES0001"]]), replace={part: BILLION_LAUGHS})
    _refused("laughs.xlsx", data, "could not be read")


def test_an_external_entity_is_refused():
    xxe = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row>'
        b"</sheetData></worksheet>"
    )
    data = _rebuild(_xlsx([["TES0001"]]), replace={"xl/worksheets/sheet1.xml": xxe})
    _refused("xxe.xlsx", data, "could not be read")


@pytest.mark.parametrize(
    ("filename", "words"),
    [
        ("serials.xls", "old .xls workbooks are not read here"),
        ("serials.txt", "Upload"),
        ("", "Upload"),
    ],
)
def test_other_kinds_of_file_are_refused(filename, words):
    _refused(filename, b"TES0001\n", words)


def test_a_csv_that_is_not_utf8_is_refused():
    _refused("s.csv", "Série\n1001\n".encode("utf-16"), "UTF-8")


def test_a_csv_with_a_giant_field_is_refused():
    _refused("s.csv", b'"' + b"A" * 200_000 + b'"\n', "could not be read")


def test_a_csv_with_too_many_rows_is_refused():
    data = "\n".join(f"S{n}" for n in range(MAX_ROWS + 2)).encode()
    _refused("s.csv", data, "more than 20,000 rows")


SHEET_HEAD = (
    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
    b'spreadsheetml/2006/main"><sheetData>'
)


def test_a_small_file_of_very_many_strings_is_refused_before_reading():
    """900,000 short shared strings packed into 2 MB once took 8 s and 138 MB to refuse."""
    strings = b"".join(b"<si><t>%d</t></si>" % n for n in range(60_000))
    table = (
        b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main">' + strings + b"</sst>"
    )
    data = _rebuild(_xlsx([["TES0001"]]), add={"xl/sharedStrings.xml": table})
    _refused("strings.xlsx", data, "more than 50,000 different pieces of text")


def test_a_sheet_of_very_many_cells_is_refused_before_reading():
    cells = b"".join(
        b'<row r="%d"><c><v>1</v></c><c><v>2</v></c></row>' % n
        for n in range(1, 110_001)
    )
    sheet = SHEET_HEAD + cells + b"</sheetData></worksheet>"
    data = _rebuild(_xlsx([["TES0001"]]), replace={"xl/worksheets/sheet1.xml": sheet})
    _refused("cells.xlsx", data, "more than 200,000 cells")


def test_the_largest_list_of_serials_is_still_read():
    rows = [["Serial"]] + [[f"TES{n:06d}"] for n in range(1, MAX_ROWS)]
    values = read_first_column("big.xlsx", _xlsx(rows), field="serial_file")
    assert len(without_header(values)) == MAX_ROWS - 1
