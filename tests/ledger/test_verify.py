"""``flask ledger verify``: the running totals checked against the ledger summed afresh."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, text

from funds.extensions import db
from funds.ledger.verify import verify_rollups
from funds.models import GrantBalance, LedgerDay, LedgerRollup, UnpaidAward


def test_the_running_totals_follow_awards_reversals_and_payments(
    app, runner, create_grant, create_disbursement
):
    grant_id = create_grant("1000.00")
    kept = create_disbursement(grant_id, "10.05", awarded_on=date(2024, 5, 3))
    create_disbursement(grant_id, "0.01", awarded_on=date(2024, 5, 31))
    # One more in another month.
    create_disbursement(grant_id, "250.00", awarded_on=date(2024, 6, 1))
    with app.app_context():
        db.session.execute(
            text(
                "INSERT INTO disbursement_payments (disbursement_id, paid_on,"
                " payment_reference, recorded_by_id, recorded_at)"
                " SELECT id, awarded_on, 'BACS', created_by_id, CURRENT_TIMESTAMP"
                " FROM disbursements WHERE id = :id"
            ),
            {"id": kept},
        )
        db.session.commit()
    with app.app_context():
        balance = db.session.get(GrantBalance, grant_id)
        assert (balance.spent_pence, balance.awards, balance.lines) == (26006, 3, 3)
        assert (balance.unpaid_awards, balance.unpaid_pence) == (2, 25001)
        months = dict(
            db.session.execute(
                select(LedgerRollup.month, LedgerRollup.spent_pence)
            ).all()
        )
        assert months == {date(2024, 5, 1): 1006, date(2024, 6, 1): 25000}
        assert (
            db.session.scalar(
                select(LedgerDay.spent_pence).where(
                    LedgerDay.awarded_on == date(2024, 5, 31)
                )
            )
            == 1
        )
        assert kept not in set(db.session.scalars(select(UnpaidAward.disbursement_id)))
        assert verify_rollups() == []
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "Every running total agrees with the ledger." in result.output


def test_a_running_total_that_differs_is_reported_and_exits_non_zero(
    app, runner, create_grant, create_disbursement
):
    grant_id = create_grant("1000.00")
    create_disbursement(grant_id, "10.00")
    with app.app_context():
        db.session.execute(
            text("UPDATE grant_balances SET spent_pence = spent_pence + 1")
        )
        db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert f"grant balance ({grant_id}) spent: stored 1001, from the ledger 1000" in (
        result.output
    )
    assert "1 running total(s) differ from the ledger." in result.output
    with app.app_context():  # put it right, so that the fixture's own check passes
        db.session.execute(
            text("UPDATE grant_balances SET spent_pence = spent_pence - 1")
        )
        db.session.commit()
