"""Building the accounting files and the ledger export of a grant's period, recording each
download in the audit trail, and reconciling funds' figures with the accounts'."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from itertools import combinations

from flask import current_app

from funds.audit import record_event
from funds.database import begin_writing
from funds.downloads import Column
from funds.errors import ValidationError
from funds.exports.formats import FORMATS, Context, write_files
from funds.exports.queries import (
    PaymentLine,
    TimingItem,
    late_reversals,
    ledger_rows,
    paid_total,
    payment_lines,
    txn_id,
    unissued_vouchers,
    unpaid_awards,
)
from funds.models import Grant, User
from funds.money import MoneyError, parse_money

#: The ledger export's formats (the accounting systems' are in funds.exports.formats).
LEDGER_FORMATS = ("csv", "xlsx")
_NUMBER = re.compile(r"[0-9]+", re.ASCII)
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9._-]+", re.ASCII)

#: Configuration and its defaults.
DEFAULTS = {
    # Xero's tracking category the grant's code is an option of.
    "ACCOUNTS_TRACKING_NAME": "Grant",
    # The bank (or control) ledger account the Sage journals credit.
    "ACCOUNTS_BANK_NOMINAL": "1200",
    # The contact or payee of a payment with no supplier (never a person's name).
    "ACCOUNTS_DEFAULT_CONTACT": "Direct support payments",
}


def setting(name: str) -> str:
    """A setting of the hand-off to the accounts (app config, else the default)."""
    value = current_app.config.get(name)
    return str(value).strip() if value not in (None, "") else DEFAULTS[name]


def check_period(date_from: date, date_to: date) -> None:
    """:raises ValidationError: when the period ends before it starts."""
    if date_to < date_from:
        raise ValidationError(
            "The end of the period must be on or after its start", field="date_to"
        )


def code_problems(grant: Grant, lines: list[PaymentLine], system: str) -> list[str]:
    """What must be set before the grant's payments can go to ``system`` (empty: none)."""
    fmt = FORMATS[system]
    problems = []
    if not (grant.accounts_code or "").strip():
        problems.append(
            f"the accounts code of grant {grant.reference} (the code the accounts "
            "know the grant by: edit the grant)"
        )
    categories = {line.category_id: line for line in lines}.values()

    def names(missing) -> str:
        return ", ".join(sorted({line.category for line in missing}))

    if fmt.needs_nominal:
        missing = [c for c in categories if not (c.nominal_code or "").strip()]
        if missing:
            problems.append(
                f"the nominal code of the spending category: {names(missing)}"
            )
    if fmt.numeric_nominal:
        wrong = [
            c
            for c in categories
            if (c.nominal_code or "").strip()
            and not _NUMBER.fullmatch(c.nominal_code.strip())
        ]
        if wrong:
            problems.append(
                "a nominal code of digits only (Sage takes ledger account numbers) "
                f"for: {names(wrong)}"
            )
        if not _NUMBER.fullmatch(setting("ACCOUNTS_BANK_NOMINAL")):
            problems.append(
                "ACCOUNTS_BANK_NOMINAL in the configuration, as a ledger account number"
            )
    if fmt.needs_tax_rate:
        missing = [c for c in categories if not (c.tax_rate or "").strip()]
        if missing:
            problems.append(f"the tax rate of the spending category: {names(missing)}")
    return problems


@dataclass
class AccountingExport:
    """The files of one export: one, or several when the period is over a limit."""

    system: str
    stem: str
    files: list[bytes]
    lines: int
    #: Net of the lines: positive is money out.
    total: Decimal
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.files) == 1:
            self.names = [f"{self.stem}.csv"]
        else:
            self.names = [f"{self.stem}-{n}.csv" for n in range(1, len(self.files) + 1)]

    def zipped(self) -> bytes:
        """The files in one zip archive (for a download of several files)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in zip(self.names, self.files, strict=True):
                archive.writestr(name, data)
        return buffer.getvalue()


def export_stem(grant: Grant, kind: str, date_from: date, date_to: date) -> str:
    """The name files of this export start with (ASCII letters, digits, ``.-_``)."""
    stem = f"{grant.reference}-{kind}-{date_from:%Y%m%d}-{date_to:%Y%m%d}"
    return _UNSAFE_IN_FILENAME.sub("-", stem).strip("-")[:100] or "export"


def build_accounting_export(
    grant: Grant, *, system: str, date_from: date, date_to: date
) -> AccountingExport:
    """The accounting files of the grant's payments in the period (read only).

    :raises ValidationError: for an unknown system, a period ending before it starts, or
        codes not yet set (on ``grant``, listing every one to set).
    """
    if system not in FORMATS:
        raise ValidationError("Choose the accounting system", field="system")
    check_period(date_from, date_to)
    lines = payment_lines(grant.id, date_from, date_to)
    problems = code_problems(grant, lines, system)
    if problems:
        raise ValidationError(
            f"Before exporting to {FORMATS[system].title}, set "
            + "; ".join(problems)
            + ".",
            field="grant",
        )
    ctx = Context(
        grant_code=grant.accounts_code.strip(),
        tracking_name=setting("ACCOUNTS_TRACKING_NAME"),
        bank_nominal=setting("ACCOUNTS_BANK_NOMINAL"),
        default_contact=setting("ACCOUNTS_DEFAULT_CONTACT"),
    )
    files = write_files(FORMATS[system], lines, ctx)
    return AccountingExport(
        system=system,
        stem=export_stem(grant, system, date_from, date_to),
        files=files,
        lines=len(lines),
        total=sum((line.amount for line in lines), Decimal("0.00")),
    )


def record_export(
    grant: Grant,
    *,
    actor: User | None,
    kind: str,
    date_from: date,
    date_to: date,
    lines: int | None = None,
    total: Decimal | None = None,
    files: int = 1,
) -> None:
    """Audit a download of the grant's accounts hand-off (the caller commits it before
    sending the file)."""
    begin_writing()
    after = {"format": kind, "date_from": date_from, "date_to": date_to, "files": files}
    if lines is not None:
        after["lines"] = lines
    if total is not None:
        after["total"] = total
    record_event("export.accounting", actor=actor, obj=grant, after=after)


# --- the ledger export ------------------------------------------------------------------

LEDGER_COLUMNS = (
    Column("app_txn_id", width=14),
    Column("grant_reference", width=16),
    Column("grant_code", width=14),
    Column("budget_line", width=22),
    Column("item", width=22),
    Column("date", "date", 12),
    Column("supplier", width=22),
    Column("description", width=40),
    Column("nominal_code", width=12),
    Column("amount", "money", 12),
    Column("status", width=14),
    Column("payment_date", "date", 12),
    Column("payment_reference", width=18),
    Column("delivery_method", width=16),
    Column("beneficiary_reference", width=14),
)


def ledger_export_rows(grant: Grant, date_from: date, date_to: date):
    """The ledger export's rows (lazily read), in the order of LEDGER_COLUMNS."""
    for (
        id_,
        awarded_on,
        amount,
        supplier,
        item,
        _category_id,
        category,
        nominal_code,
        _tax_rate,
        quantity,
        reverses_id,
        status,
        paid_on,
        payment_reference,
        method,
        beneficiary,
    ) in ledger_rows(grant.id, date_from, date_to):
        what = f"{item} ({category})"
        if quantity > 1:
            what = f"{quantity} x {what}"
        if reverses_id is not None:
            what = f"Reversal of {txn_id(reverses_id)}: {what}"
        yield (
            txn_id(id_),
            grant.reference,
            grant.accounts_code,
            category,
            item,
            awarded_on,
            supplier,
            what,
            nominal_code,
            amount,
            status,
            paid_on,
            payment_reference,
            method.value if method is not None else None,
            beneficiary,
        )


# --- reconciliation ---------------------------------------------------------------------


@dataclass
class TimingGroup:
    key: str
    title: str
    items: list[TimingItem]

    @property
    def total(self) -> Decimal:
        return sum((item.effect for item in self.items), Decimal("0.00"))


@dataclass
class Reconciliation:
    """funds' payments in the period against the accounts' total for the grant's code."""

    grant: Grant
    date_from: date
    date_to: date
    ours: Decimal
    accounts: Decimal
    groups: list[TimingGroup]
    #: The groups whose totals together make up the difference (empty if none do).
    explaining: list[TimingGroup]

    @property
    def difference(self) -> Decimal:
        """accounts − funds."""
        return self.accounts - self.ours

    @property
    def agrees(self) -> bool:
        return self.difference == 0

    @property
    def explained(self) -> bool:
        return self.agrees or bool(self.explaining)

    @property
    def unexplained(self) -> Decimal:
        return self.difference - sum(
            (group.total for group in self.explaining), Decimal("0.00")
        )


def timing_differences(
    grant: Grant, date_from: date, date_to: date
) -> list[TimingGroup]:
    """The known timing differences of the period, each with the sign it would add to
    (accounts − funds) if the accounts already count it."""
    return [
        TimingGroup(
            "unpaid",
            "Awards dated in the period, not yet paid",
            unpaid_awards(grant.id, date_from, date_to),
        ),
        TimingGroup(
            "stock",
            "Vouchers bought in the period, not yet issued",
            unissued_vouchers(grant.id, date_from, date_to),
        ),
        TimingGroup(
            "late-reversals",
            "Reversals dated after a locked period",
            late_reversals(grant.id, date_from, date_to),
        ),
    ]


def reconcile(
    grant: Grant, *, date_from: date, date_to: date, accounts_total: Decimal
) -> Reconciliation:
    """Compare the accounts' total with funds' payments in the period.

    The difference is *explained* when it is nil, or when it equals the total of one or
    more whole groups of known timing differences (say, the accounts already count the
    awards not yet marked paid here); otherwise what is left is shown as unexplained.
    """
    check_period(date_from, date_to)
    ours = paid_total(grant.id, date_from, date_to)
    groups = timing_differences(grant, date_from, date_to)
    difference = accounts_total - ours
    explaining: list[TimingGroup] = []
    if difference != 0:
        present = [group for group in groups if group.items]
        for size in range(1, len(present) + 1):
            match = next(
                (
                    list(chosen)
                    for chosen in combinations(present, size)
                    if sum((g.total for g in chosen), Decimal("0.00")) == difference
                ),
                None,
            )
            if match:
                explaining = match
                break
    return Reconciliation(
        grant=grant,
        date_from=date_from,
        date_to=date_to,
        ours=ours,
        accounts=accounts_total,
        groups=groups,
        explaining=explaining,
    )


def accounts_total_from_table(
    table, *, code: str, code_column: str, amount_column: str, negative_out: bool
) -> Decimal:
    """The sum of ``amount_column`` over the rows whose ``code_column`` is ``code``, from
    an uploaded export of the accounts' transactions (funds.spreadsheets.Table).

    Amounts are read as funds reads money in imports (at most 2 decimal places; a
    leading minus allowed). ``negative_out``: the file shows spending as negative
    amounts (a bank-style export), so the sum is turned round.

    :raises ValidationError: on ``accounts_file`` for a missing column or a bad amount.
    """
    headings = [heading.strip().casefold() for heading in table.header]

    def position(name: str) -> int:
        try:
            return headings.index(name.strip().casefold())
        except ValueError:
            raise ValidationError(
                f"The file has no column headed “{name}”: its columns are "
                + ", ".join(h for h in table.header if h)[:300],
                field="accounts_file",
            ) from None

    code_at, amount_at = position(code_column), position(amount_column)
    pence = Decimal("0.00")
    wanted = code.strip().casefold()
    for number, cells in table.rows():
        if str(cells[code_at] or "").strip().casefold() != wanted:
            continue
        try:
            amount = _amount(cells[amount_at])
        except MoneyError as error:
            raise ValidationError(
                f"Row {number}, {amount_column}: {error}", field="accounts_file"
            ) from error
        if amount is not None:
            pence += amount
    return -pence if negative_out else pence


def _amount(cell) -> Decimal | None:
    """An amount cell of an accounts export: ``-12.5``, ``"£1,234.50"``; never an
    exponent or more than 2 decimal places."""
    if cell is None or (isinstance(cell, str) and not cell.strip()):
        return None
    if isinstance(cell, bool) or not isinstance(cell, (str, int, float)):
        raise MoneyError("Enter an amount in pounds and pence, like 12.50")
    # repr: the shortest text that is this number (12.34, not 12.3399...).
    text = (repr(cell) if isinstance(cell, float) else str(cell)).strip()
    sign = Decimal(1)
    if text.startswith(("-", "\u2212")):
        sign, text = Decimal(-1), text[1:].strip()
    if "e" in text.lower():
        raise MoneyError("Enter an amount in pounds and pence, like 12.50")
    return sign * parse_money(text, minimum=Decimal("0"))
