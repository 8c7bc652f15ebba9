"""The evidence pack's own files: manifest.xlsx (streamed, row by row), audit-summary.csv
and README.txt. Text is formula-safe and XML-safe (``funds.returns.xlsx``); money is an
exact Decimal written as a number in pounds with the £ format."""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from funds.downloads import csv_text
from funds.evidence.pack_queries import (
    audit_rows,
    batch_rows,
    ledger_rows,
    session_rows,
)
from funds.models import DeliveryMethod, EvidenceKind, Grant
from funds.payment_status import PaymentStatus
from funds.returns.xlsx import (
    BOLD,
    MONEY_FORMAT,
    TITLE,
    DataRows,
    add_table,
    date_cell,
    formula_cell,
    header_row,
    new_sheet,
    new_workbook,
    number_cell,
    text_cell,
)


@dataclass(frozen=True)
class PackFile:
    """One evidence file as the manifest lists it."""

    kind: EvidenceKind
    record_id: int | None
    #: Its path in the zip, or None when it is not in the pack.
    name: str | None
    sha256: str
    size: int
    content_type: str
    uploaded_by: str
    uploaded_at: datetime
    scan: str
    #: Why it is not in the pack, or a warning about it; "" when all is well.
    note: str = ""

    @property
    def attached_to(self) -> str:
        if self.record_id is None:
            return self.kind.label
        return f"{self.kind.label} {self.record_id}"


@dataclass
class PackFiles:
    """The pack's evidence files by record."""

    by_record: dict[tuple[EvidenceKind, int | None], list[PackFile]] = field(
        default_factory=dict
    )

    def add(self, item: PackFile) -> None:
        self.by_record.setdefault((item.kind, item.record_id), []).append(item)

    def of(self, kind: EvidenceKind, record_id: int | None) -> list[PackFile]:
        return self.by_record.get((kind, record_id), [])

    def all(self) -> Iterable[PackFile]:
        for files in self.by_record.values():
            yield from files

    @property
    def included(self) -> int:
        return sum(1 for f in self.all() if f.name is not None)

    @property
    def left_out(self) -> int:
        return sum(1 for f in self.all() if f.name is None)


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _file_columns(files: list[PackFile]) -> list[str]:
    """Names, hashes, uploaders, upload times and notes, one line per file."""
    shown = [f for f in files if f.name is not None]
    return [
        "\n".join(f.name for f in shown),
        "\n".join(f.sha256 for f in shown),
        "\n".join(f.uploaded_by for f in shown),
        "\n".join(_when(f.uploaded_at) for f in shown),
        "\n".join(f.note for f in files if f.note),
    ]


_FILE_HEADINGS = [
    ("Evidence files (in the pack)", "text", 22),
    ("SHA-256", "text", 30),
    ("Uploaded by", "text", 18),
    ("Uploaded at", "text", 22),
    ("Evidence not included / notes", "text", 36),
]

LEDGER_COLUMNS = [
    ("Ledger id", "number", 10),
    ("Date", "date", 12),
    ("Amount", "money", 13),
    ("Reverses ledger id", "number", 11),
    ("Budget line", "text", 18),
    ("Spend category", "text", 18),
    ("Item", "text", 18),
    ("Quantity", "number", 9),
    ("Supplier", "text", 20),
    ("Delivery method", "text", 16),
    ("Payment status", "text", 16),
    ("Paid on", "date", 12),
    ("Payment reference", "text", 16),
    ("Household or young person (reference)", "text", 16),
    ("Voucher serials", "text", 18),
    ("Receipt or invoice reference", "text", 18),
    ("Recorded by", "text", 18),
    *_FILE_HEADINGS,
]

BATCH_COLUMNS = [
    ("Batch", "number", 9),
    ("Bought on", "date", 12),
    ("Supplier", "text", 20),
    ("Supplier's reference", "text", 16),
    ("Item", "text", 18),
    ("Face value", "money", 12),
    ("Quantity", "number", 9),
    ("Cost", "money", 13),
    ("Expires on", "date", 12),
    ("First serial", "text", 14),
    ("Last serial", "text", 14),
    *_FILE_HEADINGS,
]

SESSION_COLUMNS = [
    ("Session", "number", 9),
    ("Held on", "date", 12),
    ("Activity", "text", 18),
    ("Supplier", "text", 20),
    ("Cost", "money", 13),
    ("Ledger id", "number", 10),
    ("Attendees (count)", "number", 10),
    ("Carers (count)", "number", 10),
    *_FILE_HEADINGS,
]

FILE_COLUMNS = [
    ("Attached to", "text", 20),
    ("File in the pack", "text", 24),
    ("SHA-256", "text", 66),
    ("Size (bytes)", "number", 12),
    ("Type", "text", 18),
    ("Uploaded by", "text", 18),
    ("Uploaded at", "text", 22),
    ("Virus scan", "text", 22),
    ("Not included / notes", "text", 40),
]


def _data_sheet(workbook, title: str, columns) -> tuple[object, DataRows]:
    ws = new_sheet(workbook, title, [c[2] for c in columns], freeze="A2")
    rows = DataRows(ws, [c[1] for c in columns])
    rows.header(header_row(ws, [c[0] for c in columns]))
    return ws, rows


def _finish(ws, rows: DataRows, columns, name: str) -> int:
    written = rows.row - 1
    add_table(ws, name, [c[0] for c in columns], written + 1)
    return written


def _ledger_sheet(workbook, grant: Grant, date_from, date_to, files: PackFiles):
    ws, out = _data_sheet(workbook, "Ledger lines", LEDGER_COLUMNS)
    reversals = 0
    for row in ledger_rows(grant.id, date_from, date_to):
        (ident, day, amount, reverses, budget_line, category, item, quantity) = row[:8]
        (supplier, method, status, paid_on, payment_ref, beneficiary) = row[8:14]
        (serials, evidence_ref, recorded_by) = row[14:]
        reversals += reverses is not None
        out.append(
            [
                ident,
                day,
                amount,
                reverses,
                category if budget_line is not None else "",
                category,
                item,
                quantity,
                supplier,
                DeliveryMethod(method).label,
                PaymentStatus(status).label,
                paid_on,
                payment_ref,
                beneficiary,
                serials,
                evidence_ref,
                recorded_by,
                *_file_columns(files.of(EvidenceKind.AWARD, ident)),
            ]
        )
    return _finish(ws, out, LEDGER_COLUMNS, "LedgerLines"), reversals


def _batch_sheet(workbook, grant: Grant, date_from, date_to, files: PackFiles) -> int:
    ws, out = _data_sheet(workbook, "Voucher batches", BATCH_COLUMNS)
    for row in batch_rows(grant.id, date_from, date_to):
        out.append([*row, *_file_columns(files.of(EvidenceKind.VOUCHER_BATCH, row[0]))])
    return _finish(ws, out, BATCH_COLUMNS, "VoucherBatches")


def _session_sheet(workbook, grant: Grant, date_from, date_to, files: PackFiles) -> int:
    ws, out = _data_sheet(workbook, "Activity sessions", SESSION_COLUMNS)
    for row in session_rows(grant.id, date_from, date_to):
        out.append([*row, *_file_columns(files.of(EvidenceKind.SESSION, row[0]))])
    return _finish(ws, out, SESSION_COLUMNS, "ActivitySessions")


def _files_sheet(workbook, files: PackFiles) -> None:
    ws, out = _data_sheet(workbook, "Evidence files", FILE_COLUMNS)
    for f in files.all():
        out.append(
            [
                f.attached_to,
                f.name or "",
                f.sha256,
                f.size,
                f.content_type,
                f.uploaded_by,
                _when(f.uploaded_at),
                f.scan,
                f.note,
            ]
        )
    _finish(ws, out, FILE_COLUMNS, "EvidenceFiles")


@dataclass(frozen=True)
class ManifestFacts:
    """What the summary sheet says about the pack as a whole."""

    grant: Grant
    date_from: date
    date_to: date
    total: Decimal
    prepared_by: str
    built_at: datetime
    funder_return: str


@dataclass(frozen=True)
class ManifestCounts:
    lines: int
    reversals: int
    batches: int
    sessions: int


def write_manifest(target, facts: ManifestFacts, files: PackFiles) -> ManifestCounts:
    """Write manifest.xlsx to ``target`` (a binary file): a summary, then one sheet each
    for ledger lines, voucher batches, activity sessions and evidence files."""
    grant = facts.grant
    workbook = new_workbook()
    summary = new_sheet(workbook, "Summary", [40, 60])
    lines, reversals = _ledger_sheet(
        workbook, grant, facts.date_from, facts.date_to, files
    )
    batches = _batch_sheet(workbook, grant, facts.date_from, facts.date_to, files)
    sessions = _session_sheet(workbook, grant, facts.date_from, facts.date_to, files)
    _files_sheet(workbook, files)

    def pair(label: str, value_cell) -> None:
        summary.append([text_cell(summary, label, font=BOLD), value_cell])

    def text(label: str, value: str) -> None:
        pair(label, text_cell(summary, value))

    summary.append(
        [text_cell(summary, f"Evidence pack: {grant.reference}", font=TITLE)]
    )
    text("Grant", f"{grant.reference} – {grant.title}")
    text("Funder", grant.funder.name)
    text("Grant period", f"{grant.starts_on:%d/%m/%Y} to {grant.ends_on:%d/%m/%Y}")
    for label, day in (
        ("Pack period from", facts.date_from),
        ("Pack period to", facts.date_to),
    ):
        pair(label, date_cell(summary, day))
    pair("Ledger lines in the period", number_cell(summary, lines))
    pair("of which reversals", number_cell(summary, reversals))
    last = max(lines + 1, 2)
    pair(
        "Total of the ledger lines in the period",
        formula_cell(
            summary,
            f"=SUM('Ledger lines'!C2:C{last})",
            facts.total,
            number_format=MONEY_FORMAT,
            font=BOLD,
        ),
    )
    pair("Voucher batches bought in the period", number_cell(summary, batches))
    pair("Activity sessions held in the period", number_cell(summary, sessions))
    pair("Evidence files in the pack", number_cell(summary, files.included))
    pair(
        "Evidence files listed but not in the pack",
        number_cell(summary, files.left_out),
    )
    text("Funder return", facts.funder_return)
    text("Prepared by", facts.prepared_by)
    text("Built at", _when(facts.built_at))
    workbook.save(target)
    return ManifestCounts(lines, reversals, batches, sessions)


# --- the audit summary ----------------------------------------------------------------

_OBJECT_LABELS = {
    "grants": "Grant",
    "disbursements": "Ledger line",
    "voucher_batches": "Voucher batch",
    "activity_sessions": "Activity session",
    "evidence_files": "Evidence file",
}


def write_audit_summary(target, grant: Grant, date_from: date, date_to: date) -> int:
    """audit-summary.csv to ``target`` (a text file): each event (when, who, action,
    object), then a count per action. Returns how many events."""
    writer = csv.writer(target, lineterminator="\r\n")
    target.write("\ufeff")
    writer.writerow(["When (UTC)", "Who", "Action", "Object"])
    counts: Counter[str] = Counter()
    for at, who, action, object_type, object_id in audit_rows(
        grant.id, date_from, date_to
    ):
        counts[action] += 1
        label = _OBJECT_LABELS.get(object_type or "", object_type or "")
        if object_type == "grants":
            label = f"Grant {grant.reference}"
        elif object_id is not None:
            label = f"{label} {object_id}"
        writer.writerow(
            [csv_text(at), csv_text(who or "System"), csv_text(action), csv_text(label)]
        )
    writer.writerow([])
    writer.writerow(["Action", "Events"])
    for action, number in sorted(counts.items()):
        writer.writerow([csv_text(action), str(number)])
    return sum(counts.values())


README = """Evidence pack for grant {reference}
Period: {date_from:%d %B %Y} to {date_to:%d %B %Y} (both days included)
Built: {built_at} by {prepared_by}

What is in this pack
--------------------
manifest.xlsx
    Summary: the grant, the period, how many ledger lines and the period's total
        (a formula over the Ledger lines sheet that also stores its value).
    Ledger lines: one row per line of the grant's ledger dated in the period, awards
        and reversals alike (a reversal is a negative amount naming the line it
        reverses), with its budget line, category, item, supplier, how it was given,
        payment status, the household or young person's reference (never a name),
        voucher serials, and its evidence files: their names in this pack, SHA-256,
        who uploaded each and when.
    Voucher batches: batches bought in the period, with their evidence files.
    Activity sessions: sessions held in the period (attendance as counts only).
    Evidence files: every evidence file of those records and of the grant
        agreement, one row each, including files that are not in the pack and why
        (removed, or not passed by the virus scanner).
evidence/
    The evidence files, named <ledger id>-<n>, batch-<id>-<n>, session-<id>-<n> and
    agreement-<n>. Check a file against the manifest with its SHA-256, e.g.
    `sha256sum evidence/12-1.pdf` or `Get-FileHash evidence\\12-1.pdf`.
{return_line}
audit-summary.csv
    The audit trail in the period about this grant, its ledger lines, voucher
    batches, sessions and evidence files: when, who, what, on which record, without
    the values changed; then the number of events of each kind.

No name, contact detail or note about a person helped is in this pack: people are
identified by their pseudonymous references only.
"""


def readme_text(
    facts: ManifestFacts, return_name: str | None, return_reason: str | None
) -> str:
    if return_name:
        return_line = (
            f"{return_name}\n    The funder return for the period, as the Returns "
            "pages build it from the ledger."
        )
    else:
        return_line = (
            "return-not-included.txt\n    Why the funder return is not in this pack: "
            f"{return_reason}"
        )
    return README.format(
        reference=_plain(facts.grant.reference),
        date_from=facts.date_from,
        date_to=facts.date_to,
        built_at=_when(facts.built_at),
        prepared_by=_plain(facts.prepared_by),
        return_line=return_line,
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _plain(text: str) -> str:
    """Text for README.txt: no control characters."""
    return _CONTROL.sub("?", text)


def text_file(text: str) -> bytes:
    """A small text member: UTF-8, Windows line ends (read by Notepad as well)."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
