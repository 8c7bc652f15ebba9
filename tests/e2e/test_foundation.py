"""In a real browser: first-run set-up, sign in, add a staff user, change password, sign out."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.extensions import db
from funds.models import Role, User

ADMIN_PASSWORD = "first-admin-passphrase"
NEW_PASSWORD = "a-better-admin-passphrase"


def test_first_run_to_sign_out(page: Page, server_url, live_app, axe_check):
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

    page.goto(server_url + "/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Set up funds")).to_be_visible()
    axe_check(page, "01-setup")

    # A mistake first: the error summary appears and the page title says so.
    page.get_by_label("Your name").fill("Ada Admin")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_label("New password", exact=True).fill("password1234")
    page.get_by_label("Confirm new password").fill("password1234")
    page.get_by_role("button", name="Create administrator account").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("too common")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe_check(page, "02-setup-error")

    page.get_by_label("New password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_label("Confirm new password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Create administrator account").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    axe_check(page, "03-users")

    # Sign out and back in through the sign-in page.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to funds")).to_be_visible()
    axe_check(page, "04-login")
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("textbox", name="Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text(
        "Enter a correct email address and password"
    )
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Ada Admin")).to_be_visible()
    axe_check(page, "05-home")

    # Add a staff user.
    page.get_by_role("link", name="Users").first.click()
    page.get_by_role("button", name="Add a user").click()
    axe_check(page, "06-new-user")
    page.get_by_label("Full name").fill("Sam Staff")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Staff").check()
    page.get_by_role("button", name="Add user").click()
    expect(page.get_by_text("User added")).to_be_visible()
    temporary = page.locator("#temporary-password").inner_text().strip()
    assert len(temporary) >= 12
    axe_check(page, "07-user-added")
    with live_app.app_context():
        sam = db.session.scalars(
            select(User).where(User.email == "sam@example.org")
        ).one()
        assert sam.role == Role.STAFF and sam.must_change_password

    # Change our own password.
    page.get_by_role("link", name="Ada Admin").click()
    axe_check(page, "08-change-password")
    page.get_by_label("Current password").fill(ADMIN_PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password has been changed")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out")).to_be_visible()
    page.goto(server_url + "/admin/users")
    expect(page).to_have_url(re.compile(r"/login\?next="))

    # The new password works and the old one does not.
    page.get_by_label("Email address").fill("ada@example.org")
    page.get_by_role("textbox", name="Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_be_visible()
    page.get_by_role("textbox", name="Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/users$"))
    assert not problems, problems  # no script errors, no missing CSS/JS/icons
