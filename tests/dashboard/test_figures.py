"""Every dashboard figure and the forecast, against SQL written here over a random ledger
(awards, reversals across periods, lines with no beneficiary, receipts, stock vouchers),
on both engines."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from funds.dashboard import queries
from funds.dashboard.forecast import RECENT_DAYS, Outlook
from funds.database import begin_writing, bulk_insert
from funds.extensions import db
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Disbursement,
    DisbursementPayment,
    GrantReceipt,
    User,
)

START, END = date(2025, 4, 1), date(2026, 3, 31)
DAYS = (END - START).days + 1


def _sql(sql: str, **params) -> int:
    return int(db.session.execute(text(sql), params).scalar() or 0)


def _pounds(pence: int) -> Decimal:
    return Decimal(pence) / 100


def _half_up(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


ledger = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=500_000),  # pence
        st.integers(min_value=0, max_value=DAYS - 1),  # day of the period
        st.booleans(),  # reversed later
        st.integers(min_value=0, max_value=200),  # days until the reversal
        st.booleans(),  # paid
    ),
    max_size=30,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    lines=ledger,
    receipts=st.lists(
        st.tuples(
            st.integers(min_value=-50_000, max_value=2_000_000).filter(bool),
            st.integers(min_value=0, max_value=DAYS - 1),
        ),
        max_size=4,
    ),
    today_offset=st.integers(min_value=-30, max_value=DAYS + 30),
    total_pence=st.integers(min_value=100, max_value=5_000_000),
    tolerance=st.integers(min_value=0, max_value=50),
)
def test_dashboard_figures_equal_sql(
    app, create_grant, item_id, lines, receipts, today_offset, total_pence, tolerance
):
    item = item_id("Fridge")
    grant_id = create_grant(
        str(_pounds(total_pence)), starts_on=START, ends_on=END, title="Fo*d ~ <Bank>"
    )
    today = START + timedelta(days=today_offset)
    with app.app_context():
        user = db.session.scalar(select(User.id))
        begin_writing()
        db.session.execute(
            text("UPDATE grants SET forecast_tolerance = :t WHERE id = :g"),
            {"t": tolerance, "g": grant_id},
        )
        base = {
            "grant_id": grant_id,
            "item_type_id": item,
            "delivery_method": DeliveryMethod.BANK_TRANSFER,
            "access_route": AccessRoute.NOT_APPLICABLE,
            "created_by_id": user,
        }
        ids = bulk_insert(
            Disbursement,
            [
                {**base, "amount": _pounds(p), "awarded_on": START + timedelta(days=d)}
                for p, d, *_ in lines
            ],
            ids=True,
        )
        reversals = [
            {
                **base,
                "amount": -_pounds(p),
                # A reversal may fall after the period (a later correction).
                "awarded_on": START + timedelta(days=d + later),
                "reverses_id": ident,
                "reason": "Wrong grant",
            }
            for ident, (p, d, reverse, later, _paid) in zip(ids, lines, strict=True)
            if reverse
        ]
        if reversals:
            bulk_insert(Disbursement, reversals)
        for ident, (_p, d, reverse, _later, paid) in zip(ids, lines, strict=True):
            if paid and not reverse:
                db.session.add(
                    DisbursementPayment(
                        disbursement_id=ident,
                        paid_on=START + timedelta(days=d),
                        payment_reference="BACS",
                        recorded_by_id=user,
                    )
                )
        for pence, day in receipts:
            db.session.add(
                GrantReceipt(
                    grant_id=grant_id,
                    received_on=START + timedelta(days=day),
                    amount=_pounds(pence),
                    reference="=cmd|' /C calc'!A0",
                    created_by_id=user,
                )
            )
        db.session.commit()

        (position,) = queries.grant_positions(today, grant_id=grant_id)
        spent = _sql(
            "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g",
            g=grant_id,
        )
        recent = _sql(
            "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g"
            " AND awarded_on >= :f AND awarded_on <= :t",
            g=grant_id,
            f=today - timedelta(days=RECENT_DAYS - 1),
            t=today,
        )
        received = _sql(
            "SELECT SUM(amount_pence) FROM grant_receipts WHERE grant_id = :g",
            g=grant_id,
        )
        assert position.spent == _pounds(spent)
        assert position.received == _pounds(received)
        assert position.held == 0
        assert position.available == _pounds(total_pence - spent)
        assert position.cash == _pounds(received - spent)
        assert position.forecast.recent == _pounds(recent)

        # The forecast, worked out here in exact fractions.
        gone = 0 if today < START else min((today - START).days + 1, DAYS)
        forecast = position.forecast
        assert forecast.gone == gone
        assert forecast.share_gone == Decimal(gone) / Decimal(DAYS)
        expected = (
            _pounds(spent)
            if gone == 0
            else _half_up(Fraction(spent, 100) * DAYS / gone)
        )
        assert forecast.at_current_rate == expected
        recent_days = min(RECENT_DAYS, gone)
        expected_recent = (
            _pounds(spent)
            if recent_days == 0
            else _half_up(
                Fraction(spent, 100)
                + Fraction(recent, 100) * (DAYS - gone) / recent_days
            )
        )
        assert forecast.at_recent_rate == expected_recent
        assert forecast.projected_variance == expected - _pounds(total_pence)
        total = _pounds(total_pence)
        if gone == 0:
            assert forecast.outlook is Outlook.NOT_STARTED
        elif total_pence - spent < 0 or expected > total:
            assert forecast.outlook is Outlook.OVERSPENDING
        elif gone == DAYS:
            assert forecast.outlook is Outlook.ENDED
        elif expected * 100 < total * (100 - tolerance):
            assert forecast.outlook is Outlook.UNDERSPENDING
        else:
            assert forecast.outlook is Outlook.ON_TRACK
        assert forecast.reason  # always says why, in words

        # Awards not yet paid: not a reversal, not reversed, no payment, not a stock voucher.
        unpaid = queries.unpaid_awards()
        count, pence, oldest = db.session.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(d.amount_pence), 0), MIN(d.awarded_on)"
                " FROM disbursements d WHERE d.reverses_id IS NULL"
                " AND NOT EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = d.id)"
                " AND NOT EXISTS (SELECT 1 FROM disbursement_payments p"
                "                 WHERE p.disbursement_id = d.id)"
                " AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.disbursement_id = d.id)"
            )
        ).one()
        assert (unpaid.count, unpaid.value) == (count, _pounds(pence))
        assert (str(unpaid.oldest) if unpaid.oldest else None) == (
            str(oldest)[:10] if oldest else None
        )

        # Spend per month adds up to the net spend, month by month as SQL groups it.
        by_month = queries.spend_by_month(grant_id)
        assert sum(by_month.values(), Decimal(0)) == _pounds(spent)
        rows = queries.monthly_profile(position.grant.total, START, END, by_month)
        in_period = _sql(
            "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g"
            " AND awarded_on <= :e",
            g=grant_id,
            e=END,
        )
        assert rows[-1].cumulative == _pounds(in_period)
        assert rows[-1].profile == position.grant.total
        assert len(rows) == 12


def test_stock_vouchers_are_held_and_paid(
    app, create_grant, create_batch, create_household, create_disbursement, system_actor
):
    """Vouchers in stock hold money; a voucher given out from stock is not 'not yet paid',
    an award paid by bank transfer is until finance marks it paid."""
    from funds.models import Voucher
    from funds.vouchers.services import issue_vouchers

    grant_id = create_grant("1000.00", starts_on=START, ends_on=END)
    batch = create_batch(
        grant_id, quantity=5, face_value="20.00", purchased_on=START, expires_on=END
    )
    household = create_household()
    create_disbursement(
        grant_id,
        "35.00",
        awarded_on=START + timedelta(days=3),
        delivery_method=DeliveryMethod.BANK_TRANSFER,
    )
    with app.app_context():
        voucher_ids = list(
            db.session.scalars(
                select(Voucher.id).where(Voucher.batch_id == batch).limit(2)
            )
        )
        issue_vouchers(
            voucher_ids,
            actor=db.session.get(User, system_actor()),
            household_id=household,
            awarded_on=START + timedelta(days=5),
            access_route=AccessRoute.REFERRAL,
            today=START + timedelta(days=5),
        )
        db.session.commit()
    with app.app_context():
        (position,) = queries.grant_positions(
            START + timedelta(days=30), grant_id=grant_id
        )
        assert position.spent == Decimal("75.00")
        assert position.held == Decimal("60.00")
        assert position.available == Decimal("865.00")
        unpaid = queries.unpaid_awards()
        assert (unpaid.count, unpaid.value) == (1, Decimal("35.00"))
        assert unpaid.oldest == START + timedelta(days=3)
