"""Grant, total, budget-line, funder and mapping rules in funds.grants.services."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.grants import services
from funds.models import (
    HSF_CATEGORIES,
    AuditEvent,
    BudgetControl,
    BudgetLine,
    Funder,
    FunderCategory,
    Grant,
    GrantStatus,
    GrantTotalChange,
    ItemType,
    ItemTypeMapping,
    Role,
    SpendCategory,
    User,
)
from tests.conftest import IN_PERIOD, count

START, END = date(2024, 4, 1), date(2025, 3, 31)


@pytest.fixture
def manager_id(create_user):
    return create_user(Role.MANAGER)


def _user(user_id: int) -> User:
    return db.session.get(User, user_id)


def _grant(grant_id: int) -> Grant:
    return db.session.get(Grant, grant_id)


def _category_id(name: str) -> int:
    return db.session.scalars(
        select(SpendCategory.id).where(SpendCategory.name == name)
    ).one()


# --- setting up a grant --------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "ok"),
    [
        (START, END, True),
        (START, START, True),  # a one-day grant
        (START, date(2024, 3, 31), False),  # ends the day before it starts
        (END, START, False),
    ],
)
def test_the_period_must_not_end_before_it_starts(
    app, manager_id, create_funder, starts_on, ends_on, ok
):
    funder_id = create_funder()
    with app.app_context():
        call = lambda: services.create_grant(  # noqa: E731
            actor=_user(manager_id),
            reference="G-1",
            title="A grant",
            funder_id=funder_id,
            total=Decimal("100.00"),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        if ok:
            call()
            db.session.commit()
        else:
            with pytest.raises(ValidationError) as caught:
                call()
            assert caught.value.field == "ends_on"
            db.session.rollback()
    assert count(app, Grant) == (1 if ok else 0)


@pytest.mark.parametrize("reference", ["G-001", "g-001", " G-001 "])
def test_references_are_unique_whatever_their_case(
    app, manager_id, create_grant, create_funder, reference
):
    create_grant(reference="G-001")
    funder_id = create_funder()
    with app.app_context():
        with pytest.raises(ValidationError, match="already exists") as caught:
            services.create_grant(
                actor=_user(manager_id),
                reference=reference,
                title="Another",
                funder_id=funder_id,
                total=Decimal("5.00"),
                starts_on=START,
                ends_on=END,
            )
        assert caught.value.field == "reference"
    assert count(app, Grant) == 1


@pytest.mark.parametrize("total", ["0", "0.00", "-1.00"])
def test_a_grant_total_must_be_positive(app, manager_id, create_funder, total):
    funder_id = create_funder()
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            services.create_grant(
                actor=_user(manager_id),
                reference="G-1",
                title="A grant",
                funder_id=funder_id,
                total=Decimal(total),
                starts_on=START,
                ends_on=END,
            )
        assert caught.value.field == "total"


@pytest.mark.parametrize("role", [Role.STAFF, Role.FINANCE])
def test_only_managers_set_up_grants(app, create_user, create_funder, role):
    funder_id = create_funder()
    actor_id = create_user(role)
    with app.app_context():
        with pytest.raises(NotAllowed):
            services.create_grant(
                actor=_user(actor_id),
                reference="G-1",
                title="A grant",
                funder_id=funder_id,
                total=Decimal("5.00"),
                starts_on=START,
                ends_on=END,
            )


# --- editing a grant -----------------------------------------------------------------


def _update(grant_id: int, actor_id: int, **changes):
    grant = _grant(grant_id)
    values = {
        "title": grant.title,
        "team_id": grant.team_id,
        "starts_on": grant.starts_on,
        "ends_on": grant.ends_on,
        "control": grant.control,
        "status": grant.status,
        "notes": grant.notes,
    }
    values.update(changes)
    services.update_grant(grant, actor=_user(actor_id), **values)


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "field"),
    [
        (IN_PERIOD, IN_PERIOD, None),  # exactly the day of the only award
        (date(2024, 6, 4), END, "starts_on"),  # starts the day after the award
        (START, date(2024, 6, 2), "ends_on"),  # ends the day before it
        (date(2024, 7, 1), date(2024, 8, 1), "starts_on"),
        (date(2024, 5, 1), date(2024, 4, 30), "ends_on"),  # end before start
    ],
)
def test_a_new_period_must_keep_every_recorded_award_inside_it(
    app, manager_id, create_grant, create_disbursement, starts_on, ends_on, field
):
    grant_id = create_grant()
    create_disbursement(grant_id, "10.00", awarded_on=IN_PERIOD)
    with app.app_context():
        if field is None:
            _update(grant_id, manager_id, starts_on=starts_on, ends_on=ends_on)
            db.session.commit()
        else:
            with pytest.raises(ValidationError) as caught:
                _update(grant_id, manager_id, starts_on=starts_on, ends_on=ends_on)
            assert caught.value.field == field
            db.session.rollback()
    with app.app_context():
        grant = _grant(grant_id)
        expected = (starts_on, ends_on) if field is None else (START, END)
        assert (grant.starts_on, grant.ends_on) == expected


def test_an_update_is_audited_with_only_what_changed(app, manager_id, create_grant):
    grant_id = create_grant()
    with app.app_context():
        _update(
            grant_id,
            manager_id,
            title="Renamed",
            control=BudgetControl.WARN,
            status=GrantStatus.CLOSED,
        )
        db.session.commit()
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "grant.update")
        ).one()
        assert event.before == {
            "title": "Test grant",
            "control": "block",
            "status": "open",
        }
        assert event.after == {
            "title": "Renamed",
            "control": "warn",
            "status": "closed",
        }


# --- changing the total --------------------------------------------------------------


def _change_total(grant_id, actor_id, new_total, reason="Funder's letter"):
    return services.change_grant_total(
        _grant(grant_id),
        actor=_user(actor_id),
        new_total=Decimal(new_total),
        reason=reason,
    )


@pytest.mark.parametrize(
    ("new_total", "message"),
    [
        ("449.99", r"less than is already spent \(£450.00\)"),
        ("0.01", r"less than is already spent \(£450.00\)"),
        ("0.00", "£0.01 or more"),
        ("-10.00", "£0.01 or more"),
        ("1000.00", "already the grant's total"),
    ],
)
def test_a_total_cannot_go_below_what_is_spent(
    app, manager_id, create_grant, create_disbursement, new_total, message
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "400.00")
    create_disbursement(grant_id, "50.00")
    with app.app_context():
        with pytest.raises(ValidationError, match=message) as caught:
            _change_total(grant_id, manager_id, new_total)
        assert caught.value.field == "new_total"
        db.session.rollback()
    with app.app_context():
        assert _grant(grant_id).total == Decimal("1000.00")
    assert count(app, GrantTotalChange) == 0
    assert "grant.change_total" not in _actions(app)


def _actions(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action)))


def test_a_total_can_come_down_to_exactly_what_is_spent(
    app, manager_id, create_grant, create_disbursement
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "450.00")
    with app.app_context():
        change = _change_total(grant_id, manager_id, "450.00", "Underspend returned")
        db.session.commit()
        change_id = change.id
    with app.app_context():
        assert _grant(grant_id).total == Decimal("450.00")
        change = db.session.get(GrantTotalChange, change_id)
        assert (change.old_total, change.new_total) == (
            Decimal("1000.00"),
            Decimal("450.00"),
        )
        assert change.reason == "Underspend returned"
        assert change.changed_by_id == manager_id
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "grant.change_total")
        ).one()
        assert event.actor_id == manager_id
        assert event.before == {"total": "1000.00"}
        assert event.after == {"total": "450.00", "reason": "Underspend returned"}


def test_a_total_cannot_go_below_what_is_spent_and_held_in_vouchers(
    app, manager_id, create_grant, create_disbursement, create_batch
):
    """£100 block grant, £80 of vouchers held, £20 awarded: £30 would leave -£70."""
    grant_id = create_grant("100.00")
    create_batch(grant_id, quantity=4, face_value="20.00")
    create_disbursement(grant_id, "20.00")
    with app.app_context():
        with pytest.raises(ValidationError, match=r"held in vouchers .*\(£80.00\)"):
            _change_total(grant_id, manager_id, "30.00")
        db.session.rollback()
    with app.app_context():
        assert _grant(grant_id).total == Decimal("100.00")
        change = _change_total(grant_id, manager_id, "100.01", "A little more")
        db.session.commit()
        assert change.new_total == Decimal("100.01")
    assert count(app, GrantTotalChange) == 1


def test_a_total_cannot_go_below_its_budget_lines(app, manager_id, create_grant):
    grant_id = create_grant("1000.00")
    with app.app_context():
        services.set_budget_line(
            _grant(grant_id),
            actor=_user(manager_id),
            category_id=_category_id("Food"),
            amount=Decimal("600.00"),
            control=BudgetControl.BLOCK,
        )
        db.session.commit()
    with app.app_context():
        with pytest.raises(ValidationError, match="budget lines add up to £600.00"):
            _change_total(grant_id, manager_id, "599.99")
        db.session.rollback()
        _change_total(grant_id, manager_id, "600.00")
        db.session.commit()
    with app.app_context():
        assert _grant(grant_id).total == Decimal("600.00")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_total_change_needs_a_reason(app, manager_id, create_grant, reason):
    grant_id = create_grant()
    with app.app_context():
        with pytest.raises(ValidationError) as caught:
            _change_total(grant_id, manager_id, "2000.00", reason)
        assert caught.value.field == "reason"


def test_only_managers_change_totals(app, create_user, create_grant):
    grant_id = create_grant()
    finance_id = create_user(Role.FINANCE)
    with app.app_context():
        with pytest.raises(NotAllowed):
            _change_total(grant_id, finance_id, "2000.00")


# --- budget lines --------------------------------------------------------------------


def _line(grant_id, actor_id, category, amount, control=BudgetControl.BLOCK):
    return services.set_budget_line(
        _grant(grant_id),
        actor=_user(actor_id),
        category_id=_category_id(category),
        amount=Decimal(amount),
        control=control,
    )


@pytest.mark.parametrize(
    ("second", "ok"),
    [
        ("400.00", True),  # 600 + 400 = the whole grant
        ("400.01", False),  # a penny more than the grant
        ("0.00", True),
        ("-0.01", False),
    ],
)
def test_budget_lines_never_add_up_to_more_than_the_grant(
    app, manager_id, create_grant, second, ok
):
    grant_id = create_grant("1000.00")
    with app.app_context():
        _line(grant_id, manager_id, "Food", "600.00")
        db.session.commit()
        if ok:
            _line(grant_id, manager_id, "White goods", second)
            db.session.commit()
        else:
            with pytest.raises(ValidationError) as caught:
                _line(grant_id, manager_id, "White goods", second)
            assert caught.value.field == "amount"
            db.session.rollback()
    assert count(app, BudgetLine) == (2 if ok else 1)


def test_a_refused_line_says_how_much_is_unallocated(app, manager_id, create_grant):
    grant_id = create_grant("1000.00")
    with app.app_context():
        _line(grant_id, manager_id, "Food", "750.00")
        with pytest.raises(ValidationError, match="£250.00 is unallocated"):
            _line(grant_id, manager_id, "Clothing", "250.01")


@pytest.mark.parametrize(("amount", "ok"), [("59.99", False), ("60.00", True)])
def test_a_line_cannot_be_less_than_is_spent_in_its_category(
    app, manager_id, create_grant, create_disbursement, amount, ok
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "40.00", item="Fridge")
    create_disbursement(grant_id, "20.00", item="Cooker")
    create_disbursement(grant_id, "99.00", item="Food voucher")  # another category
    with app.app_context():
        if ok:
            _line(grant_id, manager_id, "White goods", amount)
            db.session.commit()
        else:
            with pytest.raises(ValidationError, match="£60.00 is already spent"):
                _line(grant_id, manager_id, "White goods", amount)
    assert count(app, BudgetLine) == (1 if ok else 0)


def test_setting_a_line_again_changes_it(app, manager_id, create_grant):
    grant_id = create_grant("1000.00")
    with app.app_context():
        _line(grant_id, manager_id, "Food", "300.00")
        db.session.commit()
        # The grant's own total leaves room for 1000 in this line even though 300 is set.
        _line(grant_id, manager_id, "Food", "1000.00", BudgetControl.WARN)
        db.session.commit()
    with app.app_context():
        line = db.session.scalars(select(BudgetLine)).one()
        assert (line.amount, line.control) == (Decimal("1000.00"), BudgetControl.WARN)
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "budget_line.set")
            .order_by(AuditEvent.id)
        ).all()
        assert events[0].before is None
        assert events[1].before == {"amount": "300.00", "control": "block"}
        assert events[1].after["amount"] == "1000.00"


# --- funders and the mapping ------------------------------------------------------------


def test_a_funder_can_start_with_the_default_hsf_mapping(app, manager_id, item_id):
    item_id()  # the default taxonomy
    with app.app_context():
        funder = services.create_funder(
            actor=_user(manager_id),
            name="Connect4Communities",
            categories=list(HSF_CATEGORIES),
            default_hsf_mapping=True,
        )
        db.session.commit()
        funder_id = funder.id
    with app.app_context():
        mapped = dict(
            db.session.execute(
                select(ItemType.name, FunderCategory.name)
                .join(ItemTypeMapping, ItemTypeMapping.item_type_id == ItemType.id)
                .join(
                    FunderCategory,
                    FunderCategory.id == ItemTypeMapping.funder_category_id,
                )
                .where(ItemTypeMapping.funder_id == funder_id)
            ).all()
        )
        assert mapped["Food voucher"] == "Food"
        assert mapped["Fridge"] == "Essentials linked to energy and water"
        assert mapped["Gas bill"] == "Energy and water"
        assert "Kayaking" not in mapped
        assert len(mapped) == 10
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "funder.create")
        ).one()
        assert event.after["default_hsf_mapping"] == 10


@pytest.mark.parametrize("name", ["Connect4Communities", "CONNECT4COMMUNITIES "])
def test_funder_names_are_unique(app, manager_id, create_funder, name):
    create_funder("Connect4Communities")
    with app.app_context():
        with pytest.raises(ValidationError, match="already exists"):
            services.create_funder(actor=_user(manager_id), name=name, categories=["A"])


def test_an_item_cannot_be_mapped_to_another_funders_category(
    app, manager_id, create_funder, item_id
):
    ours = create_funder("Ours")
    theirs = create_funder("Theirs")
    fridge = item_id("Fridge")
    with app.app_context():
        foreign = db.session.scalars(
            select(FunderCategory.id).where(
                FunderCategory.funder_id == theirs, FunderCategory.name == "Food"
            )
        ).one()
        funder = db.session.get(Funder, ours)
        with pytest.raises(ValidationError, match="Ours's categories") as caught:
            services.map_item_type(
                db.session.get(ItemType, fridge),
                actor=_user(manager_id),
                funder=funder,
                category_id=foreign,
            )
        assert caught.value.field == f"item_{fridge}"
        db.session.rollback()
    with app.app_context():
        mapping = db.session.scalars(
            select(ItemTypeMapping).where(
                ItemTypeMapping.funder_id == ours,
                ItemTypeMapping.item_type_id == fridge,
            )
        ).one()
        assert mapping.funder_category.funder_id == ours


def test_setting_a_mapping_touches_only_what_changed(
    app, manager_id, create_funder, item_id
):
    funder_id = create_funder()
    fridge, voucher, coat = item_id("Fridge"), item_id("Food voucher"), item_id("Shoes")
    with app.app_context():
        funder = db.session.get(Funder, funder_id)
        categories = {c.name: c.id for c in funder.categories}
        current = dict(
            db.session.execute(
                select(
                    ItemTypeMapping.item_type_id, ItemTypeMapping.funder_category_id
                ).where(ItemTypeMapping.funder_id == funder_id)
            ).all()
        )
        changed = services.set_funder_mapping(
            funder,
            actor=_user(manager_id),
            choices={
                fridge: categories["Wider essentials"],  # changed
                voucher: None,  # unmapped
                coat: current[coat],  # unchanged
            },
        )
        db.session.commit()
        assert changed == 2
    with app.app_context():
        now = dict(
            db.session.execute(
                select(
                    ItemTypeMapping.item_type_id, ItemTypeMapping.funder_category_id
                ).where(ItemTypeMapping.funder_id == funder_id)
            ).all()
        )
        assert now[fridge] == categories["Wider essentials"]
        assert voucher not in now
        assert now[coat] == current[coat]
    assert _actions(app).count("item_type.map") == 2
