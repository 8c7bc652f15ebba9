"""The accounting import files: Xero bills, a Xero bank statement, a QuickBooks Online bank
upload and Sage Business Cloud journals, each split into files the system accepts.

Every file is UTF-8 CSV without a byte-order mark (an import reads its first heading
exactly), with the headings each system publishes, dates DD/MM/YYYY (UK organisations),
and amounts as plain numbers with two decimals (``-12.50``), never text. Any other text
that starts with ``= + - @`` (or a tab or line end) gets a leading apostrophe, as in every
other download, so nothing a user typed becomes a formula when the file is opened. No
name of a person helped appears: lines are described by item, category, funds' id and the
household's or young person's pseudonymous reference at most.

The limits (module constants, so tests can make them small) split a long period into
several files: a bill or a journal is never split between two files.
"""

from __future__ import annotations

import csv
import io
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from funds.downloads import csv_text
from funds.exports.queries import BATCH, REVERSAL, PaymentLine, txn_id

#: Xero: at most 500 invoices (bills) per file, 1000 lines per bank statement file.
XERO_MAX_INVOICES = 500
XERO_BANK_MAX_LINES = 1000
#: QuickBooks Online: a bank file of at most 350 KB (kept under 350,000 bytes).
QUICKBOOKS_MAX_BYTES = 350_000
#: Sage Business Cloud: a journal file of at most 0.5 MB (kept under 500,000 bytes).
SAGE_MAX_BYTES = 500_000
#: Sage: a journal's reference (a new reference starts a new journal).
SAGE_REFERENCE_LENGTH = 75
SAGE_TEXT_LENGTH = 200

XERO_BILLS_HEADINGS = (
    "*ContactName",
    "EmailAddress",
    "POAddressLine1",
    "POAddressLine2",
    "POAddressLine3",
    "POAddressLine4",
    "POCity",
    "PORegion",
    "POPostalCode",
    "POCountry",
    "*InvoiceNumber",
    "Reference",
    "*InvoiceDate",
    "*DueDate",
    "Total",
    "InventoryItemCode",
    "*Description",
    "*Quantity",
    "*UnitAmount",
    "Discount",
    "*AccountCode",
    "*TaxType",
    "TaxAmount",
    "TrackingName1",
    "TrackingOption1",
    "TrackingName2",
    "TrackingOption2",
    "Currency",
    "BrandingTheme",
)
XERO_BANK_HEADINGS = ("Date", "Amount", "Payee", "Description", "Reference")
QUICKBOOKS_HEADINGS = ("Date", "Description", "Amount")
# Sage's template (columns A-F, J, K); the optional columns between F and J are left
# out: Sage lets columns be reordered and unused ones dropped, and their UK headings
# were not found in public sources.
SAGE_HEADINGS = (
    "Reference",
    "Date",
    "Description",
    "Ledger Account Number",
    "Details",
    "Analysis Type 1",
    "Debit",
    "Credit",
)


@dataclass(frozen=True)
class Context:
    """What a file needs besides its lines (from the grant and the app's configuration)."""

    grant_code: str
    tracking_name: str
    bank_nominal: str
    default_contact: str


@dataclass(frozen=True)
class Limits:
    """How much one file may hold; None is no limit."""

    groups: int | None = None
    rows: int | None = None
    size: int | None = None


def day(line: PaymentLine) -> str:
    return f"{line.on:%d/%m/%Y}"


def payee(line: PaymentLine, ctx: Context) -> str:
    return (line.supplier or "").strip() or ctx.default_contact


def describe(line: PaymentLine) -> str:
    """What the line was for, without any name of a person helped."""
    what = f"{line.item} ({line.category})"
    if line.quantity > 1:
        what = f"{line.quantity} x {what}"
    if line.kind == BATCH:
        return f"{what} vouchers of {line.face_value:.2f} each, batch {line.txn_id}"
    if line.kind == REVERSAL:
        text = f"Reversal of {txn_id(line.reverses_id)}: {what}"
    else:
        text = f"{what}, award {line.txn_id}"
    if line.beneficiary:
        text += f", {line.beneficiary}"
    return text


def reference(line: PaymentLine) -> str:
    """The payment's reference (a reversal names the award it cancels)."""
    paid = (line.payment_reference or "").strip()
    if line.kind == REVERSAL:
        credit = f"Reverses {txn_id(line.reverses_id)}"
        return f"{credit}; {paid}" if paid else credit
    return paid


class AccountingFormat(ABC):
    """One accounting system's import file."""

    key: str = ""
    title: str = ""
    description: str = ""
    headings: Sequence[str] = ()
    #: The category codes this file uses (a missing one refuses the export).
    needs_nominal = False
    needs_tax_rate = False
    #: Ledger account codes must be numbers (Sage).
    numeric_nominal = False

    def limits(self) -> Limits:
        return Limits()

    @abstractmethod
    def groups(self, lines: Iterable[PaymentLine], ctx: Context) -> Iterator[list]:
        """Rows in groups that must stay in one file (a bill, a journal)."""


class XeroBills(AccountingFormat):
    key = "xero-bills"
    title = "Xero bills (Purchases) CSV"
    description = (
        "One draft bill per payment, coded to the category's account and tax rate, "
        "tracked to the grant; reversals as credit notes (negative amounts). "
        "Import with amounts tax inclusive."
    )
    headings = XERO_BILLS_HEADINGS
    needs_nominal = True
    needs_tax_rate = True

    def limits(self) -> Limits:
        return Limits(groups=XERO_MAX_INVOICES)

    def groups(self, lines, ctx):
        for line in lines:
            yield [
                [
                    payee(line, ctx),
                    *[""] * 9,
                    line.txn_id,
                    reference(line),
                    day(line),
                    day(line),
                    "",
                    "",
                    describe(line),
                    1,
                    line.amount,
                    "",
                    line.nominal_code,
                    line.tax_rate,
                    "",
                    ctx.tracking_name,
                    ctx.grant_code,
                    "",
                    "",
                    "",
                    "",
                ]
            ]


class XeroBank(AccountingFormat):
    key = "xero-bank"
    title = "Xero bank statement CSV"
    description = (
        "One statement line per payment (money out negative), for matching against "
        "the bills or coding in Xero."
    )
    headings = XERO_BANK_HEADINGS

    def limits(self) -> Limits:
        return Limits(rows=XERO_BANK_MAX_LINES)

    def groups(self, lines, ctx):
        for line in lines:
            yield [
                [
                    day(line),
                    -line.amount,
                    payee(line, ctx),
                    f"{ctx.grant_code}: {describe(line)}",
                    reference(line),
                ]
            ]


class QuickBooks(AccountingFormat):
    key = "quickbooks"
    title = "QuickBooks Online bank CSV (3 columns)"
    description = (
        "Date, Description, Amount (money out negative); the description carries the "
        "grant's code, as QuickBooks' bank file has no class column."
    )
    headings = QUICKBOOKS_HEADINGS

    def limits(self) -> Limits:
        return Limits(size=QUICKBOOKS_MAX_BYTES)

    def groups(self, lines, ctx):
        for line in lines:
            text = f"{payee(line, ctx)}: {describe(line)} [{ctx.grant_code}]"
            paid = reference(line)
            yield [[day(line), f"{text} {paid}" if paid else text, -line.amount]]


class SageJournals(AccountingFormat):
    key = "sage"
    title = "Sage Business Cloud journals CSV"
    description = (
        "One balanced journal per payment: debit the category's ledger account, credit "
        "the bank; the grant's code as Analysis Type 1. Reversals the other way round."
    )
    headings = SAGE_HEADINGS
    needs_nominal = True
    numeric_nominal = True

    def limits(self) -> Limits:
        return Limits(size=SAGE_MAX_BYTES)

    def groups(self, lines, ctx):
        for line in lines:
            ref = line.txn_id[:SAGE_REFERENCE_LENGTH]
            text = describe(line)[:SAGE_TEXT_LENGTH]
            paid = reference(line)
            details = f"{payee(line, ctx)}; {paid}" if paid else payee(line, ctx)
            details = details[:SAGE_TEXT_LENGTH]
            amount = abs(line.amount)
            spend, bank = (amount, None), (None, amount)
            if line.amount < 0:  # money back: credit the spending, debit the bank
                spend, bank = bank, spend
            common = [ref, day(line), text]
            yield [
                [*common, line.nominal_code, details, ctx.grant_code, *spend],
                [*common, ctx.bank_nominal, details, ctx.grant_code, *bank],
            ]


FORMATS: dict[str, AccountingFormat] = {
    fmt.key: fmt for fmt in (XeroBills(), XeroBank(), QuickBooks(), SageJournals())
}


def _encode(rows: Iterable[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    for row in rows:
        writer.writerow([csv_text(value) for value in row])
    return out.getvalue().encode("utf-8")


def write_files(
    fmt: AccountingFormat, lines: Iterable[PaymentLine], ctx: Context
) -> list[bytes]:
    """The files (each with the headings) holding every line, split at the limits; one
    file with only the headings when there are no lines."""
    limits = fmt.limits()
    heading = _encode([fmt.headings])
    files: list[bytes] = []
    parts: list[bytes] = []
    groups = rows = 0
    size = len(heading)
    for group in fmt.groups(lines, ctx):
        encoded = _encode(group)
        full = parts and (
            (limits.groups is not None and groups + 1 > limits.groups)
            or (limits.rows is not None and rows + len(group) > limits.rows)
            or (limits.size is not None and size + len(encoded) > limits.size)
        )
        if full:
            files.append(heading + b"".join(parts))
            parts, groups, rows, size = [], 0, 0, len(heading)
        parts.append(encoded)
        groups += 1
        rows += len(group)
        size += len(encoded)
    files.append(heading + b"".join(parts))
    return files
