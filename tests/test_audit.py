"""The audit trail is written in the same transaction as the change and never altered."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from funds.audit import record_event
from funds.extensions import db
from funds.models import AuditEvent, Role, User
from tests.conftest import count


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"],
)
def test_the_database_refuses_to_change_audit_events(app, create_user, statement):
    create_user(Role.STAFF)
    before = count(app, AuditEvent)
    assert before == 1
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert count(app, AuditEvent) == before
    with app.app_context():
        assert (
            db.session.scalar(text("SELECT action FROM audit_events")) == "user.create"
        )


def test_audit_event_rolls_back_with_its_change(app):
    with app.app_context():
        user = User(email="x@example.org", name="X", role=Role.STAFF, password_hash="x")
        db.session.add(user)
        db.session.flush()
        record_event("user.create", actor=None, obj=user, after={"name": "X"})
        db.session.rollback()
    assert count(app, AuditEvent) == 0 and count(app, User) == 0


def test_audit_values_are_plain_json(app, create_user):
    from datetime import date
    from decimal import Decimal

    user_id = create_user(Role.STAFF)
    with app.app_context():
        user = db.session.get(User, user_id)
        event = record_event(
            "probe",
            actor=user,
            obj=user,
            before={
                "amount": Decimal("12.50"),
                "on": date(2024, 4, 1),
                "role": Role.STAFF,
            },
        )
        db.session.commit()
        event_id = event.id
    with app.app_context():
        stored = db.session.get(AuditEvent, event_id)
        assert stored.before == {"amount": "12.50", "on": "2024-04-01", "role": "staff"}
        assert stored.object_type == "users" and stored.object_id == user_id
        assert stored.at.tzinfo is not None
