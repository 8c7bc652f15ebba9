"""In a real browser: a clerk issues two vouchers to a household; the reconciliation balances."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.extensions import db
from funds.models import Disbursement, Voucher, VoucherStatus
from tests.conftest import REAL_TODAY

PASSWORD = "plum-orbit-lantern-42"


def _seed(live_app) -> dict:
    """A grant running now, a batch of 5 Tesco vouchers, a household and a staff clerk."""
    from funds.admin.services import create_user
    from funds.grants.services import create_funder, create_grant
    from funds.models import ItemType, Role
    from funds.people.services import HouseholdInput, create_household
    from funds.taxonomy.defaults import ensure_default_taxonomy
    from funds.vouchers.serials import serials_from_range
    from funds.vouchers.services import BatchInput, create_batch

    today = REAL_TODAY
    with live_app.app_context():
        manager, _ = create_user(
            actor=None,
            email="mina@example.org",
            name="Mina Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        create_user(
            actor=manager,
            email="sam@example.org",
            name="Sam Staff",
            role=Role.STAFF,
            password=PASSWORD,
        )
        ensure_default_taxonomy()
        funder = create_funder(
            actor=manager, name="Connect4Communities", categories=["Food"]
        )
        grant = create_grant(
            actor=manager,
            reference="C4C-HSF4",
            title="Household Support Fund 4",
            funder_id=funder.id,
            total=Decimal("2000.00"),
            starts_on=today - timedelta(days=120),
            ends_on=today + timedelta(days=240),
            control="block",
        )
        food = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Food voucher")
        ).one()
        batch = create_batch(
            BatchInput(
                grant_id=grant.id,
                supplier="Tesco",
                item_type_id=food,
                face_value=Decimal("20.00"),
                quantity=5,
                purchase_cost=Decimal("100.00"),
                purchased_on=today - timedelta(days=7),
                expires_on=today + timedelta(days=25),
                reference="INV-4471",
            ),
            serials_from_range("TES0001", "TES0005"),
            actor=manager,
            today=today,
        )
        household = create_household(
            HouseholdInput(adults=2, children=2, has_children=True), actor=manager
        )
        db.session.commit()
        return {
            "grant_id": grant.id,
            "batch_id": batch.id,
            "household_id": household.id,
            "household": household.reference,
        }


def test_a_clerk_issues_two_vouchers_and_the_stock_reconciles(
    page: Page, server_url, live_app, axe_check
):
    seeded = _seed(live_app)
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

    page.goto(server_url + "/vouchers/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    # The stock page: one batch, expiring within 30 days.
    expect(page.get_by_role("heading", name="Vouchers", exact=True)).to_be_visible()
    expect(page.get_by_text("Expiring within 30 days")).to_be_visible()
    axe_check(page, "vouchers-01-stock")

    page.get_by_role("button", name="Issue vouchers").click()
    expect(page.get_by_role("heading", name="Issue vouchers")).to_be_visible()
    expect(page.get_by_text("5 can be given today")).to_be_visible()
    axe_check(page, "vouchers-02-issue")

    # A mistake first: nothing ticked. The error summary says so; nothing is recorded.
    page.get_by_label("Household", exact=True).fill(seeded["household"])
    page.get_by_label("Referral").check()
    page.get_by_role("button", name="Issue vouchers").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Tick at least one voucher"
    )
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe_check(page, "vouchers-03-issue-error")

    page.get_by_label("TES0002").check()
    page.get_by_label("TES0004").check()
    page.get_by_role("button", name="Issue vouchers").click()
    banner = page.locator(".govuk-notification-banner--success")
    expect(banner).to_contain_text(
        f"2 vouchers issued to household {seeded['household']}"
    )
    expect(
        banner.get_by_role("link", name=re.compile("Tesco voucher TES0002"))
    ).to_be_visible()
    expect(banner.get_by_role("link", name=re.compile("TES0004"))).to_be_visible()
    expect(
        banner.get_by_role("link", name=f"Go to household {seeded['household']}")
    ).to_be_visible()
    # The vouchers given are no longer offered.
    expect(page.get_by_label("TES0002")).to_have_count(0)
    expect(page.get_by_text("3 can be given today")).to_be_visible()
    axe_check(page, "vouchers-04-issued")

    with live_app.app_context():
        statuses = dict(
            db.session.execute(select(Voucher.serial, Voucher.status)).all()
        )
        assert statuses == {
            "TES0001": VoucherStatus.IN_STOCK,
            "TES0002": VoucherStatus.ISSUED,
            "TES0003": VoucherStatus.IN_STOCK,
            "TES0004": VoucherStatus.ISSUED,
            "TES0005": VoucherStatus.IN_STOCK,
        }
        awards = db.session.scalars(select(Disbursement)).all()
        assert [a.amount for a in awards] == [Decimal("20.00")] * 2
        assert {a.household_id for a in awards} == {seeded["household_id"]}
        db.session.remove()

    # The reconciliation: 2 issued, 3 in stock, and the identity balances.
    page.get_by_role("link", name="Vouchers", exact=True).click()
    page.get_by_role(
        "link", name=re.compile("C4C-HSF4 – Household Support Fund 4")
    ).click()
    expect(page.get_by_role("heading", name="Voucher reconciliation")).to_be_visible()
    identity = page.locator("#identity")
    expect(identity).to_contain_text(
        "5 bought = 2 issued + 3 in stock + 0 returned + 0 expired"
    )
    expect(identity).to_contain_text("£100.00 = £40.00 + £60.00 + £0.00 + £0.00")
    expect(identity).to_contain_text("Balances")
    expect(page.get_by_text("does not balance")).to_have_count(0)
    issued = page.locator("#issued ~ .funds-table-scroll table").first
    expect(issued).to_contain_text("TES0002")
    expect(issued).to_contain_text("TES0004")
    expect(issued).to_contain_text(seeded["household"])
    axe_check(page, "vouchers-05-reconciliation")

    # The batch page tells the same story, voucher by voucher.
    page.get_by_role("link", name=re.compile(r"^Tesco")).first.click()
    expect(
        page.get_by_role("heading", name="5 Tesco vouchers of £20.00")
    ).to_be_visible()
    expect(page.locator("#identity")).to_contain_text("2 issued + 3 in stock")
    axe_check(page, "vouchers-06-batch")
    assert not problems, problems
