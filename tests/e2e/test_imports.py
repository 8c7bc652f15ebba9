"""In a real browser, with the real job worker: a manager imports a 2,000-row awards sheet
with one wrong date, downloads the rows to fix, uploads the corrected file, watches the
progress bar, and sees the grant's totals change. Every page passes axe."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from funds.admin.services import create_user
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import HSF_CATEGORIES, Role
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import ensure_default_taxonomy
from tests.conftest import PASSWORD, worker_process

#: The job worker runs in its own process, on the machine's clock.
pytestmark = pytest.mark.real_clock

ROWS = 2_000
WRONG = 1_500  # the row (after the headings) with a date that does not exist
HEADER = [
    "Your id",
    "Grant reference",
    "Household or young person",
    "Item",
    "Amount",
    "Date given",
    "How it was given",
    "How they came to be helped",
]


@pytest.fixture
def live_config(tmp_path) -> dict:
    return {"JOBS_IMMEDIATE": False, "JOBS_DATABASE": str(tmp_path / "jobs.sqlite")}


@pytest.fixture
def worker(live_app, tmp_path):
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed below
    processes = []

    def _start():
        processes.append(
            worker_process(
                live_app.config["SQLALCHEMY_DATABASE_URI"],
                live_app.config["JOBS_DATABASE"],
                log,
            )
        )

    yield _start
    for process in processes:
        process.kill()
        process.wait(timeout=10)
    log.close()


def _seed(app) -> list[str]:
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
            actor=manager,
            name="Connect4Communities",
            categories=list(HSF_CATEGORIES),
            default_hsf_mapping=True,
        )
        create_grant(
            actor=manager,
            reference="E2E-HSF",
            title="Household Support",
            funder_id=funder.id,
            total=Decimal("100000.00"),
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
        )
        references = [
            create_household(HouseholdInput(adults=1), actor=manager).reference
            for _ in range(20)
        ]
        db.session.commit()
        return references


def _sheet(households: list[str], *, wrong: bool) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for n in range(1, ROWS + 1):
        day = date(2024, 4, 1) + timedelta(days=n % 300)
        sheet.append(
            [
                f"OLD-{n}",
                "E2E-HSF",
                households[n % len(households)],
                "Food voucher",
                "12.50",
                "31/02/2024" if wrong and n == WRONG else day.strftime("%d/%m/%Y"),
                "Voucher",
                "Referral",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _wait_for_the_job(page: Page, worker, started: list) -> None:
    """The job's page while the work is queued or running; the worker is started once."""
    expect(page.get_by_text("Working in the background")).to_be_visible()
    expect(page.locator("progress#job-bar")).to_be_attached()
    if not started:
        worker()
        started.append(True)


def test_a_manager_imports_a_year_of_awards(
    page: Page, server_url, live_app, axe_check, worker, tmp_path
):
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    households = _seed(live_app)
    started: list = []

    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("maria@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Imports").first.click()
    expect(
        page.get_by_role("heading", name="Bring in your spreadsheets")
    ).to_be_visible()
    axe_check(page, "imports-01-upload")

    # The file with one wrong date.
    page.get_by_label("Awards").check()
    page.get_by_label("The spreadsheet").set_input_files(
        files=[
            {
                "name": "old awards.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet",
                "buffer": _sheet(households, wrong=True),
            }
        ]
    )
    page.get_by_role("button", name="Upload and match the columns").click()
    expect(page.get_by_role("heading", name="Which column holds what?")).to_be_visible()
    # Every heading was recognised: each select shows its column with sample values.
    expect(page.get_by_label("Date given", exact=False)).to_contain_text("Date given")
    axe_check(page, "imports-02-columns")
    page.get_by_role("button", name="Check every row").click()

    # The job's page: queued until the worker takes it, then it moves on by itself.
    _wait_for_the_job(page, worker, started)
    axe_check(page, "imports-03-progress")
    expect(page.get_by_role("heading", name="Rows to fix", exact=True)).to_be_visible(
        timeout=60_000
    )
    problems_table = page.get_by_role("region", name="Problems found")
    expect(problems_table).to_contain_text(str(WRONG + 1))
    expect(problems_table).to_contain_text("31/02/2024 is not a real date")
    axe_check(page, "imports-04-rows-to-fix")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the rows to fix (.xlsx)").click()
    assert download.value.suggested_filename.endswith("-rows-to-fix.xlsx")
    errors = openpyxl.load_workbook(
        io.BytesIO(download.value.path().read_bytes())
    ).active
    values = [[cell.value for cell in row] for row in errors.iter_rows()]
    assert len(values) == 2 and values[1][0] == f"OLD-{WRONG}"
    assert values[1][-2] == str(WRONG + 1) and "not a real date" in values[1][-1]

    # Corrected, the same file goes in as a new import whose columns are matched as before.
    page.get_by_label("Upload the corrected file").set_input_files(
        files=[
            {
                "name": "old awards fixed.xlsx",
                "mimeType": "application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet",
                "buffer": _sheet(households, wrong=False),
            }
        ]
    )
    page.get_by_role("button", name="Upload and check again").click()
    button = page.get_by_role("button", name=f"Import {ROWS:,} awards")
    expect(button).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Every row is right")).to_be_visible()
    axe_check(page, "imports-05-ready")
    button.click()
    expect(page.get_by_text("Imported").first).to_be_visible(timeout=60_000)
    axe_check(page, "imports-06-imported")

    page.goto(server_url + "/grants/")
    page.get_by_role("link", name="E2E-HSF").first.click()
    spent = Decimal("12.50") * ROWS
    expect(page.locator("#available-to-award")).to_have_text(
        f"£{Decimal('100000.00') - spent:,.2f}"
    )
    assert not problems, problems
