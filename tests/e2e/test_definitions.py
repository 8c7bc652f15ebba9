"""In a real browser: a manager copies the HSF definition, renames a column, moves a table,
previews it on a grant and builds the workbook; axe checks every page on the way."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.conftest import PASSWORD
from tests.e2e.test_returns import _seed
from tests.returns.spreadsheet import sheets_openpyxl


def test_manager_copies_changes_previews_and_builds_a_definition(
    page: Page, server_url, live_app, axe_check
):
    grant_id = _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("maria@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Returns").first.click()
    page.get_by_role("link", name="Return definitions").click()
    expect(page.get_by_role("heading", name="Return definitions")).to_be_visible()
    axe_check(page, "30-definitions")

    page.get_by_role("button", name="Copy Household Support Fund", exact=True).click()
    expect(page.get_by_text("is a draft copy")).to_be_visible()
    axe_check(page, "31-definition-draft")

    # Rename a column of "Households helped".
    households = page.locator(".funds-definition-table").filter(
        has=page.get_by_role("heading", name="Households helped", exact=True)
    )
    households.get_by_role("link", name=re.compile("^Change")).click()
    expect(page.get_by_role("heading", name="Change the table")).to_be_visible()
    axe_check(page, "32-definition-table")
    page.get_by_label("Column heading for Households helped").fill("Families helped")
    page.get_by_role("button", name="Save the table").click()
    expect(page.get_by_text("has been saved")).to_be_visible()

    # Move "By access route" up, above "By delivery route".
    access = page.locator(".funds-definition-table").filter(
        has=page.get_by_role("heading", name="By access route", exact=True)
    )
    access.get_by_role("button", name=re.compile("^Move up")).click()
    expect(page.get_by_text("The table was moved up")).to_be_visible()
    titles = page.locator(".funds-definition-table h4").all_inner_texts()
    assert titles.index("By access route") < titles.index("By delivery route")

    # Preview on the grant.
    preview = page.locator("form[action$='/preview']")
    preview.get_by_label("Grant").select_option(str(grant_id))
    for legend, (day, month, year) in (
        ("Period from", ("1", "4", "2023")),
        ("Period to", ("31", "3", "2024")),
    ):
        group = preview.get_by_role("group", name=legend)
        group.get_by_label("Day").fill(day)
        group.get_by_label("Month").fill(month)
        group.get_by_label("Year").fill(year)
    preview.get_by_role("button", name="Preview the figures").click()
    expect(page.get_by_role("rowheader", name="Families helped")).to_be_visible()
    axe_check(page, "33-definition-preview")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the preview workbook (.xlsx)").click()
    workbook = Path(download_info.value.path()).read_bytes()
    summary = sheets_openpyxl(workbook)["Summary"]
    labels = [row[0] for row in summary if row and row[0]]
    assert labels.index("By access route") < labels.index("By delivery route")
    assert "Families helped" in labels

    # Save it; it is then offered on the returns page.
    page.get_by_role("link", name="Back to the draft").click()
    page.get_by_role("button", name="Save as version 1").first.click()
    expect(page.get_by_text("version 1 is saved")).to_be_visible()
    axe_check(page, "34-definition-saved")
    page.get_by_role("link", name="Returns").first.click()
    expect(page.get_by_label("Household Support Fund (copy)")).to_be_visible()
