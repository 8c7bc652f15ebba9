"""The accounting files and the ledger export: headings, totals read back with the csv
module and pandas against the ledger SQL, splitting, formula safety, no names, codes."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from funds.downloads import csv_lines, write_xlsx
from funds.errors import ValidationError
from funds.exports import formats
from funds.exports.formats import FORMATS, Context, write_files
from funds.exports.queries import AWARD, PaymentLine
from funds.exports.services import (
    LEDGER_COLUMNS,
    build_accounting_export,
    ledger_export_rows,
    reconcile,
)
from funds.extensions import db
from funds.models import Grant, SpendCategory
from funds.returns.xlsx import DANGEROUS_LEAD
from tests.exports.conftest import CODE, MAY, MAY_PAID, NAMES, paid_by_sql

PUBLISHED = {
    "xero-bills": "*ContactName,EmailAddress,POAddressLine1,POAddressLine2,"
    "POAddressLine3,POAddressLine4,POCity,PORegion,POPostalCode,POCountry,"
    "*InvoiceNumber,Reference,*InvoiceDate,*DueDate,Total,InventoryItemCode,"
    "*Description,*Quantity,*UnitAmount,Discount,*AccountCode,*TaxType,TaxAmount,"
    "TrackingName1,TrackingOption1,TrackingName2,TrackingOption2,Currency,"
    "BrandingTheme",
    "xero-bank": "Date,Amount,Payee,Description,Reference",
    "quickbooks": "Date,Description,Amount",
    "sage": "Reference,Date,Description,Ledger Account Number,Details,"
    "Analysis Type 1,Debit,Credit",
}
#: Per system: the amount columns (numbers) and how they add up to money paid out.
AMOUNTS = {
    "xero-bills": ("*UnitAmount",),
    "xero-bank": ("Amount",),
    "quickbooks": ("Amount",),
    "sage": ("Debit", "Credit"),
}


def build(app, grant_id, system, period=MAY):
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        return build_accounting_export(
            grant, system=system, date_from=period[0], date_to=period[1]
        )


def paid_out_csv(system: str, data: bytes) -> Decimal:
    """Money paid out according to one file, read with the csv module."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    if system == "xero-bills":
        return sum(
            (Decimal(r["*UnitAmount"]) * int(r["*Quantity"]) for r in rows), Decimal(0)
        )
    if system == "sage":
        spend = [r for r in rows if r["Ledger Account Number"] != "1200"]
        return sum(
            (Decimal(r["Debit"] or "0") - Decimal(r["Credit"] or "0") for r in spend),
            Decimal(0),
        )
    return -sum((Decimal(r["Amount"]) for r in rows), Decimal(0))


def paid_out_pandas(system: str, data: bytes) -> float:
    frame = pd.read_csv(io.BytesIO(data))
    for column in AMOUNTS[system]:
        assert pd.api.types.is_numeric_dtype(frame[column]), column
    if system == "xero-bills":
        return float((frame["*UnitAmount"] * frame["*Quantity"]).sum())
    if system == "sage":
        spend = frame[frame["Ledger Account Number"] != 1200]
        return float(spend["Debit"].fillna(0).sum() - spend["Credit"].fillna(0).sum())
    return float(-frame["Amount"].sum())


@pytest.mark.parametrize("system", list(FORMATS))
def test_headings_and_totals_read_back(app, books, system):
    assert paid_by_sql(app, books["grant"], *MAY) == MAY_PAID
    built = build(app, books["grant"], system)
    assert len(built.files) == 1 and built.total == MAY_PAID
    data = built.files[0]
    assert not data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8").split("\r\n")[0] == PUBLISHED[system]
    assert paid_out_csv(system, data) == MAY_PAID
    assert round(paid_out_pandas(system, data), 2) == float(MAY_PAID)


def test_what_each_line_carries(app, books):
    bills = list(
        csv.DictReader(
            io.StringIO(build(app, books["grant"], "xero-bills").files[0].decode())
        )
    )
    fridge = next(r for r in bills if r["*InvoiceNumber"] == f"FUNDS-{books['fridge']}")
    assert fridge["*InvoiceDate"] == fridge["*DueDate"] == "10/05/2024"
    assert fridge["*AccountCode"] == "5010"
    assert fridge["*TaxType"] == "20% (VAT on Expenses)"
    assert (fridge["TrackingName1"], fridge["TrackingOption1"]) == ("Grant", CODE)
    assert fridge["Reference"] == "BACS-1"
    # A reversal of a paid award is a credit note dated on the reversal.
    credit = next(
        r
        for r in bills
        if r["Reference"].startswith(f"Reverses FUNDS-{books['cooker']}")
    )
    assert credit["*UnitAmount"] == "-300.00" and credit["*InvoiceDate"] == "28/05/2024"
    # The batch is the bank payment for stock vouchers; the awards they made are not.
    assert any(r["*InvoiceNumber"] == f"FUNDS-VB-{books['batch']}" for r in bills)
    assert not any("unpaid" in r["*InvoiceNumber"] for r in bills)
    numbers = {r["*InvoiceNumber"] for r in bills}
    assert f"FUNDS-{books['unpaid']}" not in numbers
    assert f"FUNDS-{books['june']}" not in numbers
    # Sage: every journal balances.
    sage = list(
        csv.DictReader(
            io.StringIO(build(app, books["grant"], "sage").files[0].decode())
        )
    )
    journals: dict[str, Decimal] = {}
    for row in sage:
        journals[row["Reference"]] = journals.get(row["Reference"], Decimal(0)) + (
            Decimal(row["Debit"] or "0") - Decimal(row["Credit"] or "0")
        )
    assert journals and set(journals.values()) == {Decimal(0)}


def test_config_names_the_tracking_category_and_bank(app, books):
    app.config.update(
        ACCOUNTS_TRACKING_NAME="Restricted fund", ACCOUNTS_BANK_NOMINAL="1210"
    )
    bills = build(app, books["grant"], "xero-bills").files[0].decode()
    assert ",Restricted fund,HSF-24," in bills
    assert ",1210," in build(app, books["grant"], "sage").files[0].decode()


@pytest.mark.parametrize("system", list(FORMATS))
def test_text_is_formula_safe_and_nameless(app, books, system):
    data = build(app, books["grant"], system).files[0]
    text = data.decode("utf-8")
    for name in NAMES:
        assert name not in text
    assert "Secret Street" not in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    heading = rows[0]
    numeric = {heading.index(c) for c in AMOUNTS[system]}
    for row in rows[1:]:
        for at, cell in enumerate(row):
            if at in numeric:
                if cell:
                    Decimal(cell)  # a plain number, sign included
                continue
            assert cell[:1] not in DANGEROUS_LEAD, (heading[at], cell)
    assert "'=HYPERLINK(" in text
    if system in ("xero-bills", "xero-bank"):
        assert "British Gas * ? ~ < > Ltd" in text
    # Money out is a real negative number in the bank files.
    if system in ("xero-bank", "quickbooks"):
        amounts = [Decimal(r[heading.index("Amount")]) for r in rows[1:]]
        assert min(amounts) == Decimal("-300.00")


def _lines(n: int, *, supplier: str = "Tesco") -> list[PaymentLine]:
    return [
        PaymentLine(
            AWARD,
            i,
            date(2024, 5, 1),
            Decimal("1.00"),
            supplier,
            "Fridge",
            1,
            "White goods",
            "5010",
            "No VAT",
            f"P{i}",
            "H-0001",
            1,
        )
        for i in range(1, n + 1)
    ]


CTX = Context("HSF-24", "Grant", "1200", "Direct support payments")


def test_xero_bills_split_at_500_invoices():
    files = write_files(FORMATS["xero-bills"], _lines(501), CTX)
    assert [len(f.decode().split("\r\n")) - 2 for f in files] == [500, 1]
    assert all(f.decode().startswith("*ContactName,") for f in files)


def test_xero_bank_split_at_1000_lines():
    files = write_files(FORMATS["xero-bank"], _lines(1001), CTX)
    assert [len(f.decode().split("\r\n")) - 2 for f in files] == [1000, 1]


@pytest.mark.parametrize(
    ("system", "limit"), [("quickbooks", 350_000), ("sage", 500_000)]
)
def test_size_limits(system, limit):
    files = write_files(FORMATS[system], _lines(6000, supplier="S" * 60), CTX)
    assert len(files) >= 2
    assert all(len(f) <= limit for f in files)
    total = sum(len(f.decode().split("\r\n")) - 2 for f in files)
    assert total == 6000 * (2 if system == "sage" else 1)
    if system == "sage":  # a journal is never split between files
        for f in files:
            assert (len(f.decode().split("\r\n")) - 2) % 2 == 0


def test_no_lines_gives_headings_only():
    assert write_files(FORMATS["quickbooks"], [], CTX) == [
        b"Date,Description,Amount\r\n"
    ]


def test_split_export_of_real_lines(app, books, monkeypatch):
    monkeypatch.setattr(formats, "XERO_MAX_INVOICES", 3)
    built = build(app, books["grant"], "xero-bills")
    assert len(built.files) == 3
    assert built.names[0].endswith("-1.csv")
    assert sum(paid_out_csv("xero-bills", f) for f in built.files) == MAY_PAID


def test_missing_codes_are_listed(app, books):
    with app.app_context():
        db.session.get(Grant, books["grant"]).accounts_code = None
        food = db.session.scalar(
            db.select(SpendCategory).where(SpendCategory.name == "White goods")
        )
        food.nominal_code = None
        food.tax_rate = ""
        db.session.commit()
    with pytest.raises(ValidationError) as refused:
        build(app, books["grant"], "xero-bills")
    message = refused.value.message
    assert "accounts code of grant HSF" in message
    assert "nominal code of the spending category: White goods" in message
    assert "tax rate of the spending category: White goods" in message
    # The bank files use neither nominal codes nor tax rates, but do need the grant code.
    with pytest.raises(ValidationError, match="accounts code"):
        build(app, books["grant"], "quickbooks")


def test_sage_needs_numeric_ledger_accounts(app, books):
    with app.app_context():
        db.session.scalar(
            db.select(SpendCategory).where(SpendCategory.name == "Food")
        ).nominal_code = "FOOD"
        db.session.commit()
    with pytest.raises(ValidationError, match="digits only .* for: Food"):
        build(app, books["grant"], "sage")
    assert build(app, books["grant"], "xero-bank").lines == 8


def test_ledger_export(app, books, tmp_path):
    with app.app_context():
        grant = db.session.get(Grant, books["grant"])
        text = "".join(csv_lines(LEDGER_COLUMNS, ledger_export_rows(grant, *MAY)))
        target = tmp_path / "ledger.xlsx"
        written = write_xlsx(
            target, "Ledger lines", LEDGER_COLUMNS, ledger_export_rows(grant, *MAY)
        )
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == [c.heading for c in LEDGER_COLUMNS]
    assert written == len(rows)
    by_id = {r["app_txn_id"]: r for r in rows}
    assert by_id[f"FUNDS-{books['fridge']}"]["status"] == "paid"
    assert by_id[f"FUNDS-{books['unpaid']}"]["status"] == "unpaid"
    assert by_id[f"FUNDS-{books['cooker']}"]["status"] == "reversed"
    assert by_id[f"FUNDS-{books['fridge']}"]["payment_reference"] == "BACS-1"
    assert {r["status"] for r in rows} >= {"voucher-stock", "reversal"}
    for name in NAMES:
        assert name not in text
    # The ledger's net for the period equals the SQL sum of lines dated in it.
    with app.app_context():
        pence = db.session.scalar(
            db.text(
                "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g "
                "AND awarded_on BETWEEN :a AND :b"
            ).bindparams(
                db.bindparam("a", type_=db.Date), db.bindparam("b", type_=db.Date)
            ),
            {"g": books["grant"], "a": MAY[0], "b": MAY[1]},
        )
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(pence) / 100
    sheet = openpyxl.load_workbook(target).active
    assert [c.value for c in sheet[1]] == [c.heading for c in LEDGER_COLUMNS]
    assert sheet.max_row == len(rows) + 1


@pytest.mark.parametrize(
    ("accounts", "outcome", "explaining"),
    [
        ("365.50", "agrees", []),
        ("545.50", "explained", ["unpaid"]),
        ("205.50", "explained", ["stock"]),
        ("325.50", "explained", ["late-reversals"]),
        ("385.50", "explained", ["unpaid", "stock"]),
        ("1000.00", "unexplained", []),
    ],
)
def test_reconciliation(app, books, accounts, outcome, explaining):
    with app.app_context():
        result = reconcile(
            db.session.get(Grant, books["grant"]),
            date_from=MAY[0],
            date_to=MAY[1],
            accounts_total=Decimal(accounts),
        )
        assert result.ours == MAY_PAID
        totals = {g.key: g.total for g in result.groups}
        assert totals == {
            "unpaid": Decimal("-180.00") * -1,
            "stock": Decimal("-160.00"),
            "late-reversals": Decimal("-40.00"),
        }
        assert result.difference == Decimal(accounts) - MAY_PAID
        assert [g.key for g in result.explaining] == explaining
        assert result.agrees == (outcome == "agrees")
        assert result.explained == (outcome != "unexplained")
        if outcome == "unexplained":
            assert result.unexplained == Decimal("634.50")
