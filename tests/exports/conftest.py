"""A grant's May 2024 in the books: paid awards, reversals, a voucher batch, a lock."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Date, bindparam, select, text

from funds.disbursements.services import mark_paid, reverse_disbursement
from funds.extensions import db
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Disbursement,
    Grant,
    PeriodLock,
    Role,
    SpendCategory,
    User,
    Voucher,
)
from funds.vouchers.services import issue_vouchers
from tests.conftest import TODAY

MAY = (date(2024, 5, 1), date(2024, 5, 31))
CODE = "HSF-24"
#: Names that must never leave the app.
NAMES = ("Jane Secretname", "Tom Hiddenson")
HYPERLINK = '=HYPERLINK("http://evil.example/?x","Click")'
ODD_SUPPLIER = "British Gas * ? ~ < > Ltd"
CODES = {
    "Food": ("5000", "No VAT"),
    "White goods": ("5010", "20% (VAT on Expenses)"),
    "Utility bills": ("5020", "No VAT"),
    "Clothing": ("5030", "Zero Rated Expenses"),
    "Activities": ("5040", "No VAT"),
    "Staff costs": ("7000", "No VAT"),
}
#: What funds paid for the grant in May 2024 (see the ``books`` fixture).
MAY_PAID = Decimal("365.50")

# The ledger SQL: payments in the period, as the accounts should see them.
PAID_SQL = text(
    """
    SELECT
      (SELECT COALESCE(SUM(d.amount_pence), 0)
         FROM disbursements d
         JOIN disbursement_payments p ON p.disbursement_id = d.id
        WHERE d.grant_id = :grant AND d.reverses_id IS NULL
          AND p.paid_on BETWEEN :start AND :end)
    + (SELECT COALESCE(SUM(r.amount_pence), 0)
         FROM disbursements r
         JOIN disbursement_payments p ON p.disbursement_id = r.reverses_id
        WHERE r.grant_id = :grant
          AND CASE WHEN r.awarded_on < p.paid_on THEN p.paid_on ELSE r.awarded_on END
              BETWEEN :start AND :end)
    + (SELECT COALESCE(SUM(b.purchase_cost_pence), 0)
         FROM voucher_batches b
        WHERE b.grant_id = :grant AND b.purchased_on BETWEEN :start AND :end)
    """
).bindparams(bindparam("start", type_=Date), bindparam("end", type_=Date))


def paid_by_sql(app, grant_id: int, start: date, end: date) -> Decimal:
    """The period's payments in pounds, by the SQL above (in a fresh app context)."""
    with app.app_context():
        pence = db.session.scalar(
            PAID_SQL, {"grant": grant_id, "start": start, "end": end}
        )
    return Decimal(int(pence)) / 100


@pytest.fixture
def books(
    app,
    create_user,
    create_grant,
    create_household,
    create_disbursement,
    create_batch,
    item_id,
):
    """Grant HSF (code HSF-24) with May 2024:

    - paid: Fridge 250.00 (supplier =HYPERLINK), Gas bill 45.50 (odd supplier), Food
      voucher 30.00 by bank transfer (no supplier, reference @REF3), Cooker 300.00
      (reversed 28 May), Shoes 40.00 (reversed 4 June, after May was locked);
    - Washing machine 200.00 paid in April, reversed 5 May (a credit in May);
    - Fridge 180.00 not yet paid; a June payment (outside);
    - 10 Tesco vouchers bought 3 May for 200.00, two given out.
    Net paid in May: 250 + 45.50 + 30 + 300 + 40 + 200 - 300 - 200 = 365.50.
    """
    finance = create_user(Role.FINANCE, name="Fiona Finance")
    admin = create_user(Role.ADMIN, name="Ada Books")
    grant = create_grant("5000.00", reference="HSF", title="Household Support Fund")
    household = create_household(name=NAMES[0], contact="12 Secret Street")
    other = create_household(name=NAMES[1])
    item_id()  # the default taxonomy exists
    with app.app_context():
        db.session.get(Grant, grant).accounts_code = CODE
        for category in db.session.scalars(select(SpendCategory)):
            category.nominal_code, category.tax_rate = CODES[category.name]
        db.session.commit()

    def award(item, amount, on, **fields):
        fields.setdefault("household_id", household)
        fields.setdefault("access_route", AccessRoute.REFERRAL)
        fields.setdefault("delivery_method", DeliveryMethod.DIRECT_PURCHASE)
        return create_disbursement(grant, amount, item=item, awarded_on=on, **fields)

    ids = {
        "fridge": award("Fridge", "250.00", date(2024, 5, 2), supplier=HYPERLINK),
        "gas": award(
            "Gas bill",
            "45.50",
            date(2024, 5, 3),
            supplier=ODD_SUPPLIER,
            delivery_method=DeliveryMethod.BILL_PAYMENT,
        ),
        "cash": award(
            "Food voucher",
            "30.00",
            date(2024, 5, 4),
            household_id=other,
            delivery_method=DeliveryMethod.BANK_TRANSFER,
        ),
        "cooker": award("Cooker", "300.00", date(2024, 5, 6), supplier="Currys"),
        "shoes": award("Shoes", "40.00", date(2024, 5, 8), supplier="Clarks"),
        "washer": award("Washing machine", "200.00", date(2024, 4, 20), supplier="AO"),
        "unpaid": award("Fridge", "180.00", date(2024, 5, 12), supplier="Currys"),
        "june": award("Cooker", "99.00", date(2024, 6, 2), supplier="Currys"),
    }
    batch = create_batch(
        grant, quantity=10, face_value="20.00", purchased_on=date(2024, 5, 3)
    )
    payments = {
        "fridge": (date(2024, 5, 10), "BACS-1"),
        "gas": (date(2024, 5, 20), "BACS-2"),
        "cash": (date(2024, 5, 25), "@REF3"),
        "cooker": (date(2024, 5, 15), "BACS-4"),
        "shoes": (date(2024, 5, 9), "BACS-8"),
        "washer": (date(2024, 4, 25), "BACS-5"),
        "june": (date(2024, 6, 3), "BACS-9"),
    }
    with app.app_context():
        fiona = db.session.get(User, admin)
        for key, (paid_on, reference) in payments.items():
            mark_paid(
                db.session.get(Disbursement, ids[key]),
                actor=fiona,
                paid_on=paid_on,
                payment_reference=reference,
                today=TODAY,
            )
        vouchers = list(
            db.session.scalars(
                select(Voucher.id).where(Voucher.batch_id == batch).order_by(Voucher.id)
            )
        )[:2]
        issue_vouchers(
            vouchers,
            actor=fiona,
            household_id=household,
            awarded_on=date(2024, 5, 6),
            access_route=AccessRoute.REFERRAL,
            today=TODAY,
        )
        for key, on in (("cooker", date(2024, 5, 28)), ("washer", date(2024, 5, 5))):
            reverse_disbursement(
                db.session.get(Disbursement, ids[key]),
                actor=fiona,
                reason="Duplicate of another award",
                reversed_on=on,
                today=TODAY,
            )
        db.session.add(
            PeriodLock(
                grant_id=grant, starts_on=MAY[0], ends_on=MAY[1], locked_by_id=finance
            )
        )
        db.session.flush()
        reverse_disbursement(
            db.session.get(Disbursement, ids["shoes"]),
            actor=fiona,
            reason="Returned to the shop",
            reversed_on=date(2024, 6, 4),
            today=TODAY,
        )
        db.session.commit()
    return {"grant": grant, "finance": finance, "batch": batch, **ids}
