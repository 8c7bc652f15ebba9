"""Period locks: every write path is refused inside a locked period, allowed after an unlock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.errors import ValidationError
from funds.extensions import db
from funds.models import (
    AccessRoute,
    ActivitySession,
    Disbursement,
    Grant,
    Role,
    User,
    Voucher,
)
from funds.returns.library import get_definition
from funds.returns.services import submit_return, unlock_period
from tests.conftest import TODAY, count

INSIDE = date(2024, 6, 10)
OUTSIDE = date(2024, 9, 10)


@pytest.fixture
def locked(
    app,
    create_grant,
    create_user,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_batch,
):
    grant = create_grant("5000.00")
    manager = create_user(Role.MANAGER)
    finance = create_user(Role.FINANCE)
    household = create_household()
    person = create_young_person()
    award = create_disbursement(
        grant, "20.00", household_id=household, awarded_on=date(2024, 6, 1)
    )
    session = create_session(grant, "100.00", held_on=date(2024, 6, 5))
    batch = create_batch(grant, quantity=2)
    with app.app_context():
        submitted = submit_return(
            db.session.get(Grant, grant),
            actor=db.session.get(User, manager),
            definition=get_definition("budget"),
            date_from=date(2024, 4, 1),
            date_to=date(2024, 6, 30),
            today=TODAY,
        )
        db.session.commit()
        return_id = submitted.id
    return {
        "grant": grant,
        "manager": manager,
        "finance": finance,
        "household": household,
        "person": person,
        "award": award,
        "session": session,
        "batch": batch,
        "return": return_id,
    }


def _attempt(app, locked, path: str, day: date):
    """Run one write path dated ``day``; returns the error or None, committing on success."""
    from funds.activities.services import SessionInput, record_session, set_attendance
    from funds.disbursements.services import (
        AwardInput,
        record_disbursement,
        reverse_disbursement,
    )
    from funds.vouchers.services import issue_vouchers

    with app.app_context():
        manager = db.session.get(User, locked["manager"])
        finance = db.session.get(User, locked["finance"])
        item = db.session.scalar(
            select(Disbursement.item_type_id).where(Disbursement.id == locked["award"])
        )
        try:
            if path == "award":
                record_disbursement(
                    AwardInput(
                        grant_id=locked["grant"],
                        item_type_id=item,
                        amount=Decimal("5.00"),
                        awarded_on=day,
                        delivery_method="voucher",
                        household_id=locked["household"],
                    ),
                    actor=manager,
                    today=TODAY,
                )
            elif path == "reversal":
                original = db.session.get(Disbursement, locked["award"])
                reverse_disbursement(
                    original,
                    actor=finance,
                    reason="mistake",
                    reversed_on=day,
                    today=TODAY,
                )
            elif path == "voucher issue":
                voucher = db.session.scalars(
                    select(Voucher.id).where(Voucher.batch_id == locked["batch"])
                ).first()
                issue_vouchers(
                    [voucher],
                    actor=manager,
                    household_id=locked["household"],
                    awarded_on=day,
                    access_route=AccessRoute.REFERRAL,
                    today=TODAY,
                )
            elif path == "session":
                kayaking = db.session.scalar(
                    select(ActivitySession.item_type_id).where(
                        ActivitySession.id == locked["session"]
                    )
                )
                record_session(
                    SessionInput(
                        grant_id=locked["grant"],
                        item_type_id=kayaking,
                        held_on=day,
                        cost=Decimal("10.00"),
                    ),
                    actor=manager,
                    today=TODAY,
                )
            elif path == "attendance":
                session = db.session.get(ActivitySession, locked["session"])
                set_attendance(
                    session,
                    actor=manager,
                    young_person_ids={locked["person"]},
                    carers=1,
                )
        except ValidationError as error:
            db.session.rollback()
            return error
        db.session.commit()
        return None


PATHS = ["award", "reversal", "voucher issue", "session", "attendance"]


@pytest.mark.parametrize("path", PATHS)
def test_every_write_path_is_refused_inside_a_locked_period(app, locked, path):
    ledger = count(app, Disbursement)
    error = _attempt(
        app, locked, path, INSIDE if path != "attendance" else date(2024, 6, 5)
    )
    assert isinstance(error, ValidationError), path
    assert "locked period" in error.message
    assert count(app, Disbursement) == ledger


@pytest.mark.parametrize("path", ["award", "voucher issue", "session"])
def test_the_same_write_outside_the_lock_is_allowed(app, locked, path):
    assert _attempt(app, locked, path, OUTSIDE) is None


@pytest.mark.parametrize("path", PATHS)
def test_allowed_again_after_an_unlock(app, locked, path):
    from funds.models import PeriodLock

    with app.app_context():
        lock = db.session.scalars(select(PeriodLock)).one()
        unlock_period(
            lock, actor=db.session.get(User, locked["manager"]), reason="Late invoice"
        )
        db.session.commit()
    assert (
        _attempt(
            app, locked, path, INSIDE if path != "attendance" else date(2024, 6, 5)
        )
        is None
    )
