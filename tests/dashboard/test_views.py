"""The home page (the dashboard per role) and one grant's spend against its profile."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import text

from funds.extensions import db
from funds.models import DeliveryMethod, Role

NOW = datetime(2024, 10, 1, 12, 0)  # half-way through the default grant period
START, END = date(2024, 4, 1), date(2025, 3, 31)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture
def ledger(app, create_grant, create_disbursement, create_batch):
    """An underspending grant, an overspending one, vouchers expiring, a return due."""
    slow = create_grant("1000.00", reference="SLOW-1", title="Slow grant")
    fast = create_grant("400.00", reference="FAST-1", title="Fast grant")
    create_disbursement(
        slow,
        "100.00",
        awarded_on=date(2024, 5, 1),
        delivery_method=DeliveryMethod.BANK_TRANSFER,
    )
    create_disbursement(
        fast,
        "300.00",
        awarded_on=date(2024, 6, 1),
        delivery_method=DeliveryMethod.BANK_TRANSFER,
    )
    create_batch(fast, quantity=2, face_value="10.00", expires_on=date(2024, 10, 20))
    with app.app_context():
        db.session.execute(
            text("UPDATE grants SET return_due_on = :d WHERE id = :g"),
            {"d": date(2024, 10, 10), "g": slow},
        )
        db.session.commit()
    return slow, fast


def test_a_manager_reads_each_grant_and_what_needs_doing(
    client, create_user, login, ledger
):
    login(create_user(Role.MANAGER))
    response = client.get("/")
    assert response.status_code == 200
    page = _text(response.get_data(as_text=True))
    # SLOW-1: £100 spent in 184 of 365 days -> £198.37 at the end, £801.63 short.
    assert "SLOW-1" in page and "Underspending" in page
    assert "£198.37" in page and "under by £801.63" in page
    assert "leaving £801.63 unspent (10% spent with 50% of the period gone)" in page
    # FAST-1: £300 spent -> £595.11 by the end, more than its £400 total.
    assert "At risk of overspending" in page and "£595.11" in page
    # What needs doing.
    assert "2 awards worth £400.00, the oldest from 1 May 2024" in page
    assert (
        "SLOW-1 : due 10 October 2024" in page or "SLOW-1: due 10 October 2024" in page
    )
    assert "2 vouchers worth £20.00 at face value expire on 20 October 2024" in page
    assert "Received" in page  # managers see money received


def test_staff_see_grants_and_stock_but_not_finance_figures(
    client, create_user, login, ledger
):
    login(create_user(Role.STAFF))
    page = _text(client.get("/").get_data(as_text=True))
    assert "SLOW-1" in page and "Underspending" in page
    assert "vouchers worth £20.00 at face value" in page
    assert "Awards not yet paid" not in page
    assert "Received" not in page
    assert "Periods locked" not in page


def test_a_grant_page_draws_its_months_and_lists_them(
    client, create_user, login, ledger, app
):
    slow, _ = ledger
    login(create_user(Role.FINANCE))
    response = client.get(f"/dashboard/grants/{slow}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<svg class="funds-chart"' in html and 'role="img"' in html
    assert "<desc" in html and "Spent £100.00 of £1,000.00 by Oct 2024" in html
    page = _text(html)
    # Twelve months, each with its straight-line profile to date.
    assert "Apr 2024" in page and "Mar 2025" in page and "Not yet" in page
    assert "£100.00 £100.00" in page  # May: spent in month, spent to date
    assert "Cash position (received less spent, plus transfers) -£100.00" in page
    assert client.get("/dashboard/grants/999999").status_code == 404


def test_the_chart_escapes_what_people_typed(client, create_user, login, create_grant):
    grant = create_grant("100.00", reference="X<1>", title="<script>alert(1)</script>")
    login(create_user(Role.MANAGER))
    html = client.get(f"/dashboard/grants/{grant}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "X&lt;1&gt;: spent to date" in html


def test_budget_lines_get_their_own_chart(
    client, create_user, login, create_grant, create_disbursement, app
):
    from decimal import Decimal

    from funds.grants.services import set_budget_line
    from funds.models import BudgetControl, Grant, SpendCategory, User

    grant = create_grant("1000.00")
    with app.app_context():
        category = db.session.scalar(
            db.select(SpendCategory).where(SpendCategory.name == "White goods")
        )
        manager = db.session.scalar(db.select(User))
        set_budget_line(
            db.session.get(Grant, grant),
            actor=manager,
            category_id=category.id,
            amount=Decimal("600.00"),
            control=BudgetControl.BLOCK,
        )
        db.session.commit()
    create_disbursement(
        grant, "250.00", item="Fridge", awarded_on=START + timedelta(days=40)
    )
    login(create_user(Role.MANAGER))
    html = client.get(f"/dashboard/grants/{grant}").get_data(as_text=True)
    assert "White goods: spent to date against a straight-line profile" in html
    assert "Spent £250.00 of £600.00" in html
