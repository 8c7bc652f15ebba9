"""Test helpers: read a return's tables back from a workbook (as stored, or after LibreOffice
recalculates it), and compare them with the figures the page shows."""

from __future__ import annotations

import io
import shutil
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from defusedxml import ElementTree

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice (libreoffice-calc) is not installed"
)

# LibreOffice keeps a formula's stored value unless told to recalculate on load: without
# this, a "recalculated" workbook would only echo the values funds wrote.
ALWAYS_RECALCULATE = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
  xmlns:xs="http://www.w3.org/2001/XMLSchema"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">
  <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _soffice(source: Path, target: str, out: Path, profile: Path) -> None:
    """Convert with a private profile that always recalculates (soffice exits 0 even
    when it fails, so callers check the output exists)."""
    user = profile / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(ALWAYS_RECALCULATE)
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def recalculate(workbook: bytes, tmp_path: Path, name: str = "return") -> Path:
    """Let LibreOffice recalculate every formula; return the recalculated copy."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / f"{name}.xlsx"
    source.write_bytes(workbook)
    out = tmp_path / "recalculated"
    _soffice(source, "xlsx", out, tmp_path / "lo-profile")
    result = out / f"{name}.xlsx"
    assert result.exists(), "LibreOffice produced no file"
    return result


def to_pdf(workbook: bytes, tmp_path: Path, name: str = "return") -> Path:
    """The workbook printed to an A4 PDF by LibreOffice."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / f"{name}.xlsx"
    source.write_bytes(workbook)
    out = tmp_path / "pdf"
    _soffice(source, "pdf", out, tmp_path / "lo-profile-pdf")
    result = out / f"{name}.pdf"
    assert result.exists(), "LibreOffice produced no PDF"
    return result


# --- reading tables back --------------------------------------------------------------------------


def sheets_openpyxl(source) -> dict[str, list[list]]:
    """Every sheet's cell values as stored (openpyxl ``data_only``: no recalculation)."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    book = openpyxl.load_workbook(source, data_only=True)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in book}


def sheets_pandas(source: bytes, engine: str) -> dict[str, list[list]]:
    """Every sheet as pandas reads it with ``engine`` (openpyxl or calamine)."""
    import pandas

    frames = pandas.read_excel(
        io.BytesIO(source), sheet_name=None, header=None, engine=engine
    )
    result = {}
    for name, frame in frames.items():
        rows = frame.astype(object).where(frame.notna(), None).values.tolist()
        result[name] = rows
    return result


def sheets_calamine(source: bytes) -> dict[str, list[list]]:
    """Every sheet as python-calamine reads it (stored values only)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(source))
    return {
        name: [
            list(r)
            for r in book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        ]
        for name in book.sheet_names
    }


def _blank(value) -> bool:
    return value is None or value == ""


def read_tables(sheets: dict[str, list[list]], plain: dict) -> dict[tuple, list[list]]:
    """{(sheet, title): [[label, value...] per row]} for every table of the figures,
    found by walking each sheet as the writer lays it out (title, note, heading, rows)."""
    found = {}
    positions: dict[str, int] = {}
    for table in plain["tables"]:
        rows = sheets[table["sheet"]]
        start = positions.get(table["sheet"], 0)
        index = next(
            i
            for i in range(start, len(rows))
            if rows[i] and rows[i][0] == table["title"]
        )
        index += 2 if table["note"] else 1
        heading = [v for v in rows[index] if not _blank(v)]
        assert heading == [h for h in table["heading"] if h], (table["title"], heading)
        width = len(table["heading"])
        body = []
        for offset in range(len(table["rows"])):
            row = list(rows[index + 1 + offset]) + [None] * width
            body.append(row[:width])
        found[(table["sheet"], table["title"])] = body
        positions[table["sheet"]] = index + 1 + len(table["rows"])
    return found


def money(value) -> Decimal:
    """A spreadsheet number as pounds and pence."""
    return Decimal(str(round(float(value), 2))).quantize(Decimal("0.01"))


def _same(expected, actual, kind: str) -> bool:
    if expected is None:
        return _blank(actual)
    if isinstance(expected, str) and expected.startswith("<"):
        return actual == expected
    if _blank(actual) or isinstance(actual, str):
        return False
    if kind == "money":
        return money(actual) == Decimal(str(expected))
    if kind == "share":
        return Decimal(str(round(float(actual), 4))) == Decimal(str(expected))
    if kind == "decimal":
        return money(actual) == Decimal(str(expected))
    return float(actual) == int(expected)


def assert_tables_match(plain: dict, sheets: dict[str, list[list]], where: str) -> int:
    """Every figure of the page equals the workbook's; returns how many were compared."""
    tables = read_tables(sheets, plain)
    compared = 0
    for table in plain["tables"]:
        read = tables[(table["sheet"], table["title"])]
        for row_index, (expected_row, actual_row) in enumerate(
            zip(table["rows"], read, strict=True)
        ):
            label, _kind, *values = expected_row
            assert actual_row[0] == label, (where, table["title"], label, actual_row[0])
            for index, (expected, actual) in enumerate(
                zip(values, actual_row[1:], strict=True)
            ):
                kind = table["kinds"][row_index][index]
                assert _same(expected, actual, kind), (
                    where,
                    table["title"],
                    label,
                    table["heading"][index + 1],
                    expected,
                    actual,
                )
                compared += 1
    return compared


MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def scan_xml(workbook: bytes) -> dict[str, dict]:
    """Per sheet: the cells holding a formula (with or without a stored value), error cells."""
    found = {}
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        targets = {
            rel.get("Id"): rel.get("Target").lstrip("/")
            for rel in rels.iter(f"{PKG}Relationship")
        }
        for sheet in book.iter(f"{MAIN}sheet"):
            member = targets[sheet.get(f"{REL}id")]
            member = member if member.startswith("xl/") else "xl/" + member
            xml = archive.read(member)
            cells = list(ElementTree.fromstring(xml).iter(f"{MAIN}c"))
            formulas = [c for c in cells if c.find(f"{MAIN}f") is not None]
            found[sheet.get("name")] = {
                "formulas": [c.get("r") for c in formulas],
                # A formula with no stored value reads as empty outside a recalculating
                # spreadsheet (an empty text result, t="str", is a value).
                "without_value": [
                    c.get("r")
                    for c in formulas
                    if c.find(f"{MAIN}v") is None
                    or (c.find(f"{MAIN}v").text is None and c.get("t") != "str")
                ],
                "errors": any(c.get("t") == "e" for c in cells),
                "xml": xml,
                "member": member,
            }
    return found
