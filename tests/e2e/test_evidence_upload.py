"""In a real browser: staff attach a phone photo of a receipt to an award, see it listed,
and download it again, without its location data."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from decimal import Decimal

from PIL import Image
from playwright.sync_api import Page, expect
from sqlalchemy import select

from funds.extensions import db
from funds.models import EvidenceFile
from tests.conftest import REAL_TODAY

PASSWORD = "plum-orbit-lantern-42"


def _receipt_photo() -> bytes:
    """A JPEG "photo" of a till receipt, as a phone takes it: sideways, with GPS."""
    image = Image.new("RGB", (320, 180), "white")
    for y in range(20, 160, 20):
        for x in range(30, 290):
            image.putpixel((x, y), (40, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (50.0, 54.0, 3.0), "W", (1.0, 24.0, 15.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _seed(live_app) -> int:
    from funds.admin.services import create_user
    from funds.disbursements.services import AwardInput, record_disbursement
    from funds.grants.services import create_funder, create_grant
    from funds.models import DeliveryMethod, ItemType, Role
    from funds.taxonomy.defaults import ensure_default_taxonomy

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
        fridge = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Fridge")
        ).one()
        award = record_disbursement(
            AwardInput(
                grant_id=grant.id,
                item_type_id=fridge,
                amount=Decimal("249.99"),
                awarded_on=today - timedelta(days=2),
                delivery_method=DeliveryMethod.DIRECT_PURCHASE,
                supplier="Currys",
            ),
            actor=manager,
            today=today,
        )
        db.session.commit()
        return award.id


def test_staff_attach_a_photo_of_a_receipt_and_download_it(
    page: Page, server_url, live_app, axe_check, tmp_path
):
    award_id = _seed(live_app)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))

    page.goto(f"{server_url}/awards/{award_id}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_role("heading", name="Receipts and evidence")).to_be_visible()
    expect(page.get_by_text("No files attached yet.")).to_be_visible()
    axe_check(page, "evidence-01-award")

    upload = page.get_by_label("Attach receipts or invoices")
    assert (
        upload.get_attribute("accept") == "application/pdf,image/jpeg,image/png,.xlsx"
    )
    assert upload.get_attribute("multiple") is not None
    upload.set_input_files(
        [
            {
                "name": "IMG_20240603_Currys.jpg",
                "mimeType": "image/jpeg",
                "buffer": _receipt_photo(),
            }
        ]
    )
    page.get_by_label("What the files show (optional)").fill(
        "Till receipt for the fridge"
    )
    page.get_by_role("button", name="Attach files").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "1 file attached"
    )
    files = page.locator("#evidence table")
    expect(files).to_contain_text("IMG_20240603_Currys.jpg")
    expect(files).to_contain_text("Sam Staff")
    expect(files).to_contain_text("Not scanned (scanning off)")
    axe_check(page, "evidence-02-attached")

    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("IMG_20240603_Currys.jpg")).click()
    download = info.value
    assert download.suggested_filename == "IMG_20240603_Currys.jpg"
    saved = tmp_path / "downloaded.jpg"
    download.save_as(saved)
    with Image.open(saved) as image:
        assert image.format == "JPEG"
        assert image.size == (180, 320)  # the right way up
        assert dict(image.getexif()) == {}

    with live_app.app_context():
        evidence = db.session.scalars(select(EvidenceFile)).one()
        assert evidence.disbursement_id == award_id
        assert evidence.description == "Till receipt for the fridge"
        db.session.remove()
    assert not problems, problems
