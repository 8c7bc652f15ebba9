"""In a real browser: the audit trail read as sentences and filtered, and the
organisation's details filled in; both pages pass axe and fit a phone."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from funds.admin.services import create_user
from funds.extensions import db
from funds.models import Role
from tests.conftest import PASSWORD


def _seed(app) -> None:
    with app.app_context():
        create_user(
            actor=None,
            email="ada@example.org",
            name="Ada Admin",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        db.session.commit()


def test_audit_trail_and_organisation_details(
    page: Page, server_url, live_app, axe_check
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Ada Admin")).to_be_visible()

    page.get_by_role("link", name="Organisation details").click()
    axe_check(page, "admin-01-organisation")
    page.get_by_label("Organisation name").fill("Riverside Youth Trust")
    page.get_by_label("Registered charity number (optional)").fill("12345X")
    page.get_by_role("button", name="Save details").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "registered charity number like"
    )
    axe_check(page, "admin-02-organisation-error")
    page.get_by_label("Registered charity number (optional)").fill("1123456")
    page.get_by_label("Email (optional)").fill("priya@riverside.example")
    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_text("Organisation details saved")).to_be_visible()
    expect(
        page.locator(".govuk-service-navigation, .govuk-header").first
    ).to_contain_text("Riverside Youth Trust")

    page.goto(server_url + "/admin/audit")
    entries = page.locator("#audit-entries")
    expect(entries).to_contain_text(
        "Ada Admin changed the organisation's details: name Riverside Youth Trust"
    )
    expect(entries).to_contain_text("Ada Admin signed in.")
    page.get_by_label("What").select_option(label="Sign-ins and passwords")
    page.get_by_role("button", name="Show these entries").click()
    expect(entries).not_to_contain_text("organisation")
    axe_check(page, "admin-03-audit-filtered")

    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/admin/audit", "/admin/organisation"):
        page.goto(server_url + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width}px wide on a 360px phone"
    assert not problems, problems
