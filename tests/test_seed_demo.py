"""``flask seed-demo``: a believable year, loaded through the services, only once."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import aliased

from funds.activities.queries import programme
from funds.balances import available_to_award, voucher_stock
from funds.extensions import db
from funds.grants.queries import grant_summary
from funds.models import (
    AccessRoute,
    ActivitySession,
    Attendance,
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    Grant,
    Household,
    ItemType,
    Role,
    SpendCategory,
    User,
    Voucher,
    VoucherBatch,
    VoucherStatus,
    YoungPerson,
)
from funds.money import format_money, from_pence, pence_sum
from funds.seed_data import (
    ACTIVITIES,
    GRANTS,
    HSF_REFERENCE,
    HSF_TARGET,
    MH_REFERENCE,
    YEAR_END,
    YEAR_START,
    build_plan,
    peak_commitments,
)
from funds.vouchers.queries import reconciliation
from tests.conftest import REAL_TODAY

ACCOUNT_LINE = re.compile(
    r"^\s+(admin|manager|finance|staff)\s+(\S+@demo\.funds\.example)\s+(\S+)\s*$",
    re.MULTILINE,
)


def _row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def _check_crisis_and_resilience_quarter(output: str) -> None:
    """A CRF quarter: cash-first (or a reason), the day each person asked, admin lines."""
    crf = db.session.scalars(
        select(Grant).where(Grant.reference == "HCC-CRF1-2026")
    ).one()
    assert crf.funder.cash_first
    lines = list(
        db.session.scalars(
            select(Disbursement).where(
                Disbursement.grant_id == crf.id, Disbursement.reverses_id.is_(None)
            )
        )
    )
    assert all(
        date(2026, 4, 1) <= line.awarded_on <= date(2026, 6, 30) for line in lines
    )
    people = [line for line in lines if line.household_id is not None]
    assert len(people) >= 60
    assert all(
        line.requested_on and line.requested_on <= line.awarded_on for line in people
    )
    cash_first = {"bank-transfer", "cash", "cash-out-voucher"}
    assert all(
        line.delivery_method in cash_first or line.method_reason for line in lines
    )
    assert any(line.delivery_method not in cash_first for line in people)
    running = [line for line in lines if line.household_id is None]
    assert running and all(
        line.access_route == AccessRoute.NOT_APPLICABLE for line in running
    )
    assert "Crisis and Resilience Fund (HCC-CRF1-2026), April to June 2026" in output


def test_seed_demo_loads_a_year_through_the_services_once(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    output = result.output
    accounts = ACCOUNT_LINE.findall(output)
    assert sorted(role for role, _, _ in accounts) == [
        "admin",
        "finance",
        "manager",
        "staff",
    ]

    with app.app_context():
        # The Household Support Fund grant: £22,000, most but not all spent, 108 families.
        hsf = db.session.scalars(
            select(Grant).where(Grant.reference == HSF_REFERENCE)
        ).one()
        assert hsf.total == Decimal("22000.00")
        assert (hsf.starts_on, hsf.ends_on) == (date(2023, 4, 1), date(2024, 3, 31))
        hsf_spent = from_pence(
            db.session.scalar(
                select(pence_sum(Disbursement.amount)).where(
                    Disbursement.grant_id == hsf.id
                )
            )
        )
        assert Decimal("21000.00") < hsf_spent < hsf.total
        # The vouchers it bought and has not given out still hold its money.
        assert hsf_spent + voucher_stock(hsf.id) <= hsf.total
        helped = db.session.scalar(
            select(func.count(distinct(Disbursement.household_id))).where(
                Disbursement.grant_id == hsf.id,
                Disbursement.reverses_id.is_(None),
            )
        )
        assert helped == 108
        # Some households were helped several times.
        per_household = (
            select(func.count().label("awards"))
            .where(
                Disbursement.grant_id == hsf.id,
                Disbursement.reverses_id.is_(None),
            )
            .group_by(Disbursement.household_id)
            .subquery()
        )
        assert db.session.scalar(select(func.max(per_household.c.awards))) >= 4
        # Every kind of support the service gives appears.
        categories = set(
            db.session.scalars(
                select(SpendCategory.name)
                .distinct()
                .join(ItemType, ItemType.category_id == SpendCategory.id)
                .join(Disbursement, Disbursement.item_type_id == ItemType.id)
                .where(Disbursement.grant_id == hsf.id)
            )
        )
        assert categories == {"Food", "White goods", "Utility bills", "Clothing"}
        # A few HSF mistakes, each reversed with a reason, netting to zero.
        original = aliased(Disbursement)
        reversals = db.session.execute(
            select(Disbursement.amount, original.amount, Disbursement.reason)
            .join(original, original.id == Disbursement.reverses_id)
            .where(Disbursement.grant_id == hsf.id)
        ).all()
        assert 2 <= len(reversals) <= 3
        assert all(rev + orig == 0 and reason for rev, orig, reason in reversals)
        assert db.session.scalar(select(func.count(DisbursementPayment.id))) > 10

        # Every grant: remaining = total - net spend, in SQL, in the app and in the output;
        # nothing committed beyond the total (available to award is never negative).
        rows = db.session.execute(
            select(Grant, pence_sum(Disbursement.amount))
            .outerjoin(Disbursement, Disbursement.grant_id == Grant.id)
            .group_by(Grant.id)
        ).all()
        assert (
            len(rows) == 5
        )  # four of 2023-24, and the 2026 Crisis and Resilience Fund
        for grant, spent_pence in rows:
            remaining = grant.total - from_pence(spent_pence)
            assert remaining > 0
            assert grant_summary(grant.id).remaining == remaining
            available = available_to_award(grant)
            assert Decimal(0) <= available <= remaining
            line = next(
                line
                for line in output.splitlines()
                if line.startswith(f"  {grant.reference}")
            )
            assert format_money(remaining) in line
            assert line.split()[5] == format_money(available)
        # Nothing is dated outside its grant's period.
        outside = db.session.scalar(
            select(func.count())
            .select_from(Disbursement)
            .join(Grant, Grant.id == Disbursement.grant_id)
            .where(
                (Disbursement.awarded_on < Grant.starts_on)
                | (Disbursement.awarded_on > Grant.ends_on)
            )
        )
        assert outside == 0
        # Every ledger line, session, batch and voucher issued left its audit event.
        ledger_lines = db.session.scalar(select(func.count(Disbursement.id)))
        audited = Counter(
            dict(
                db.session.execute(
                    select(AuditEvent.action, func.count()).group_by(AuditEvent.action)
                ).all()
            )
        )
        assert audited["disbursement.create"] + audited["disbursement.reverse"] == (
            ledger_lines
        )
        assert audited["activity_session.create"] == db.session.scalar(
            select(func.count(ActivitySession.id))
        )
        assert audited["voucher_batch.create"] == db.session.scalar(
            select(func.count(VoucherBatch.id))
        )
        assert audited["voucher.issue"] == db.session.scalar(
            select(func.count(Voucher.id)).where(Voucher.status == VoucherStatus.ISSUED)
        )

        # Households: children flag consistent with the number of children.
        assert db.session.scalar(select(func.count(Household.id))) == 108
        inconsistent = db.session.scalar(
            select(func.count(Household.id)).where(
                (Household.children > 0) != Household.has_children
            )
        )
        assert inconsistent == 0
        _check_activity_programme(output)
        _check_voucher_stock(output, hsf)
        _check_crisis_and_resilience_quarter(output)

        # One user per role, none asked to change their password.
        users = db.session.execute(select(User.role, User.must_change_password)).all()
        assert sorted(role for role, _ in users) == sorted(Role)
        assert not any(must_change for _, must_change in users)

    # Each printed password signs its user in.
    for _, email, password in accounts:
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, (email, response.status_code)
        assert "/login" not in response.headers["Location"]

    # A second run refuses, says so, and writes nothing.
    before = _row_counts(app)
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code != 0
    assert "Nothing was written" in again.output
    assert _row_counts(app) == before


def _check_activity_programme(output: str) -> None:
    """The Mental Health board's £11,000 bought a year of sessions for 25 young people."""
    assert db.session.scalar(select(func.count(YoungPerson.id))) == 25
    mh = db.session.scalars(select(Grant).where(Grant.reference == MH_REFERENCE)).one()
    assert mh.total == Decimal("11000.00")
    shown = programme(mh.id)
    # Sessions across the year, every kind of activity, one cancelled (cost reversed).
    held = list(db.session.scalars(select(ActivitySession.held_on)))
    assert 30 <= len(held) <= 40
    assert len({(day.year, day.month) for day in held}) == 12
    assert shown.sessions == len(held) - 1
    assert {row.activity for row in shown.rows} == set(ACTIVITIES)
    cancelled = db.session.execute(
        select(Disbursement.reason, Disbursement.amount).join(
            ActivitySession,
            ActivitySession.disbursement_id == Disbursement.reverses_id,
        )
    ).all()
    assert len(cancelled) == 1
    assert cancelled[0].reason and cancelled[0].amount < 0
    # The programme's money is the grant's net spend: several thousand, within £11,000.
    mh_spent = from_pence(
        db.session.scalar(
            select(pence_sum(Disbursement.amount)).where(Disbursement.grant_id == mh.id)
        )
    )
    assert shown.cost == mh_spent
    assert Decimal("5000.00") < shown.cost < mh.total
    # Distinct people counted once, places every time; all 25 took part in the year.
    live = select(Disbursement.reverses_id).where(Disbursement.reverses_id.is_not(None))
    unique = db.session.scalar(
        select(func.count(distinct(Attendance.young_person_id)))
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(ActivitySession.disbursement_id.not_in(live))
    )
    assert unique == 25
    assert shown.young_people == unique
    assert shown.not_attended == []
    assert shown.places == db.session.scalar(select(func.count(Attendance.id)))
    assert shown.places > 5 * shown.young_people
    assert shown.cost_per_participant == (shown.cost / unique).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )
    assert shown.carers > 0
    assert sum(shown.age_bands.values()) == unique
    # Some came to many sessions, some to few; nobody over a session's capacity.
    per_person = sorted(
        db.session.scalars(
            select(func.count())
            .select_from(Attendance)
            .group_by(Attendance.young_person_id)
        )
    )
    assert per_person[0] <= 3 and per_person[-1] >= 20
    over = db.session.scalar(
        select(func.count())
        .select_from(ActivitySession)
        .where(
            ActivitySession.capacity
            < select(func.count(Attendance.id))
            .where(Attendance.session_id == ActivitySession.id)
            .scalar_subquery()
        )
    )
    assert over == 0
    costs = list(db.session.scalars(select(ActivitySession.cost)))
    assert Decimal("100.00") <= min(costs) and max(costs) <= Decimal("650.00")
    line = next(line for line in output.splitlines() if "Activity programme" in line)
    assert f"{shown.sessions} sessions held, 1 cancelled" in line
    assert f"{unique} young people, {shown.places} places" in line
    assert format_money(shown.cost_per_participant) in line


def _check_voucher_stock(output: str, hsf: Grant) -> None:
    """The Household Support Fund's vouchers: bought in batches, issued, returned, expired."""
    stock = reconciliation(grant_id=hsf.id)
    assert stock.balances
    lines = {line.status: line for line in stock.ordered_lines}
    assert all(line.count > 0 for line in lines.values())
    assert lines[VoucherStatus.ISSUED].count > 100
    assert stock.bought_count == db.session.scalar(
        select(func.sum(VoucherBatch.quantity))
    )
    # Unissued stock (in stock or expired) is what balances.voucher_stock holds back.
    assert voucher_stock(hsf.id) == (
        lines[VoucherStatus.IN_STOCK].value + lines[VoucherStatus.EXPIRED].value
    )
    batches = list(db.session.scalars(select(VoucherBatch)))
    assert len(batches) >= 6
    assert {b.supplier for b in batches} >= {
        "Tesco",
        "Hampshire Schoolwear",
        "Shoe Zone",
    }
    assert len({b.purchased_on.month for b in batches}) >= 4
    for batch in batches:
        assert batch.grant_id == hsf.id
        assert YEAR_START <= batch.purchased_on <= YEAR_END
        months = (batch.expires_on.year - batch.purchased_on.year) * 12 + (
            batch.expires_on.month - batch.purchased_on.month
        )
        assert 6 <= months <= 12
    assert any(b.sale_or_return for b in batches)
    # Returned vouchers came from a sale-or-return batch; expired ones from a batch whose
    # expiry date had passed.
    by_status = db.session.execute(
        select(
            Voucher.status, VoucherBatch.sale_or_return, VoucherBatch.expires_on
        ).join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
    ).all()
    assert all(
        s_o_r for status, s_o_r, _ in by_status if status == VoucherStatus.RETURNED
    )
    assert all(
        expires < REAL_TODAY
        for status, _, expires in by_status
        if status == VoucherStatus.EXPIRED
    )
    # Each voucher issued is one award, at face value, to a household, inside its dates.
    issued = db.session.execute(
        select(Disbursement, VoucherBatch)
        .join(Voucher, Voucher.disbursement_id == Disbursement.id)
        .join(VoucherBatch, VoucherBatch.id == Voucher.batch_id)
    ).all()
    assert len(issued) == lines[VoucherStatus.ISSUED].count
    for award, batch in issued:
        assert award.grant_id == hsf.id and award.household_id is not None
        assert award.amount == batch.face_value
        assert batch.purchased_on <= award.awarded_on <= batch.expires_on
    # A good share of the food, uniform and shoe vouchers came from stock.
    voucher_awards = db.session.scalar(
        select(func.count(Disbursement.id))
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .where(
            Disbursement.grant_id == hsf.id,
            Disbursement.reverses_id.is_(None),
            ItemType.name.in_(["Food voucher", "School uniform voucher", "Shoes"]),
        )
    )
    assert len(issued) >= voucher_awards * 0.4
    line = next(line for line in output.splitlines() if "Vouchers (" in line)
    assert (
        f"{len(batches)} batches, {stock.bought_count} bought "
        f"({format_money(stock.bought_value)}): "
        f"{lines[VoucherStatus.ISSUED].count} issued, "
        f"{lines[VoucherStatus.IN_STOCK].count} in stock, "
        f"{lines[VoucherStatus.RETURNED].count} returned, "
        f"{lines[VoucherStatus.EXPIRED].count} expired"
    ) in line


def test_seed_demo_refuses_a_database_that_already_has_grants(
    app, runner, create_grant
):
    create_grant()
    before = _row_counts(app)
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "already has grants" in result.output
    assert _row_counts(app) == before


def test_the_demo_plan_is_the_same_every_time_and_inside_the_year():
    plan = build_plan()
    assert plan == build_plan()
    assert len(plan.households) == 108
    assert len(plan.young_people) == 25
    assert all(YEAR_START <= award.on <= YEAR_END for award in plan.awards)
    assert all(YEAR_START <= session.on <= YEAR_END for session in plan.sessions)
    hsf = [a for a in plan.awards if a.grant == HSF_REFERENCE and not a.reversal]
    assert HSF_TARGET[0] <= sum(a.amount for a in hsf) <= HSF_TARGET[1]
    # No grant is ever committed (spend plus voucher stock) beyond its total.
    peaks = peak_commitments(plan)
    assert all(peaks[spec.reference] <= spec.total for spec in GRANTS)
    # Vouchers given from stock: each serial once, from a batch valid that day, and the
    # award is worth their face value.
    batches = {batch.key: batch for batch in plan.batches}
    given = [(key, serial) for a in hsf for key, serial in a.vouchers]
    assert len(given) == len(set(given))
    for award in hsf:
        for key, serial in award.vouchers:
            batch = batches[key]
            assert serial in batch.serials
            assert batch.purchased_on <= award.on <= batch.expires_on
        if award.vouchers:
            assert award.amount == sum(batches[k].face_value for k, _ in award.vouchers)
    for person in plan.young_people:
        age = (date(2023, 9, 1) - person.date_of_birth).days // 365
        assert 11 <= age <= 24
