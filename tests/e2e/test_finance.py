"""In a real browser: a manager reads the dashboard; finance filters the awards not yet
paid, pays 20 of them in one payment run, downloads the remittance and the Xero file."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.admin.services import create_user
from funds.disbursements.services import AwardInput, record_disbursement
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import (
    HSF_CATEGORIES,
    DisbursementPayment,
    ItemType,
    PaymentRun,
    Role,
    SpendCategory,
)
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from tests.conftest import PASSWORD, REAL_TODAY

TODAY = REAL_TODAY


def _year_start() -> date:
    return date(TODAY.year if TODAY.month >= 4 else TODAY.year - 1, 4, 1)


def _seed(app) -> dict:
    """Two grants of the current financial year: one on track, one underspending."""
    start = _year_start()
    end = date(start.year + 1, 3, 31)
    with app.app_context():
        ensure_default_taxonomy()
        manager, _ = create_user(
            actor=None,
            email="maria@example.org",
            name="Maria Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        create_user(
            actor=None,
            email="farah@example.org",
            name="Farah Finance",
            role=Role.FINANCE,
            password=PASSWORD,
        )
        funder = create_funder(
            actor=manager, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        hsf = create_grant(
            actor=manager,
            reference="C4C-HSF7",
            title="Household Support Fund",
            funder_id=funder.id,
            total=Decimal("22000.00"),
            starts_on=start,
            ends_on=end,
        )
        hsf.accounts_code = "HSF7"
        board = create_funder(
            actor=manager, name="Mental health board", categories=["Activities"]
        )
        activities = create_grant(
            actor=manager,
            reference="MH-ACT-1",
            title="Young people's activities",
            funder_id=board.id,
            total=Decimal("11000.00"),
            starts_on=start,
            ends_on=end,
        )
        for category in db.session.scalars(select(SpendCategory)):
            category.nominal_code = "5000"
            category.tax_rate = "No VAT"
        fridge = db.session.scalar(select(ItemType.id).where(ItemType.name == "Fridge"))
        days = max((TODAY - start).days, 1)
        for n in range(30):
            household = create_household(
                HouseholdInput(children=1 + n % 3, has_children=True), actor=manager
            )
            record_disbursement(
                AwardInput(
                    grant_id=hsf.id,
                    item_type_id=fridge,
                    amount=Decimal("420.00"),
                    awarded_on=start + timedelta(days=n * days // 30),
                    delivery_method="direct-purchase",
                    access_route="referral",
                    household_id=household.id,
                    supplier="Currys" if n % 2 else "=Argos",
                ),
                actor=manager,
                today=TODAY,
            )
        record_disbursement(
            AwardInput(
                grant_id=activities.id,
                item_type_id=fridge,
                amount=Decimal("150.00"),
                awarded_on=start,
                delivery_method="direct-purchase",
                access_route="not-applicable",
            ),
            actor=manager,
            today=TODAY,
        )
        from funds.income.services import record_receipt

        record_receipt(
            hsf,
            actor=manager,
            received_on=start + timedelta(days=14),
            amount=Decimal("11000.00"),
            reference="C4C T1",
            notes=None,
            today=TODAY,
        )
        db.session.commit()
        return {"hsf": hsf.id, "activities": activities.id}


def _sign_in(page: Page, server_url: str, email: str) -> None:
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_manager_reads_the_dashboard(page: Page, server_url, live_app, axe_check):
    ids = _seed(live_app)
    page.set_viewport_size({"width": 1280, "height": 900})
    _sign_in(page, server_url, "maria@example.org")
    table = page.get_by_role("region", name="Open grants and their forecasts")
    expect(table.get_by_role("row", name=re.compile("C4C-HSF7"))).to_contain_text(
        "£12,600.00"
    )
    expect(table.get_by_role("row", name=re.compile("MH-ACT-1"))).to_contain_text(
        "Underspending"
    )
    expect(page.get_by_text("31 awards worth £12,750.00")).to_be_visible()
    axe_check(page, "60-dashboard")
    page.get_by_role("link", name="C4C-HSF7").first.click()
    expect(
        page.get_by_role("img", name=re.compile("C4C-HSF7: spent to date"))
    ).to_be_visible()
    axe_check(page, "61-dashboard-grant")
    assert ids


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day.day))
    group.get_by_label("Month").fill(str(day.month))
    group.get_by_label("Year").fill(str(day.year))


def test_finance_pays_twenty_awards_in_a_run_and_hands_off_to_xero(
    page: Page, server_url, live_app, axe_check
):
    ids = _seed(live_app)
    _sign_in(page, server_url, "farah@example.org")
    page.get_by_role("link", name="Awards", exact=True).first.click()
    page.get_by_label("Payment", exact=True).select_option("unpaid")
    page.get_by_label("Grant", exact=True).select_option(str(ids["hsf"]))
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("£12,600.00").first).to_be_visible()
    axe_check(page, "62-awards-not-yet-paid")

    page.get_by_role("button", name="New payment run").click()
    boxes = page.locator("input[name=awards]")
    expect(boxes).to_have_count(30)
    for index in range(20, 30):  # pay the 20 oldest now
        boxes.nth(index).uncheck()
    _fill_date(page, "Date paid", TODAY)
    page.get_by_label("Payment reference").fill("BACS 2611")
    axe_check(page, "63-payment-run")
    page.get_by_role("button", name="Mark the ticked awards paid").click()
    expect(page.get_by_text("£8,400.00").first).to_be_visible()
    axe_check(page, "64-payment-run-done")
    with live_app.app_context():
        (run,) = db.session.scalars(select(PaymentRun)).all()
        assert (run.lines, run.total, run.reference) == (
            20,
            Decimal("8400.00"),
            "BACS 2611",
        )
        paid = db.session.scalars(
            select(DisbursementPayment).where(
                DisbursementPayment.payment_run_id == run.id
            )
        ).all()
        assert len(paid) == 20

    with page.expect_download() as info:
        page.get_by_role("link", name="Download CSV").click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    amounts = [Decimal(row["Amount"]) for row in rows if row["Award"]]
    assert {row["Run reference"] for row in rows if row["Award"]} == {"BACS 2611"}
    assert len(amounts) == 20 and sum(amounts) == Decimal("8400.00")

    page.get_by_role("link", name="Accounts", exact=True).first.click()
    page.get_by_label("Grant").select_option(str(ids["hsf"]))
    _fill_date(page, "Period from", _year_start())
    _fill_date(page, "Period to", TODAY)
    page.get_by_label("Xero bills (Purchases) CSV").check()
    axe_check(page, "65-accounts-export")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    xero = list(
        csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8")))
    )
    assert len(xero) == 20
    assert sum(Decimal(row["*UnitAmount"]) for row in xero) == Decimal("8400.00")
    assert {row["TrackingOption1"] for row in xero} == {"HSF7"}
    assert {row["*ContactName"] for row in xero} == {"Currys", "'=Argos"}
