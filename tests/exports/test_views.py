"""The export and reconciliation pages, and ``flask export``: downloads audited, codes
refused with a list, split files zipped, staff refused, exit codes."""

from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.exports import formats
from funds.extensions import db
from funds.models import AuditEvent, Grant, Role
from tests.conftest import count
from tests.exports.conftest import MAY_PAID, NAMES


def _period(books, system="xero-bills", **changes):
    data = {
        "grant": str(books["grant"]),
        "date_from": ["1", "5", "2024"],
        "date_to": ["31", "5", "2024"],
        "system": system,
    }
    data.update(changes)
    return data


def _exports(app) -> list[dict]:
    with app.app_context():
        return [
            e.after
            for e in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "export.accounting")
            )
        ]


@pytest.fixture
def finance_client(client, login, books):
    login(books["finance"])
    return client


def test_page_and_grant_link(app, finance_client, books):
    page = finance_client.get(f"/exports/?grant={books['grant']}").get_data(True)
    assert "Hand-off to the accounts" in page
    assert f'<option value="{books["grant"]}" selected' in page
    detail = finance_client.get(f"/grants/{books['grant']}").get_data(True)
    assert f"/exports/?grant={books['grant']}" in detail


@pytest.mark.parametrize("system", ["xero-bills", "xero-bank", "quickbooks", "sage"])
def test_download_is_audited(app, finance_client, books, system):
    response = finance_client.post("/exports/download", data=_period(books, system))
    assert response.status_code == 200, response.get_data(True)[:500]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert body.decode().startswith(formats.FORMATS[system].headings[0])
    for name in NAMES:
        assert name.encode() not in body
    (event,) = _exports(app)
    assert event["format"] == system
    assert Decimal(event["total"]) == MAY_PAID and event["lines"] == 8


def test_split_download_is_a_zip(app, finance_client, books, monkeypatch):
    monkeypatch.setattr(formats, "XERO_BANK_MAX_LINES", 5)
    response = finance_client.post(
        "/exports/download", data=_period(books, "xero-bank")
    )
    assert response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    names = sorted(archive.namelist())
    assert [n.rsplit("-", 1)[1] for n in names] == ["1.csv", "2.csv"]
    amounts = [
        Decimal(row["Amount"])
        for n in names
        for row in csv.DictReader(io.StringIO(archive.read(n).decode()))
    ]
    assert -sum(amounts) == MAY_PAID
    assert _exports(app)[0]["files"] == 2


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_ledger_download(app, finance_client, books, fmt):
    response = finance_client.post(
        "/exports/download", data=_period(books, f"ledger-{fmt}")
    )
    assert response.status_code == 200
    body = response.get_data()
    response.close()  # the workbook is sent from a temporary file
    if fmt == "csv":
        assert body.decode("utf-8-sig").startswith("app_txn_id,grant_reference,")
    else:
        assert body[:2] == b"PK"
    assert _exports(app)[0]["format"] == f"ledger-{fmt}"


def test_missing_codes_refused_with_a_list(app, finance_client, books):
    with app.app_context():
        db.session.get(Grant, books["grant"]).accounts_code = ""
        db.session.commit()
    response = finance_client.post("/exports/download", data=_period(books))
    assert response.status_code == 422
    assert "accounts code of grant HSF" in response.get_data(True)
    assert _exports(app) == []


def test_bad_period_refused(app, finance_client, books):
    response = finance_client.post(
        "/exports/download", data=_period(books, date_to=["1", "4", "2024"])
    )
    assert response.status_code == 422
    assert "on or after its start" in response.get_data(True)
    assert count(app, AuditEvent, AuditEvent.action == "export.accounting") == 0


@pytest.mark.parametrize("path", ["/exports/", "/exports/reconcile"])
def test_staff_refused(app, client, login, create_user, books, path):
    login(create_user(Role.STAFF))
    assert client.get(path).status_code == 403
    assert client.post("/exports/download", data=_period(books)).status_code == 403
    assert client.post("/exports/reconcile", data=_period(books)).status_code == 403
    assert _exports(app) == []


def _reconcile(client, books, **data):
    form = _period(books)
    form.pop("system")
    form.update(data)
    return client.post(
        "/exports/reconcile", data=form, content_type="multipart/form-data"
    )


def test_reconcile_typed_total(app, finance_client, books):
    page = _reconcile(finance_client, books, accounts_total="545.50").get_data(True)
    assert 'data-figure="ours">£365.50' in page
    assert 'data-figure="difference">£180.00' in page
    assert 'data-outcome="explained"' in page
    assert "awards dated in the period, not yet paid (£180.00)" in page
    page = _reconcile(finance_client, books, accounts_total="999.00").get_data(True)
    assert 'data-outcome="unexplained"' in page
    response = _reconcile(finance_client, books, accounts_total="12.345")
    assert response.status_code == 422
    assert "2 decimal places" in response.get_data(True)
    assert _reconcile(finance_client, books).status_code == 422


def test_reconcile_uploaded_export(app, finance_client, books):
    text = (
        "Date,Tracking,Amount\r\n"
        "10/05/2024,HSF-24,-250.00\r\n"
        "20/05/2024,hsf-24,-115.50\r\n"
        "21/05/2024,OTHER,-999.00\r\n"
    )
    page = _reconcile(
        finance_client,
        books,
        accounts_file=(io.BytesIO(text.encode()), "accounts.csv"),
        code_column="Tracking",
        amount_column="Amount",
        negative_out="y",
    ).get_data(True)
    assert 'data-figure="accounts">£365.50' in page
    assert 'data-outcome="agrees"' in page
    response = _reconcile(
        finance_client,
        books,
        accounts_file=(io.BytesIO(text.encode()), "accounts.csv"),
        code_column="Class",
        amount_column="Amount",
    )
    assert response.status_code == 422
    assert "no column headed" in response.get_data(True)


def test_cli_accounting(app, runner, books, tmp_path, monkeypatch):
    out = tmp_path / "bills.csv"
    args = [
        "export",
        "accounting",
        "--system",
        "sage",
        "--grant",
        "HSF",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-31",
        "--out",
        str(out),
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("Reference,Date,")
    monkeypatch.setattr(formats, "SAGE_MAX_BYTES", 1000)
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    parts = sorted(tmp_path.glob("bills-*.csv"))
    assert len(parts) >= 2 and "wrote" in result.output
    assert len(_exports(app)) == 2
    bad = runner.invoke(args=[*args[:5], "NOPE", *args[6:]])
    assert bad.exit_code != 0 and "No grant with the reference 'NOPE'" in bad.output
    bad = runner.invoke(args=[*args[:7], "2024-13-01", *args[8:]])
    assert bad.exit_code != 0
    with app.app_context():
        db.session.get(Grant, books["grant"]).accounts_code = None
        db.session.commit()
    bad = runner.invoke(args=args)
    assert bad.exit_code != 0 and "accounts code" in bad.output
    assert len(_exports(app)) == 2


def test_cli_ledger(app, runner, books, tmp_path):
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"ledger.{fmt}"
        result = runner.invoke(
            args=[
                "export",
                "ledger",
                "--grant",
                "HSF",
                "--from",
                "2024-05-01",
                "--to",
                "2024-05-31",
                "--format",
                fmt,
                "--out",
                str(out),
            ]
        )
        assert result.exit_code == 0, result.output
        assert out.exists() and "ledger lines" in result.output
    bad = runner.invoke(
        args=[
            "export",
            "ledger",
            "--grant",
            "HSF",
            "--from",
            "2024-06-01",
            "--to",
            "2024-05-01",
            "--out",
            str(tmp_path / "x.csv"),
        ]
    )
    assert bad.exit_code != 0 and "on or after its start" in bad.output
    assert [e["format"] for e in _exports(app)] == ["ledger-csv", "ledger-xlsx"]
