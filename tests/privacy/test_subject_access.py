"""Subject access export: everything held about one person, and nobody else's data."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    EvidenceFile,
    EvidenceKind,
    Household,
    RetentionHold,
    Role,
    User,
    YoungPerson,
)
from tests.conftest import IN_PERIOD, TODAY

# Hostile text: formula leads, wildcards, markup and a non-character.
HOUSEHOLD_NAME = "=Zoë* Hołd?~ <b>Smith</b>"
HOUSEHOLD_CONTACT = "+44 7700 900*123 <tel>"
HOUSEHOLD_NOTES = "Needs a cooker =SUM(A1)\nSecond line <script>x</script> ~?"
PERSON_NAME = "@Jay ?Young= >1"
PERSON_NOTES = "-Likes kayaking <i>a lot</i>"
AWARD_NOTES = "Paid to <landlord> =HYPERLINK(x) ~"
REVERSAL_REASON = "Wrong amount *typed* <oops>"
#: Nobody else's data: these must never appear in another person's export.
OTHER_HOUSEHOLD_NAME = "+Otto Other ~Household* <Q>"
OTHER_HOUSEHOLD_NOTES = "Other household's secret note"
CO_ATTENDEE_NAME = "-Cora ~Attendee* <i>x</i>"
CO_ATTENDEE_NOTES = "Co-attendee's secret note"


@dataclass
class Scene:
    grant: int
    other_grant: int
    household: int
    household_ref: str
    other_household: int
    other_household_ref: str
    person: int
    person_ref: str
    co_attendee: int
    co_attendee_ref: str
    session: int
    awards: list[int]
    reversal: int


def build_scene(
    app,
    *,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_batch,
    create_user,
) -> Scene:
    """A household and a young person in it with awards (one paid, one reversed, one
    from voucher stock), a session the young person attended beside someone else, an
    evidence file, a hold; another household with its own award."""
    from funds.disbursements.services import mark_paid, reverse_disbursement
    from funds.models import AccessRoute, Voucher
    from funds.vouchers.services import issue_vouchers

    grant = create_grant("5000.00", reference="G-SAR")
    other_grant = create_grant("500.00", reference="G-OTHER")
    household = create_household(
        name=HOUSEHOLD_NAME,
        contact=HOUSEHOLD_CONTACT,
        notes=HOUSEHOLD_NOTES,
        case_reference="CMS-*77",
        postcode_district="SO14",
        adults=2,
        children=1,
        has_children=True,
    )
    other_household = create_household(
        name=OTHER_HOUSEHOLD_NAME, notes=OTHER_HOUSEHOLD_NOTES
    )
    person = create_young_person(
        name=PERSON_NAME, notes=PERSON_NOTES, household_id=household
    )
    co_attendee = create_young_person(name=CO_ATTENDEE_NAME, notes=CO_ATTENDEE_NOTES)
    paid = create_disbursement(
        grant, "12.50", household_id=household, notes=AWARD_NOTES, item="Fridge"
    )
    reversed_award = create_disbursement(grant, "40.00", household_id=household)
    create_disbursement(other_grant, "7.25", household_id=household)
    person_award = create_disbursement(grant, "15.00", young_person_id=person)
    create_disbursement(grant, "99.99", household_id=other_household)
    session = create_session(grant, "60.00", attendees=(person, co_attendee))
    batch = create_batch(grant, quantity=3, prefix="SAR")
    finance = create_user(Role.FINANCE, name="Fiona Finance")
    manager = create_user(Role.MANAGER, name="Manny Manager")
    with app.app_context():
        actor = db.session.get(User, manager)
        reversal = reverse_disbursement(
            db.session.get(Disbursement, reversed_award),
            actor=actor,
            reason=REVERSAL_REASON,
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        mark_paid(
            db.session.get(Disbursement, paid),
            actor=db.session.get(User, finance),
            paid_on=IN_PERIOD,
            payment_reference="BACS-1",
            today=TODAY,
        )
        voucher = db.session.scalar(
            select(Voucher).where(Voucher.batch_id == batch).order_by(Voucher.serial)
        )
        issued = issue_vouchers(
            [voucher.id],
            actor=actor,
            household_id=household,
            awarded_on=IN_PERIOD,
            access_route=AccessRoute.REFERRAL,
            today=TODAY,
        )
        db.session.add(
            EvidenceFile(
                stored_name=secrets.token_hex(16),
                original_name="receipt <fridge> =1.pdf",
                content_type="application/pdf",
                size_bytes=1234,
                sha256="ab" * 32,
                kind=EvidenceKind.AWARD,
                grant_id=grant,
                disbursement_id=paid,
                uploaded_by_id=manager,
            )
        )
        db.session.add(
            RetentionHold(
                household_id=household, reason="Complaint open", placed_by_id=manager
            )
        )
        db.session.commit()
        refs = {
            (model, ident): db.session.get(model, ident).reference
            for model, ident in (
                (Household, household),
                (Household, other_household),
                (YoungPerson, person),
                (YoungPerson, co_attendee),
            )
        }
        awards = [paid, reversed_award, issued[0].id, person_award]
        reversal_id = reversal.id
    return Scene(
        grant=grant,
        other_grant=other_grant,
        household=household,
        household_ref=refs[Household, household],
        other_household=other_household,
        other_household_ref=refs[Household, other_household],
        person=person,
        person_ref=refs[YoungPerson, person],
        co_attendee=co_attendee,
        co_attendee_ref=refs[YoungPerson, co_attendee],
        session=session,
        awards=awards,
        reversal=reversal_id,
    )


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
) -> Scene:
    return build_scene(
        app,
        create_grant=create_grant,
        create_household=create_household,
        create_young_person=create_young_person,
        create_disbursement=create_disbursement,
        create_session=create_session,
        create_batch=create_batch,
        create_user=create_user,
    )


@pytest.fixture
def admin_client(app, create_user, login):
    the_client = app.test_client()
    login(create_user(Role.ADMIN, name="Ada Admin"), the_client=the_client)
    return the_client


def _sql_net(app, **where) -> Decimal:
    """The person's net amount, summed by the database."""
    ((column, value),) = where.items()
    with app.app_context():
        total = db.session.scalar(
            select(func.sum(Disbursement.amount)).where(
                getattr(Disbursement, column) == value
            )
        )
    return Decimal(str(total or 0))


def _others(scene: Scene) -> list[str]:
    return [
        OTHER_HOUSEHOLD_NAME,
        OTHER_HOUSEHOLD_NOTES,
        scene.other_household_ref,
        CO_ATTENDEE_NAME,
        CO_ATTENDEE_NOTES,
        scene.co_attendee_ref,
    ]


def _absent(texts: list[str], body: str) -> None:
    for text in texts:
        assert text not in body, text
        assert str(escape(text)) not in body, text
        assert json.dumps(text)[1:-1] not in body, text


# --- the household's export ------------------------------------------------------------


def test_household_export_holds_what_its_page_shows(app, admin_client, scene):
    page = admin_client.get(f"/households/{scene.household}").get_data(as_text=True)
    response = admin_client.get(f"/privacy/households/{scene.household}/subject-access")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    export = response.get_data(as_text=True)
    shown = [
        HOUSEHOLD_NAME,
        HOUSEHOLD_CONTACT,
        "CMS-*77",
        "SO14",
        scene.household_ref,
        scene.person_ref,
        "G-SAR",
        "G-OTHER",
        "Fridge",
        "£12.50",
        "£40.00",
        "-£40.00",
        "£7.25",
        *HOUSEHOLD_NOTES.splitlines(),
    ]
    for text in shown:
        assert str(escape(text)) in page, text
        assert str(escape(text)) in export, text
    # And what the page does not show: serials, payment, evidence, the hold, the audit.
    for text in (
        "SAR0001",
        "BACS-1",
        "receipt <fridge> =1.pdf",
        "Complaint open",
        REVERSAL_REASON,
        AWARD_NOTES,
        "household.create",
        "disbursement.reverse",
        "Manny Manager",
    ):
        assert str(escape(text)) in export, text
    assert (
        'href="/privacy/households/%d/subject-access.json"' % scene.household in export
    )
    assert "subject-access-print.css" in export


def test_household_export_names_nobody_else(app, admin_client, scene):
    html = admin_client.get(
        f"/privacy/households/{scene.household}/subject-access"
    ).get_data(as_text=True)
    data = admin_client.get(
        f"/privacy/households/{scene.household}/subject-access.json"
    ).get_data(as_text=True)
    for body in (html, data):
        _absent([*_others(scene), PERSON_NAME, PERSON_NOTES], body)
        assert scene.person_ref in body  # the young person by reference only
        assert "99.99" not in body  # the other household's award


def test_household_json(app, admin_client, scene):
    response = admin_client.get(
        f"/privacy/households/{scene.household}/subject-access.json"
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"subject-access-{scene.household_ref}-" in disposition
    data = json.loads(response.get_data(as_text=True))
    assert data["subject"] == {"type": "household", "reference": scene.household_ref}
    record = data["record"]
    assert record["name"] == HOUSEHOLD_NAME
    assert record["contact"] == HOUSEHOLD_CONTACT
    assert record["notes"] == HOUSEHOLD_NOTES
    assert record["young_people"] == [scene.person_ref]
    assert record["has_children"] is True
    assert record["created_at"][:4].isdigit() and "T" in record["created_at"]
    amounts = [Decimal(award["amount"]) for award in data["awards"]]
    assert all(
        award["amount"] == f"{Decimal(award['amount']):.2f}" for award in data["awards"]
    )
    assert sum(amounts) == _sql_net(app, household_id=scene.household)
    assert Decimal(data["net_amount"]) == sum(amounts)
    by_id = {award["id"]: award for award in data["awards"]}
    paid = by_id[scene.awards[0]]
    assert paid["amount"] == "12.50"
    assert paid["payment_status"] == "Paid"
    assert paid["paid_on"] == IN_PERIOD.isoformat()
    assert paid["notes"] == AWARD_NOTES
    reversed_award = by_id[scene.awards[1]]
    assert reversed_award["payment_status"] == "Reversed"
    assert reversed_award["reversed_by_award"] == scene.reversal
    reversal = by_id[scene.reversal]
    assert reversal["amount"] == "-40.00"
    assert reversal["reversal_reason"] == REVERSAL_REASON
    assert by_id[scene.awards[2]]["voucher_serials"] == ["SAR0001"]
    assert data["evidence_files"][0]["name"] == "receipt <fridge> =1.pdf"
    assert data["holds"][0]["reason"] == "Complaint open"
    assert data["attendances"] == []
    actions = {entry["action"] for entry in data["audit"]}
    assert {
        "household.create",
        "disbursement.create",
        "disbursement.reverse",
    } <= actions
    assert "disbursement.mark_paid" in actions


# --- the young person's export -----------------------------------------------------------


def test_young_person_export(app, admin_client, scene):
    page = admin_client.get(f"/young-people/{scene.person}").get_data(as_text=True)
    html = admin_client.get(
        f"/privacy/young-people/{scene.person}/subject-access"
    ).get_data(as_text=True)
    for text in (PERSON_NAME, PERSON_NOTES, scene.person_ref, "Kayaking", "G-SAR"):
        assert str(escape(text)) in page, text
        assert str(escape(text)) in html, text
    response = admin_client.get(
        f"/privacy/young-people/{scene.person}/subject-access.json"
    )
    body = response.get_data(as_text=True)
    data = json.loads(body)
    assert data["record"]["household"] == scene.household_ref
    assert data["record"]["name"] == PERSON_NAME
    assert [row["activity"] for row in data["attendances"]] == ["Kayaking"]
    assert sum(Decimal(a["amount"]) for a in data["awards"]) == _sql_net(
        app, young_person_id=scene.person
    )
    for text in (html, body):
        # Their household by reference only; nobody else on the register.
        _absent([*_others(scene), HOUSEHOLD_NAME, HOUSEHOLD_CONTACT, "CMS-*77"], text)
        assert scene.household_ref in text


def test_exports_are_audited_by_reference(app, admin_client, scene):
    admin_client.get(f"/privacy/households/{scene.household}/subject-access")
    admin_client.get(f"/privacy/young-people/{scene.person}/subject-access.json")
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "person.export")
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.object_type, e.object_id, e.after) for e in events] == [
            (
                "households",
                scene.household,
                {"reference": scene.household_ref, "format": "html"},
            ),
            (
                "young_people",
                scene.person,
                {"reference": scene.person_ref, "format": "json"},
            ),
        ]
        assert all(e.actor.role is Role.ADMIN for e in events)
    trail = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "exported everything held about" in trail
    assert HOUSEHOLD_NAME not in trail.split("exported everything held about")[1][:300]


def test_an_erased_audit_entry_shows_no_values(app, admin_client, scene):
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "household.create",
                AuditEvent.object_id == scene.household,
            )
        )
        event.after = {"redacted": True}
        event.redacted_at = event.at
        db.session.commit()
    data = admin_client.get(
        f"/privacy/households/{scene.household}/subject-access.json"
    ).get_json()
    created = next(e for e in data["audit"] if e["action"] == "household.create")
    assert created["after"] is None and created["redacted_at"]


# --- who may ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE, Role.MANAGER])
def test_only_admins(app, create_user, login, scene, role):
    the_client = app.test_client()
    login(create_user(role), the_client=the_client)
    for url in (
        f"/privacy/households/{scene.household}/subject-access",
        f"/privacy/households/{scene.household}/subject-access.json",
        f"/privacy/young-people/{scene.person}/subject-access",
        f"/privacy/young-people/{scene.person}/subject-access.json",
    ):
        assert the_client.get(url).status_code == 403, url
    page = the_client.get(f"/households/{scene.household}").get_data(as_text=True)
    assert "Subject access export" not in page
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).where(AuditEvent.action == "person.export")
            )
            == 0
        )


def test_a_stale_sign_in_must_confirm_the_password(app, admin_client, scene):
    url = f"/privacy/households/{scene.household}/subject-access.json"
    with time_machine.travel(timedelta(minutes=20)):
        response = admin_client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/confirm")
        handover = admin_client.get(f"/privacy/grants/{scene.grant}/handover.zip")
        assert handover.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).where(
                    AuditEvent.action.in_(["person.export", "grant.handover"])
                )
            )
            == 0
        )


def test_unknown_person_is_404(app, admin_client, scene):
    assert (
        admin_client.get("/privacy/households/99999/subject-access").status_code == 404
    )
    assert (
        admin_client.get("/privacy/young-people/99999/subject-access.json").status_code
        == 404
    )


def test_the_household_page_links_to_the_export_for_admins(app, admin_client, scene):
    page = admin_client.get(f"/households/{scene.household}").get_data(as_text=True)
    assert f'href="/privacy/households/{scene.household}/subject-access"' in page
    page = admin_client.get(f"/young-people/{scene.person}").get_data(as_text=True)
    assert f'href="/privacy/young-people/{scene.person}/subject-access"' in page


# --- the command --------------------------------------------------------------------------


def test_cli_export(app, runner, scene, tmp_path, admin_client):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "sar.json"
    result = runner.invoke(
        args=["person", "export", scene.household_ref.lower(), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    web = admin_client.get(
        f"/privacy/households/{scene.household}/subject-access.json"
    ).get_json()
    for key in (
        "subject",
        "record",
        "awards",
        "attendances",
        "evidence_files",
        "holds",
    ):
        assert data[key] == web[key], key
    assert data["record"]["notes"] == HOUSEHOLD_NOTES
    assert sum(Decimal(a["amount"]) for a in data["awards"]) == _sql_net(
        app, household_id=scene.household
    )
    _absent(_others(scene), out.read_text(encoding="utf-8"))
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "person.export")
            .order_by(AuditEvent.id)
        ).first()
        assert event.actor_id is None
        assert event.after == {"reference": scene.household_ref, "format": "json"}
    assert list(folder.iterdir()) == [out]  # no partial file left beside it


def test_cli_unknown_reference(app, runner, scene, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "nobody.json"
    result = runner.invoke(args=["person", "export", "H-NOBODY", "--out", str(out)])
    assert result.exit_code != 0
    assert "H-NOBODY" in result.stderr
    assert not out.exists()
    assert list(folder.iterdir()) == []
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).where(AuditEvent.action == "person.export")
            )
            == 0
        )


# --- money adds up, whatever the amounts -----------------------------------------------


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    amounts=st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=25_000),  # pence
            st.booleans(),  # reversed?
        ),
        min_size=0,
        max_size=6,
    )
)
def test_json_amounts_sum_to_the_ledger(
    app, create_grant, create_household, create_disbursement, system_actor, amounts
):
    from funds.disbursements.services import reverse_disbursement
    from funds.privacy.subject_access import as_json, gather

    grant = create_grant("1000000.00")
    household = create_household(name="=Sum* ~Tester?")
    awards = [
        (
            create_disbursement(
                grant, str(Decimal(pence) / 100), household_id=household
            ),
            flip,
        )
        for pence, flip in amounts
    ]
    with app.app_context():
        actor = db.session.get(User, system_actor())
        for award, flip in awards:
            if flip:
                reverse_disbursement(
                    db.session.get(Disbursement, award),
                    actor=actor,
                    reason="Property test",
                    reversed_on=IN_PERIOD,
                    today=TODAY,
                )
        db.session.commit()
        data = as_json(
            gather(db.session.get(Household, household), now=datetime.now(UTC))
        )
    expected = sum(
        (Decimal(pence) / 100 for pence, flip in amounts if not flip), Decimal("0")
    )
    listed = sum((Decimal(a["amount"]) for a in data["awards"]), Decimal("0"))
    assert listed == expected == _sql_net(app, household_id=household)
    assert Decimal(data["net_amount"]) == listed
    assert len(data["awards"]) == len(amounts) + sum(flip for _, flip in amounts)
