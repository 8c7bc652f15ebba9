"""Recording sessions (their cost goes through the ledger) and correcting registers."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.activities.services import (
    MAX_CAPACITY,
    MAX_CARERS,
    SessionInput,
    record_session,
    set_attendance,
)
from funds.disbursements.services import AlreadyRecorded, Overspend
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    DeliveryMethod,
    Disbursement,
    Grant,
    GrantStatus,
    ItemType,
    PeriodLock,
    Role,
    User,
)
from tests.conftest import IN_PERIOD, TODAY, audit_actions, count


@pytest.fixture
def staff_id(create_user):
    return create_user(Role.STAFF, email="staff@example.org")


@pytest.fixture
def grant_id(create_grant):
    return create_grant("1000.00")


def _record(app, actor_id, grant_id, item_type_id, **fields):
    """Record a session as ``actor_id``; commit on success, roll back and re-raise on error."""
    values = {
        "grant_id": grant_id,
        "item_type_id": item_type_id,
        "held_on": IN_PERIOD,
        "cost": Decimal("100.00"),
        **fields,
    }
    key = values.pop("idempotency_key", None)
    confirm = values.pop("confirm_overspend", False)
    with app.app_context():
        try:
            session = record_session(
                SessionInput(**values),
                actor=db.session.get(User, actor_id),
                today=TODAY,
                idempotency_key=key,
                confirm_overspend=confirm,
            )
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        return session.id


def _register(app, actor_id, session_id, people, carers=0):
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        try:
            result = set_attendance(
                session,
                actor=db.session.get(User, actor_id),
                young_person_ids=set(people),
                carers=carers,
            )
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        return result


def _nothing_written(app):
    assert count(app, ActivitySession) == 0
    assert count(app, Disbursement) == 0


# --- recording a session ------------------------------------------------------------------


def test_a_session_records_one_ledger_line_for_its_cost(
    app, staff_id, grant_id, item_id
):
    session_id = _record(
        app,
        staff_id,
        grant_id,
        item_id("Kayaking"),
        cost=Decimal("420.00"),
        starts_at=time(10, 0),
        duration_minutes=180,
        supplier="  Calshot Activities Centre ",
        capacity=10,
        notes="Wetsuits provided",
    )
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        line = session.disbursement
        assert (line.amount, line.awarded_on, line.grant_id) == (
            Decimal("420.00"),
            IN_PERIOD,
            grant_id,
        )
        assert line.delivery_method == DeliveryMethod.ACTIVITY_PLACE
        assert line.household_id is None and line.young_person_id is None
        assert session.supplier == line.supplier == "Calshot Activities Centre"
        assert (session.duration_minutes, session.capacity, session.carers) == (
            180,
            10,
            0,
        )
    assert audit_actions(app)[-2:] == ["disbursement.create", "activity_session.create"]


@pytest.mark.parametrize("item", ["Food voucher", "Fridge", "Salary", "Gas bill"])
def test_an_item_that_is_not_an_activity_is_refused(
    app, staff_id, grant_id, item_id, item
):
    with pytest.raises(ValidationError) as caught:
        _record(app, staff_id, grant_id, item_id(item))
    assert caught.value.field == "item_type"
    _nothing_written(app)


def test_an_inactive_activity_or_unknown_item_is_refused(
    app, staff_id, grant_id, item_id
):
    kayaking = item_id("Kayaking")
    with app.app_context():
        db.session.get(ItemType, kayaking).active = False
        db.session.commit()
    for item in (kayaking, 999_999):
        with pytest.raises(ValidationError) as caught:
            _record(app, staff_id, grant_id, item)
        assert caught.value.field == "item_type"
    _nothing_written(app)


@pytest.mark.parametrize(
    ("minutes", "accepted"),
    [(-30, False), (0, False), (1, True), (90, True), (1440, True), (1441, False)],
)
def test_duration_bounds(app, staff_id, grant_id, item_id, minutes, accepted):
    record = lambda: _record(  # noqa: E731
        app, staff_id, grant_id, item_id("Abseiling"), duration_minutes=minutes
    )
    if accepted:
        record()
        assert count(app, ActivitySession) == 1
    else:
        with pytest.raises(ValidationError) as caught:
            record()
        assert caught.value.field == "duration"
        _nothing_written(app)


@pytest.mark.parametrize(
    ("capacity", "accepted"),
    [
        (None, True),
        (1, True),
        (MAX_CAPACITY, True),
        (0, False),
        (-1, False),
        (MAX_CAPACITY + 1, False),
        (True, False),
    ],
)
def test_capacity_bounds(app, staff_id, grant_id, item_id, capacity, accepted):
    record = lambda: _record(  # noqa: E731
        app, staff_id, grant_id, item_id("High ropes"), capacity=capacity
    )
    if accepted:
        record()
        assert count(app, ActivitySession) == 1
    else:
        with pytest.raises(ValidationError) as caught:
            record()
        assert caught.value.field == "capacity"
        _nothing_written(app)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("supplier", "Calshot\x00Centre", "control characters"),
        ("supplier", "Calshot\u202eCentre", "text-direction"),
        ("supplier", "x" * 121, "120 characters"),
        ("notes", "Bring\x1b lunch", "control characters"),
        ("notes", "n" * 2001, "2,000 characters"),
    ],
)
def test_unsafe_text_is_refused(
    app, staff_id, grant_id, item_id, field, value, problem
):
    with pytest.raises(ValidationError) as caught:
        _record(app, staff_id, grant_id, item_id("Kayaking"), **{field: value})
    assert caught.value.field == field
    assert problem in caught.value.message
    _nothing_written(app)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("before the period", "held_on"),
        ("after the period", "held_on"),
        ("in the future", "held_on"),
        ("closed grant", "grant"),
        ("block overspend", "cost"),
        ("locked period", "held_on"),
        ("unknown grant", "grant"),
        ("unknown team", "team"),
    ],
)
def test_the_ledger_rules_apply_and_nothing_is_written(
    app, staff_id, create_grant, create_user, item_id, case, field
):
    grant_id = create_grant(
        "1000.00", starts_on=date(2024, 4, 1), ends_on=date(2030, 3, 31)
    )
    fields = {}
    if case == "before the period":
        fields["held_on"] = date(2024, 3, 31)
    elif case == "after the period":
        grant_id = create_grant("1000.00")
        fields["held_on"] = date(2025, 4, 1)
    elif case == "in the future":
        fields["held_on"] = TODAY + timedelta(days=1)
    elif case == "closed grant":
        with app.app_context():
            db.session.get(Grant, grant_id).status = GrantStatus.CLOSED
            db.session.commit()
    elif case == "block overspend":
        fields["cost"] = Decimal("1000.01")
    elif case == "locked period":
        with app.app_context():
            db.session.add(
                PeriodLock(
                    grant_id=grant_id,
                    starts_on=date(2024, 4, 1),
                    ends_on=date(2024, 6, 30),
                    locked_by_id=create_user(Role.FINANCE),
                )
            )
            db.session.commit()
    elif case == "unknown grant":
        grant_id = 999_999
    elif case == "unknown team":
        fields["team_id"] = 999_999
    before = count(app, AuditEvent)
    with pytest.raises(ValidationError) as caught:
        _record(app, staff_id, grant_id, item_id("Kayaking"), **fields)
    assert caught.value.field == field
    _nothing_written(app)
    assert count(app, AuditEvent) == before


def test_a_session_can_use_the_last_penny_of_a_block_grant(
    app, staff_id, grant_id, item_id
):
    _record(app, staff_id, grant_id, item_id("Kayaking"), cost=Decimal("1000.00"))
    with pytest.raises(Overspend) as caught:
        _record(app, staff_id, grant_id, item_id("Kayaking"), cost=Decimal("0.01"))
    assert caught.value.field == "cost"
    assert not caught.value.can_confirm
    assert count(app, ActivitySession) == 1


@pytest.mark.parametrize(
    ("role", "confirm", "recorded"),
    [
        (Role.STAFF, False, False),
        (Role.STAFF, True, False),
        (Role.MANAGER, False, False),
        (Role.MANAGER, True, True),
    ],
)
def test_a_warn_overspend_needs_a_manager_to_confirm(
    app, create_user, create_grant, item_id, role, confirm, recorded
):
    grant_id = create_grant("100.00", control="warn")
    actor = create_user(role)
    record = lambda: _record(  # noqa: E731
        app,
        actor,
        grant_id,
        item_id("Theatre trip"),
        cost=Decimal("150.00"),
        confirm_overspend=confirm,
    )
    if recorded:
        session_id = record()
        with app.app_context():
            line = db.session.get(ActivitySession, session_id).disbursement
            assert line.overspend_confirmed
        assert "disbursement.overspend_override" in audit_actions(app)
    else:
        with pytest.raises(Overspend) as caught:
            record()
        assert caught.value.can_confirm == (role == Role.MANAGER)
        _nothing_written(app)


def test_the_same_idempotency_key_never_records_twice(app, staff_id, grant_id, item_id):
    key = "k" * 43
    first = _record(app, staff_id, grant_id, item_id("Kayaking"), idempotency_key=key)
    with pytest.raises(AlreadyRecorded) as caught:
        _record(app, staff_id, grant_id, item_id("Kayaking"), idempotency_key=key)
    with app.app_context():
        assert (
            caught.value.disbursement_id
            == db.session.get(ActivitySession, first).disbursement_id
        )
    assert count(app, ActivitySession) == 1
    assert count(app, Disbursement) == 1
    # A different key is a different session.
    _record(app, staff_id, grant_id, item_id("Kayaking"), idempotency_key="j" * 43)
    assert count(app, ActivitySession) == 2


# --- the register -------------------------------------------------------------------------


def _ledger(app):
    with app.app_context():
        return [
            (d.id, d.amount, d.awarded_on, d.grant_id)
            for d in db.session.scalars(select(Disbursement).order_by(Disbursement.id))
        ]


def _attendees(app, session_id):
    with app.app_context():
        return set(
            db.session.scalars(
                select(Attendance.young_person_id).where(
                    Attendance.session_id == session_id
                )
            )
        )


def test_attendance_added_and_removed_is_audited_and_money_untouched(
    app, staff_id, grant_id, create_session, create_young_person
):
    people = [create_young_person() for _ in range(4)]
    session_id = create_session(grant_id, "240.00")
    ledger = _ledger(app)

    added, removed = _register(app, staff_id, session_id, people[:3], carers=2)
    assert (added, removed) == (set(people[:3]), set())
    added, removed = _register(
        app, staff_id, session_id, [people[0], people[3]], carers=1
    )
    assert (added, removed) == ({people[3]}, {people[1], people[2]})
    assert _attendees(app, session_id) == {people[0], people[3]}

    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "activity_session.attendance")
                .order_by(AuditEvent.id)
            )
        )
        assert len(events) == 2
        from funds.models import YoungPerson

        refs = {p.id: p.reference for p in db.session.scalars(select(YoungPerson))}
        last = events[-1]
        assert last.actor_id == staff_id
        assert (last.object_type, last.object_id) == ("activity_sessions", session_id)
        assert last.before == {
            "removed": sorted([refs[people[1]], refs[people[2]]]),
            "carers": 2,
        }
        assert last.after == {"added": [refs[people[3]]], "carers": 1}
        assert db.session.get(ActivitySession, session_id).carers == 1
    assert _ledger(app) == ledger  # the register never touches money


def test_saving_the_same_register_again_writes_no_audit_event(
    app, staff_id, grant_id, create_session, create_young_person
):
    person = create_young_person()
    session_id = create_session(grant_id, attendees=(person,))
    before = count(app, AuditEvent)
    assert _register(app, staff_id, session_id, [person]) == (set(), set())
    assert count(app, AuditEvent) == before


def test_a_register_over_capacity_is_refused(
    app, staff_id, grant_id, create_session, create_young_person
):
    people = [create_young_person() for _ in range(3)]
    session_id = create_session(grant_id, capacity=2, attendees=tuple(people[:2]))
    with pytest.raises(ValidationError) as caught:
        _register(app, staff_id, session_id, people)
    assert caught.value.field == "young_people"
    assert "2 places" in caught.value.message
    assert _attendees(app, session_id) == set(people[:2])


@pytest.mark.parametrize("who", ["unknown", "erased"])
def test_an_unknown_or_erased_person_cannot_be_added(
    app, staff_id, grant_id, create_session, create_young_person, who
):
    person = create_young_person()
    other = create_young_person()
    if who == "erased":
        from funds.models import YoungPerson
        from funds.models.base import utcnow

        with app.app_context():
            db.session.get(YoungPerson, other).erased_at = utcnow()
            db.session.commit()
    else:
        other = 999_999
    session_id = create_session(grant_id, attendees=(person,))
    before = count(app, AuditEvent)
    with pytest.raises(ValidationError) as caught:
        _register(app, staff_id, session_id, [person, other])
    assert caught.value.field == "young_people"
    assert _attendees(app, session_id) == {person}
    assert count(app, AuditEvent) == before


def test_someone_erased_after_attending_stays_on_the_register(
    app, staff_id, grant_id, create_session, create_young_person
):
    from funds.models import YoungPerson
    from funds.models.base import utcnow

    erased, other, newcomer = (create_young_person() for _ in range(3))
    session_id = create_session(grant_id, attendees=(erased, other))
    with app.app_context():
        db.session.get(YoungPerson, erased).erased_at = utcnow()
        db.session.commit()
    _register(app, staff_id, session_id, [erased, other, newcomer])
    assert _attendees(app, session_id) == {erased, other, newcomer}


@pytest.mark.parametrize("carers", [-1, MAX_CARERS + 1])
def test_carers_out_of_range_are_refused(
    app, staff_id, grant_id, create_session, carers
):
    session_id = create_session(grant_id)
    with pytest.raises(ValidationError) as caught:
        _register(app, staff_id, session_id, [], carers=carers)
    assert caught.value.field == "carers"


def test_a_locked_period_refuses_register_changes(
    app, staff_id, grant_id, create_session, create_young_person, create_user
):
    person = create_young_person()
    session_id = create_session(grant_id)
    with app.app_context():
        db.session.add(
            PeriodLock(
                grant_id=grant_id,
                starts_on=date(2024, 4, 1),
                ends_on=date(2024, 6, 30),
                locked_by_id=create_user(Role.FINANCE),
            )
        )
        db.session.commit()
    with pytest.raises(ValidationError) as caught:
        _register(app, staff_id, session_id, [person])
    assert "locked period" in caught.value.message
    assert _attendees(app, session_id) == set()


def test_a_cancelled_session_register_cannot_change(
    app, grant_id, create_session, create_young_person, create_user
):
    from funds.disbursements.services import reverse_disbursement

    person = create_young_person()
    session_id = create_session(grant_id)
    finance = create_user(Role.FINANCE)
    with app.app_context():
        session = db.session.get(ActivitySession, session_id)
        reverse_disbursement(
            session.disbursement,
            actor=db.session.get(User, finance),
            reason="Centre closed",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        db.session.commit()
    with pytest.raises(NotAllowed):
        _register(app, finance, session_id, [person])
    assert _attendees(app, session_id) == set()


def test_a_session_loaded_with_its_details_can_be_locked_for_the_register(
    app, staff_id, grant_id, create_session, create_young_person
):
    # The pages load a session with outer joins (its optional team); PostgreSQL cannot
    # lock the nullable side of an outer join, so the register locks the row on its own.
    from funds.activities.queries import session_summary

    person = create_young_person()
    session_id = create_session(grant_id)
    with app.app_context():
        session = session_summary(session_id).session
        set_attendance(
            session,
            actor=db.session.get(User, staff_id),
            young_person_ids={person},
            carers=0,
        )
        db.session.commit()
    assert _attendees(app, session_id) == {person}
