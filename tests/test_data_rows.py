"""A data sheet's rows are written as text (funds.returns.xlsx.DataRows): the sheet is the
same, byte for byte, as the one lxml writes element by element, whatever the rows hold,
and every value reads back as it went in."""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml.etree import Element, SubElement

from funds.returns.xlsx import (
    _XML_UNSAFE,
    DANGEROUS_LEAD,
    DataRows,
    header_row,
    new_sheet,
    new_workbook,
    xml_safe,
)

KINDS = ["date", "money", "text", "number", "text"]
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_EPOCH = date(1899, 12, 30)


class ElementRows(DataRows):
    """The reference: each row one lxml element, written through the sheet's own stream
    (how DataRows wrote them before it wrote text)."""

    def append(self, values) -> None:
        self.row += 1
        number = str(self.row)
        row = Element("row", r=number)
        for letter, kind, value in zip(self.letters, self.kinds, values, strict=True):
            if value is None or value == "":
                continue
            ref = letter + number
            if kind == "date":
                cell = SubElement(row, "c", r=ref, s=self.date_style)
                SubElement(cell, "v").text = str((value - _EPOCH).days)
            elif kind == "money":
                cell = SubElement(row, "c", r=ref, s=self.money_style)
                SubElement(cell, "v").text = format(value, "f")
            elif isinstance(value, str):
                text = xml_safe(value) if _XML_UNSAFE.search(value) else value
                cell = SubElement(row, "c", r=ref, t="inlineStr")
                if text[:1] in DANGEROUS_LEAD or text.lstrip()[:1] in DANGEROUS_LEAD:
                    cell.set("s", self.quoted_style)
                node = SubElement(SubElement(cell, "is"), "t")
                node.text = text
                if text != text.strip():
                    node.set(_XML_SPACE, "preserve")
            else:
                cell = SubElement(row, "c", r=ref, t="n")
                SubElement(cell, "v").text = str(value)
        self._xf.write(row)

    def close(self) -> None:
        self.ws._writer.rows = None  # nothing to splice: the rows are in the stream
        super().close()


def _sheet(writer, rows) -> bytes:
    workbook = new_workbook()
    ws = new_sheet(workbook, "Transactions", [10] * len(KINDS))
    out = writer(ws, KINDS)
    out.header(header_row(ws, ["Date", "Amount", "Supplier", "Quantity", "Reference"]))
    for row in rows:
        out.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    with zipfile.ZipFile(buffer) as archive:
        return archive.read("xl/worksheets/sheet1.xml"), buffer.getvalue()


HOSTILE = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(list("*?~=<>&\"'\t\r\n -+@\x00\x0b\ufffe\uffff\U0001f600")),
    ),
    max_size=12,
)
ROWS = st.lists(
    st.tuples(
        st.one_of(st.none(), st.dates(date(1900, 3, 1), date(2100, 12, 31))),
        st.one_of(
            st.none(),
            st.integers(-(10**11), 10**11).map(lambda p: Decimal(p).scaleb(-2)),
        ),
        st.one_of(st.none(), HOSTILE),
        st.one_of(st.none(), st.integers(-(10**12), 10**12)),
        st.one_of(st.none(), HOSTILE),
    ).map(list),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(ROWS)
def test_rows_written_as_text_are_the_sheet_lxml_writes(rows):
    ours, _ = _sheet(DataRows, rows)
    reference, _ = _sheet(ElementRows, rows)
    assert ours == reference


@settings(max_examples=60, deadline=None)
@given(ROWS)
def test_every_value_reads_back_as_it_went_in(rows):
    _, workbook = _sheet(DataRows, rows)
    sheet = openpyxl.load_workbook(io.BytesIO(workbook))["Transactions"]
    read = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(read) <= len(rows)  # empty rows at the end are not read back
    read += [(None,) * 5] * (len(rows) - len(read))
    for written, back in zip(rows, read, strict=True):
        day, amount, supplier, quantity, reference = (list(back) + [None] * 5)[:5]
        assert (day.date() if day else None) == written[0]
        assert (Decimal(str(amount)) if amount is not None else None) == written[1]
        for text, value in ((written[2], supplier), (written[4], reference)):
            assert value == (xml_safe(text) if text else None)
        assert quantity == written[3]


def test_a_long_sheet_is_spliced_whole():
    """Many batches of rows, and the sheet's own end (the table, the print settings)
    after them."""
    start = date(2024, 4, 1)
    rows = [
        [
            start + timedelta(days=n % 365),
            Decimal(n).scaleb(-2),
            f"S{n % 7}",
            n,
            f"R{n}",
        ]
        for n in range(1, 2 * DataRows.BATCH + 17)
    ]
    ours, _ = _sheet(DataRows, rows)
    assert ours == _sheet(ElementRows, rows)[0]
    assert ours.count(b"<row ") == len(rows) + 1
    assert ours.endswith(b"</worksheet>")
