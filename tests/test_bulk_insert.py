"""The one bulk insert (imports): rows in order, their ids in that order, the ORM's
defaults filled in, money and choices stored as the ORM stores them; on both engines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from funds.database import begin_writing, bulk_insert
from funds.extensions import db
from funds.models import AccessRoute, DeliveryMethod, Disbursement, User


def _row(grant_id, item_id, user_id, pence: int) -> dict:
    return {
        "grant_id": grant_id,
        "item_type_id": item_id,
        "amount": Decimal(pence) / 100,
        "awarded_on": date(2024, 6, 3),
        "delivery_method": DeliveryMethod.VOUCHER,
        "access_route": AccessRoute.NOT_APPLICABLE,
        "supplier": "Fo*d ~ <Bank>",
        "created_by_id": user_id,
    }


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(amounts=st.lists(st.integers(min_value=1, max_value=10**9), max_size=40))
def test_rows_and_their_ids_in_order(app, create_grant, item_id, amounts):
    item = item_id("Fridge")
    grant = create_grant("1000.00")
    with app.app_context():
        user = db.session.scalar(select(User.id))
        begin_writing()
        ids = bulk_insert(
            Disbursement, [_row(grant, item, user, p) for p in amounts], ids=True
        )
        db.session.commit()
        assert len(ids) == len(set(ids)) == len(amounts)
        lines = [db.session.get(Disbursement, ident) for ident in ids]
        assert [line.amount for line in lines] == [Decimal(p) / 100 for p in amounts]
        assert all(line.created_at is not None and line.quantity == 1 for line in lines)
        assert {line.delivery_method for line in lines} <= {DeliveryMethod.VOUCHER}
        # Every penny in SQL as in Python.
        total = db.session.scalar(
            select(func.coalesce(func.sum(Disbursement.amount), 0)).where(
                Disbursement.id.in_(ids)
            )
        )
        assert Decimal(total) == sum((Decimal(p) / 100 for p in amounts), Decimal(0))
