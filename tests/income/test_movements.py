"""The fund movement table (SORP fund note) reconciles to the ledger to the penny."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from funds.database import begin_writing, bulk_insert
from funds.extensions import db
from funds.income.queries import (
    FinancialYear,
    fund_movements,
    fund_movements_by_year,
)
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Disbursement,
    FundTransfer,
    GrantReceipt,
    Role,
    User,
)

START, END = date(2023, 4, 1), date(2026, 3, 31)  # three financial years
SPAN = (END - START).days


def _pounds(pence: int) -> Decimal:
    return Decimal(pence) / 100


def _sql(sql: str, **params) -> Decimal:
    return _pounds(int(db.session.execute(text(sql), params).scalar() or 0))


flows = st.lists(
    st.tuples(
        st.sampled_from(["receipt", "award", "transfer-in", "transfer-out", "between"]),
        st.integers(min_value=1, max_value=300_000),
        st.integers(min_value=0, max_value=SPAN),
    ),
    max_size=25,
)


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(events=flows, reversed_share=st.integers(min_value=0, max_value=3))
def test_each_year_carries_forward_into_the_next(
    app, create_grant, item_id, events, reversed_share
):
    item = item_id("Fridge")
    grant = create_grant("9999999.00", starts_on=START, ends_on=END)
    other = create_grant("9999999.00", starts_on=START, ends_on=END)
    with app.app_context():
        user = db.session.scalar(select(User.id))
        begin_writing()
        awards = []
        for kind, pence, offset in events:
            day = START + timedelta(days=offset)
            if kind == "receipt":
                db.session.add(
                    GrantReceipt(
                        grant_id=grant,
                        received_on=day,
                        amount=_pounds(pence),
                        reference="R",
                        created_by_id=user,
                    )
                )
            elif kind == "award":
                awards.append((pence, day))
            else:
                db.session.add(
                    FundTransfer(
                        from_grant_id=grant if kind == "transfer-out" else other,
                        to_grant_id=None
                        if kind == "transfer-out"
                        else grant
                        if kind == "transfer-in"
                        else None,
                        other_fund=None if kind == "transfer-in" else "General fund",
                        transferred_on=day,
                        amount=_pounds(pence),
                        reason="Trustees",
                        created_by_id=user,
                    )
                )
        base = {
            "grant_id": grant,
            "item_type_id": item,
            "delivery_method": DeliveryMethod.BANK_TRANSFER,
            "access_route": AccessRoute.NOT_APPLICABLE,
            "created_by_id": user,
        }
        ids = bulk_insert(
            Disbursement,
            [{**base, "amount": _pounds(p), "awarded_on": d} for p, d in awards],
            ids=True,
        )
        # Some awards reversed in a later financial year.
        reversals = [
            {
                **base,
                "amount": -_pounds(p),
                "awarded_on": min(d + timedelta(days=400), END),
                "reverses_id": ident,
                "reason": "Wrong grant",
            }
            for index, (ident, (p, d)) in enumerate(zip(ids, awards, strict=True))
            if reversed_share and index % (reversed_share + 1) == 0
        ]
        if reversals:
            bulk_insert(Disbursement, reversals)
        db.session.commit()

        years = [FinancialYear(2023), FinancialYear(2024), FinancialYear(2025)]
        rows = [fund_movements(year, grant_id=grant)[0] for year in years]
        # The grant's page reads every year at once: the same rows, year by year.
        assert fund_movements_by_year(years, grant_id=grant) == {
            year: [row] for year, row in zip(years, rows, strict=True)
        }
        assert fund_movements_by_year(years) == {
            year: fund_movements(year) for year in years
        }
        assert rows[0].brought_forward == 0
        for before, after in zip(rows, rows[1:], strict=False):
            assert before.carried_forward == after.brought_forward
        for year, row in zip(years, rows, strict=True):
            window = {"g": grant, "f": year.starts_on, "t": year.ends_on}
            assert row.income == _sql(
                "SELECT SUM(amount_pence) FROM grant_receipts WHERE grant_id = :g"
                " AND received_on BETWEEN :f AND :t",
                **window,
            )
            assert row.expenditure == _sql(
                "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g"
                " AND awarded_on BETWEEN :f AND :t",
                **window,
            )
            assert row.transfers_in == _sql(
                "SELECT SUM(amount_pence) FROM fund_transfers WHERE to_grant_id = :g"
                " AND transferred_on BETWEEN :f AND :t",
                **window,
            )
            assert row.transfers_out == _sql(
                "SELECT SUM(amount_pence) FROM fund_transfers WHERE from_grant_id = :g"
                " AND transferred_on BETWEEN :f AND :t",
                **window,
            )
        # The dashboard's and the income page's cash position is the same balance.
        from funds.dashboard.queries import grant_positions
        from funds.income.queries import income_position

        (position,) = grant_positions(END, grant_id=grant)
        assert position.cash == rows[-1].carried_forward
        assert income_position(grant, END).cash == rows[-1].carried_forward
        # The last carried forward is every receipt less net spend plus net transfers.
        assert rows[-1].carried_forward == (
            _sql(
                "SELECT SUM(amount_pence) FROM grant_receipts WHERE grant_id = :g",
                g=grant,
            )
            - _sql(
                "SELECT SUM(amount_pence) FROM disbursements WHERE grant_id = :g",
                g=grant,
            )
            + _sql(
                "SELECT SUM(amount_pence) FROM fund_transfers WHERE to_grant_id = :g",
                g=grant,
            )
            - _sql(
                "SELECT SUM(amount_pence) FROM fund_transfers WHERE from_grant_id = :g",
                g=grant,
            )
        )


def test_the_fund_note_downloads_as_its_page_shows(
    client, app, create_user, login, create_grant, create_disbursement
):
    grant = create_grant("1000.00", reference="=HSF-1")
    create_disbursement(grant, "123.45")
    login(create_user(Role.FINANCE))
    page = client.get("/income/fund-movements?year=2024").get_data(as_text=True)
    assert "-£123.45" in page
    response = client.get("/income/fund-movements.csv?year=2024")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(
        csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    )
    assert rows[0][0] == "Fund (grant)"
    assert rows[1][0] == "'=HSF-1"  # formula-safe
    assert rows[1][4] == "123.45" and rows[1][7] == "-123.45"
    assert client.get("/income/fund-movements.pdf").status_code == 404
    assert client.get("/income/fund-movements?year=20x4").status_code == 404
