"""A grant's income: receipts, the expected schedule, transfers between funds; each write
checked in a fresh app context after the request."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    ExpectedIncome,
    FundTransfer,
    GrantReceipt,
    Role,
)
from tests.conftest import count

D = Decimal


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2024, 10, 1, 12), tick=False):
        yield


@pytest.fixture
def finance(create_user, login):
    user = create_user(Role.FINANCE)
    login(user)
    return user


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _date(prefix: str, day: date) -> dict:
    return {prefix: [str(day.day), str(day.month), str(day.year)]}


def _actions(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
        )


def test_finance_records_money_received_and_paid_back(
    client, app, finance, create_grant, create_disbursement
):
    grant = create_grant("1000.00")
    create_disbursement(grant, "250.00")
    response = client.post(
        f"/income/grants/{grant}/receipts/new",
        data={
            "kind": "received",
            **_date("received_on", date(2024, 4, 20)),
            "amount": "600.00",
            "reference": "C4C REMIT 0042",
        },
    )
    assert response.status_code == 302
    client.post(
        f"/income/grants/{grant}/receipts/new",
        data={
            "kind": "repaid",
            **_date("received_on", date(2024, 9, 1)),
            "amount": "50.00",
            "reference": "Overpayment returned",
        },
    )
    with app.app_context():
        amounts = db.session.scalars(
            select(GrantReceipt.amount).order_by(GrantReceipt.id)
        ).all()
        assert amounts == [D("600.00"), D("-50.00")]
    assert _actions(app).count("income.receive") == 2
    page = _text(client.get(f"/income/grants/{grant}").get_data(as_text=True))
    assert "Received from the funder £550.00" in page
    assert "Cash position (received less spent, plus transfers) £300.00" in page
    assert "C4C REMIT 0042" in page


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("amount", "12.345", "2 decimal places"),
        ("amount", "1e3", ""),
        ("amount", "", "Enter the amount"),
        ("reference", "", "Enter the bank or remittance reference"),
        ("reference", "ok\ufffe", ""),
        ("received_on", ["1", "1", "2031"], "future"),
    ],
)
def test_a_bad_receipt_is_refused_on_its_field(
    client, app, finance, create_grant, field, value, message
):
    grant = create_grant("1000.00")
    data = {
        "kind": "received",
        **_date("received_on", date(2024, 4, 20)),
        "amount": "600.00",
        "reference": "REMIT",
        field: value,
    }
    response = client.post(f"/income/grants/{grant}/receipts/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "govuk-error-message" in html
    if message:
        assert message in html
    assert count(app, GrantReceipt) == 0


def test_the_schedule_shows_what_is_behind(client, app, finance, create_grant):
    grant = create_grant("1000.00")
    for due, amount in ((date(2024, 4, 1), "500.00"), (date(2025, 1, 1), "500.00")):
        response = client.post(
            f"/income/grants/{grant}/expected/new",
            data={**_date("due_on", due), "amount": amount, "description": "Tranche"},
        )
        assert response.status_code == 302
    page = _text(client.get(f"/income/grants/{grant}").get_data(as_text=True))
    assert "Expected from the funder (schedule) £1,000.00" in page
    assert "Expected by today £500.00" in page
    assert "Behind the schedule £500.00" in page
    with app.app_context():
        first = db.session.scalar(select(func.min(ExpectedIncome.id)))
    assert client.post(f"/income/expected/{first}/remove").status_code == 302
    assert count(app, ExpectedIncome) == 1
    assert "income.unexpect" in _actions(app)


def test_a_transfer_moves_money_between_two_funds(client, app, finance, create_grant):
    from funds.income.queries import FinancialYear, fund_movements

    into = create_grant("1000.00", reference="HSF-1")
    out_of = create_grant("1000.00", reference="GEN-1")
    response = client.post(
        f"/income/grants/{into}/transfers/new",
        data={
            "direction": "in",
            "other_grant": str(out_of),
            "other_fund": "",
            **_date("transferred_on", date(2024, 9, 30)),
            "amount": "75.50",
            "reason": "Trustees met the overspend on white goods",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        transfer = db.session.scalar(select(FundTransfer))
        assert (transfer.from_grant_id, transfer.to_grant_id) == (out_of, into)
        assert transfer.amount == D("75.50")
        rows = {r.reference: r for r in fund_movements(FinancialYear(2024))}
        assert rows["HSF-1"].transfers == D("75.50")
        assert rows["GEN-1"].transfers == D("-75.50")
    assert "income.transfer" in _actions(app)


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"other_grant": "", "other_fund": ""}, "Choose the other grant or name"),
        ({"other_fund": "General fund"}, "not both"),
        ({"reason": ""}, "Enter the reason for the transfer"),
        ({"direction": "sideways"}, "Choose which way the money goes"),
        ({"other_grant": "abc"}, "Choose a grant from the list"),
        ({"amount": "-5.00"}, ""),
    ],
)
def test_a_bad_transfer_is_refused(
    client, app, finance, create_grant, data, field_message
):
    into = create_grant("1000.00")
    other = create_grant("1000.00")
    form = {
        "direction": "in",
        "other_grant": str(other),
        "other_fund": "",
        **_date("transferred_on", date(2024, 9, 30)),
        "amount": "10.00",
        "reason": "Because",
        **data,
    }
    response = client.post(f"/income/grants/{into}/transfers/new", data=form)
    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert count(app, FundTransfer) == 0


def test_a_transfer_to_itself_is_refused(client, app, finance, create_grant):
    grant = create_grant("1000.00")
    response = client.post(
        f"/income/grants/{grant}/transfers/new",
        data={
            "direction": "out",
            "other_grant": str(grant),
            **_date("transferred_on", date(2024, 9, 30)),
            "amount": "10.00",
            "reason": "Loop",
        },
    )
    assert response.status_code == 422
    assert count(app, FundTransfer) == 0


@pytest.mark.parametrize("role", [Role.STAFF])
def test_staff_cannot_see_or_record_income(
    client, app, create_user, login, create_grant, role
):
    grant = create_grant("1000.00")
    login(create_user(role))
    assert client.get(f"/income/grants/{grant}").status_code == 403
    response = client.post(
        f"/income/grants/{grant}/receipts/new",
        data={
            "kind": "received",
            **_date("received_on", date(2024, 4, 20)),
            "amount": "1.00",
            "reference": "X",
        },
    )
    assert response.status_code == 403
    assert count(app, GrantReceipt) == 0
    assert client.get("/income/fund-movements").status_code == 403


def test_a_grants_fund_note_has_a_row_for_each_of_its_own_years(
    client, app, finance, create_grant, create_disbursement
):
    """A grant from June 2023 to May 2025 spans three financial years (April to March);
    a longer grant elsewhere adds none of its years to this grant's page."""
    create_grant("500.00", starts_on=date(2021, 4, 1), ends_on=date(2027, 3, 31))
    grant = create_grant(
        "1000.00", starts_on=date(2023, 6, 1), ends_on=date(2025, 5, 31)
    )
    create_disbursement(grant, "40.00", awarded_on=date(2024, 5, 2))
    page = client.get(f"/income/grants/{grant}").get_data(as_text=True)
    movements = page.split("Fund movements by financial year")[1]
    years = re.findall(
        r'<th scope="row" class="govuk-table__header">([^<]+)</th>', movements
    )
    assert years == ["2023-24", "2024-25", "2025-26"]
    rows = _text(movements)
    assert "2024-25 £0.00 £0.00 £40.00 £0.00 £0.00 -£40.00" in rows
