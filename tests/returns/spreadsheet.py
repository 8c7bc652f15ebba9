"""Test helpers: recalculate a workbook in LibreOffice and read its Summary sheet by section."""

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


def recalculate(workbook: bytes, tmp_path: Path, name: str = "return") -> Path:
    """Save the workbook, let LibreOffice recalculate it headless, return the recalculated copy.

    A private profile per call: two conversions sharing one profile can silently produce
    nothing. soffice exits 0 even when it fails, so the output's existence is checked.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / f"{name}.xlsx"
    source.write_bytes(workbook)
    out = tmp_path / "recalculated"
    profile = (tmp_path / "lo-profile").as_uri()
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    result = out / f"{name}.xlsx"
    assert result.exists(), "LibreOffice produced no file"
    return result


def summary_sections(path: Path) -> dict[str, dict[str, list]]:
    """{section title: {row label: [values...]}} from the recalculated Summary sheet."""
    sheet = openpyxl.load_workbook(path, data_only=True)["Summary"]
    sections: dict[str, dict[str, list]] = {}
    current = None
    expect_header = False
    for row in sheet.iter_rows(values_only=True):
        cells = list(row)
        while cells and cells[-1] is None:
            cells.pop()
        if not cells:
            continue
        if len(cells) == 1 and isinstance(cells[0], str):
            # A title row: one cell of text with nothing beside it.
            current = cells[0]
            sections[current] = {}
            expect_header = True
            continue
        if expect_header:
            sections[current]["__header__"] = cells[1:]
            expect_header = False
            continue
        sections[current][str(cells[0])] = cells[1:]
    return sections


def money(value) -> Decimal:
    """A recalculated number as pounds and pence."""
    return Decimal(str(round(value, 2))).quantize(Decimal("0.01"))


MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def scan_xml(workbook: bytes) -> dict[str, dict]:
    """Per sheet: the cells holding a formula, and whether any error cell exists."""
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
            found[sheet.get("name")] = {
                "formulas": [
                    cell.get("r") for cell in cells if cell.find(f"{MAIN}f") is not None
                ],
                "errors": any(cell.get("t") == "e" for cell in cells),
                "xml": xml,
            }
    return found
