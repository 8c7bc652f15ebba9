"""The hand-over export: one grant's beneficiaries as a zip of CSV files and a README."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    Disbursement,
    EvidenceFile,
    Role,
    Voucher,
)
from funds.privacy.handover import FILES, readme_text
from tests.privacy.test_subject_access import (
    CO_ATTENDEE_NAME,
    HOUSEHOLD_NAME,
    HOUSEHOLD_NOTES,
    OTHER_HOUSEHOLD_NAME,
    PERSON_NAME,
    REVERSAL_REASON,
    build_scene,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "handover-format.md"


@pytest.fixture
def scene(
    app,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_batch,
    create_user,
):
    made = build_scene(
        app,
        create_grant=create_grant,
        create_household=create_household,
        create_young_person=create_young_person,
        create_disbursement=create_disbursement,
        create_session=create_session,
        create_batch=create_batch,
        create_user=create_user,
    )
    # Someone helped only by another grant: never in this grant's hand-over.
    outsider = create_household(name="=Only Other Grant*")
    create_disbursement(made.other_grant, "3.00", household_id=outsider)
    return made


@pytest.fixture
def admin_client(app, create_user, login):
    the_client = app.test_client()
    login(create_user(Role.ADMIN, name="Ada Admin"), the_client=the_client)
    return the_client


def _get(the_client, url):
    """The response, its body read and the temporary file it was sent from closed."""
    response = the_client.get(url)
    response.get_data()
    response.close()
    return response


def _files(response) -> dict[str, list[dict]]:
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    files = {}
    for name in archive.namelist():
        if name.endswith(".csv"):
            text = archive.read(name).decode("utf-8")
            assert text.startswith("\ufeff")
            files[name] = list(csv.DictReader(io.StringIO(text[1:])))
    files["README.txt"] = archive.read("README.txt").decode("utf-8")
    return files


def test_handover_zip(app, admin_client, scene):
    response = _get(admin_client, f"/privacy/grants/{scene.grant}/handover.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert "handover-G-SAR-" in response.headers["Content-Disposition"]
    files = _files(response)
    assert set(files) == {spec.name for spec in FILES} | {"README.txt"}
    # Each file has the documented columns, in order.
    for spec in FILES:
        archive = zipfile.ZipFile(io.BytesIO(response.data))
        heading = archive.read(spec.name).decode("utf-8")[1:].splitlines()[0]
        assert heading.split(",") == [field.heading for field in spec.fields]

    households = {row["reference"]: row for row in files["households.csv"]}
    assert set(households) == {scene.household_ref, scene.other_household_ref}
    mine = households[scene.household_ref]
    assert mine["name"] == "'" + HOUSEHOLD_NAME  # formula-safe
    assert mine["notes"] == HOUSEHOLD_NOTES  # several lines, in one cell
    assert mine["postcode_district"] == "SO14" and mine["has_children"] == "Yes"
    assert households[scene.other_household_ref]["name"] == "'" + OTHER_HOUSEHOLD_NAME

    people = {row["reference"]: row for row in files["young_people.csv"]}
    # Awarded to, and on the register of a session: both are beneficiaries.
    assert set(people) == {scene.person_ref, scene.co_attendee_ref}
    assert people[scene.person_ref]["name"] == "'" + PERSON_NAME
    assert people[scene.co_attendee_ref]["name"] == "'" + CO_ATTENDEE_NAME
    assert people[scene.person_ref]["household_reference"] == scene.household_ref

    body = response.data.decode("latin-1")
    assert "Only Other Grant" not in body
    assert "7.25" not in body  # the household's award from the other grant

    with app.app_context():
        lines = db.session.execute(
            select(func.count(), func.sum(Disbursement.amount)).where(
                Disbursement.grant_id == scene.grant,
                (Disbursement.household_id.is_not(None))
                | (Disbursement.young_person_id.is_not(None)),
            )
        ).one()
        attendances = db.session.scalar(
            select(func.count())
            .select_from(Attendance)
            .join(ActivitySession)
            .where(ActivitySession.grant_id == scene.grant)
        )
        vouchers = db.session.scalar(
            select(func.count())
            .select_from(Voucher)
            .where(Voucher.disbursement_id.is_not(None))
        )
        evidence = db.session.scalar(select(func.count()).select_from(EvidenceFile))
    awards = files["awards.csv"]
    assert len(awards) == lines[0]
    assert sum(Decimal(row["amount"]) for row in awards) == Decimal(str(lines[1]))
    assert all(row["amount"] == f"{Decimal(row['amount']):.2f}" for row in awards)
    reversal = next(row for row in awards if row["reverses_award_id"])
    assert reversal["amount"] == "-40.00"
    assert reversal["reversal_reason"] == REVERSAL_REASON
    assert reversal["payment_status"] == "Reversal"
    paid = next(row for row in awards if row["award_id"] == str(scene.awards[0]))
    assert paid["payment_status"] == "Paid" and paid["payment_reference"] == "BACS-1"
    assert paid["notes"].startswith("Paid to <landlord>")
    assert len(files["attendances.csv"]) == attendances == 2
    assert len(files["vouchers.csv"]) == vouchers == 1
    assert files["vouchers.csv"][0]["serial"] == "SAR0001"
    assert len(files["evidence_files.csv"]) == evidence == 1
    assert files["evidence_files.csv"][0]["file_name"] == "receipt <fridge> =1.pdf"

    assert files["README.txt"] == readme_text()
    for spec in FILES:
        for field in spec.fields:
            assert f"  {field.heading}: {field.meaning}" in files["README.txt"]


def test_every_text_cell_is_formula_safe(app, admin_client, scene):
    files = _files(_get(admin_client, f"/privacy/grants/{scene.grant}/handover.zip"))
    for name, rows in files.items():
        if name == "README.txt":
            continue
        for row in rows:
            for heading, value in row.items():
                if heading in ("amount",):
                    continue
                assert value.lstrip()[:1] not in ("=", "+", "-", "@"), (name, value)


def test_the_documented_format_is_the_readme():
    assert readme_text() in DOCS.read_text(encoding="utf-8")


def test_handover_is_audited_with_counts(app, admin_client, scene):
    _get(admin_client, f"/privacy/grants/{scene.grant}/handover.zip")
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "grant.handover")
        )
        assert event.object_type == "grants" and event.object_id == scene.grant
        assert event.after == {
            "grant": "G-SAR",
            "households": 2,
            "young_people": 2,
            "awards": 6,
            "attendances": 2,
            "vouchers": 1,
            "evidence_files": 1,
        }
    trail = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "downloaded the hand-over export of" in trail


def test_an_empty_grant_gives_headings_only(app, admin_client, create_grant):
    grant = create_grant(reference="G-EMPTY")
    files = _files(_get(admin_client, f"/privacy/grants/{grant}/handover.zip"))
    assert all(files[spec.name] == [] for spec in FILES)


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE, Role.MANAGER])
def test_only_admins(app, create_user, login, scene, role):
    the_client = app.test_client()
    login(create_user(role), the_client=the_client)
    assert (
        the_client.get(f"/privacy/grants/{scene.grant}/handover.zip").status_code == 403
    )
    page = the_client.get(f"/grants/{scene.grant}").get_data(as_text=True)
    assert "Hand-over export" not in page


def test_grant_page_links_for_admins(app, admin_client, scene):
    page = admin_client.get(f"/grants/{scene.grant}").get_data(as_text=True)
    assert f'href="/privacy/grants/{scene.grant}/handover.zip"' in page


def test_unknown_grant_is_404(app, admin_client):
    assert _get(admin_client, "/privacy/grants/999/handover.zip").status_code == 404


def test_a_stale_sign_in_must_confirm(app, admin_client, scene):
    import time_machine

    with time_machine.travel(timedelta(minutes=20)):
        response = _get(admin_client, f"/privacy/grants/{scene.grant}/handover.zip")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/confirm")
