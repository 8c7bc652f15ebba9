"""Helpers for the evidence pack's tests: evidence rows made directly, packs opened."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

from openpyxl import load_workbook

from funds.evidence import storage
from funds.extensions import db
from funds.models import EvidenceFile, EvidenceKind, ScanStatus

#: Names no pack may ever hold: formula leads, wildcards, markup, a non-character.
HOSTILE_NAMES = (
    '=HYPERLINK("http://x","Zelda Quixote")*?~<>\ufffe',
    "+Yvonne Hostile-Pemberton",
)
HOSTILE_MARKERS = ("Zelda", "Quixote", "Yvonne", "Pemberton", "0779 000")

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40


def add_file(
    grant_id: int,
    kind: EvidenceKind,
    *,
    uploader_id: int,
    record_id: int | None = None,
    data: bytes = PDF,
    content_type: str = "application/pdf",
    scan: ScanStatus = ScanStatus.NOT_REQUIRED,
    removed_reason: str | None = None,
) -> int:
    """An evidence file saved through storage and recorded (inside an app context)."""
    stored, sha = storage.save(data)
    row = EvidenceFile(
        stored_name=stored,
        original_name="receipt of Zelda Quixote.pdf",
        content_type=content_type,
        size_bytes=len(data),
        sha256=sha,
        kind=kind,
        grant_id=grant_id,
        disbursement_id=record_id if kind == EvidenceKind.AWARD else None,
        voucher_batch_id=record_id if kind == EvidenceKind.VOUCHER_BATCH else None,
        session_id=record_id if kind == EvidenceKind.SESSION else None,
        description="Zelda Quixote's receipt",
        scan_status=scan,
        uploaded_by_id=uploader_id,
    )
    if removed_reason is not None:
        storage.delete(stored)
        row.removed_at = datetime(2024, 7, 1, 9, 30, tzinfo=UTC)
        row.removed_by_id = uploader_id
        row.removed_reason = removed_reason
    db.session.add(row)
    db.session.commit()
    return row.id


def sheet_rows(workbook, title: str) -> list[dict]:
    ws = workbook[title]
    rows = list(ws.iter_rows(values_only=True))
    headings = rows[0]
    return [dict(zip(headings, row, strict=True)) for row in rows[1:]]


class Pack:
    """An evidence pack opened for checking."""

    def __init__(self, data: bytes):
        self.data = data
        self.zip = zipfile.ZipFile(io.BytesIO(data))
        assert self.zip.testzip() is None
        self.names = self.zip.namelist()
        # the values each cell stores (a formula's stored value), and the formulas
        self.manifest = load_workbook(
            io.BytesIO(self.read("manifest.xlsx")), data_only=True
        )
        self.formulas = load_workbook(io.BytesIO(self.read("manifest.xlsx")))

    def read(self, name: str) -> bytes:
        return self.zip.read(name)

    def rows(self, title: str) -> list[dict]:
        return sheet_rows(self.manifest, title)

    def summary(self) -> dict:
        return {
            row[0]: row[1]
            for row in self.manifest["Summary"].iter_rows(values_only=True)
            if row and row[0]
        }

    def evidence_members(self) -> list[str]:
        return [n for n in self.names if n.startswith("evidence/")]

    def all_bytes(self):
        """(name, bytes) of every member, and of every member inside each workbook."""
        for name in self.names:
            data = self.read(name)
            yield name, data
            if name.endswith(".xlsx"):
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    for inner_name in inner.namelist():
                        yield f"{name}!{inner_name}", inner.read(inner_name)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pounds(value) -> Decimal:
    """A money cell read back (a float from openpyxl) as exact pounds."""
    return Decimal(repr(value)).quantize(Decimal("0.01"))
