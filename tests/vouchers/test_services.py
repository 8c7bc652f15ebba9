"""Voucher services: buying, issuing, returning and expiring, and the money they hold."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from funds.balances import available_to_award, voucher_stock
from funds.disbursements.services import AlreadyRecorded
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    AccessRoute,
    AuditEvent,
    DeliveryMethod,
    Disbursement,
    Grant,
    GrantStatus,
    User,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from funds.vouchers.queries import reconciliation
from funds.vouchers.serials import serials_from_range
from funds.vouchers.services import (
    BatchInput,
    create_batch,
    expire_vouchers,
    issue_vouchers,
    return_vouchers,
)
from tests.conftest import IN_PERIOD, TODAY, audit_actions, count

BOUGHT_ON = date(2024, 5, 1)
EXPIRES_ON = date(2025, 1, 31)


@pytest.fixture
def world(app, create_grant, create_household, system_actor, item_id):
    """A £1,000 grant, a household, the factory manager and the Food voucher item."""
    return {
        "grant": create_grant("1000.00"),
        "household": create_household(adults=1),
        "actor": system_actor(),
        "food": item_id("Food voucher"),
        "kayaking": item_id("Kayaking"),
    }


def _batch_input(world, **changes) -> BatchInput:
    values = {
        "grant_id": world["grant"],
        "supplier": "Tesco",
        "item_type_id": world["food"],
        "face_value": Decimal("20.00"),
        "quantity": 5,
        "purchase_cost": Decimal("100.00"),
        "purchased_on": BOUGHT_ON,
        "expires_on": EXPIRES_ON,
    }
    values.update(changes)
    return BatchInput(**values)


def _buy(app, world, serials=None, **changes) -> int:
    data = _batch_input(world, **changes)
    if serials is None:
        serials = serials_from_range("TES0001", f"TES{data.quantity:04d}")
    with app.app_context():
        batch = create_batch(
            data, serials, actor=db.session.get(User, world["actor"]), today=TODAY
        )
        db.session.commit()
        return batch.id


def _voucher_ids(app, batch_id: int) -> list[int]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Voucher.id)
                .where(Voucher.batch_id == batch_id)
                .order_by(Voucher.serial)
            )
        )


def _issue(app, world, voucher_ids, *, key=None, awarded_on=IN_PERIOD, serials=()):
    with app.app_context():
        awards = issue_vouchers(
            voucher_ids,
            serials=serials,
            actor=db.session.get(User, world["actor"]),
            household_id=world["household"],
            awarded_on=awarded_on,
            access_route=AccessRoute.REFERRAL,
            today=TODAY,
            idempotency_key=key,
        )
        db.session.commit()
        return [award.id for award in awards]


def _statuses(app, batch_id: int) -> dict[str, VoucherStatus]:
    with app.app_context():
        return dict(
            db.session.execute(
                select(Voucher.serial, Voucher.status).where(
                    Voucher.batch_id == batch_id
                )
            ).all()
        )


def _snapshot(app) -> tuple[int, int, int, int]:
    return (
        count(app, VoucherBatch),
        count(app, Voucher),
        count(app, Disbursement),
        count(app, AuditEvent),
    )


# --- buying a batch -----------------------------------------------------------------------


def test_buying_a_batch_puts_every_voucher_in_stock_and_holds_its_value(app, world):
    batch_id = _buy(app, world, sale_or_return=True, terms="Refund if unused")
    with app.app_context():
        batch = db.session.get(VoucherBatch, batch_id)
        assert [v.serial for v in batch.vouchers] == [f"TES000{n}" for n in range(1, 6)]
        assert {v.status for v in batch.vouchers} == {VoucherStatus.IN_STOCK}
        assert batch.sale_or_return and batch.terms == "Refund if unused"
        grant = db.session.get(Grant, world["grant"])
        assert voucher_stock(grant.id) == Decimal("100.00")
        assert available_to_award(grant) == Decimal("900.00")
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "voucher_batch.create")
        ).one()
        assert event.object_id == batch_id
        assert event.after["first_serial"] == "TES0001"
        assert event.after["last_serial"] == "TES0005"
        assert event.after["face_value"] == "20.00"


REFUSALS = [
    pytest.param(
        {"expires_on": BOUGHT_ON - timedelta(days=1)},
        None,
        "expires_on",
        "on or after the purchase date",
        id="expiry-before-purchase",
    ),
    pytest.param(
        {"purchased_on": date(2024, 3, 31)},
        None,
        "purchased_on",
        "within the grant's period",
        id="bought-before-the-grant",
    ),
    pytest.param(
        {"purchased_on": TODAY + timedelta(days=1), "expires_on": date(2027, 1, 1)},
        None,
        "purchased_on",
        "future",
        id="bought-in-the-future",
    ),
    pytest.param(
        {"quantity": 4},
        serials_from_range("TES0001", "TES0005"),
        "serials",
        "quantity is 4 but 5 serial numbers",
        id="count-is-not-the-quantity",
    ),
    pytest.param(
        {},
        ["TES0001", "TES0002", "TES 3", "TES0004", "TES0005"],
        "serials",
        "only letters, digits",
        id="bad-serial",
    ),
    pytest.param(
        {},
        ["TES0001", "TES0002", "TES0002", "TES0004", "TES0005"],
        "serials",
        "appear more than once: TES0002",
        id="duplicate-in-the-list",
    ),
    pytest.param(
        {"quantity": 51},
        serials_from_range("TES0001", "TES0051"),
        "quantity",
        "more than the grant has left to award (£1,000.00)",
        id="worth-more-than-the-grant",
    ),
    pytest.param(
        {"face_value": Decimal("0.00")},
        None,
        "face_value",
        "£0.01 or more",
        id="no-face-value",
    ),
    pytest.param(
        {"quantity": 0},
        [],
        "quantity",
        "from 1 to 10,000",
        id="no-vouchers",
    ),
    pytest.param(
        {"supplier": "   "}, None, "supplier", "Enter the supplier", id="no-supplier"
    ),
    pytest.param(
        {"purchase_cost": Decimal("-1.00")},
        None,
        "purchase_cost",
        "cannot be negative",
        id="negative-cost",
    ),
]


@pytest.mark.parametrize(("changes", "serials", "field", "words"), REFUSALS)
def test_a_bad_batch_is_refused_and_nothing_is_written(
    app, world, changes, serials, field, words
):
    before = _snapshot(app)
    with pytest.raises(ValidationError) as refused:
        _buy(app, world, serials=serials, **changes)
    assert refused.value.field == field
    assert words in refused.value.message
    assert _snapshot(app) == before


def test_activities_are_not_vouchers(app, world):
    with pytest.raises(ValidationError) as refused:
        _buy(app, world, item_type_id=world["kayaking"])
    assert refused.value.field == "item_type"


def test_a_closed_grant_buys_nothing(app, world):
    with app.app_context():
        db.session.get(Grant, world["grant"]).status = GrantStatus.CLOSED
        db.session.commit()
    with pytest.raises(ValidationError, match="closed"):
        _buy(app, world)
    assert count(app, VoucherBatch) == 0


@pytest.mark.parametrize(
    ("supplier", "first", "last"),
    [
        ("Tesco", "TES0005", "TES0009"),  # overlaps the end of the first batch
        (
            "TESCO ",
            "TES0001",
            "TES0005",
        ),  # the same range, the supplier typed differently
        ("tesco", "TES0003", "TES0003"),
    ],
)
def test_serials_already_held_for_the_supplier_are_refused(
    app, world, supplier, first, last
):
    _buy(app, world)
    serials = serials_from_range(first, last)
    before = _snapshot(app)
    with pytest.raises(ValidationError) as refused:
        _buy(app, world, serials=serials, supplier=supplier, quantity=len(serials))
    assert refused.value.field == "serials"
    assert "already recorded for Tesco in an earlier batch" in refused.value.message
    assert _snapshot(app) == before


def test_the_same_serials_from_another_supplier_are_fine(app, world):
    _buy(app, world)
    batch_id = _buy(app, world, supplier="Asda")
    with app.app_context():
        assert db.session.get(VoucherBatch, batch_id).supplier == "Asda"
    assert count(app, Voucher) == 10


def test_a_supplier_keeps_its_first_spelling(app, world):
    _buy(app, world, supplier="Hampshire  School Wear")
    batch_id = _buy(
        app,
        world,
        supplier="hampshire school wear",
        serials=serials_from_range("TES0006", "TES0010"),
    )
    with app.app_context():
        assert (
            db.session.get(VoucherBatch, batch_id).supplier == "Hampshire School Wear"
        )


def test_stock_and_spend_both_count_against_what_is_left(
    app, world, create_disbursement
):
    _buy(app, world, quantity=40, serials=serials_from_range("TES0001", "TES0040"))
    # £800 held in stock; £200 left. £200 more fits exactly, a penny more does not.
    with pytest.raises(ValidationError, match=r"left to award \(£200.00\)"):
        _buy(
            app,
            world,
            quantity=1,
            face_value=Decimal("200.01"),
            serials=["ASD1"],
            supplier="Asda",
        )
    create_disbursement(world["grant"], "150.00", item="Fridge")
    with pytest.raises(ValidationError, match=r"left to award \(£50.00\)"):
        _buy(app, world, quantity=3, serials=["A1", "A2", "A3"], supplier="Asda")
    _buy(
        app,
        world,
        quantity=2,
        face_value=Decimal("25.00"),
        serials=["A1", "A2"],
        supplier="Asda",
    )
    with app.app_context():
        assert available_to_award(db.session.get(Grant, world["grant"])) == Decimal(
            "0.00"
        )


# --- issuing ------------------------------------------------------------------------------


def test_issuing_records_one_award_per_voucher_at_face_value(app, world):
    batch_id = _buy(app, world)
    ids = _voucher_ids(app, batch_id)
    award_ids = _issue(app, world, ids[:2])
    assert len(award_ids) == 2
    with app.app_context():
        awards = db.session.scalars(
            select(Disbursement)
            .where(Disbursement.id.in_(award_ids))
            .order_by(Disbursement.id)
        ).all()
        assert [a.amount for a in awards] == [Decimal("20.00")] * 2
        assert {a.delivery_method for a in awards} == {DeliveryMethod.VOUCHER}
        assert {a.household_id for a in awards} == {world["household"]}
        assert [a.evidence_reference for a in awards] == [
            "Voucher TES0001",
            "Voucher TES0002",
        ]
        assert {a.supplier for a in awards} == {"Tesco"}
        vouchers = db.session.scalars(
            select(Voucher).where(Voucher.id.in_(ids[:2]))
        ).all()
        assert {v.disbursement_id for v in vouchers} == set(award_ids)
        grant = db.session.get(Grant, world["grant"])
        # Issuing moves money from stock to spent: what is left does not change.
        assert voucher_stock(grant.id) == Decimal("60.00")
        assert available_to_award(grant) == Decimal("900.00")
    assert _statuses(app, batch_id)["TES0001"] == VoucherStatus.ISSUED
    assert _statuses(app, batch_id)["TES0003"] == VoucherStatus.IN_STOCK
    actions = audit_actions(app)
    assert actions.count("voucher.issue") == 2
    assert actions.count("disbursement.create") == 2


def test_a_voucher_can_never_be_issued_twice(app, world):
    batch_id = _buy(app, world)
    first = _voucher_ids(app, batch_id)[0]
    _issue(app, world, [first])
    before = _snapshot(app)
    with pytest.raises(ValidationError) as refused:
        _issue(app, world, [first])
    assert "TES0001 (Tesco) has already been issued" in refused.value.message
    with pytest.raises(ValidationError, match="has already been issued"):
        _issue(app, world, [], serials=["TES0001"])
    assert _snapshot(app) == before
    assert count(app, Disbursement) == 1


def test_one_bad_voucher_issues_none_of_them(app, world):
    batch_id = _buy(app, world)
    ids = _voucher_ids(app, batch_id)
    _issue(app, world, [ids[2]])
    before = _snapshot(app)
    with pytest.raises(ValidationError):
        _issue(app, world, ids[:4])
    assert _snapshot(app) == before
    statuses = _statuses(app, batch_id)
    assert statuses["TES0001"] == statuses["TES0002"] == VoucherStatus.IN_STOCK


def test_an_expired_voucher_is_refused(app, world):
    batch_id = _buy(app, world)
    ids = _voucher_ids(app, batch_id)
    before = _snapshot(app)
    with pytest.raises(ValidationError) as refused:
        _issue(app, world, ids[:1], awarded_on=EXPIRES_ON + timedelta(days=1))
    assert refused.value.field == "vouchers"
    assert "TES0001 (Tesco) expired on 31 January 2025" in refused.value.message
    with pytest.raises(ValidationError) as refused:
        _issue(app, world, [], serials=["TES0002"], awarded_on=date(2025, 2, 1))
    assert refused.value.field == "serials"
    assert _snapshot(app) == before
    # On the expiry date itself it can still be given.
    assert len(_issue(app, world, ids[:1], awarded_on=EXPIRES_ON)) == 1


def test_typed_serials_are_found_whatever_the_case(app, world):
    batch_id = _buy(app, world)
    ids = _voucher_ids(app, batch_id)
    award_ids = _issue(app, world, [ids[0]], serials=["tes0002", "TES0003", "TES0001"])
    assert len(award_ids) == 3  # TES0001 both ticked and typed counts once
    statuses = _statuses(app, batch_id)
    assert [statuses[f"TES000{n}"] for n in range(1, 5)] == [
        VoucherStatus.ISSUED
    ] * 3 + [VoucherStatus.IN_STOCK]


@pytest.mark.parametrize(
    ("serials", "words"),
    [
        (["TES9999"], "No voucher has the serial number TES9999"),
        (["TES0004"], "TES0004 (Tesco) was returned to the supplier"),
        (["TES0002", "TES0002"], "appear more than once"),
        (["TES 0002"], "only letters, digits"),
    ],
)
def test_typed_serials_that_cannot_be_issued_are_named(app, world, serials, words):
    batch_id = _buy(app, world)
    with app.app_context():
        return_vouchers(
            db.session.get(VoucherBatch, batch_id),
            ["TES0004"],
            actor=db.session.get(User, world["actor"]),
            reason="damaged",
        )
        db.session.commit()
    before = _snapshot(app)
    with pytest.raises(ValidationError) as refused:
        _issue(app, world, [], serials=serials)
    assert refused.value.field == "serials"
    assert words in refused.value.message
    assert _snapshot(app) == before


def test_a_serial_two_suppliers_share_must_be_ticked(app, world):
    _buy(app, world)
    _buy(app, world, supplier="Asda")
    with pytest.raises(
        ValidationError, match="More than one supplier has a voucher TES0001"
    ):
        _issue(app, world, [], serials=["TES0001"])


def test_nothing_chosen_is_refused(app, world):
    with pytest.raises(ValidationError) as refused:
        _issue(app, world, [])
    assert refused.value.field == "vouchers"


def test_the_same_form_twice_is_recorded_once(app, world):
    batch_id = _buy(app, world)
    ids = _voucher_ids(app, batch_id)
    first = _issue(app, world, ids[:2], key="k" * 30)
    with pytest.raises(AlreadyRecorded) as again:
        _issue(app, world, ids[:2], key="k" * 30)
    assert again.value.disbursement_id == first[0]
    assert count(app, Disbursement) == 2


def test_vouchers_from_two_grants_at_once(app, world, create_grant):
    other = create_grant("500.00")
    _buy(app, world)
    other_batch = _buy(app, {**world, "grant": other}, supplier="Asda")
    with app.app_context():
        tesco = db.session.scalars(
            select(Voucher.id).where(
                Voucher.serial == "TES0001", Voucher.supplier == "Tesco"
            )
        ).one()
    award_ids = _issue(app, world, [tesco, _voucher_ids(app, other_batch)[0]])
    with app.app_context():
        grants = set(
            db.session.scalars(
                select(Disbursement.grant_id).where(Disbursement.id.in_(award_ids))
            )
        )
    assert grants == {world["grant"], other}


# --- returns and expiry -------------------------------------------------------------------


def test_returning_vouchers_is_audited_and_releases_their_value(app, world):
    batch_id = _buy(app, world)
    with app.app_context():
        returned = return_vouchers(
            db.session.get(VoucherBatch, batch_id),
            ["TES0004", "TES0005"],
            actor=db.session.get(User, world["actor"]),
            reason="End of term",
        )
        db.session.commit()
    assert returned == 2
    statuses = _statuses(app, batch_id)
    assert statuses["TES0004"] == statuses["TES0005"] == VoucherStatus.RETURNED
    with app.app_context():
        grant = db.session.get(Grant, world["grant"])
        assert voucher_stock(grant.id) == Decimal("60.00")
        assert available_to_award(grant) == Decimal("940.00")
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "voucher.return")
        ).all()
        assert len(events) == 2
        assert events[0].before == {"status": "in-stock"}
        assert events[0].after == {"status": "returned", "reason": "End of term"}


@pytest.mark.parametrize(
    ("serials", "error", "words"),
    [
        (["TES0001"], NotAllowed, "TES0001 has already been issued"),
        (["TES0002", "TES0009"], ValidationError, "Not in this batch: TES0009"),
        (["TES0002", "TES0002"], ValidationError, "appear more than once"),
    ],
)
def test_only_vouchers_in_stock_in_this_batch_can_be_returned(
    app, world, serials, error, words
):
    batch_id = _buy(app, world)
    _issue(app, world, _voucher_ids(app, batch_id)[:1])
    before = _snapshot(app)
    with app.app_context():
        with pytest.raises(error) as refused:
            return_vouchers(
                db.session.get(VoucherBatch, batch_id),
                serials,
                actor=db.session.get(User, world["actor"]),
                reason="x",
            )
        db.session.rollback()
    assert words in refused.value.message
    assert refused.value.field == "serials"
    assert _snapshot(app) == before


def test_expiring_marks_what_is_left_after_the_expiry_date(app, world):
    batch_id = _buy(app, world)
    _issue(app, world, _voucher_ids(app, batch_id)[:1])
    with app.app_context():
        batch = db.session.get(VoucherBatch, batch_id)
        actor = db.session.get(User, world["actor"])
        for day in (BOUGHT_ON, EXPIRES_ON):
            with pytest.raises(NotAllowed, match="valid until 31 January 2025"):
                expire_vouchers(batch, actor=actor, today=day)
        assert (
            expire_vouchers(batch, actor=actor, today=EXPIRES_ON + timedelta(days=1))
            == 4
        )
        db.session.commit()
    statuses = _statuses(app, batch_id)
    assert statuses["TES0001"] == VoucherStatus.ISSUED
    assert {statuses[f"TES000{n}"] for n in range(2, 6)} == {VoucherStatus.EXPIRED}
    assert audit_actions(app).count("voucher.expire") == 4
    with app.app_context():
        grant = db.session.get(Grant, world["grant"])
        # Expired vouchers were paid for and never given: still held against the grant.
        assert voucher_stock(grant.id) == Decimal("80.00")
        assert available_to_award(grant) == Decimal("900.00")
        with pytest.raises(NotAllowed, match="No vouchers"):
            expire_vouchers(
                db.session.get(VoucherBatch, batch_id),
                actor=db.session.get(User, world["actor"]),
                today=TODAY,
            )


def test_available_to_award_after_buying_issuing_returning_and_expiring(
    app, world, create_disbursement
):
    def figures():
        with app.app_context():
            grant = db.session.get(Grant, world["grant"])
            amounts = db.session.scalars(
                select(Disbursement.amount).where(Disbursement.grant_id == grant.id)
            )
            return available_to_award(grant), sum(amounts, Decimal("0.00"))

    assert figures() == (Decimal("1000.00"), Decimal("0.00"))
    batch_id = _buy(
        app, world, quantity=10, serials=serials_from_range("TES0001", "TES0010")
    )
    assert figures()[0] == Decimal("800.00")  # 1000 − 0 − 200 in stock
    ids = _voucher_ids(app, batch_id)
    _issue(app, world, ids[:3])
    assert figures() == (Decimal("800.00"), Decimal("60.00"))  # 1000 − 60 − 140
    create_disbursement(world["grant"], "100.00", item="Fridge")
    assert figures()[0] == Decimal("700.00")  # 1000 − 160 − 140
    with app.app_context():
        return_vouchers(
            db.session.get(VoucherBatch, batch_id),
            ["TES0009", "TES0010"],
            actor=db.session.get(User, world["actor"]),
        )
        db.session.commit()
    assert figures()[0] == Decimal("740.00")  # 1000 − 160 − 100
    with app.app_context():
        expire_vouchers(
            db.session.get(VoucherBatch, batch_id),
            actor=db.session.get(User, world["actor"]),
            today=TODAY,
        )
        db.session.commit()
    assert figures()[0] == Decimal("740.00")  # expired stock is still held
    with app.app_context():
        recon = reconciliation(grant_id=world["grant"])
        assert recon.balances
        assert recon.lines[VoucherStatus.EXPIRED].count == 5


# --- any sequence keeps the books balanced ------------------------------------------------

FACE_VALUES = [Decimal("5.00"), Decimal("10.00"), Decimal("20.00"), Decimal("25.50")]
EXPIRIES = [date(2024, 9, 30), date(2025, 3, 31)]
AWARD_DAYS = [date(2024, 6, 3), date(2024, 12, 2)]

steps = st.lists(
    st.one_of(
        st.tuples(
            st.just("buy"),
            st.integers(1, 6),
            st.sampled_from(FACE_VALUES),
            st.sampled_from(EXPIRIES),
        ),
        st.tuples(
            st.just("issue"),
            st.lists(st.integers(0, 40), min_size=1, max_size=3),
            st.sampled_from(AWARD_DAYS),
        ),
        st.tuples(
            st.just("return"), st.lists(st.integers(0, 40), min_size=1, max_size=2)
        ),
        st.tuples(st.just("expire"), st.integers(0, 5), st.booleans()),
    ),
    min_size=1,
    max_size=14,
)
_examples = itertools.count(1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_random_sequences_keep_the_reconciliation_balanced(
    app, world, create_grant, steps
):
    grant_id = create_grant("300.00")
    supplier = f"Supplier {next(_examples)}"
    total = Decimal("300.00")
    # The model: serial -> (batch id, face value, expiry, status)
    vouchers: dict[str, list] = {}
    batches: list[int] = []
    serial_numbers = itertools.count(1)
    spent = Decimal("0.00")

    def held() -> Decimal:
        return sum(
            (v[1] for v in vouchers.values() if v[3] in ("in-stock", "expired")),
            Decimal("0.00"),
        )

    with app.app_context():
        actor = db.session.get(User, world["actor"])
        for step in steps:
            kind = step[0]
            expected = None  # whether the model says the step should be accepted
            try:
                if kind == "buy":
                    _, quantity, face, expires = step
                    serials = [f"S{next(serial_numbers):05d}" for _ in range(quantity)]
                    expected = face * quantity <= total - spent - held()
                    batch = create_batch(
                        replace(
                            _batch_input(world, grant_id=grant_id),
                            supplier=supplier,
                            face_value=face,
                            quantity=quantity,
                            expires_on=expires,
                        ),
                        serials,
                        actor=actor,
                        today=TODAY,
                    )
                    batches.append(batch.id)
                    for serial in serials:
                        vouchers[serial] = [batch.id, face, expires, "in-stock"]
                elif kind == "issue":
                    _, picks, day = step
                    if not vouchers:
                        continue
                    names = sorted(vouchers)
                    chosen = sorted({names[p % len(names)] for p in picks})
                    expected = all(
                        vouchers[s][3] == "in-stock" and day <= vouchers[s][2]
                        for s in chosen
                    )
                    ids = list(
                        db.session.scalars(
                            select(Voucher.id).where(
                                Voucher.supplier == supplier, Voucher.serial.in_(chosen)
                            )
                        )
                    )
                    issue_vouchers(
                        ids,
                        actor=actor,
                        household_id=world["household"],
                        awarded_on=day,
                        access_route=AccessRoute.PROACTIVE,
                        today=TODAY,
                    )
                    for serial in chosen:
                        vouchers[serial][3] = "issued"
                        spent += vouchers[serial][1]
                elif kind == "return":
                    _, picks = step
                    if not vouchers:
                        continue
                    names = sorted(vouchers)
                    chosen = sorted({names[p % len(names)] for p in picks})
                    batch_ids = {vouchers[s][0] for s in chosen}
                    if len(batch_ids) != 1:
                        continue
                    expected = all(vouchers[s][3] == "in-stock" for s in chosen)
                    return_vouchers(
                        db.session.get(VoucherBatch, batch_ids.pop()),
                        chosen,
                        actor=actor,
                        reason="random",
                    )
                    for serial in chosen:
                        vouchers[serial][3] = "returned"
                else:
                    _, which, early = step
                    if not batches:
                        continue
                    batch = db.session.get(VoucherBatch, batches[which % len(batches)])
                    left = [
                        s
                        for s, v in vouchers.items()
                        if v[0] == batch.id and v[3] == "in-stock"
                    ]
                    day = batch.expires_on if early else TODAY
                    expected = not early and bool(left)
                    expire_vouchers(batch, actor=actor, today=day)
                    for serial in left:
                        vouchers[serial][3] = "expired"
                db.session.commit()
                assert expected is not False, f"{step} was accepted but should not be"
            except (ValidationError, NotAllowed) as refusal:
                db.session.rollback()
                assert expected is False, f"{step} was refused: {refusal.message}"

            # After every step, in the database: the identity holds for the grant and
            # every batch, and matches the model in count and value.
            recon = reconciliation(grant_id=grant_id)
            assert recon.balances
            assert recon.bought_count == len(vouchers)
            assert recon.bought_value == sum(
                (v[1] for v in vouchers.values()), Decimal("0.00")
            )
            for status in VoucherStatus:
                mine = [v for v in vouchers.values() if v[3] == status.value]
                assert recon.lines[status].count == len(mine)
                assert recon.lines[status].value == sum(
                    (v[1] for v in mine), Decimal("0.00")
                )
            for batch_id in batches:
                assert reconciliation(batch_id=batch_id).balances
            grant = db.session.get(Grant, grant_id)
            assert voucher_stock(grant_id) == held()
            assert available_to_award(grant) == total - spent - held()
            assert available_to_award(grant) >= 0
        db.session.remove()
