"""The workbook checks count cells and find formula columns without parsing: whatever the
namespace prefix, the spacing, or where the part is cut into pieces."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funds import spreadsheets
from funds.errors import ValidationError
from funds.spreadsheets import Limits

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def _workbook(sheet: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}"/>')
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def _sheet(cells: list[tuple[str, bool]], *, prefix: str = "", space: str = " ") -> str:
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    body = "".join(
        f'<{p}c{space}r="{ref}">'
        + (f"<{p}f>1+1</{p}f>" if formula else "")
        + f"<{p}v>2</{p}v></{p}c>"
        for ref, formula in cells
    )
    return (
        f"<{p}worksheet {xmlns}><{p}sheetData><{p}row>{body}</{p}row>"
        f"</{p}sheetData></{p}worksheet>"
    )


COLUMNS = st.sampled_from(["A", "B", "C", "Z", "AA", "AB", "BZ"])


@settings(max_examples=60, deadline=None)
@given(
    cells=st.lists(st.tuples(COLUMNS, st.booleans()), min_size=1, max_size=30),
    prefix=st.sampled_from(["", "x", "main"]),
    space=st.sampled_from([" ", "\n", "\t "]),
    piece=st.sampled_from([16, 37, 64, 1024 * 1024]),
)
def test_formula_columns_and_cell_counts_whatever_the_spelling(
    cells, prefix, space, piece
):
    cells = [(f"{column}{n + 1}", formula) for n, (column, formula) in enumerate(cells)]
    data = _workbook(_sheet(cells, prefix=prefix, space=space))
    expected = {spreadsheets._column_index(ref) for ref, formula in cells if formula}
    original = spreadsheets._PIECE
    spreadsheets._PIECE = piece
    try:
        limits = Limits(10**7, 100, len(cells), 100)
        assert spreadsheets._check_xlsx(data, "file", limits) == expected
        fewer = Limits(10**7, 100, len(cells) - 1, 100)
        with pytest.raises(ValidationError, match="more than"):
            spreadsheets._check_xlsx(data, "file", fewer)
    finally:
        spreadsheets._PIECE = original


def test_a_document_type_declaration_anywhere_is_refused():
    sheet = _sheet([("A1", False)]).replace(
        "<worksheet", '<!DOCTYPE x [<!ENTITY a "b">]><worksheet'
    )
    with pytest.raises(ValidationError, match="could not be read"):
        spreadsheets._check_xlsx(_workbook(sheet), "file", spreadsheets.IMPORTS)


def test_a_tag_that_never_ends_is_refused(monkeypatch):
    monkeypatch.setattr(spreadsheets, "_LONGEST_TAG", 1000)
    sheet = f'<worksheet xmlns="{MAIN}"><sheetData><row><c r="A1' + "1" * 5000
    with pytest.raises(ValidationError, match="could not be read"):
        spreadsheets._check_xlsx(_workbook(sheet), "file", spreadsheets.IMPORTS)


def test_two_cells_far_apart_are_refused_before_the_reader_lays_out_the_area():
    sheet = _sheet([("A1", False), ("XFD1048576", False)])
    for limits in (spreadsheets.IMPORTS, spreadsheets.SERIALS):
        with pytest.raises(ValidationError, match="more than|too large an area"):
            spreadsheets._check_xlsx(_workbook(sheet), "file", limits)
    wide = _sheet([("A1", False), ("ZZZ20", False)])
    with pytest.raises(ValidationError, match="too large an area"):
        spreadsheets._check_xlsx(
            _workbook(wide), "file", Limits(10**7, 100, 1000, 1000)
        )


def test_every_sheet_is_checked_whichever_the_reader_opens():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}"/>')
        archive.writestr("xl/worksheets/sheet1.xml", _sheet([("A1", False)]))
        archive.writestr(
            "xl/worksheets/sheet2.xml", _sheet([("A1", False), ("XFD1048576", False)])
        )
    with pytest.raises(ValidationError):
        spreadsheets._check_xlsx(buffer.getvalue(), "file", spreadsheets.IMPORTS)


def test_a_file_holding_two_kinds_of_workbook_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("content.xml", "<x/>")
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", f'<workbook xmlns="{MAIN}"/>')
    for name in ("two.ods", "two.xlsx"):
        with pytest.raises(ValidationError, match="could not be read"):
            spreadsheets.open_table(name, buffer.getvalue())


def test_repeated_rows_of_values_count_every_cell_in_an_ods():
    from tests.imports.conftest import ods

    data = ods([["x"]]).replace(b"<table:table-row>", b"<table:table-row>", 1)
    data = _rebuild_ods_rows(data, 5_000_000)
    with pytest.raises(ValidationError, match="cells"):
        spreadsheets.open_table("rows.ods", data)


def _rebuild_ods_rows(data: bytes, repeat: int) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "content.xml":
                body = body.replace(
                    b"<table:table-row>",
                    f'<table:table-row table:number-rows-repeated="{repeat}">'.encode(),
                )
            target.writestr(item, body)
    return out.getvalue()


def test_formula_columns_count_from_the_first_column_read():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B1"], sheet["C1"], sheet["D1"] = "Name", "Amount", "Total"
    sheet["B2"], sheet["C2"], sheet["D2"] = "Ann", 5, "=C2*2"
    buffer = io.BytesIO()
    book.save(buffer)
    table = spreadsheets.open_table("offset.xlsx", buffer.getvalue())
    assert table.header == ["Name", "Amount", "Total"]
    assert table.formula_columns == {2}  # "Total", the third column read
