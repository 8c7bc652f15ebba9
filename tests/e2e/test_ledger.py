"""In a real browser: a staff member records a food voucher and sees the balance fall;
an award over what is left is refused with the remaining balance shown."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.admin.services import create_user
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import HSF_CATEGORIES, BudgetControl, Disbursement, Role
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from tests.conftest import PASSWORD, REAL_TODAY


def _seed(app) -> tuple[int, str, str]:
    """A £100 block grant whose period includes today, a household, a staff member."""
    today = REAL_TODAY
    with app.app_context():
        manager, _ = create_user(
            actor=None,
            email="mo@example.org",
            name="Mo Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        create_user(
            actor=None,
            email="sam@example.org",
            name="Sam Staff",
            role=Role.STAFF,
            password=PASSWORD,
        )
        ensure_default_taxonomy()
        funder = create_funder(
            actor=manager, name="Connect4Communities", categories=list(HSF_CATEGORIES)
        )
        apply_default_hsf_mapping(funder)
        grant = create_grant(
            actor=manager,
            reference="C4C-HSF-E2E",
            title="Household Support Fund",
            funder_id=funder.id,
            total=Decimal("100.00"),
            starts_on=today - timedelta(days=60),
            ends_on=today + timedelta(days=300),
            control=BudgetControl.BLOCK,
        )
        household = create_household(
            HouseholdInput(adults=1, children=2, has_children=True), actor=manager
        )
        db.session.commit()
        return grant.id, grant.reference, household.reference


def _fill_award(page: Page, *, reference: str, amount: str) -> None:
    page.get_by_label("Household or young person").fill(reference)
    page.get_by_label("Item", exact=True).select_option(label="Food: Food voucher")
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Voucher", exact=True).check()
    page.get_by_label("Referral").check()


def _remaining_on_grant_page(page: Page):
    return page.locator("#available-to-award")


def test_staff_record_a_food_voucher_and_see_the_balance_fall(
    page: Page, server_url, live_app, axe_check
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    grant_id, grant_reference, household = _seed(live_app)

    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Sam Staff")).to_be_visible()

    # The grant page: nothing spent yet.
    page.goto(f"{server_url}/grants/{grant_id}")
    expect(_remaining_on_grant_page(page)).to_have_text("£100.00")
    axe_check(page, "ledger-01-grant-before")

    # Record a £30 food voucher for the household, from the grant's page.
    page.get_by_role("button", name="Record an award").click()
    expect(page.get_by_role("heading", name="Record an award")).to_be_visible()
    expect(page.get_by_label("Grant", exact=True)).to_have_value(str(grant_id))
    axe_check(page, "ledger-02-new-award")
    _fill_award(page, reference=household.lower(), amount="30.00")
    page.get_by_label("Supplier (optional)").fill("Tesco")
    page.get_by_role("button", name="Record award").click()

    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(
        f"{grant_reference} now has £70.00 available to award"
    )
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food voucher, £30.00")
    expect(page.get_by_text(household, exact=True)).to_be_visible()
    axe_check(page, "ledger-03-award-recorded")

    # The grant page shows the balance fallen.
    page.get_by_role("link", name=grant_reference).first.click()
    expect(_remaining_on_grant_page(page)).to_have_text("£70.00")
    axe_check(page, "ledger-04-grant-after")

    # More than is left: refused, with what remains shown on the amount field.
    page.get_by_role("button", name="Record an award").click()
    _fill_award(page, reference=household, amount="80.00")
    page.get_by_role("button", name="Record award").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("£70.00 available")
    expect(page.locator("#amount-error")).to_contain_text("£70.00 available")
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_label("Amount")).to_have_value("80.00")
    expect(page.get_by_label("Confirm this overspend")).to_have_count(0)
    axe_check(page, "ledger-05-over-budget")

    # The awards list shows the one award and its total.
    page.get_by_role("link", name="Awards", exact=True).click()
    expect(page.locator("#total-awards")).to_have_text("1")
    expect(page.locator("#total-net")).to_have_text("£30.00")
    axe_check(page, "ledger-06-awards-list")

    with live_app.app_context():
        amounts = db.session.scalars(select(Disbursement.amount)).all()
    assert amounts == [Decimal("30.00")]
    assert not problems, problems


def _name_household(app, reference: str, name: str) -> None:
    from funds.models import Household

    with app.app_context():
        household = db.session.scalars(
            select(Household).where(Household.reference == reference)
        ).one()
        household.name = name
        db.session.commit()


def _sign_in(page: Page, server_url: str) -> None:
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Sam Staff")).to_be_visible()


def _fill_rest(page: Page, amount: str) -> None:
    page.get_by_label("Grant", exact=True).select_option(index=1)
    page.get_by_label("Item", exact=True).select_option(label="Food: Food voucher")
    page.get_by_label("Amount").fill(amount)
    page.get_by_label("Voucher", exact=True).check()
    page.get_by_label("Referral").check()


def _household_of_last_award(app):
    from funds.models import Household

    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        return db.session.get(Household, line.household_id).reference, line.amount


def test_a_clerk_finds_the_household_by_name_as_they_type(
    page: Page, server_url, live_app, axe_check
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    asked: list[tuple[str, str]] = []
    page.on("request", lambda request: asked.append((request.method, request.url)))
    _, _, household = _seed(live_app)
    _name_household(live_app, household, "Marta Kowalska")
    _sign_in(page, server_url)

    page.goto(server_url + "/awards/new")
    finder = page.get_by_role("combobox", name="Household or young person")
    finder.press_sequentially("kowal", delay=40)
    option = page.get_by_role("option", name=re.compile(r"Marta Kowalska"))
    expect(option).to_be_visible()
    expect(option).to_contain_text(f"Marta Kowalska ({household})")
    expect(option).to_contain_text("Household of 3")
    expect(finder).to_have_attribute("aria-expanded", "true")
    axe_check(page, "finding-01-type-ahead-open")
    # The typed text went in POST bodies (with the CSRF token), never in an address.
    lookups = [(method, url) for method, url in asked if "/people/lookup" in url]
    assert lookups and all(method == "POST" for method, _ in lookups), lookups
    assert not any("kowal" in url.lower() for _, url in asked), asked

    finder.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    finder.press("Enter")  # chooses; does not send the form
    expect(finder).to_have_value(household)
    expect(page.get_by_text(f"Chosen: Marta Kowalska ({household})")).to_be_visible()
    expect(page.get_by_role("listbox")).to_be_hidden()
    _fill_rest(page, "25.00")
    page.get_by_role("button", name="Record award").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food voucher, £25.00")
    assert _household_of_last_award(live_app) == (household, Decimal("25.00"))

    # Sent with the name rather than a choice from the list: the form asks which.
    page.goto(server_url + "/awards/new")
    finder.fill("Kowalska")
    finder.press("Escape")
    _fill_rest(page, "5.00")
    page.get_by_role("button", name="Record award").click()
    expect(page.locator("#beneficiary-error")).to_contain_text("Choose which")
    axe_check(page, "finding-02-search-step")
    page.get_by_label(f"Marta Kowalska ({household})").check()
    page.get_by_role("button", name="Record award").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food voucher, £5.00")
    assert not problems, problems


def test_without_javascript_the_name_is_a_search_step(browser, server_url, live_app):
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    _, _, household = _seed(live_app)
    _name_household(live_app, household, "Marta Kowalska")
    _sign_in(page, server_url)

    page.goto(server_url + "/awards/new")
    page.get_by_label("Household or young person").fill("Kowalska")
    _fill_rest(page, "15.00")
    page.get_by_role("button", name="Record award").click()
    expect(page.locator("#beneficiary-error")).to_contain_text(
        "Choose which household or young person “Kowalska” is"
    )
    page.get_by_label(f"Marta Kowalska ({household})").check()
    page.get_by_role("button", name="Record award").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Food voucher, £15.00")
    assert _household_of_last_award(live_app) == (household, Decimal("15.00"))
    context.close()


def test_tables_fit_a_phone_screen(page: Page, server_url, live_app):
    grant_id, _, _ = _seed(live_app)
    _sign_in(page, server_url)
    page.set_viewport_size({"width": 360, "height": 740})
    for path in (f"/grants/{grant_id}", "/grants", "/awards"):
        page.goto(server_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide on a 360px phone"
