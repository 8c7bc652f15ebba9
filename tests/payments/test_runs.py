"""Payment runs: many awards paid at once under the one rule, all or nothing, once."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pandas
import pytest
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    Household,
    PaymentRun,
    Role,
    User,
)
from tests.conftest import TODAY, audit_actions, count

PAID_ON = ["30", "9", "2024"]


def form_token(page: str) -> str:
    match = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert match, "no one-time token in the form"
    return match.group(1)


@pytest.fixture
def payables(
    app, client, login, create_user, create_grant, create_household, create_disbursement
):
    """20 unpaid awards over two grants (one to a named household), finance signed in."""

    class Payables:
        finance = create_user(Role.FINANCE, name="Fay Finance")
        g1 = create_grant("5000.00", reference="G1")
        g2 = create_grant("5000.00", reference="G2")
        household = create_household(name="Marta Kowalska")
        ids: list[int] = []

    p = Payables()
    for n in range(20):
        p.ids.append(
            create_disbursement(
                p.g1 if n % 2 else p.g2,
                f"{n + 1}.{n:02d}",
                supplier="Tesco" if n % 3 else "=cmd",
                awarded_on=date(2024, 6, 1 + n),
                household_id=p.household if n == 0 else None,
            )
        )
    with app.app_context():
        p.household_ref = db.session.get(Household, p.household).reference
        p.total = sum(
            db.session.scalars(
                select(Disbursement.amount).where(Disbursement.id.in_(p.ids))
            )
        )
    login(p.finance)
    return p


def run_form(client, ids, *, reference="BACS-2024-09", query="?payment_status=unpaid"):
    page = client.get("/payments/new" + query)
    assert page.status_code == 200
    return {
        "awards": [str(i) for i in ids],
        "paid_on": PAID_ON,
        "reference": reference,
        "form_token": form_token(page.get_data(as_text=True)),
    }


def _finance(app, user_id):
    return db.session.get(User, user_id)


def test_the_new_run_lists_unpaid_awards_all_ticked(app, client, payables):
    page = client.get("/payments/new?payment_status=paid").get_data(as_text=True)
    ticked = re.findall(r'name="awards" type="checkbox" value="(\d+)" checked', page)
    # The filter is forced to "not yet paid", whatever the link said.
    assert sorted(map(int, ticked)) == sorted(payables.ids)
    assert 'id="payable-count">20<' in page


def test_a_run_of_20_pays_exactly_those_with_one_event_and_one_row(
    app, client, payables, create_disbursement
):
    other = create_disbursement(payables.g1, "99.00")
    before = audit_actions(app)
    response = client.post(
        "/payments/new?payment_status=unpaid", data=run_form(client, payables.ids)
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        run = db.session.scalars(select(PaymentRun)).one()
        assert response.headers["Location"] == f"/payments/{run.id}"
        assert (run.lines, run.total, run.reference) == (
            20,
            payables.total,
            "BACS-2024-09",
        )
        assert run.paid_on == date(2024, 9, 30)
        payments = db.session.scalars(select(DisbursementPayment)).all()
        assert sorted(p.disbursement_id for p in payments) == sorted(payables.ids)
        assert {p.payment_run_id for p in payments} == {run.id}
        assert {p.payment_reference for p in payments} == {"BACS-2024-09"}
        assert other not in {p.disbursement_id for p in payments}
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "payment_run.create")
        ).one()
        assert event.object_id == run.id
        assert event.after["disbursement_ids"] == sorted(payables.ids)
        assert Decimal(str(event.after["total"])) == payables.total
        run_id = run.id
    new_events = audit_actions(app)[len(before) :]
    assert new_events == ["payment_run.create"]
    award = client.get(f"/awards/{payables.ids[3]}").get_data(as_text=True)
    assert f'href="/payments/{run_id}"' in award and "Paid in" in award
    listing = client.get("/payments/").get_data(as_text=True)
    assert "BACS-2024-09" in listing and f"£{payables.total:,.2f}" in listing
    detail = client.get(f"/payments/{run_id}").get_data(as_text=True)
    assert detail.count('href="/awards/') >= 20
    assert "Kowalska" not in detail


@pytest.mark.parametrize("spoiler", ["paid", "reversed", "reversal", "missing"])
def test_a_run_with_an_award_that_cannot_be_paid_writes_nothing(
    app, client, payables, spoiler
):
    from funds.disbursements.services import mark_paid, reverse_disbursement

    victim = payables.ids[5]
    form = run_form(client, payables.ids)  # the page was read before the change
    with app.app_context():
        finance = _finance(app, payables.finance)
        line = db.session.get(Disbursement, victim)
        if spoiler == "paid":
            mark_paid(
                line,
                actor=finance,
                paid_on=date(2024, 9, 1),
                payment_reference="CHQ-1",
                today=TODAY,
            )
        elif spoiler in ("reversed", "reversal"):
            reversal = reverse_disbursement(
                line,
                actor=finance,
                reason="Twice",
                reversed_on=date(2024, 9, 1),
                today=TODAY,
            )
            if spoiler == "reversal":
                victim = reversal.id
                form["awards"].append(str(victim))
        db.session.commit()
    if spoiler == "missing":
        victim = 987654
        form["awards"].append(str(victim))
    before = audit_actions(app)
    payments_before = count(app, DisbursementPayment)
    response = client.post("/payments/new?payment_status=unpaid", data=form)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was paid" in page and f"award {victim}" in page
    assert count(app, PaymentRun) == 0
    assert count(app, DisbursementPayment) == payments_before
    assert audit_actions(app) == before


def test_a_date_before_an_award_names_it_and_writes_nothing(app, client, payables):
    form = run_form(client, payables.ids)
    form["paid_on"] = ["10", "6", "2024"]
    response = client.post("/payments/new?payment_status=unpaid", data=form)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f"award {payables.ids[10]}" in page
    assert count(app, PaymentRun) == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"awards": []}, "awards"),
        ({"awards": ["1 OR 1=1"]}, "awards"),
        ({"reference": ""}, "reference"),
        ({"reference": "x" * 81}, "reference"),
        ({"paid_on": ["31", "2", "2024"]}, "paid_on"),
        ({"paid_on": ["1", "1", "2099"]}, "paid_on"),
    ],
)
def test_bad_run_forms_are_field_errors(app, client, payables, changes, field):
    form = {**run_form(client, payables.ids), **changes}
    response = client.post("/payments/new?payment_status=unpaid", data=form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert count(app, PaymentRun) == 0


def test_double_submission_makes_one_run(app, client, payables):
    form = run_form(client, payables.ids)
    first = client.post("/payments/new?payment_status=unpaid", data=form)
    second = client.post("/payments/new?payment_status=unpaid", data=form)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app, PaymentRun) == 1
    assert count(app, DisbursementPayment) == 20
    assert audit_actions(app).count("payment_run.create") == 1
    # A new form (a new token) over the same awards is refused: they are paid.
    again = client.post(
        "/payments/new?payment_status=unpaid", data={**form, "form_token": "b" * 43}
    )
    assert again.status_code == 409
    assert count(app, PaymentRun) == 1


def test_the_remittance_totals_the_run(app, client, payables):
    client.post(
        "/payments/new?payment_status=unpaid", data=run_form(client, payables.ids)
    )
    with app.app_context():
        run = db.session.scalars(select(PaymentRun)).one()
        run_id, total = run.id, run.total
    response = client.get(f"/payments/{run_id}/remittance.csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body)))
    lines = [row for row in rows if row["Award"]]
    (total_row,) = [row for row in rows if not row["Award"]]
    assert sorted(int(row["Award"]) for row in lines) == sorted(payables.ids)
    assert sum(Decimal(row["Amount"]) for row in lines) == total
    assert Decimal(total_row["Amount"]) == total
    assert {row["Run reference"] for row in rows} == {"BACS-2024-09"}
    assert {row["Paid on"] for row in rows} == {"2024-09-30"}
    first = next(row for row in lines if int(row["Award"]) == payables.ids[0])
    assert first["Beneficiary reference"] == payables.household_ref
    assert first["Supplier"] == "'=cmd"
    assert "Kowalska" not in body
    frame = pandas.read_csv(io.StringIO(body), dtype={"Amount": str})
    frame_lines = frame[frame["Award"].notna()]
    assert len(frame_lines) == 20
    assert sum(Decimal(a) for a in frame_lines["Amount"]) == total
    assert Decimal(frame[frame["Award"].isna()]["Amount"].iloc[0]) == total

    workbook = client.get(f"/payments/{run_id}/remittance.xlsx")
    data = workbook.data
    workbook.close()
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    headings = [cell.value for cell in sheet[1]]
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    award, amount = headings.index("Award"), headings.index("Amount")
    assert sum(Decimal(str(row[amount])) for row in values if row[award]) == total
    assert audit_actions(app).count("payment_run.remittance") == 2


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER])
def test_only_finance_pays(app, client, payables, login, create_user, role):
    form = run_form(client, payables.ids)
    client.post("/logout")
    login(create_user(role))
    assert client.get("/payments/").status_code == 403
    assert client.get("/payments/new").status_code == 403
    assert client.post("/payments/new", data=form).status_code == 403
    assert count(app, PaymentRun) == 0
    assert "New payment run" not in client.get("/awards/").get_data(as_text=True)
    assert "Payment runs" not in client.get("/").get_data(as_text=True)


def test_finance_sees_the_run_button_and_the_navigation(client, payables):
    assert "New payment run" in client.get("/awards/").get_data(as_text=True)
    assert "Payment runs" in client.get("/").get_data(as_text=True)


def test_the_service_refuses_roles_that_may_not_pay(app, payables, create_user):
    from funds.errors import NotAllowed
    from funds.payments.services import create_payment_run

    staff = create_user(Role.STAFF)
    with app.app_context(), pytest.raises(NotAllowed):
        create_payment_run(
            payables.ids,
            actor=db.session.get(User, staff),
            paid_on=date(2024, 9, 30),
            reference="X",
            today=TODAY,
        )


def test_a_stock_voucher_is_not_paid_again(app, payables, create_batch):
    """One rule for one award and for a run: a voucher from stock was paid with its batch."""
    from funds.disbursements.services import mark_paid
    from funds.errors import NotAllowed
    from funds.models import AccessRoute, Voucher
    from funds.payments.services import RunRefused, create_payment_run
    from funds.vouchers.services import issue_vouchers

    batch = create_batch(payables.g1, quantity=1)
    with app.app_context():
        finance = _finance(app, payables.finance)
        voucher = db.session.scalars(
            select(Voucher.id).where(Voucher.batch_id == batch)
        ).one()
        (line,) = issue_vouchers(
            [voucher],
            actor=db.session.scalars(
                select(User).where(User.role == Role.MANAGER)
            ).first(),
            household_id=payables.household,
            awarded_on=date(2024, 6, 5),
            access_route=AccessRoute.REFERRAL,
            today=TODAY,
        )
        db.session.commit()
        with pytest.raises(NotAllowed, match="from stock"):
            mark_paid(
                line,
                actor=finance,
                paid_on=date(2024, 9, 1),
                payment_reference="X",
                today=TODAY,
            )
        db.session.rollback()
        with pytest.raises(RunRefused, match=f"award {line.id}"):
            create_payment_run(
                [*payables.ids, line.id],
                actor=finance,
                paid_on=date(2024, 9, 30),
                reference="X",
                today=TODAY,
            )
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(PaymentRun)) == 0
