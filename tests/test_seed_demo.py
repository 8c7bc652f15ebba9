"""``flask seed-demo``: a believable year, loaded through the services, only once."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import aliased

from funds.extensions import db
from funds.grants.queries import grant_summary
from funds.models import (
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    Grant,
    Household,
    ItemType,
    Role,
    SpendCategory,
    User,
    YoungPerson,
)
from funds.money import format_money, from_pence, pence_sum
from funds.seed_data import (
    HSF_REFERENCE,
    MH_REFERENCE,
    YEAR_END,
    YEAR_START,
    build_plan,
)

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
        # A few mistakes, each reversed with a reason, netting to zero.
        original = aliased(Disbursement)
        reversals = db.session.execute(
            select(Disbursement.amount, original.amount, Disbursement.reason).join(
                original, original.id == Disbursement.reverses_id
            )
        ).all()
        assert 2 <= len(reversals) <= 3
        assert all(rev + orig == 0 and reason for rev, orig, reason in reversals)
        assert db.session.scalar(select(func.count(DisbursementPayment.id))) > 10

        # Every grant: remaining = total - net spend, in SQL, in the app and in the output.
        rows = db.session.execute(
            select(Grant, pence_sum(Disbursement.amount))
            .outerjoin(Disbursement, Disbursement.grant_id == Grant.id)
            .group_by(Grant.id)
        ).all()
        assert len(rows) == 4
        for grant, spent_pence in rows:
            remaining = grant.total - from_pence(spent_pence)
            assert remaining > 0
            assert grant_summary(grant.id).remaining == remaining
            line = next(line for line in output.splitlines() if grant.reference in line)
            assert format_money(remaining) in line
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
        # Every ledger line left its audit event.
        ledger_lines = db.session.scalar(select(func.count(Disbursement.id)))
        audited = db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action.in_(["disbursement.create", "disbursement.reverse"])
            )
        )
        assert audited == ledger_lines

        # Households: children flag consistent with the number of children.
        assert db.session.scalar(select(func.count(Household.id))) == 108
        inconsistent = db.session.scalar(
            select(func.count(Household.id)).where(
                (Household.children > 0) != Household.has_children
            )
        )
        assert inconsistent == 0
        # 25 young people, on the Mental Health board's activity programme.
        assert db.session.scalar(select(func.count(YoungPerson.id))) == 25
        mh = db.session.scalars(
            select(Grant).where(Grant.reference == MH_REFERENCE)
        ).one()
        assert mh.total == Decimal("11000.00")
        attending = db.session.scalar(
            select(func.count(distinct(Disbursement.young_person_id))).where(
                Disbursement.grant_id == mh.id
            )
        )
        assert attending == 25

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
    hsf = [a for a in plan.awards if a.grant == HSF_REFERENCE and not a.reversal]
    assert Decimal("21600.00") <= sum(a.amount for a in hsf) < Decimal("22000.00")
    for person in plan.young_people:
        age = (date(2023, 9, 1) - person.date_of_birth).days // 365
        assert 11 <= age <= 24
