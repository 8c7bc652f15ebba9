"""In a real browser: a staff member records a kayaking session, then its register."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.admin.services import create_user
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import ActivitySession, AuditEvent, Disbursement, Gender, Role
from funds.people.services import YoungPersonInput, create_young_person
from funds.taxonomy.defaults import ensure_default_taxonomy
from tests.conftest import REAL_TODAY

PASSWORD = "kayak-paddle-harbour-77"


def _seed(live_app) -> dict:
    """A programme grant whose open period holds last week, three young people, a staff user."""
    today = REAL_TODAY
    with live_app.app_context():
        ensure_default_taxonomy()
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
        funder = create_funder(
            actor=manager,
            name="Hampshire and Isle of Wight Mental Health board",
            categories=["Activities"],
        )
        grant = create_grant(
            actor=manager,
            reference="HIOW-MH-1",
            title="Activity programme for young people",
            funder_id=funder.id,
            total=Decimal("11000.00"),
            starts_on=today - timedelta(days=90),
            ends_on=today + timedelta(days=275),
            control="block",
        )
        people = {}
        for name, born, gender in [
            ("Jamie Smith", date(today.year - 14, 3, 1), Gender.MALE),
            ("Riley Jones", date(today.year - 16, 9, 1), Gender.FEMALE),
            ("Drew Wilson", date(today.year - 12, 5, 1), Gender.NON_BINARY),
        ]:
            person = create_young_person(
                YoungPersonInput(name=name, date_of_birth=born, gender=gender),
                actor=manager,
                today=today,
            )
            people[name] = person.reference
        db.session.commit()
        return {"grant_id": grant.id, "people": people}


def test_record_a_session_and_its_register(page: Page, server_url, live_app, axe_check):
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
    seeded = _seed(live_app)
    held_on = REAL_TODAY - timedelta(days=7)

    page.goto(server_url + "/login")
    axe_check(page, "activities-00-login")
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Sam Staff")).to_be_visible()

    page.get_by_role("link", name="Activities").first.click()
    expect(page.get_by_role("heading", name="Activity sessions")).to_be_visible()
    axe_check(page, "activities-01-list-empty")

    page.get_by_role("button", name="Record a session").click()
    expect(page.get_by_role("heading", name="Record a session")).to_be_visible()
    axe_check(page, "activities-02-new")

    page.get_by_label("Activity").select_option(label="Kayaking")
    page.locator("#held_on-day").fill(str(held_on.day))
    page.locator("#held_on-month").fill(str(held_on.month))
    page.locator("#held_on-year").fill(str(held_on.year))
    page.get_by_label("Start time (optional)").fill("25:61")
    page.get_by_label("Hours").fill("2")
    page.get_by_label("Minutes").fill("30")
    page.get_by_label("Paid from grant").select_option(str(seeded["grant_id"]))
    page.get_by_label("Supplier (optional)").fill("Calshot Activities Centre")
    page.get_by_label("Total cost").fill("120.00")
    page.get_by_label("Places available (optional)").fill("8")
    page.get_by_role("button", name="Record session").click()

    # A mistake first: the error summary names it, the title says so, nothing is recorded.
    expect(page.locator(".govuk-error-summary")).to_contain_text("24-hour clock")
    expect(page).to_have_title(re.compile(r"^Error: "))
    axe_check(page, "activities-03-new-error")
    with live_app.app_context():
        assert db.session.scalar(select(ActivitySession.id)) is None
    expect(page.get_by_label("Total cost")).to_have_value("120.00")
    page.get_by_label("Start time (optional)").fill("10:00")
    page.get_by_role("button", name="Record session").click()

    expect(page.get_by_text("Session recorded")).to_be_visible()
    expect(page.get_by_role("heading", name="Kayaking")).to_be_visible()
    expect(page.locator("#places-filled")).to_contain_text("0")
    axe_check(page, "activities-04-session-recorded")

    page.get_by_role("button", name="Record who attended").click()
    expect(page.get_by_role("heading", name="Who attended?")).to_be_visible()
    axe_check(page, "activities-05-register")
    people = seeded["people"]
    # The list is by name; the filter narrows it as you type and keeps what is ticked.
    labels = page.locator(".govuk-checkboxes__label")
    expect(labels.first).to_have_text(f"Drew Wilson ({people['Drew Wilson']})")
    page.get_by_label(f"Jamie Smith ({people['Jamie Smith']})").check()
    page.get_by_label("Filter the list by name or reference").fill("riley")
    expect(page.get_by_label(f"Jamie Smith ({people['Jamie Smith']})")).to_be_hidden()
    expect(page.get_by_text("Showing 1 of 3")).to_be_visible()
    axe_check(page, "activities-05b-register-filtered")
    page.get_by_label(f"Riley Jones ({people['Riley Jones']})").check()
    page.get_by_label("Filter the list by name or reference").fill("")
    expect(page.get_by_label(f"Jamie Smith ({people['Jamie Smith']})")).to_be_checked()
    page.get_by_label("Parents or carers who came along").fill("1")
    page.get_by_role("button", name="Save register").click()

    expect(page.get_by_text("Register saved: 2 added, 0 removed.")).to_be_visible()
    expect(page.locator("#places-filled")).to_contain_text("2")
    expect(page.locator("#places-filled")).to_contain_text("of 8")
    expect(page.locator("#cost-per-participant")).to_have_text("£60.00")
    expect(page.locator("#contact-hours")).to_have_text("5.00")
    register = page.locator("#register ~ .funds-table-scroll table")
    expect(register).to_contain_text("Jamie Smith")
    expect(register).to_contain_text("Riley Jones")
    expect(register).not_to_contain_text("Drew Wilson")
    expect(page.get_by_text("2 young people and 1 parent or carer")).to_be_visible()
    axe_check(page, "activities-06-session-with-register")

    page.get_by_role("link", name="Back to the HIOW-MH-1 programme").click()
    expect(
        page.get_by_role("heading", name="Activity programme for young people")
    ).to_be_visible()
    expect(page.locator("#not-attended ~ ul")).to_contain_text("Drew Wilson")
    axe_check(page, "activities-07-programme")

    # Jamie's own page lists the session and their half of its cost.
    page.goto(server_url + "/young-people")
    page.get_by_role("link", name=people["Jamie Smith"]).click()
    expect(page.locator("#sessions-attended")).to_have_text("1")
    expect(page.locator("#cost-share")).to_have_text("£60.00")
    axe_check(page, "activities-08-young-person")

    with live_app.app_context():
        session = db.session.scalars(select(ActivitySession)).one()
        assert session.held_on == held_on
        assert session.duration_minutes == 150
        assert session.carers == 1
        assert {a.young_person.reference for a in session.attendances} == {
            people["Jamie Smith"],
            people["Riley Jones"],
        }
        assert db.session.scalars(select(Disbursement.amount)).all() == [
            Decimal("120.00")
        ]
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert "activity_session.create" in actions
        assert "activity_session.attendance" in actions
    assert not problems, problems
