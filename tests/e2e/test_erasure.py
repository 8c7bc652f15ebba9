"""In a real browser: an admin erases a household from its page; the grant's figures on
the grants overview do not move; every page on the way is axe clean."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from playwright.sync_api import Page
from sqlalchemy import select

from funds.admin.services import create_user
from funds.disbursements.services import AwardInput, record_disbursement
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import HSF_CATEGORIES, Household, ItemType, Role
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from tests.conftest import PASSWORD, TODAY

NAME = "Zelda <Quixote> *?~="


def _seed(app) -> int:
    with app.app_context():
        ensure_default_taxonomy()
        admin, _ = create_user(
            actor=None,
            email="ada@example.org",
            name="Ada Admin",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        funder = create_funder(
            actor=admin, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        grant = create_grant(
            actor=admin,
            reference="C4C-HSF4",
            title="Household Support Fund 4",
            funder_id=funder.id,
            total=Decimal("22000.00"),
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
        )
        food = db.session.scalar(
            select(ItemType.id).where(ItemType.name == "Food voucher")
        )
        household = create_household(
            HouseholdInput(
                children=2, has_children=True, name=NAME, notes=f"Notes on {NAME}"
            ),
            actor=admin,
        )
        for amount in ("30.00", "45.50"):
            record_disbursement(
                AwardInput(
                    grant_id=grant.id,
                    item_type_id=food,
                    amount=Decimal(amount),
                    awarded_on=date(2024, 5, 1),
                    delivery_method="voucher",
                    access_route="referral",
                    household_id=household.id,
                    notes=f"for {NAME}",
                ),
                actor=admin,
                today=TODAY,
            )
        db.session.commit()
        return household.id


def _overview_row(page: Page, server_url: str) -> str:
    page.goto(f"{server_url}/grants/")
    return page.get_by_role("row").filter(has_text="C4C-HSF4").first.inner_text()


def test_admin_erases_a_household_and_the_figures_do_not_move(
    page: Page, server_url, live_app, axe_check
):
    household_id = _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    before = _overview_row(page, server_url)
    assert "£75.50" in before

    page.goto(f"{server_url}/households/{household_id}")
    page.get_by_role("button", name="Erase personal details").click()
    page.get_by_role("heading", name="Erase personal details").wait_for()
    axe_check(page, "erase-confirm")
    # no reason: refused on the field
    page.get_by_role("button", name="Erase personal details").click()
    page.get_by_text("There is a problem").wait_for()
    axe_check(page, "erase-error")
    page.get_by_label("Why are these details being erased?").fill(
        "Request by email, 3 March"
    )
    page.get_by_role("button", name="Erase personal details").click()
    page.get_by_text("were erased").first.wait_for()
    axe_check(page, "household-erased")
    assert "Zelda" not in page.content()

    after = _overview_row(page, server_url)
    assert after == before
    with live_app.app_context():
        household = db.session.get(Household, household_id)
        assert household.name is None and household.erased_at is not None


def test_retention_pages_are_axe_clean(page: Page, server_url, live_app, axe_check):
    _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Retention").first.click()
    page.get_by_role("heading", name="Records due for review").wait_for()
    axe_check(page, "retention-review")
    page.get_by_role("link", name="retention rules").click()
    page.get_by_role("heading", name="Retention rules").wait_for()
    axe_check(page, "retention-rules")
    page.get_by_label("Months to keep households and their awards").fill("abc")
    page.get_by_role(
        "button", name="Save the rule for households and their awards"
    ).click()
    page.get_by_text("There is a problem").wait_for()
    axe_check(page, "retention-rules-error")
