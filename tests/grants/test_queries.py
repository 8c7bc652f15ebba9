"""The grants overview and a grant's figures, against hand-computed numbers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from funds.disbursements.services import mark_paid, reverse_disbursement
from funds.extensions import db
from funds.grants import queries
from funds.grants.services import set_budget_line, update_grant
from funds.models import (
    BudgetControl,
    Disbursement,
    Grant,
    GrantStatus,
    Role,
    SpendCategory,
    User,
)
from tests.conftest import IN_PERIOD, TODAY

D = Decimal


@pytest.fixture
def ledger(app, create_user, create_grant, create_disbursement, system_actor):
    """Grant A (£1,000, open): £100 paid, £50 reversed, £30.25 unpaid.
    Grant B (£500, closed): £20 unpaid. Grant C (£250, open): nothing spent."""
    finance_id = create_user(Role.FINANCE)
    a = create_grant("1000.00", reference="A-1")
    b = create_grant("500.00", reference="B-1")
    c = create_grant("250.00", reference="C-1")
    paid = create_disbursement(a, "100.00", item="Fridge")
    reversed_ = create_disbursement(a, "50.00")
    create_disbursement(a, "30.25", item="Gas bill")
    create_disbursement(b, "20.00")
    with app.app_context():
        finance = db.session.get(User, finance_id)
        mark_paid(
            db.session.get(Disbursement, paid),
            actor=finance,
            paid_on=IN_PERIOD,
            payment_reference="BACS 0042",
            today=TODAY,
        )
        reverse_disbursement(
            db.session.get(Disbursement, reversed_),
            actor=finance,
            reason="Recorded against the wrong household",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        grant_b = db.session.get(Grant, b)
        update_grant(
            grant_b,
            actor=db.session.get(User, system_actor()),
            title=grant_b.title,
            team_id=None,
            starts_on=grant_b.starts_on,
            ends_on=grant_b.ends_on,
            control=grant_b.control,
            status=GrantStatus.CLOSED,
            notes=None,
        )
        db.session.commit()
    return {"a": a, "b": b, "c": c}


def test_each_grant_has_its_spend_remaining_and_unpaid(app, ledger):
    with app.app_context():
        rows = {row.grant.reference: row for row in queries.grants_overview()}
    a = rows["A-1"]
    # 100 + 50 - 50 (reversal) + 30.25
    assert a.spent == D("130.25")
    assert a.remaining == D("869.75")
    # The paid £100 and the reversed £50 are not owed; the £30.25 is.
    assert a.unpaid == D("30.25")
    assert a.awards == 3  # the reversal is not an award
    assert a.percent_spent == 13  # 13.025% rounded down
    assert a.funder_name
    b, c = rows["B-1"], rows["C-1"]
    assert (b.spent, b.remaining, b.unpaid, b.awards) == (
        D("20.00"),
        D("480.00"),
        D("20.00"),
        1,
    )
    assert (c.spent, c.remaining, c.unpaid, c.awards, c.percent_spent) == (
        D("0.00"),
        D("250.00"),
        D("0.00"),
        0,
        0,
    )


def test_open_grants_come_first_and_closed_ones_can_be_left_out(app, ledger):
    with app.app_context():
        everything = [row.grant.reference for row in queries.grants_overview()]
        open_only = [
            row.grant.reference for row in queries.grants_overview(include_closed=False)
        ]
    assert everything[-1] == "B-1"
    assert sorted(everything) == ["A-1", "B-1", "C-1"]
    assert sorted(open_only) == ["A-1", "C-1"]


def test_the_totals_row_adds_up_the_listed_grants(app, ledger):
    with app.app_context():
        every = queries.overview_totals()
        open_only = queries.overview_totals(include_closed=False)
    assert (every.grants, every.total, every.spent, every.remaining) == (
        3,
        D("1750.00"),
        D("150.25"),
        D("1599.75"),
    )
    assert (every.unpaid, every.awards, every.percent_spent) == (D("50.25"), 4, 8)
    assert (open_only.grants, open_only.total, open_only.spent) == (
        2,
        D("1250.00"),
        D("130.25"),
    )
    assert (open_only.remaining, open_only.unpaid, open_only.awards) == (
        D("1119.75"),
        D("30.25"),
        3,
    )


def test_no_grants_gives_a_zero_totals_row(app):
    with app.app_context():
        totals = queries.overview_totals()
    assert (totals.grants, totals.total, totals.spent, totals.percent_spent) == (
        0,
        D("0.00"),
        D("0.00"),
        0,
    )


@pytest.mark.parametrize(
    ("today", "percent"),
    [
        (date(2024, 3, 1), 0),  # before it starts
        (date(2024, 4, 1), 0),  # its first day
        (date(2024, 10, 1), 50),  # 183 of 365 days
        (date(2025, 3, 30), 99),
        (date(2025, 3, 31), 100),  # its last day
        (date(2026, 1, 1), 100),
    ],
)
def test_how_much_of_the_period_has_gone(app, create_grant, today, percent):
    grant_id = create_grant()
    with app.app_context():
        summary = queries.grant_summary(grant_id)
    assert summary.percent_elapsed(today) == percent


def test_grant_summary_is_one_grants_overview_row(app, ledger):
    with app.app_context():
        summary = queries.grant_summary(ledger["a"])
        assert queries.grant_summary(10_000) is None
    assert (summary.grant.reference, summary.spent) == ("A-1", D("130.25"))


def test_budget_lines_and_spend_by_category(app, ledger, system_actor):
    with app.app_context():
        white_goods = (
            db.session.query(SpendCategory).filter_by(name="White goods").one()
        )
        clothing = db.session.query(SpendCategory).filter_by(name="Clothing").one()
        grant = db.session.get(Grant, ledger["a"])
        actor = db.session.get(User, system_actor())
        set_budget_line(
            grant,
            actor=actor,
            category_id=white_goods.id,
            amount=D("300.00"),
            control=BudgetControl.WARN,
        )
        set_budget_line(
            grant,
            actor=actor,
            category_id=clothing.id,
            amount=D("0.00"),
            control=BudgetControl.BLOCK,
        )
        db.session.commit()
    with app.app_context():
        lines = {line.category_name: line for line in queries.budget_lines(ledger["a"])}
        by_category = queries.grant_spend(ledger["a"]).categories
        allocated = queries.allocated_to_lines(ledger["a"])
    assert (lines["White goods"].spent, lines["White goods"].remaining) == (
        D("100.00"),
        D("200.00"),
    )
    assert (lines["Clothing"].spent, lines["Clothing"].remaining) == (
        D("0.00"),
        D("0.00"),
    )
    assert allocated == D("300.00")
    # Food: 50 - 50 = 0 in one award (the reversal is not counted as one).
    assert by_category == [
        ("White goods", D("100.00"), 1),
        ("Utility bills", D("30.25"), 1),
        ("Food", D("0.00"), 1),
    ]


def test_total_changes_are_listed_oldest_first(app, create_grant, system_actor):
    from funds.grants.services import change_grant_total

    grant_id = create_grant("100.00")
    with app.app_context():
        actor = db.session.get(User, system_actor())
        grant = db.session.get(Grant, grant_id)
        change_grant_total(grant, actor=actor, new_total=D("150.00"), reason="Up")
        change_grant_total(grant, actor=actor, new_total=D("120.00"), reason="Down")
        db.session.commit()
    with app.app_context():
        changes = queries.total_changes(grant_id)
    assert [(c.old_total, c.new_total, c.reason) for c, _ in changes] == [
        (D("100.00"), D("150.00"), "Up"),
        (D("150.00"), D("120.00"), "Down"),
    ]
    assert {who for _, who in changes} == {"Factory Manager"}


def test_beneficiaries_are_found_by_reference(
    app, create_household, create_young_person
):
    household_id = create_household()
    person_id = create_young_person(date_of_birth=date(2010, 5, 5))
    with app.app_context():
        from funds.models import Household, YoungPerson

        household = db.session.get(Household, household_id).reference
        person = db.session.get(YoungPerson, person_id).reference
        assert queries.beneficiary_by_reference(household) == (
            "household",
            household_id,
        )
        assert queries.beneficiary_by_reference(person.lower()) == (
            "young_person",
            person_id,
        )
        assert queries.beneficiary_by_reference("H-ZZZZZZ") is None
        assert queries.beneficiary_by_reference("X-1") is None
