"""Erasure by anonymisation: every place a name was is blank, files leave the disk, the
ledger and every figure stay, held people are never erased, a restore is erased again."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from funds.evidence import storage
from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    ErasureLog,
    EvidenceFile,
    Household,
    Role,
    User,
    YoungPerson,
)
from funds.privacy.erasure import erase_by_reference, erase_person, replay_erasures
from funds.privacy.holds import place_hold, release_hold
from tests.conftest import TODAY
from tests.privacy.helpers import attach_file, database_mentions, figures_snapshot

HOSTILE = "Zoë *?~=<> O'Brien"
CONTACT = "07700 900123 zoe@example.org"
CASE = "CASE-77=SUM(A1)"


@pytest.fixture
def erasable(
    app, create_grant, create_household, create_disbursement, create_user, tmp_path
):
    """A household with a hostile name in every field that can hold one: its notes, an
    award's notes, a reversal's reason, a receipt's file name, and the audit trail."""
    admin = create_user(Role.ADMIN, name="Ada Admin")
    grant = create_grant("2000.00", reference="HSF-1")
    household = create_household(
        name=HOSTILE,
        contact=CONTACT,
        case_reference=CASE,
        notes=f"Lives with {HOSTILE}",
        has_children=True,
        children=2,
        postcode_district="SO14",
    )
    other = create_household(name="Someone Else", notes="keep me")
    award = create_disbursement(
        grant, "120.00", household_id=household, notes=f"Fridge for {HOSTILE}"
    )
    wrong = create_disbursement(grant, "30.00", household_id=household)
    create_disbursement(grant, "15.00")  # a line with no beneficiary
    kept = create_disbursement(grant, "40.00", household_id=other, notes="keep me")
    return {
        "admin": admin,
        "grant": grant,
        "household": household,
        "other": other,
        "award": award,
        "wrong": wrong,
        "kept": kept,
    }


@pytest.fixture
def ledger(app, erasable):
    """The fixture above, with a reversal, a receipt on disk and an edit in the trail."""
    from funds.disbursements.services import reverse_disbursement
    from funds.people.services import HouseholdInput, update_household

    with app.app_context():
        admin = db.session.get(User, erasable["admin"])
        reverse_disbursement(
            db.session.get(Disbursement, erasable["wrong"]),
            actor=admin,
            reason=f"Paid twice to {HOSTILE}",
            reversed_on=date(2024, 6, 10),
            today=TODAY,
        )
        household = db.session.get(Household, erasable["household"])
        update_household(
            household,
            HouseholdInput(
                name=HOSTILE,
                contact=CONTACT,
                case_reference="CASE-78-" + HOSTILE[:3],
                notes=household.notes,
                has_children=True,
                children=2,
                postcode_district="SO14",
            ),
            actor=admin,
        )
        db.session.commit()
        file_id, stored = attach_file(
            erasable["award"], b"%PDF-1.4 receipt", f"{HOSTILE}.pdf", uploader=admin.id
        )
        kept_file, kept_stored = attach_file(
            erasable["kept"], b"%PDF-1.4 other", "other.pdf", uploader=admin.id
        )
    return {
        **erasable,
        "file": file_id,
        "stored": stored,
        "kept_file": kept_file,
        "kept_stored": kept_stored,
    }


def _erase(
    app, household_id: int, actor_id: int | None, reason="Asked to be forgotten"
):
    with app.app_context():
        actor = db.session.get(User, actor_id) if actor_id else None
        erased = erase_person(
            db.session.get(Household, household_id), reason=reason, actor=actor
        )
        db.session.commit()
        return erased


def test_erasure_blanks_every_place_the_name_was(app, ledger):
    with app.app_context():
        assert database_mentions(HOSTILE[:12])  # the name is there before
        path = storage.path_for(ledger["stored"])
        assert path.exists()
    erased = _erase(app, ledger["household"], ledger["admin"])
    assert erased.awards == 3 and erased.files == 1
    with app.app_context():
        for needle in (HOSTILE, HOSTILE[:12], "O'Brien", CONTACT, "CASE-77", "CASE-78"):
            assert database_mentions(needle) == [], needle
        assert not storage.path_for(ledger["stored"]).exists()
        assert storage.path_for(ledger["kept_stored"]).exists()
        household = db.session.get(Household, ledger["household"])
        assert (household.name, household.contact, household.notes) == (None,) * 3
        assert household.case_reference is None and household.erased_at is not None
        assert household.postcode_district == "SO14" and household.children == 2
        assert household.has_children
        removed = db.session.get(EvidenceFile, ledger["file"])
        assert removed.removed_reason == "erasure" and removed.removed_at is not None
        award = db.session.get(Disbursement, ledger["award"])
        assert award.notes is None and award.redacted_at is not None
        assert str(award.amount) == "120.00"
        other = db.session.get(Disbursement, ledger["kept"])
        assert other.notes == "keep me" and other.redacted_at is None
        assert db.session.get(Household, ledger["other"]).name == "Someone Else"
        log = db.session.scalars(select(ErasureLog)).one()
        assert log.reference == household.reference
        assert log.reason == "Asked to be forgotten"
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "person.erase")
        ).one()
        assert event.actor_id == ledger["admin"]
        assert event.after["reference"] == household.reference
        # the trail still says who did what, when; the values are gone
        created = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "household.create",
                AuditEvent.object_id == household.id,
            )
        ).one()
        assert created.redacted_at is not None and created.after["erased"] is True


def test_totals_and_stored_workbooks_do_not_move(app, ledger, create_user):
    from funds.organisation import Organisation
    from funds.returns.library import get_definition
    from funds.returns.services import submit_return

    finance = create_user(Role.FINANCE)
    with app.app_context():
        from funds.models import Grant

        submit_return(
            db.session.get(Grant, ledger["grant"]),
            actor=db.session.get(User, finance),
            definition=get_definition("hsf"),
            date_from=date(2024, 4, 1),
            date_to=date(2024, 9, 30),
            today=TODAY,
            organisation=Organisation(name="Riverside"),
        )
        db.session.commit()
        before = figures_snapshot()
    _erase(app, ledger["household"], ledger["admin"])
    with app.app_context():
        after = figures_snapshot()
    assert before["stored"] and after == before


def test_a_held_household_is_never_erased(app, ledger):
    with app.app_context():
        admin = db.session.get(User, ledger["admin"])
        place_hold(
            db.session.get(Household, ledger["household"]),
            reason="Complaint open",
            actor=admin,
        )
        db.session.commit()
    from funds.errors import NotAllowed

    with pytest.raises(NotAllowed, match="held"):
        _erase(app, ledger["household"], ledger["admin"])
    with app.app_context():
        assert db.session.get(Household, ledger["household"]).name == HOSTILE
        assert storage.path_for(ledger["stored"]).exists()
        assert db.session.scalars(select(ErasureLog)).first() is None


def test_a_hold_on_a_grant_holds_everyone_who_received_from_it(app, ledger):
    from funds.errors import NotAllowed
    from funds.models import Grant

    with app.app_context():
        admin = db.session.get(User, ledger["admin"])
        place_hold(
            db.session.get(Grant, ledger["grant"]),
            reason="Audit by funder",
            actor=admin,
        )
        db.session.commit()
    with pytest.raises(NotAllowed, match="grant HSF-1 is held"):
        _erase(app, ledger["household"], ledger["admin"])
    with app.app_context():
        admin = db.session.get(User, ledger["admin"])
        release_hold(
            db.session.get(Grant, ledger["grant"]), reason="Audit closed", actor=admin
        )
        db.session.commit()
    assert _erase(app, ledger["household"], ledger["admin"]).awards == 3


def test_already_erased_and_unknown_references_are_refused(app, ledger):
    from funds.errors import NotAllowed, ValidationError

    _erase(app, ledger["household"], ledger["admin"])
    with pytest.raises(NotAllowed, match="already erased"):
        _erase(app, ledger["household"], ledger["admin"])
    with app.app_context(), pytest.raises(ValidationError, match="No household"):
        erase_by_reference("H-NOPE", reason="x", actor=None)


@pytest.mark.parametrize(
    "reason", ["", "   ", "x" * 501, "bad\x00char", "bell\x07", "non\ufffechar"]
)
def test_a_bad_reason_writes_nothing(app, ledger, reason):
    from funds.errors import ValidationError

    with pytest.raises(ValidationError):
        _erase(app, ledger["household"], ledger["admin"], reason=reason)
    with app.app_context():
        assert db.session.get(Household, ledger["household"]).name == HOSTILE
        assert db.session.scalars(select(ErasureLog)).first() is None


def test_a_reason_quoting_the_name_is_refused(app, ledger):
    from funds.errors import ValidationError

    with pytest.raises(ValidationError, match="name"):
        _erase(app, ledger["household"], ledger["admin"], reason=f"{HOSTILE} asked")
    with app.app_context():
        assert db.session.get(Household, ledger["household"]).name == HOSTILE


def test_replay_erases_again_after_a_restore(app, ledger):
    erased = _erase(app, ledger["household"], ledger["admin"])
    with app.app_context():
        # "Restore" an older backup: the identity row comes back as it was.
        db.session.execute(
            text(
                "UPDATE households SET name = :name, contact = :contact, "
                "notes = :notes, erased_at = NULL WHERE id = :id"
            ),
            {
                "name": HOSTILE,
                "contact": CONTACT,
                "notes": "old",
                "id": ledger["household"],
            },
        )
        db.session.commit()
        assert database_mentions(HOSTILE)
        done, held = replay_erasures()
        db.session.commit()
        assert [e.reference for e in done] == [erased.reference] and held == []
        assert database_mentions(HOSTILE) == []
        actions = list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.action.like("person.erase%"))
            )
        )
        assert actions == ["person.erase", "person.erase.replay"]
        # nothing left to replay
        assert replay_erasures() == ([], [])


def test_young_person_keeps_year_month_and_every_counted_age(
    app, create_grant, create_young_person, create_disbursement, create_session
):
    from funds.returns.library import get_definition  # noqa: F401

    grant = create_grant("3000.00")
    person = create_young_person(
        name=HOSTILE, date_of_birth=date(2008, 6, 20), notes=f"{HOSTILE} notes"
    )
    create_disbursement(
        grant, "20.00", young_person_id=person, awarded_on=date(2024, 6, 12)
    )
    create_session(grant, "90.00", held_on=date(2024, 6, 3), attendees=(person,))
    with app.app_context():
        before = figures_snapshot()
        erased = erase_person(
            db.session.get(YoungPerson, person), reason="Turned 25", actor=None
        )
        db.session.commit()
        assert erased.subject_type == "young-person"
    with app.app_context():
        record = db.session.get(YoungPerson, person)
        assert record.date_of_birth == date(2008, 6, 13)
        assert record.name is None and record.notes is None
        assert figures_snapshot() == before
        assert database_mentions(HOSTILE) == []


def test_a_payee_name_on_money_paid_to_the_person_goes_a_shop_stays(
    app, create_grant, create_household, create_disbursement
):
    """Cash, bank transfers and cash-out vouchers are paid to the person, so their
    "supplier" box may hold the person's name; a shop's name on a voucher stays."""
    from funds.models import DeliveryMethod

    grant = create_grant("500.00", reference="HSF-P")
    household = create_household(name=HOSTILE)
    paid = create_disbursement(
        grant,
        "25.00",
        household_id=household,
        delivery_method=DeliveryMethod.BANK_TRANSFER,
        supplier=f"Payee {HOSTILE}",
    )
    shop = create_disbursement(
        grant, "10.00", household_id=household, supplier="Tesco =<> *?~"
    )
    _erase(app, household, None)
    with app.app_context():
        assert db.session.get(Disbursement, paid).supplier is None
        assert db.session.get(Disbursement, shop).supplier == "Tesco =<> *?~"
        assert str(db.session.get(Disbursement, paid).amount) == "25.00"
        assert database_mentions("O'Brien") == []


def test_files_leave_the_disk_only_when_the_erasure_commits(app, ledger):
    """A rolled-back erasure keeps the bytes its rows still describe; a committed one
    deletes them, and overwrites a reason typed when a file was removed before."""
    with app.app_context():
        earlier = db.session.get(EvidenceFile, ledger["file"])
        earlier.removed_reason = f"wrong award for {HOSTILE}"
        db.session.commit()
        erase_person(
            db.session.get(Household, ledger["household"]),
            reason="Asked to be forgotten",
            actor=None,
        )
        db.session.rollback()
        assert storage.path_for(ledger["stored"]).exists()
        assert db.session.get(Household, ledger["household"]).erased_at is None
    _erase(app, ledger["household"], None)
    with app.app_context():
        assert not storage.path_for(ledger["stored"]).exists()
        assert db.session.get(EvidenceFile, ledger["file"]).removed_reason == "erasure"
        assert database_mentions("O'Brien") == []


def test_evidence_packs_built_for_their_grants_are_deleted(app, ledger):
    from funds.evidence.pack import job_pack_path
    from funds.models import Job

    with app.app_context():
        built = Job(
            kind="evidence.pack",
            title="Building the evidence pack",
            params={"grant_id": ledger["grant"]},
            created_by_id=ledger["admin"],
        )
        other = Job(
            kind="evidence.pack",
            title="Another grant's pack",
            params={"grant_id": ledger["grant"] + 1000},
            created_by_id=ledger["admin"],
        )
        db.session.add_all([built, other])
        db.session.commit()
        paths = [job_pack_path(built), job_pack_path(other)]
        for path in paths:
            path.write_bytes(b"PK zip holding the receipt")
    _erase(app, ledger["household"], None)
    assert not paths[0].exists() and paths[1].exists()


def test_replay_fails_loudly_when_a_restored_person_is_held(app, ledger, runner):
    _erase(app, ledger["household"], ledger["admin"])
    with app.app_context():
        db.session.execute(
            text("UPDATE households SET name = :name, erased_at = NULL WHERE id = :id"),
            {"name": HOSTILE, "id": ledger["household"]},
        )
        db.session.commit()
        place_hold(
            db.session.get(Household, ledger["household"]),
            reason="Complaint received",
            actor=db.session.get(User, ledger["admin"]),
        )
        db.session.commit()
    result = runner.invoke(args=["retention", "replay"])
    assert result.exit_code != 0
    assert "held" in result.output
    with app.app_context():
        assert db.session.get(Household, ledger["household"]).name == HOSTILE
