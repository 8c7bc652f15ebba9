"""The ledger rules in funds.disbursements.services, each tried at its edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from funds.disbursements import services
from funds.disbursements.queries import household_counts
from funds.disbursements.services import (
    AlreadyRecorded,
    AwardInput,
    Overspend,
    mark_paid,
    record_disbursement,
    reverse_disbursement,
)
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.grants.services import set_budget_line, update_grant
from funds.models import (
    AccessRoute,
    AuditEvent,
    BudgetControl,
    DeliveryMethod,
    Disbursement,
    DisbursementPayment,
    Grant,
    GrantStatus,
    Household,
    ItemType,
    Role,
    User,
)
from tests.conftest import IN_PERIOD, TODAY, audit_actions, count

START, END = date(2024, 4, 1), date(2025, 3, 31)


@pytest.fixture
def users(create_user):
    """One user per role, made on first use: ``users(Role.FINANCE)`` is an id."""
    made: dict[Role, int] = {}

    def _get(role: Role) -> int:
        if role not in made:
            made[role] = create_user(role)
        return made[role]

    return _get


@pytest.fixture
def award(app, item_id, users):
    """Record an award through the service (committed); returns its id or raises."""

    def _award(
        grant_id: int,
        amount: str = "10.00",
        *,
        role: Role = Role.STAFF,
        item: str = "Food voucher",
        awarded_on: date = IN_PERIOD,
        today: date = TODAY,
        key: str | None = None,
        confirm: bool = False,
        **fields,
    ) -> int:
        item_type_id = item_id(item)
        actor_id = users(role)
        with app.app_context():
            line = record_disbursement(
                AwardInput(
                    grant_id=grant_id,
                    item_type_id=item_type_id,
                    amount=Decimal(amount),
                    awarded_on=awarded_on,
                    delivery_method=DeliveryMethod.VOUCHER,
                    access_route=AccessRoute.REFERRAL,
                    **fields,
                ),
                actor=db.session.get(User, actor_id),
                today=today,
                idempotency_key=key,
                confirm_overspend=confirm,
            )
            db.session.commit()
            return line.id

    return _award


@pytest.fixture
def reverse(app, users):
    def _reverse(
        disbursement_id: int,
        *,
        role: Role = Role.FINANCE,
        reason: str = "Entered twice",
        on: date = IN_PERIOD,
        today: date = TODAY,
    ) -> int:
        actor_id = users(role)
        with app.app_context():
            reversal = reverse_disbursement(
                db.session.get(Disbursement, disbursement_id),
                actor=db.session.get(User, actor_id),
                reason=reason,
                reversed_on=on,
                today=today,
            )
            db.session.commit()
            return reversal.id

    return _reverse


@pytest.fixture
def pay(app, users):
    def _pay(
        disbursement_id: int,
        *,
        role: Role = Role.FINANCE,
        on: date = IN_PERIOD,
        reference: str = "BACS-001",
        today: date = TODAY,
    ) -> int:
        actor_id = users(role)
        with app.app_context():
            payment = mark_paid(
                db.session.get(Disbursement, disbursement_id),
                actor=db.session.get(User, actor_id),
                paid_on=on,
                payment_reference=reference,
                today=today,
            )
            db.session.commit()
            return payment.id

    return _pay


def remaining(app, grant_id: int) -> Decimal:
    with app.app_context():
        return services.available_on_grant(db.session.get(Grant, grant_id))


# --- the grant's period and status ----------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "day", "problem"),
    [
        (START, END, START, None),
        (START, END, END, None),
        (START, END, START - timedelta(days=1), "within the grant's period"),
        (START, END, END + timedelta(days=1), "within the grant's period"),
        (date(2026, 1, 1), date(2027, 3, 31), TODAY, None),
        (date(2026, 1, 1), date(2027, 3, 31), TODAY + timedelta(days=1), "future"),
    ],
    ids=["first-day", "last-day", "day-before", "day-after", "today", "tomorrow"],
)
def test_the_date_must_be_in_the_period_and_not_in_the_future(
    app, create_grant, award, starts_on, ends_on, day, problem
):
    grant = create_grant(starts_on=starts_on, ends_on=ends_on)
    if problem is None:
        award(grant, awarded_on=day)
        assert count(app, Disbursement) == 1
        return
    with pytest.raises(ValidationError, match=problem) as caught:
        award(grant, awarded_on=day)
    assert caught.value.field == "awarded_on"
    assert count(app, Disbursement) == 0


def test_a_closed_grant_takes_no_awards(app, create_grant, award, users):
    grant_id = create_grant()
    manager = users(Role.MANAGER)
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        update_grant(
            grant,
            actor=db.session.get(User, manager),
            title=grant.title,
            team_id=None,
            starts_on=grant.starts_on,
            ends_on=grant.ends_on,
            control=grant.control,
            status=GrantStatus.CLOSED,
            notes=None,
        )
        db.session.commit()
    with pytest.raises(ValidationError, match="closed") as caught:
        award(grant_id)
    assert caught.value.field == "grant"
    assert count(app, Disbursement) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "0.00"}, "amount", "£0.01 or more"),
        ({"amount": "-5.00"}, "amount", "£0.01 or more"),
        ({"quantity": 0}, "quantity", "1 or more"),
        ({"household_id": 9999}, "beneficiary", "household that exists"),
        ({"young_person_id": 9999}, "beneficiary", "young person who exists"),
    ],
    ids=["zero", "negative", "no-quantity", "unknown-household", "unknown-person"],
)
def test_bad_values_are_refused_by_the_service_too(
    app, create_grant, award, fields, field, message
):
    grant = create_grant()
    amount = fields.pop("amount", "10.00")
    with pytest.raises(ValidationError, match=message) as caught:
        award(grant, amount, **fields)
    assert caught.value.field == field
    assert count(app, Disbursement) == 0


def test_an_erased_household_or_an_inactive_item_is_refused(
    app, create_grant, create_household, award
):
    grant = create_grant()
    household = create_household()
    with app.app_context():
        db.session.get(Household, household).erased_at = datetime.now(UTC)
        fridge = db.session.scalars(select(ItemType).where(ItemType.name == "Fridge"))
        fridge.one().active = False
        db.session.commit()
    with pytest.raises(ValidationError, match="household that exists"):
        award(grant, household_id=household)
    with pytest.raises(ValidationError, match="Choose an item") as caught:
        award(grant, item="Fridge")
    assert caught.value.field == "item_type"
    assert count(app, Disbursement) == 0


# --- budget controls ------------------------------------------------------------------------


def test_block_exactly_the_remaining_balance_then_not_a_penny_more(
    app, create_grant, award
):
    grant = create_grant("100.00", control="block")
    award(grant, "60.00")
    award(grant, "40.00")
    assert remaining(app, grant) == Decimal("0.00")
    with pytest.raises(Overspend, match="£0.00 available") as caught:
        award(grant, "0.01", role=Role.MANAGER, confirm=True)
    assert caught.value.field == "amount"
    assert caught.value.can_confirm is False
    assert count(app, Disbursement) == 2


@pytest.mark.parametrize(
    ("role", "confirm", "recorded", "can_confirm"),
    [
        (Role.STAFF, False, False, False),
        (Role.STAFF, True, False, False),
        (Role.MANAGER, False, False, True),
        (Role.MANAGER, True, True, True),
        (Role.ADMIN, True, True, True),
    ],
    ids=[
        "staff",
        "staff-ticks-confirm",
        "manager-unconfirmed",
        "manager-confirms",
        "admin-confirms",
    ],
)
def test_warn_lets_only_a_manager_confirm_an_overspend(
    app, create_grant, award, role, confirm, recorded, can_confirm
):
    grant = create_grant("100.00", control="warn")
    award(grant, "90.00")
    before = count(app, AuditEvent, AuditEvent.action.like("disbursement.%"))
    if recorded:
        line_id = award(grant, "25.00", role=role, confirm=confirm)
        with app.app_context():
            line = db.session.get(Disbursement, line_id)
            assert line.overspend_confirmed is True
            override = db.session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "disbursement.overspend_override"
                )
            ).one()
            assert override.object_id == line_id
        assert remaining(app, grant) == Decimal("-15.00")
        return
    with pytest.raises(Overspend, match=r"£10\.00 available") as caught:
        award(grant, "25.00", role=role, confirm=confirm)
    assert caught.value.can_confirm is can_confirm
    assert caught.value.remaining == Decimal("10.00")
    assert count(app, Disbursement) == 1
    assert count(app, AuditEvent, AuditEvent.action.like("disbursement.%")) == before


def _food_category(app) -> int:
    with app.app_context():
        return db.session.scalars(
            select(ItemType.category_id).where(ItemType.name == "Food voucher")
        ).one()


@pytest.fixture
def grant_with_food_line(app, create_grant, item_id, users):
    """A £1,000 grant (block) with a £50 budget line for food, under ``control``."""

    def _make(control: str, grant_control: str = "block") -> int:
        item_id()
        grant_id = create_grant("1000.00", control=grant_control)
        category = _food_category(app)
        manager = users(Role.MANAGER)
        with app.app_context():
            set_budget_line(
                db.session.get(Grant, grant_id),
                actor=db.session.get(User, manager),
                category_id=category,
                amount=Decimal("50.00"),
                control=BudgetControl(control),
            )
            db.session.commit()
        return grant_id

    return _make


def test_a_block_budget_line_is_checked_as_well_as_the_grant(
    app, grant_with_food_line, award
):
    grant = grant_with_food_line("block")
    award(grant, "50.00")
    with pytest.raises(Overspend, match="Food budget line: £0.00 available"):
        award(grant, "0.01", role=Role.MANAGER, confirm=True)
    # A category with no line only has to fit the grant.
    award(grant, "900.00", item="Fridge")
    assert count(app, Disbursement) == 2
    with pytest.raises(Overspend, match="grant"):
        award(grant, "50.01", item="Fridge")


@pytest.mark.parametrize(
    ("role", "confirm", "recorded"),
    [
        (Role.STAFF, True, False),
        (Role.MANAGER, False, False),
        (Role.MANAGER, True, True),
    ],
    ids=["staff", "manager-unconfirmed", "manager-confirms"],
)
def test_a_warn_budget_line_needs_a_manager(
    app, grant_with_food_line, award, role, confirm, recorded
):
    grant = grant_with_food_line("warn")
    award(grant, "45.00")
    if recorded:
        award(grant, "10.00", role=role, confirm=confirm)
        assert "disbursement.overspend_override" in audit_actions(app)
        assert count(app, Disbursement) == 2
    else:
        with pytest.raises(Overspend, match="£5.00 available"):
            award(grant, "10.00", role=role, confirm=confirm)
        assert count(app, Disbursement) == 1


def test_a_block_grant_wins_over_a_warn_line(app, grant_with_food_line, award):
    grant = grant_with_food_line("warn")
    award(grant, "900.00", item="Fridge")
    award(grant, "50.00")
    with pytest.raises(Overspend, match="grant") as caught:
        award(grant, "60.00", role=Role.MANAGER, confirm=True)
    assert caught.value.can_confirm is False


# --- reversals ------------------------------------------------------------------------------


def test_a_reversal_puts_the_money_back_and_is_audited(
    app, create_grant, award, reverse
):
    grant = create_grant("100.00")
    line = award(grant, "30.00")
    assert remaining(app, grant) == Decimal("70.00")
    reversal = reverse(line, reason="  Wrong grant  ", on=IN_PERIOD)
    assert remaining(app, grant) == Decimal("100.00")
    with app.app_context():
        row = db.session.get(Disbursement, reversal)
        assert row.amount == Decimal("-30.00")
        assert row.reverses_id == line
        assert row.reason == "Wrong grant"
        # The award itself is untouched.
        assert db.session.get(Disbursement, line).amount == Decimal("30.00")
    assert audit_actions(app)[-1] == "disbursement.reverse"


@pytest.mark.parametrize("role", [Role.FINANCE, Role.MANAGER, Role.ADMIN])
def test_finance_managers_and_admins_may_reverse(
    app, create_grant, award, reverse, role
):
    line = award(create_grant())
    reverse(line, role=role)
    assert count(app, Disbursement) == 2


@pytest.mark.parametrize(
    ("case", "error", "field", "message"),
    [
        ("twice", NotAllowed, None, "already been reversed"),
        ("a-reversal", NotAllowed, None, "cannot itself be reversed"),
        ("no-reason", ValidationError, "reason", "Say why"),
        ("blank-reason", ValidationError, "reason", "Say why"),
        ("before-award", ValidationError, "reversed_on", "before the award"),
        ("after-period", ValidationError, "reversed_on", "grant's period"),
        ("future", ValidationError, "reversed_on", "future"),
        ("staff", NotAllowed, None, "Only finance or a manager"),
    ],
)
def test_reversal_rules(app, create_grant, award, reverse, case, error, field, message):
    grant = create_grant()
    line = award(grant, awarded_on=IN_PERIOD)
    kwargs: dict = {}
    target = line
    if case == "twice":
        reverse(line)
    elif case == "a-reversal":
        target = reverse(line)
    elif case == "no-reason":
        kwargs["reason"] = ""
    elif case == "blank-reason":
        kwargs["reason"] = "   "
    elif case == "before-award":
        kwargs["on"] = IN_PERIOD - timedelta(days=1)
    elif case == "after-period":
        kwargs["on"] = END + timedelta(days=1)
    elif case == "future":
        kwargs.update(on=date(2024, 7, 1), today=date(2024, 6, 30))
    elif case == "staff":
        kwargs["role"] = Role.STAFF
    rows = count(app, Disbursement)
    with pytest.raises(error, match=message) as caught:
        reverse(target, **kwargs)
    assert caught.value.field == field
    assert count(app, Disbursement) == rows


# --- payments -------------------------------------------------------------------------------


def test_marking_paid_leaves_the_money_row_alone(app, create_grant, award, pay):
    line = award(create_grant(), "12.34")
    with app.app_context():
        before = db.session.execute(
            text("SELECT * FROM disbursements WHERE id = :id"), {"id": line}
        ).one()
    pay(line, on=IN_PERIOD, reference="  BACS-77  ")
    with app.app_context():
        after = db.session.execute(
            text("SELECT * FROM disbursements WHERE id = :id"), {"id": line}
        ).one()
        payment = db.session.scalars(select(DisbursementPayment)).one()
        assert payment.disbursement_id == line
        assert payment.payment_reference == "BACS-77"
        assert payment.paid_on == IN_PERIOD
    assert before == after
    assert audit_actions(app)[-1] == "disbursement.mark_paid"


@pytest.mark.parametrize(
    ("case", "error", "field", "message"),
    [
        ("future", ValidationError, "paid_on", "future"),
        ("before-award", ValidationError, "paid_on", "before the award"),
        ("twice", NotAllowed, None, "already marked paid"),
        ("a-reversal", NotAllowed, None, "reversal is not paid"),
        ("reversed", NotAllowed, None, "was reversed"),
        ("no-reference", ValidationError, "payment_reference", "payment reference"),
        ("staff", NotAllowed, None, "Only finance"),
        ("manager", NotAllowed, None, "Only finance"),
    ],
)
def test_paid_rules(
    app, create_grant, award, reverse, pay, case, error, field, message
):
    line = award(create_grant(), awarded_on=IN_PERIOD)
    kwargs: dict = {}
    target = line
    if case == "future":
        kwargs.update(on=TODAY + timedelta(days=1))
    elif case == "before-award":
        kwargs["on"] = IN_PERIOD - timedelta(days=1)
    elif case == "twice":
        pay(line)
    elif case == "a-reversal":
        target = reverse(line)
    elif case == "reversed":
        reverse(line)
    elif case == "no-reference":
        kwargs["reference"] = "  "
    elif case == "staff":
        kwargs["role"] = Role.STAFF
    elif case == "manager":
        kwargs["role"] = Role.MANAGER
    payments = count(app, DisbursementPayment)
    with pytest.raises(error, match=message) as caught:
        pay(target, **kwargs)
    assert caught.value.field == field
    assert count(app, DisbursementPayment) == payments


# --- one-time tokens ------------------------------------------------------------------------


def test_the_same_form_token_records_once(app, create_grant, award):
    grant = create_grant()
    first = award(grant, key="token-abc")
    with pytest.raises(AlreadyRecorded) as caught:
        award(grant, "99.00", key="token-abc")
    assert caught.value.disbursement_id == first
    assert count(app, Disbursement) == 1
    # Another form's token is another award.
    award(grant, key="token-def")
    assert count(app, Disbursement) == 2


def test_a_token_is_recognised_even_against_another_grant(app, create_grant, award):
    first = award(create_grant(), key="token-xyz")
    with pytest.raises(AlreadyRecorded) as caught:
        award(create_grant(), key="token-xyz")
    assert caught.value.disbursement_id == first


# --- the database itself keeps the ledger append-only ---------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE disbursements SET amount_pence = 1",
        "DELETE FROM disbursements",
        "UPDATE disbursement_payments SET payment_reference = 'changed'",
        "DELETE FROM disbursement_payments",
    ],
)
def test_update_and_delete_are_refused_by_the_database(
    app, create_grant, award, pay, statement
):
    line = award(create_grant(), "25.00")
    pay(line)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    with app.app_context():
        assert db.session.get(Disbursement, line).amount == Decimal("25.00")
        payment = db.session.scalars(select(DisbursementPayment)).one()
        assert payment.payment_reference == "BACS-001"


# --- counting households ----------------------------------------------------------------------


def test_a_household_helped_five_times_is_one_household_and_five_awards(
    app, create_grant, create_household, award, reverse
):
    grant = create_grant()
    often, once = create_household(), create_household()
    for _ in range(5):
        award(grant, "5.00", household_id=often)
    award(grant, "5.00", household_id=once)
    cancelled = award(grant, "5.00", household_id=once)
    reverse(cancelled)
    award(grant, "100.00", item="Salary")  # no beneficiary: not a household award
    award(create_grant(), "5.00", household_id=often)  # another grant
    with app.app_context():
        assert household_counts(grant) == (2, 6)


# --- audit and atomicity --------------------------------------------------------------------


def test_every_write_leaves_an_audit_event(
    app, create_grant, award, reverse, pay, users
):
    grant = create_grant("100.00", control="warn")
    award(grant, "1.00", role=Role.MANAGER)  # every user exists before counting
    for role in (Role.STAFF, Role.FINANCE):
        users(role)
    start = len(audit_actions(app))
    line = award(grant, "10.00")
    pay(line)
    reverse(award(grant, "10.00"))
    award(grant, "500.00", role=Role.MANAGER, confirm=True)
    assert audit_actions(app)[start:] == [
        "disbursement.create",
        "disbursement.mark_paid",
        "disbursement.create",
        "disbursement.reverse",
        "disbursement.create",
        "disbursement.overspend_override",
    ]


def _explode(*args, **kwargs):
    raise RuntimeError("audit store unavailable")


def test_a_failure_after_the_insert_leaves_no_ledger_row(
    app, create_grant, award, reverse, pay, monkeypatch
):
    grant = create_grant()
    line = award(grant)
    monkeypatch.setattr(services, "record_event", _explode)
    with pytest.raises(RuntimeError):
        award(grant)
    with pytest.raises(RuntimeError):
        reverse(line)
    with pytest.raises(RuntimeError):
        pay(line)
    assert count(app, Disbursement) == 1
    assert count(app, DisbursementPayment) == 0
    assert count(app, AuditEvent, AuditEvent.action.like("disbursement.%")) == 1
