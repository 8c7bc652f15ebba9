"""In a real browser: a manager opens a grant and downloads its evidence pack."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal
from pathlib import Path

import openpyxl
from playwright.sync_api import Page
from sqlalchemy import select

from funds.admin.services import create_user
from funds.disbursements.services import AwardInput, record_disbursement
from funds.extensions import db
from funds.grants.services import create_funder, create_grant
from funds.models import HSF_CATEGORIES, EvidenceKind, ItemType, Role
from funds.people.services import HouseholdInput, create_household
from funds.taxonomy.defaults import apply_default_hsf_mapping, ensure_default_taxonomy
from tests.conftest import PASSWORD, TODAY
from tests.evidence.pack_helpers import add_file, sha256


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
        household = create_household(
            HouseholdInput(children=2, has_children=True, name="Zelda Quixote"),
            actor=manager,
        )
        line = record_disbursement(
            AwardInput(
                grant_id=grant.id,
                item_type_id=food,
                amount=Decimal("30.00"),
                awarded_on=date(2023, 5, 1),
                delivery_method="voucher",
                access_route="referral",
                household_id=household.id,
            ),
            actor=manager,
            today=TODAY,
        )
        db.session.commit()
        add_file(
            grant.id, EvidenceKind.AWARD, uploader_id=manager.id, record_id=line.id
        )
        return grant.id


def test_manager_downloads_a_grants_evidence_pack(
    page: Page, server_url, live_app, axe_check
):
    grant_id = _seed(live_app)
    page.goto(server_url + "/login")
    page.get_by_label("Email address").fill("maria@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{server_url}/grants/{grant_id}")
    page.get_by_role("heading", name="Evidence pack").wait_for()
    axe_check(page, "grant-evidence-pack")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download evidence pack").click()
    download = download_info.value
    assert download.suggested_filename == (
        "evidence-pack-C4C-HSF4-2023-04-01-to-2024-03-31.zip"
    )
    data = Path(download.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as pack:
        assert "manifest.xlsx" in pack.namelist()
        book = openpyxl.load_workbook(io.BytesIO(pack.read("manifest.xlsx")))
        rows = list(book["Ledger lines"].iter_rows(values_only=True))
        assert len(rows) == 2 and rows[1][2] == 30
        name = rows[1][17]
        assert rows[1][18] == sha256(pack.read(name))
        for member in pack.namelist():
            assert b"Zelda" not in pack.read(member)
    # a mistyped period: the error is shown on the field
    page.goto(f"{server_url}/grants/{grant_id}/evidence-pack")
    page.locator("#pack-date_to-day").fill("1")
    page.locator("#pack-date_to-month").fill("1")
    page.locator("#pack-date_to-year").fill("2020")
    page.get_by_role("button", name="Download evidence pack").click()
    page.get_by_text("There is a problem").wait_for()
    axe_check(page, "evidence-pack-error")
