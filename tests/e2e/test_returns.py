"""In a real browser: a manager builds, downloads and submits an HSF return."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.admin.services import create_user
from funds.disbursements.services import AwardInput, record_disbursement
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import HSF_CATEGORIES, FunderReturn, ItemType, PeriodLock, Role
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from tests.conftest import PASSWORD, TODAY


def _seed(app) -> int:
    with app.app_context():
        ensure_default_taxonomy()
        manager, _ = create_user(
            actor=None,
            email="maria@example.org",
            name="Maria Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        funder = create_funder(
            actor=manager, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        grant = create_grant(
            actor=manager,
            reference="C4C-HSF4",
            title="Household Support Fund 4",
            funder_id=funder.id,
            total=Decimal("22000.00"),
            starts_on=date(2023, 4, 1),
            ends_on=date(2024, 3, 31),
        )
        food = db.session.scalar(
            select(ItemType.id).where(ItemType.name == "Food voucher")
        )
        for n in range(3):
            household = create_household(
                HouseholdInput(children=1 + n, has_children=True), actor=manager
            )
            record_disbursement(
                AwardInput(
                    grant_id=grant.id,
                    item_type_id=food,
                    amount=Decimal("30.00"),
                    awarded_on=date(2023, 5, 1 + n),
                    delivery_method="voucher",
                    access_route="referral",
                    household_id=household.id,
                ),
                actor=manager,
                today=TODAY,
            )
        db.session.commit()
        return grant.id


def test_manager_builds_downloads_and_submits_an_hsf_return(
    page: Page, server_url, live_app, axe_check
):
    grant_id = _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("maria@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Returns").first.click()
    expect(page.get_by_role("heading", name="Funder returns")).to_be_visible()
    axe_check(page, "20-returns")

    page.get_by_label("Grant").select_option(str(grant_id))
    page.get_by_label("Household Support Fund", exact=True).check()
    for legend, (day, month, year) in (
        ("Period from", ("1", "4", "2023")),
        ("Period to", ("31", "3", "2024")),
    ):
        group = page.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(day)
        group.get_by_label("Month").fill(month)
        group.get_by_label("Year").fill(year)
    page.get_by_role("button", name="Show the figures").click()
    spend = page.locator("#figures-1")
    expect(spend.get_by_role("row", name=re.compile("^Total"))).to_contain_text(
        "£90.00"
    )
    households = page.locator("#figures-3")
    expect(households.get_by_role("row").last).to_contain_text("3")
    axe_check(page, "21-return-figures")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the workbook (.xlsx)").click()
    download = download_info.value
    assert (
        download.suggested_filename
        == "funder-return-C4C-HSF4-hsf-2023-04-01-to-2024-03-31.xlsx"
    )
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert book.sheetnames == ["Cover", "Summary", "Governance", "Transactions"]

    page.get_by_role("link", name="Submit and lock the period").click()
    expect(page.get_by_text("locks 1 April 2023 to 31 March 2024")).to_be_visible()
    officer = page.get_by_role(
        "group", name="Section 151 officer or chief finance officer"
    )
    officer.get_by_label("Name", exact=True).fill("Sam Officer")
    officer.get_by_label("Signature (type the name)").fill("Sam Officer")
    axe_check(page, "21b-return-confirm")
    page.get_by_role("button", name="Submit the return and lock the period").click()
    expect(page.get_by_text("Return submitted.")).to_be_visible()
    expect(page.get_by_text("exactly the same figures")).to_be_visible()
    axe_check(page, "22-return-submitted")
    with live_app.app_context():
        submitted = db.session.scalars(select(FunderReturn)).one()
        assert submitted.figures["tables"][0]["rows"][-3][-1] == "90.00"
        assert submitted.signoff["signatories"][2]["signature"] == "Sam Officer"
        lock = db.session.scalars(select(PeriodLock)).one()
        assert lock.active and lock.starts_on == date(2023, 4, 1)
    page.get_by_role("link", name=re.compile("Returns for C4C-HSF4")).click()
    expect(page.get_by_role("button", name="Unlock this period")).to_be_visible()
    axe_check(page, "23-return-history")
