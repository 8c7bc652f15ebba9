"""Retention rules, the due-for-review list against dates worked out here, and the
``retention`` and ``person erase`` commands (exit codes, dry run, holds)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from funds.evidence import storage
from funds.extensions import db
from funds.models import (
    AuditEvent,
    EvidenceFile,
    Grant,
    Household,
    RecordKind,
    RetentionEvent,
    Role,
    User,
    YoungPerson,
)
from funds.privacy.holds import place_hold
from funds.privacy.retention import (
    add_months,
    due_files,
    due_people,
    person_due_on,
    rules,
    set_rule,
)
from tests.privacy.helpers import attach_file

#: "Now" for these tests: the review is as of this day.
NOW = datetime(2030, 12, 31, 12, tzinfo=timezone.utc)
TODAY = NOW.date()


@pytest.fixture
def people(
    app,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_user,
):
    admin = create_user(Role.ADMIN)
    grant = create_grant("3000.00", reference="G-RET")
    due = create_household(name="Due Household")  # last award 1 May 2024 -> 1 May 2030
    recent = create_household(name="Recent Household")
    create_disbursement(grant, "10.00", household_id=due, awarded_on=date(2024, 5, 1))
    create_disbursement(
        grant, "10.00", household_id=recent, awarded_on=date(2025, 3, 1)
    )
    # Born 10 Jan 2005: 25 on 10 Jan 2030; last attended 3 Jun 2024 -> at least 3 Jun 2030.
    older = create_young_person(name="Older Person", date_of_birth=date(2005, 1, 10))
    create_session(grant, "50.00", held_on=date(2024, 6, 3), attendees=(older,))
    # Born 2012: 25 in 2037, not due.
    younger = create_young_person(name="Younger Person", date_of_birth=date(2012, 2, 2))
    create_disbursement(
        grant, "5.00", young_person_id=younger, awarded_on=date(2024, 7, 1)
    )
    with app.app_context():
        award = db.session.scalar(select(EvidenceFile.id).limit(0))  # noqa: F841 - no files yet
        from funds.models import Disbursement

        line = db.session.scalars(
            select(Disbursement.id).where(Disbursement.household_id == due)
        ).one()
        file_id, stored = attach_file(line, b"%PDF-1.4 x", "r.pdf", uploader=admin)
    return {
        "admin": admin,
        "grant": grant,
        "due": due,
        "recent": recent,
        "older": older,
        "younger": younger,
        "file": file_id,
        "stored": stored,
    }


def _refs(app, ids: dict) -> dict:
    with app.app_context():
        return {
            key: (db.session.get(Household, ids[key]) or None)
            and db.session.get(Household, ids[key]).reference
            for key in ("due", "recent")
        } | {
            key: db.session.get(YoungPerson, ids[key]).reference
            for key in ("older", "younger")
        }


def test_add_months_keeps_the_end_of_the_month():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 5, 1), 72) == date(2030, 5, 1)
    assert add_months(date(2024, 12, 15), 1) == date(2025, 1, 15)


def test_defaults_are_shown_until_saved(app, people):
    with app.app_context():
        current = rules()
        assert all(rule.is_default for rule in current.values())
        assert current[RecordKind.HOUSEHOLDS].months == 72
        assert current[RecordKind.YOUNG_PEOPLE].event is RetentionEvent.BIRTHDAY_25


def test_review_list_matches_dates_worked_out_by_hand(app, people):
    refs = _refs(app, people)
    with app.app_context():
        listed = {d.reference: d.due_on for d in due_people(TODAY)}
        files = {d.id: d.due_on for d in due_files(TODAY)}
    assert listed == {refs["due"]: date(2030, 5, 1), refs["older"]: date(2030, 6, 3)}
    # the file's line is dated 1 May 2024: financial year ends 31 Mar 2025, +72 months
    assert files == {}
    with app.app_context():
        later = {d.id: d.due_on for d in due_files(date(2031, 3, 31))}
        assert later == {people["file"]: date(2031, 3, 31)}
        assert due_files(date(2031, 3, 30)) == []


def test_a_rule_changes_the_list_and_is_audited(app, people):
    with app.app_context():
        set_rule(
            RecordKind.HOUSEHOLDS,
            months=12,
            event=RetentionEvent.YEAR_END,
            actor=db.session.get(User, people["admin"]),
        )
        db.session.commit()
        due = {d.reference for d in due_people(date(2026, 3, 31))}
        # 1 Mar 2025 is in the year to 31 Mar 2025: +12 months = 31 Mar 2026
        recent = db.session.get(Household, people["recent"]).reference
        assert recent in due
        assert recent not in {d.reference for d in due_people(date(2026, 3, 30))}
        assert db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.rule")
        ).one()


def test_young_people_rule_never_precedes_six_years_after_last_attendance():
    from funds.privacy.retention import Rule

    rule = Rule(RecordKind.YOUNG_PEOPLE, 0, RetentionEvent.BIRTHDAY_25, True)
    assert person_due_on(rule, last=date(2024, 6, 3), born=date(1990, 1, 1)) == date(
        2030, 6, 3
    )
    assert person_due_on(rule, last=date(2024, 6, 3), born=date(2012, 2, 2)) == date(
        2037, 2, 2
    )


def test_held_people_and_files_are_left_off_and_never_applied(app, runner, people):
    refs = _refs(app, people)
    with app.app_context():
        place_hold(
            db.session.get(Household, people["due"]),
            reason="Complaint",
            actor=db.session.get(User, people["admin"]),
        )
        db.session.commit()
        listed = {d.reference for d in due_people(TODAY)}
        assert refs["due"] not in listed and refs["older"] in listed
        assert due_files(date(2032, 1, 1)) == []  # its award's household is held
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.get(Household, people["due"]).name == "Due Household"
        assert db.session.get(YoungPerson, people["older"]).erased_at is not None


def test_review_prints_references_and_no_names(runner, app, people):
    refs = _refs(app, people)
    with time_machine.travel(NOW, tick=False):
        result = runner.invoke(args=["retention", "review"])
    assert result.exit_code == 0
    with app.app_context():
        review = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.review")
        ).one()
        assert review.actor_id is None and review.after["people"] >= 2
    assert f"{refs['due']}\thousehold\t2030-05-01" in result.output
    assert f"{refs['older']}\tyoung-person\t2030-06-03" in result.output
    assert "Due Household" not in result.output and "Older" not in result.output


def test_apply_dry_run_changes_nothing(runner, app, people):
    refs = _refs(app, people)
    with app.app_context():
        events = db.session.scalar(select(db.func.count(AuditEvent.id)))
    with time_machine.travel(datetime(2032, 1, 1, tzinfo=timezone.utc), tick=False):
        result = runner.invoke(args=["retention", "apply", "--dry-run"])
    assert result.exit_code == 0
    assert f"Would erase {refs['due']}" in result.output
    assert f"Would remove evidence file-{people['file']}" in result.output
    with app.app_context():
        assert db.session.get(Household, people["due"]).erased_at is None
        # Nothing changed; the only new audit event says the list was read.
        assert db.session.scalar(select(db.func.count(AuditEvent.id))) == events + 1
        review = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc())
        ).first()
        assert review.action == "retention.review" and review.after["dry_run"] is True
        assert storage.path_for(people["stored"]).exists()


def test_apply_erases_and_removes_with_no_actor(runner, app, people):
    refs = _refs(app, people)
    with time_machine.travel(datetime(2032, 1, 1, tzinfo=timezone.utc), tick=False):
        result = runner.invoke(args=["retention", "apply"])
    assert result.exit_code == 0, result.output
    assert f"Erased {refs['due']}" in result.output
    with app.app_context():
        household = db.session.get(Household, people["due"])
        assert household.erased_at is not None and household.name is None
        assert db.session.get(YoungPerson, people["younger"]).erased_at is None
        record = db.session.get(EvidenceFile, people["file"])
        assert record.removed_at is not None
        erasures = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "person.erase")
        ).all()
        assert erasures and all(e.actor_id is None for e in erasures)
    with app.app_context():
        assert not storage.path_for(people["stored"]).exists()


def test_person_erase_command(runner, app, people):
    refs = _refs(app, people)
    result = runner.invoke(
        args=["person", "erase", refs["recent"].lower(), "--reason", "Asked by letter"]
    )
    assert result.exit_code == 0, result.output
    assert f"Erased {refs['recent']}" in result.output
    with app.app_context():
        assert db.session.get(Household, people["recent"]).name is None
    again = runner.invoke(args=["person", "erase", refs["recent"], "--reason", "x"])
    assert again.exit_code != 0 and "already erased" in again.stderr


def test_person_erase_refuses_unknown_held_and_bad_reason(runner, app, people):
    refs = _refs(app, people)
    unknown = runner.invoke(args=["person", "erase", "H-ZZZZ", "--reason", "x"])
    assert unknown.exit_code != 0 and "No household or young person" in unknown.stderr
    with app.app_context():
        place_hold(
            db.session.get(Grant, people["grant"]),
            reason="Funder audit",
            actor=db.session.get(User, people["admin"]),
        )
        db.session.commit()
    held = runner.invoke(args=["person", "erase", refs["due"], "--reason", "x"])
    assert held.exit_code != 0 and "is held" in held.stderr
    missing = runner.invoke(args=["person", "erase", refs["due"]])
    assert missing.exit_code != 0
    blank = runner.invoke(args=["person", "erase", refs["due"], "--reason", "  "])
    assert blank.exit_code != 0 and "reason" in blank.stderr
    with app.app_context():
        assert db.session.get(Household, people["due"]).name == "Due Household"


def test_replay_command(runner, app, people):
    refs = _refs(app, people)
    runner.invoke(args=["person", "erase", refs["recent"], "--reason", "Asked"])
    with app.app_context():
        household = db.session.get(Household, people["recent"])
        household.name, household.erased_at = "Recent Household", None
        db.session.commit()
    result = runner.invoke(args=["retention", "replay"])
    assert result.exit_code == 0 and f"Erased again {refs['recent']}" in result.output
    with app.app_context():
        assert db.session.get(Household, people["recent"]).name is None
