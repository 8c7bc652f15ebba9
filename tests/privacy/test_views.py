"""The pages: holds, erasure with a recent sign-in, retention rules, the review list."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    ErasureLog,
    Household,
    RecordKind,
    RetentionEvent,
    RetentionHold,
    RetentionRule,
    Role,
)
from tests.conftest import audit_actions, count

NAME = "Ann <b>*?~=</b> Hostile"


@pytest.fixture
def household(create_household, create_grant, create_disbursement):
    grant = create_grant("1000.00", reference="G-VIEW")
    hid = create_household(
        name=NAME, notes=f"note about {NAME}", has_children=True, children=1
    )
    create_disbursement(grant, "25.00", household_id=hid, notes=f"for {NAME}")
    return hid


def _ref(app, hid):
    with app.app_context():
        return db.session.get(Household, hid).reference


def test_admin_erases_a_household_from_its_page(
    app, client, signed_in_admin, household
):
    page = client.get(f"/households/{household}").get_data(as_text=True)
    assert "Erase personal details" in page and "Place a hold" in page
    confirm = client.get(f"/privacy/households/{household}/erase")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "What goes" in text and "What stays" in text
    response = client.post(
        f"/privacy/households/{household}/erase", data={"reason": "Asked by email"}
    )
    assert response.status_code == 302
    page = client.get(f"/households/{household}").get_data(as_text=True)
    assert "were erased" in page and "Ann" not in page
    assert "Erase personal details" not in page
    with app.app_context():
        record = db.session.get(Household, household)
        assert record.name is None and record.erased_at is not None
    assert count(app, ErasureLog) == 1
    assert "person.erase" in audit_actions(app)
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "erased the personal details of" in trail and "Ann" not in trail


@pytest.mark.parametrize(
    "reason, message",
    [
        ("", "Give a reason for the erasure"),
        ("x" * 501, "500 characters"),
        ("bad\x00char", "hidden control characters"),
    ],
)
def test_erase_refuses_bad_input_and_writes_nothing(
    app, client, signed_in_admin, household, reason, message
):
    response = client.post(
        f"/privacy/households/{household}/erase", data={"reason": reason}
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Household, household).name == NAME
    assert count(app, ErasureLog) == 0


def test_a_held_household_is_not_erased_from_the_page(
    app, client, signed_in_admin, household
):
    response = client.post(
        f"/privacy/households/{household}/hold", data={"reason": "Complaint C-114"}
    )
    assert response.status_code == 302
    page = client.get(f"/households/{household}").get_data(as_text=True)
    assert "Held" in page and "Complaint C-114" in page
    response = client.post(
        f"/privacy/households/{household}/erase", data={"reason": "Asked"}
    )
    assert response.status_code == 409
    assert "is held" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Household, household).name == NAME
    # release, then the erasure goes through
    response = client.post(
        f"/privacy/households/{household}/release", data={"reason": "Complaint closed"}
    )
    assert response.status_code == 302
    with app.app_context():
        hold = db.session.scalars(select(RetentionHold)).one()
        assert (
            hold.released_at is not None and hold.release_reason == "Complaint closed"
        )
    actions = audit_actions(app)
    assert "hold.place" in actions and "hold.release" in actions
    trail = client.get("/admin/audit").get_data(as_text=True)
    assert "placed a hold" in trail and "released the hold on" in trail


@pytest.mark.parametrize("reason", ["", "  ", "y" * 501, "nul\x00", "bidi\u202e"])
def test_a_hold_needs_a_clean_reason(app, client, signed_in_admin, household, reason):
    response = client.post(
        f"/privacy/households/{household}/hold", data={"reason": reason}
    )
    assert response.status_code == 422
    assert count(app, RetentionHold) == 0


def test_erasure_needs_a_recent_sign_in(app, client, signed_in_admin, household):
    with time_machine.travel(timedelta(minutes=20)):
        response = client.post(
            f"/privacy/households/{household}/erase", data={"reason": "Asked"}
        )
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/confirm")
        review = client.get("/privacy/review")
        assert review.headers["Location"].startswith("/account/confirm")
    with app.app_context():
        assert db.session.get(Household, household).name == NAME
    assert count(app, ErasureLog) == 0


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.FINANCE])
def test_only_admins_erase(app, client, login, create_user, household, role):
    login(create_user(role))
    assert client.get(f"/privacy/households/{household}/erase").status_code == 403
    assert (
        client.post(
            f"/privacy/households/{household}/erase", data={"reason": "x"}
        ).status_code
        == 403
    )
    page = client.get(f"/households/{household}").get_data(as_text=True)
    assert "Erase personal details" not in page
    assert ("Place a hold" in page) == (role is Role.MANAGER)


def test_a_grant_can_be_held_by_a_manager(app, client, login, create_user, household):
    login(create_user(Role.MANAGER))
    with app.app_context():
        from funds.models import Grant

        grant_id = db.session.scalars(select(Grant.id)).one()
    response = client.post(f"/privacy/grants/{grant_id}/hold", data={"reason": "Audit"})
    assert response.status_code == 302
    assert "Audit" in client.get(f"/grants/{grant_id}").get_data(as_text=True)


def test_unknown_subject_or_record_is_404(client, signed_in_admin):
    assert client.get("/privacy/users/1/hold").status_code == 404
    assert client.get("/privacy/grants/1/erase").status_code == 404
    assert client.get("/privacy/households/999/hold").status_code == 404
    assert client.get("/privacy/grants/1/erase").status_code == 404


def test_admin_sets_a_retention_rule(app, client, signed_in_admin):
    page = client.get("/privacy/retention").get_data(as_text=True)
    assert "Default" in page
    response = client.post(
        "/privacy/retention",
        data={
            "kind": "households",
            "households-months": "84",
            "households-event": "year-end",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        rule = db.session.scalars(select(RetentionRule)).one()
        assert (rule.kind, rule.months, rule.event) == (
            RecordKind.HOUSEHOLDS,
            84,
            RetentionEvent.YEAR_END,
        )
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "retention.rule")
        ).one()
        assert event.after["months"] == 84
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "84 months after the end of the financial year" in page


@pytest.mark.parametrize(
    "months, event",
    [
        ("", "last-award"),
        ("-1", "last-award"),
        ("1201", "last-award"),
        ("1.5", "last-award"),
        ("１２", "last-award"),
        ("12", ""),
        ("12", "25th-birthday"),
        ("12", "nonsense"),
    ],
)
def test_retention_rule_refuses_bad_input(app, client, signed_in_admin, months, event):
    response = client.post(
        "/privacy/retention",
        data={
            "kind": "households",
            "households-months": months,
            "households-event": event,
        },
    )
    assert response.status_code == 422
    assert count(app, RetentionRule) == 0


def test_unknown_rule_kind_is_refused(client, signed_in_admin):
    assert client.post("/privacy/retention", data={"kind": "nope"}).status_code == 400


def test_review_lists_and_erases_what_is_ticked(
    app, client, signed_in_admin, create_household, create_grant, create_disbursement
):
    grant = create_grant("500.00", reference="G-OLD")
    old = create_household(name="Old Name")
    create_disbursement(grant, "10.00", household_id=old, awarded_on=date(2024, 5, 1))
    # 72 months after the last award (1 May 2024) is 1 May 2030: not due yet by default.
    assert "Nothing is due" in client.get("/privacy/review").get_data(as_text=True)
    client.post(
        "/privacy/retention",
        data={
            "kind": "households",
            "households-months": "0",
            "households-event": "last-award",
        },
    )
    page = client.get("/privacy/review").get_data(as_text=True)
    reference = _ref(app, old)
    assert reference in page and "1 May 2024" in page and "Old Name" not in page
    response = client.post("/privacy/review", data={})
    assert response.status_code == 422
    response = client.post("/privacy/review", data={"people": [reference]})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Household, old).erased_at is not None
    assert "Nothing is due" in client.get("/privacy/review").get_data(as_text=True)


def test_admin_erases_a_young_person_from_their_page(
    app, client, signed_in_admin, create_young_person
):
    person = create_young_person(name=NAME, date_of_birth=date(2009, 8, 17))
    page = client.get(f"/young-people/{person}").get_data(as_text=True)
    assert "Erase personal details" in page
    text = client.get(f"/privacy/young-people/{person}/erase").get_data(as_text=True)
    assert "year and month" in text
    response = client.post(
        f"/privacy/young-people/{person}/erase", data={"reason": "Turned 25"}
    )
    assert response.status_code == 302
    page = client.get(f"/young-people/{person}").get_data(as_text=True)
    assert "were erased" in page and "Ann" not in page
    with app.app_context():
        from funds.models import YoungPerson

        record = db.session.get(YoungPerson, person)
        assert record.date_of_birth == date(2009, 8, 1) and record.name is None


def test_holding_twice_writes_nothing(app, client, signed_in_admin, household):
    client.post(f"/privacy/households/{household}/hold", data={"reason": "First"})
    page = client.get(f"/privacy/households/{household}/hold")
    assert page.status_code == 200 and "already held" in page.get_data(as_text=True)
    client.post(f"/privacy/households/{household}/hold", data={"reason": "Second"})
    assert count(app, RetentionHold) == 1
    response = client.post(
        f"/privacy/households/{household}/release", data={"reason": ""}
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalars(select(RetentionHold)).one().released_at is None
