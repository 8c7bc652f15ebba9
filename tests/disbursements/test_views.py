"""The ledger pages: bad input refused field by field, the happy path, tokens, reversals."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.grants.services import update_grant
from funds.models import (
    AccessRoute,
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    Grant,
    GrantStatus,
    Household,
    Role,
    User,
    YoungPerson,
)
from tests.conftest import REAL_TODAY, audit_actions, count

#: The security bar's context: £500.00 granted, £450.01 spent, £49.99 left.
TOTAL, SPENT = "500.00", "450.01"


def field_error(page: str, field: str) -> str | None:
    """The text of a field's inline error message, or None when it has none."""
    match = re.search(
        rf'<p id="{re.escape(field)}-error" class="govuk-error-message">(.*?)</p>',
        page,
        re.S,
    )
    if match is None:
        return None
    text = re.sub(r"<[^>]+>", " ", match.group(1))
    return " ".join(html.unescape(text).replace("Error:", "").split())


def form_token(page: str) -> str:
    match = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page)
    assert match, "no one-time token in the form"
    return match.group(1)


@pytest.fixture
def ledger(app, client, login, create_user, create_grant, create_household, item_id):
    """G1 (£500.00, £450.01 spent), a household, a signed-in staff member, and helpers."""

    class Ledger:
        staff = create_user(Role.STAFF, name="Sam Staff")
        grant = create_grant(TOTAL, reference="G1", title="Household Support Fund")
        household = create_household()
        food = item_id("Food voucher")

        def __init__(self):
            with app.app_context():
                self.reference = db.session.get(Household, self.household).reference

        def token(self) -> str:
            return form_token(client.get("/awards/new").get_data(as_text=True))

        def form(self, **changes) -> dict:
            data = {
                "grant": str(self.grant),
                "beneficiary": self.reference,
                "item_type": str(self.food),
                "quantity": "1",
                "amount": "10.00",
                "awarded_on": ["3", "6", "2024"],
                "supplier": "Tesco",
                "delivery_method": "voucher",
                "access_route": "referral",
                "evidence_reference": "INV-0001",
                "notes": "",
                "form_token": self.token(),
            }
            data.update(changes)
            return {key: value for key, value in data.items() if value is not None}

    ledger = Ledger()
    _seed_spend(app, ledger.grant, SPENT, item_id)
    login(ledger.staff)
    return ledger


@pytest.fixture
def sign_in_as(client, login, create_user):
    """Sign out whoever is signed in, then sign in a new user of ``role``; returns the id."""

    def _sign_in(role: Role, **fields) -> int:
        client.post("/logout")
        user = create_user(role, **fields)
        login(user)
        return user

    return _sign_in


def _seed_spend(app, grant_id, amount, item_id):
    from funds.disbursements.services import AwardInput, record_disbursement
    from funds.models import AccessRoute, DeliveryMethod

    food = item_id("Food voucher")
    with app.app_context():
        manager = db.session.scalars(select(User).where(User.role == Role.MANAGER))
        record_disbursement(
            AwardInput(
                grant_id=grant_id,
                item_type_id=food,
                amount=Decimal(amount),
                awarded_on=date(2024, 5, 1),
                delivery_method=DeliveryMethod.VOUCHER,
                access_route=AccessRoute.APPLICATION,
            ),
            actor=manager.first(),
            today=date(2026, 1, 1),
        )
        db.session.commit()


def _close(app, grant_id, manager_id):
    with app.app_context():
        grant = db.session.get(Grant, grant_id)
        update_grant(
            grant,
            actor=db.session.get(User, manager_id),
            title=grant.title,
            team_id=None,
            starts_on=grant.starts_on,
            ends_on=grant.ends_on,
            control=grant.control,
            status=GrantStatus.CLOSED,
            notes=None,
        )
        db.session.commit()


# The bad-input catalogue (security bar §9, rows 1-47 that apply to this form):
# (row, changes to a valid form, field that must carry the error, part of the message).
BAD_INPUT = [
    ("1", {"amount": "10.005"}, "amount", "2 decimal places"),
    ("2", {"amount": "1e3"}, "amount", "digits 0 to 9"),
    ("3", {"amount": "1_000"}, "amount", "digits 0 to 9"),
    ("4", {"amount": "１０"}, "amount", "digits 0 to 9"),
    ("5", {"amount": "٣"}, "amount", "digits 0 to 9"),
    ("6", {"amount": "sNaN"}, "amount", "digits 0 to 9"),
    ("7-nan", {"amount": "NaN"}, "amount", "digits 0 to 9"),
    ("7-minus-nan", {"amount": "-NaN"}, "amount", "minus sign"),
    ("7-plus-snan", {"amount": "+sNaN"}, "amount", "digits 0 to 9"),
    ("8-infinity", {"amount": "Infinity"}, "amount", "digits 0 to 9"),
    ("8-minus-inf", {"amount": "-Inf"}, "amount", "minus sign"),
    ("8-huge-exponent", {"amount": "1e999999"}, "amount", "digits 0 to 9"),
    ("9-zero", {"amount": "0"}, "amount", "£0.01 or more"),
    ("9-minus-zero", {"amount": "-0"}, "amount", "minus sign"),
    ("9-zero-pence", {"amount": "0.00"}, "amount", "£0.01 or more"),
    ("10", {"amount": "-25.00"}, "amount", "minus sign"),
    ("11", {"amount": "0.001"}, "amount", "2 decimal places"),
    ("12", {"amount": "99999999999999999999"}, "amount", "£999,999,999.99 or less"),
    ("12-cap", {"amount": "10000.01"}, "amount", "£10,000.00 or less: the largest"),
    ("13", {"amount": "10.00 GBP"}, "amount", "digits 0 to 9"),
    ("15", {"amount": ""}, "amount", "Enter the amount"),
    ("15-spaces", {"amount": "   "}, "amount", "Enter the amount"),
    ("16", {"amount": "50.00"}, "amount", "£49.99 available"),
    ("20", {"awarded_on": ["30", "2", "2024"]}, "awarded_on", "real date"),
    ("21-year-1", {"awarded_on": ["1", "1", "0001"]}, "awarded_on", "year between"),
    (
        "21-year-9999",
        {"awarded_on": ["31", "12", "9999"]},
        "awarded_on",
        "year between",
    ),
    ("22", {"awarded_on": ["1", "4", "2025"]}, "awarded_on", "grant's period"),
    ("22-before", {"awarded_on": ["31", "3", "2024"]}, "awarded_on", "grant's period"),
    ("23", {"awarded_on": ["31/03/2025", "", ""]}, "awarded_on", "in numbers"),
    ("23-iso", {"awarded_on": "2024-06-03"}, "awarded_on", "in numbers"),
    ("20-arabic", {"awarded_on": ["٣", "٦", "٢٠٢٤"]}, "awarded_on", "in numbers"),
    ("20-empty", {"awarded_on": ["", "", ""]}, "awarded_on", "Enter the date"),
    ("20-missing", {"awarded_on": None}, "awarded_on", "Enter the date"),
    ("31-tab", {"notes": "\t=1+1"}, "notes", "tab"),
    ("31-cr", {"notes": "\r=1+1"}, "notes", "control characters"),
    ("33-nul", {"supplier": "Ann\x00e"}, "supplier", "control characters"),
    ("33-vt", {"supplier": "Ann\x0be"}, "supplier", "control characters"),
    ("34", {"supplier": "Ali\u202eecnarF"}, "supplier", "text-direction"),
    # Non-characters no spreadsheet can hold (a stored one once made every return fail).
    (
        "noncharacter-fffe",
        {"supplier": "Tesco\ufffe"},
        "supplier",
        "special characters",
    ),
    (
        "noncharacter-ffff",
        {"supplier": "\uffffTesco"},
        "supplier",
        "special characters",
    ),
    (
        "noncharacter-evidence",
        {"evidence_reference": "INV\ufffe1"},
        "evidence_reference",
        "special characters",
    ),
    ("noncharacter-fdd0", {"notes": "note \ufdd0"}, "notes", "special characters"),
    (
        "noncharacter-plane-1",
        {"supplier": "x\U0001fffe"},
        "supplier",
        "special characters",
    ),
    ("40", {"notes": "x" * 10_001}, "notes", "2,000 characters or fewer"),
    ("40-supplier", {"supplier": "s" * 121}, "supplier", "120 characters"),
    ("40-evidence", {"evidence_reference": "e" * 81}, "evidence_reference", "80"),
    ("44", {"item_type": "cash_to_self"}, "item_type", "Choose an item from the list"),
    ("44-unknown-id", {"item_type": "999999"}, "item_type", "from the list"),
    ("44-missing", {"item_type": ""}, "item_type", "Choose what was given"),
    ("44-delivery", {"delivery_method": "teleport"}, "delivery_method", "how it was"),
    ("44-route", {"access_route": None}, "access_route", "how they came"),
    ("45-unknown", {"beneficiary": "H-ZZZZZZ"}, "beneficiary", "no household"),
    ("45-young-person", {"beneficiary": "YP-ZZZZZZ"}, "beneficiary", "no household"),
    (
        "45-not-a-ref",
        {"beneficiary": "Robert'); DROP"},
        "beneficiary",
        "No household or young person matches",
    ),
    ("45-too-short", {"beneficiary": "R"}, "beneficiary", "at least 2 letters"),
    ("45-wildcard", {"beneficiary": "%"}, "beneficiary", "at least 2 letters"),
    ("45-wildcards", {"beneficiary": "%_"}, "beneficiary", "No household or young"),
    ("45-long", {"beneficiary": "A" * 121}, "beneficiary", "120 characters"),
    ("45-noncharacter", {"beneficiary": "Sam\ufffe"}, "beneficiary", "character"),
    ("46-not-an-id", {"grant": "abc"}, "grant", "open grants"),
    ("46-sql", {"grant": "1 OR 1=1"}, "grant", "open grants"),
    ("46-missing", {"grant": ""}, "grant", "Choose the grant"),
    ("quantity-zero", {"quantity": "0"}, "quantity", "from 1 to 999"),
    ("quantity-1000", {"quantity": "1000"}, "quantity", "from 1 to 999"),
    ("quantity-wide", {"quantity": "１"}, "quantity", "from 1 to 999"),
    ("quantity-decimal", {"quantity": "1.5"}, "quantity", "from 1 to 999"),
    ("quantity-negative", {"quantity": "-1"}, "quantity", "from 1 to 999"),
]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [case[1:] for case in BAD_INPUT],
    ids=[case[0] for case in BAD_INPUT],
)
def test_bad_input_is_refused_on_the_right_field(
    app, client, ledger, changes, field, message
):
    before = count(app, Disbursement)
    audit_before = count(app, AuditEvent)
    response = client.post("/awards/new", data=ledger.form(**changes))
    page = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, response.status_code
    error = field_error(page, field)
    assert error is not None, (
        f"no error on {field}: {re.findall(r'id=.([a-z_]+)-error', page)}"
    )
    assert message in error, error
    assert "There is a problem" in page
    assert count(app, Disbursement) == before
    assert count(app, AuditEvent) == audit_before


def test_an_erased_household_cannot_be_given_anything(app, client, ledger):
    with app.app_context():
        db.session.get(Household, ledger.household).erased_at = datetime.now(UTC)
        db.session.commit()
    response = client.post("/awards/new", data=ledger.form())
    assert response.status_code == 422
    assert "no household" in field_error(response.get_data(as_text=True), "beneficiary")
    assert count(app, Disbursement) == 1


def test_a_closed_grant_posted_directly_is_refused(
    app, client, ledger, create_user, caplog
):
    _close(app, ledger.grant, create_user(Role.MANAGER))
    response = client.post("/awards/new", data=ledger.form())
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "open grants" in field_error(page, "grant")
    assert count(app, Disbursement) == 1
    assert "is not open to new awards" in caplog.text


def test_the_form_token_is_required(app, client, ledger):
    for token in (None, "", "short", "x" * 65, "<script>alert(1)</script>" * 2):
        response = client.post("/awards/new", data=ledger.form(form_token=token))
        page = response.get_data(as_text=True)
        assert response.status_code == 422
        assert "The form had expired" in page
        assert len(form_token(page)) >= 40  # a fresh one to send the form with
    assert count(app, Disbursement) == 1


def test_extra_fields_are_ignored(app, client, ledger, create_user):
    someone_else = create_user(Role.ADMIN)
    response = client.post(
        "/awards/new",
        data=ledger.form(
            amount="12.50",
            created_by=str(someone_else),
            created_by_id=str(someone_else),
            status="approved",
            amount_pence="999999",
            reverses_id="1",
            overspend_confirmed="y",
            idempotency_key="chosen-by-the-client",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        assert line.created_by_id == ledger.staff
        assert line.amount == Decimal("12.50")
        assert line.reverses_id is None
        assert line.overspend_confirmed is False
        assert line.idempotency_key != "chosen-by-the-client"


# --- the happy path -------------------------------------------------------------------------


def test_recording_exactly_what_is_left_then_a_penny_more(app, client, ledger):
    new_page = client.get(
        f"/awards/new?grant={ledger.grant}&household={ledger.reference.lower()}"
    )
    page = new_page.get_data(as_text=True)
    assert new_page.status_code == 200
    assert "G1 – Household Support Fund (£49.99 available to award)" in page
    assert f'value="{ledger.reference}"' in page  # prefilled, upper-cased
    assert re.search(rf'<option value="{ledger.grant}" selected', page)

    response = client.post(
        "/awards/new",
        data=ledger.form(
            amount=" 49.99 ", notes="Family of four\r\nReferred by school"
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).where(Disbursement.amount == Decimal("49.99"))
        ).one()
        assert line.household_id == ledger.household
        assert line.created_by_id == ledger.staff
        assert line.awarded_on == date(2024, 6, 3)
        assert line.supplier == "Tesco"
        assert line.notes == "Family of four\nReferred by school"
        assert line.idempotency_key
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "disbursement.create")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.object_id == line.id and event.actor_id == ledger.staff
    assert response.location == f"/awards/{line.id}"
    shown = client.get(response.location).get_data(as_text=True)
    assert (
        "Award recorded: £49.99 from G1. G1 now has £0.00 available to award." in shown
    )
    assert "Sam Staff" in shown and ledger.reference in shown

    refused = client.post("/awards/new", data=ledger.form(amount="0.01"))
    assert refused.status_code == 422
    assert "£0.00 available" in field_error(refused.get_data(as_text=True), "amount")
    assert count(app, Disbursement) == 2


def test_what_was_typed_is_shown_back_unchanged(client, ledger):
    response = client.post(
        "/awards/new", data=ledger.form(amount="1e3", supplier="Ali's <b>shop</b>")
    )
    page = response.get_data(as_text=True)
    assert 'value="1e3"' in page
    assert "Ali&#39;s &lt;b&gt;shop&lt;/b&gt;" in page
    assert "<b>shop</b>" not in page


def test_an_award_with_no_beneficiary(app, client, ledger, item_id):
    response = client.post(
        "/awards/new",
        data=ledger.form(
            beneficiary="",
            item_type=str(item_id("Salary")),
            amount="5.00",
            access_route="not-applicable",
        ),
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        assert line.household_id is None and line.young_person_id is None
        assert line.access_route == AccessRoute.NOT_APPLICABLE


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"beneficiary": "", "access_route": "referral"}, "choose “Not applicable"),
        ({"access_route": "not-applicable"}, "is for spending with no beneficiary"),
        (
            {"requested_on": ["4", "6", "2024"]},
            "on or before the date given",
        ),
        ({"requested_on": ["31", "2", "2024"]}, "real date"),
        ({"method_reason": "x" * 201}, "200 characters"),
    ],
)
def test_access_route_and_request_date_rules(app, client, ledger, changes, message):
    before = count(app, Disbursement)
    response = client.post("/awards/new", data=ledger.form(**changes))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, Disbursement) == before


def test_a_cash_first_grant_asks_why_and_when(app, client, ledger, create_user):
    from funds.models import Funder, Grant

    with app.app_context():
        grant = db.session.get(Grant, ledger.grant)
        db.session.get(Funder, grant.funder_id).cash_first = True
        db.session.commit()
    before = count(app, Disbursement)
    refused = client.post("/awards/new", data=ledger.form(delivery_method="voucher"))
    assert refused.status_code == 422
    assert "is cash-first: say why" in refused.get_data(as_text=True)
    no_date = client.post(
        "/awards/new",
        data=ledger.form(delivery_method="bank-transfer"),
    )
    assert no_date.status_code == 422
    assert "enter the date the person asked for help" in no_date.get_data(as_text=True)
    assert count(app, Disbursement) == before
    ok = client.post(
        "/awards/new",
        data=ledger.form(
            delivery_method="voucher",
            method_reason="They asked for a supermarket voucher",
            requested_on=["1", "6", "2024"],
        ),
    )
    assert ok.status_code == 302, ok.get_data(as_text=True)[:3000]
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        assert line.requested_on == date(2024, 6, 1)
        assert line.method_reason == "They asked for a supermarket voucher"


def test_a_young_person_by_reference(app, client, ledger, create_young_person):
    from funds.models import YoungPerson

    person = create_young_person()
    with app.app_context():
        reference = db.session.get(YoungPerson, person).reference
    response = client.post(
        "/awards/new", data=ledger.form(beneficiary=reference.lower(), amount="5.00")
    )
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        assert line.young_person_id == person and line.household_id is None


def test_a_double_submit_records_once(app, client, ledger):
    data = ledger.form(amount="20.00")
    first = client.post("/awards/new", data=data)
    second = client.post("/awards/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.location == first.location
    assert count(app, Disbursement) == 2  # the seeded spend and this one
    page = client.get(second.location).get_data(as_text=True)
    assert "This was already recorded" in page
    # A fresh form is a fresh award.
    assert (
        client.post("/awards/new", data=ledger.form(amount="20.00")).status_code == 302
    )
    assert count(app, Disbursement) == 3


def test_an_error_keeps_the_token_so_the_corrected_form_records_once(
    app, client, ledger
):
    data = ledger.form(amount="60.00")
    refused = client.post("/awards/new", data=data)
    assert refused.status_code == 422
    assert form_token(refused.get_data(as_text=True)) == data["form_token"]
    data["amount"] = "9.99"
    assert client.post("/awards/new", data=data).status_code == 302
    assert client.post("/awards/new", data=data).status_code == 302
    assert count(app, Disbursement) == 2


# --- warn control: a manager may confirm ----------------------------------------------------


@pytest.fixture
def warn_grant(app, create_grant, item_id):
    grant = create_grant("100.00", reference="W1", control="warn")
    _seed_spend(app, grant, "90.00", item_id)
    return grant


def test_a_manager_confirms_an_overspend(app, client, ledger, sign_in_as, warn_grant):
    sign_in_as(Role.MANAGER)
    data = ledger.form(grant=str(warn_grant), amount="25.00")
    refused = client.post("/awards/new", data=data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "£10.00 available" in field_error(page, "amount")
    assert "Confirm this overspend" in page
    assert count(app, Disbursement) == 2

    data["confirm_overspend"] = "y"
    response = client.post("/awards/new", data=data)
    assert response.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement)
            .where(Disbursement.grant_id == warn_grant)
            .order_by(Disbursement.id.desc())
        ).first()
        assert line.amount == Decimal("25.00") and line.overspend_confirmed
    assert audit_actions(app)[-2:] == [
        "disbursement.create",
        "disbursement.overspend_override",
    ]
    shown = client.get(response.location).get_data(as_text=True)
    assert "W1 is now £15.00 overspent" in shown
    assert "Overspend confirmed" in shown or "Confirmed by a manager" in shown


def test_staff_are_never_offered_the_confirm_box(app, client, ledger, warn_grant):
    data = ledger.form(grant=str(warn_grant), amount="25.00")
    refused = client.post("/awards/new", data=data)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Only a manager can confirm" in field_error(page, "amount")
    assert "Confirm this overspend" not in page
    data["confirm_overspend"] = "y"
    again = client.post("/awards/new", data=data)
    assert again.status_code == 422
    assert "Confirm this overspend" not in again.get_data(as_text=True)
    assert count(app, Disbursement) == 2
    assert "disbursement.overspend_override" not in audit_actions(app)


# --- one award: reversal and payment --------------------------------------------------------


def _an_award(app, client, ledger) -> int:
    response = client.post("/awards/new", data=ledger.form(amount="30.00"))
    assert response.status_code == 302
    return int(response.location.rsplit("/", 1)[1])


def test_finance_marks_paid_then_reverses(app, client, ledger, sign_in_as):
    award = _an_award(app, client, ledger)
    fran = sign_in_as(Role.FINANCE, name="Fran Finance")
    page = client.get(f"/awards/{award}").get_data(as_text=True)
    assert "Mark as paid" in page and "Reverse award" in page
    assert "Not paid" in page

    paid = client.post(
        f"/awards/{award}/paid",
        data={"paid_on": ["10", "6", "2024"], "payment_reference": "BACS 0042"},
    )
    assert paid.status_code == 302 and paid.location == f"/awards/{award}"
    with app.app_context():
        payment = db.session.scalars(select(DisbursementPayment)).one()
        assert payment.disbursement_id == award
        assert payment.recorded_by_id == fran
        assert payment.paid_on == date(2024, 6, 10)
    page = client.get(f"/awards/{award}").get_data(as_text=True)
    assert "BACS 0042" in page and "Mark as paid" not in page

    twice = client.post(
        f"/awards/{award}/paid",
        data={"paid_on": ["11", "6", "2024"], "payment_reference": "again"},
    )
    assert twice.status_code == 409
    assert count(app, DisbursementPayment) == 1

    reversed_ = client.post(
        f"/awards/{award}/reverse",
        data={"reason": "Voucher returned unused", "reversed_on": ["12", "6", "2024"]},
    )
    assert reversed_.status_code == 302
    with app.app_context():
        reversal = db.session.scalars(
            select(Disbursement).where(Disbursement.reverses_id == award)
        ).one()
        assert reversal.amount == Decimal("-30.00")
        assert reversal.created_by_id == fran
        assert reversal.reason == "Voucher returned unused"
    shown = client.get(reversed_.location).get_data(as_text=True)
    assert (
        "Award reversed: £30.00 is back on G1. G1 now has £49.99 available to award."
        in shown
    )
    assert f"/awards/{reversal.id}" in shown and "Reverse award" not in shown
    back = client.get(f"/awards/{reversal.id}").get_data(as_text=True)
    assert f'href="/awards/{award}"' in back and "Reverse award" not in back
    assert audit_actions(app)[-2:] == ["disbursement.mark_paid", "disbursement.reverse"]

    again = client.post(
        f"/awards/{award}/reverse",
        data={"reason": "Again", "reversed_on": ["12", "6", "2024"]},
    )
    assert again.status_code == 409
    assert "already been reversed" in again.get_data(as_text=True)
    not_a_reversal = client.post(
        f"/awards/{reversal.id}/reverse",
        data={"reason": "Undo", "reversed_on": ["12", "6", "2024"]},
    )
    assert not_a_reversal.status_code == 409
    assert count(app, Disbursement) == 3


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"reason": "", "reversed_on": ["12", "6", "2024"]}, "reason", "Say why"),
        ({"reason": "\x00", "reversed_on": ["12", "6", "2024"]}, "reason", "control"),
        ({"reason": "x" * 2001, "reversed_on": ["12", "6", "2024"]}, "reason", "2,000"),
        (
            {"reason": "Oops", "reversed_on": ["1", "6", "2024"]},
            "reversed_on",
            "before the award",
        ),
        (
            {"reason": "Oops", "reversed_on": ["1", "4", "2025"]},
            "reversed_on",
            "grant's period",
        ),
        (
            {"reason": "Oops", "reversed_on": ["31", "2", "2025"]},
            "reversed_on",
            "real date",
        ),
        ({"reason": "Oops"}, "reversed_on", "Enter the date"),
    ],
    ids=[
        "no-reason",
        "control",
        "too-long",
        "before-award",
        "after-period",
        "not-a-date",
        "no-date",
    ],
)
def test_bad_reversals_are_refused(
    app, client, ledger, sign_in_as, data, field, message
):
    award = _an_award(app, client, ledger)
    sign_in_as(Role.MANAGER)
    response = client.post(f"/awards/{award}/reverse", data=data)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert count(app, Disbursement) == 2


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"paid_on": ["2", "6", "2024"]},
            "payment_reference",
            "Enter the payment reference",
        ),
        (
            {"paid_on": ["2", "6", "2024"], "payment_reference": "r" * 81},
            "payment_reference",
            "80",
        ),
        (
            {"paid_on": ["1", "6", "2024"], "payment_reference": "R1"},
            "paid_on",
            "before the award",
        ),
        (
            {"paid_on": ["1", "1", "2099"], "payment_reference": "R1"},
            "paid_on",
            "future",
        ),
        (
            {"paid_on": ["", "", ""], "payment_reference": "R1"},
            "paid_on",
            "Enter the date",
        ),
    ],
    ids=["no-reference", "long-reference", "before-award", "future", "no-date"],
)
def test_bad_payments_are_refused(
    app, client, ledger, sign_in_as, data, field, message
):
    award = _an_award(app, client, ledger)
    sign_in_as(Role.FINANCE)
    response = client.post(f"/awards/{award}/paid", data=data)
    assert response.status_code == 422
    assert message in field_error(response.get_data(as_text=True), field)
    assert count(app, DisbursementPayment) == 0


def test_the_reverse_and_paid_pages_default_their_dates(
    client, ledger, sign_in_as, app
):
    award = _an_award(app, client, ledger)
    sign_in_as(Role.ADMIN)
    page = client.get(f"/awards/{award}/reverse").get_data(as_text=True)
    # The grant ended on 31 March 2025, so the reversal date defaults to that day.
    assert 'id="reversed_on-day" name="reversed_on" type="text" value="31"' in page
    assert 'value="2025"' in page
    paid = client.get(f"/awards/{award}/paid")
    assert paid.status_code == 200
    today = REAL_TODAY
    assert f'value="{today.year}"' in paid.get_data(as_text=True)


def test_staff_may_not_reverse_or_mark_paid(app, client, ledger):
    award = _an_award(app, client, ledger)
    page = client.get(f"/awards/{award}").get_data(as_text=True)
    assert "Reverse award" not in page and "Mark as paid" not in page
    for url in (f"/awards/{award}/reverse", f"/awards/{award}/paid"):
        assert client.get(url).status_code == 403
        response = client.post(
            url,
            data={
                "reason": "x",
                "reversed_on": ["12", "6", "2024"],
                "paid_on": ["12", "6", "2024"],
                "payment_reference": "x",
            },
        )
        assert response.status_code == 403
    assert count(app, Disbursement) == 2
    assert count(app, DisbursementPayment) == 0


def test_a_manager_may_reverse_but_not_mark_paid(app, client, ledger, sign_in_as):
    award = _an_award(app, client, ledger)
    sign_in_as(Role.MANAGER)
    page = client.get(f"/awards/{award}").get_data(as_text=True)
    assert "Reverse award" in page and "Mark as paid" not in page
    assert client.get(f"/awards/{award}/paid").status_code == 403


def test_finance_does_not_see_names(app, client, ledger, sign_in_as, create_household):
    named = create_household(name="Ann Example")
    with app.app_context():
        reference = db.session.get(Household, named).reference
    response = client.post(
        "/awards/new", data=ledger.form(beneficiary=reference, amount="5.00")
    )
    award = response.location
    assert "Ann Example" in client.get(award).get_data(as_text=True)
    sign_in_as(Role.FINANCE)
    page = client.get(award).get_data(as_text=True)
    assert reference in page and "Ann Example" not in page


@pytest.mark.parametrize(
    "url",
    [
        "/awards/abc",
        "/awards/99999999999999999999",
        "/awards/0",
        "/awards/-1",
        "/awards/999999",
        "/awards/999999/reverse",
        "/awards/abc/paid",
        "/awards/1%00",
    ],
)
def test_unknown_awards_are_not_found(client, ledger, sign_in_as, url):
    sign_in_as(Role.ADMIN)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"reason": "x"}).status_code in (404, 405)


@pytest.mark.parametrize("action", ["edit", "delete", "update"])
def test_there_is_no_way_to_edit_or_delete_a_line(
    app, client, ledger, sign_in_as, action
):
    sign_in_as(Role.ADMIN)
    award = _an_award(app, client, ledger)
    response = client.post(f"/awards/{award}/{action}", data={"amount": "1.00"})
    assert response.status_code in (404, 405)
    assert client.delete(f"/awards/{award}").status_code == 405
    assert client.put(f"/awards/{award}", data={"amount": "1.00"}).status_code == 405
    with app.app_context():
        assert db.session.get(Disbursement, award).amount == Decimal("30.00")


# --- the list ---------------------------------------------------------------------------------


def test_the_list_filters_and_totals_in_sql(
    app, client, ledger, create_grant, create_disbursement, create_household
):
    other = create_grant("1000.00", reference="G2")
    second = create_household()
    create_disbursement(other, "7.00", household_id=second, awarded_on=date(2024, 7, 1))
    create_disbursement(other, "3.00", item="Fridge", awarded_on=date(2024, 8, 1))
    award = _an_award(app, client, ledger)
    with app.app_context():
        from funds.models import ItemType

        fridge, white_goods = db.session.execute(
            select(ItemType.id, ItemType.category_id).where(ItemType.name == "Fridge")
        ).one()
        second_reference = db.session.get(Household, second).reference

    page = client.get("/awards/").get_data(as_text=True)
    assert page.count('<tr class="govuk-table__row">') == 1 + 4

    def totals(query: str) -> tuple[str, str]:
        response = client.get("/awards/" + query)
        assert response.status_code == 200, query
        body = response.get_data(as_text=True)
        awards = re.search(r'id="total-awards">(\d+)', body).group(1)
        net = re.search(r'id="total-net">([^<]+)<', body).group(1)
        return awards, net

    assert totals("") == ("4", "£490.01")
    assert totals(f"?grant={other}") == ("2", "£10.00")
    assert totals("?date_from=1&date_from=7&date_from=2024") == ("2", "£10.00")
    assert totals("?date_to=31&date_to=5&date_to=2024") == ("1", "£450.01")
    assert totals(f"?item_type={fridge}") == ("1", "£3.00")
    assert totals(f"?category={white_goods}") == ("1", "£3.00")
    assert totals(f"?beneficiary={second_reference.lower()}") == ("1", "£7.00")
    assert totals(f"?beneficiary={ledger.reference}") == ("1", "£30.00")
    assert totals("?grant=&category=&item_type=&beneficiary=") == ("4", "£490.01")

    # A reversal is netted off but not counted as an award.
    with app.app_context():
        from funds.disbursements.services import reverse_disbursement

        reverse_disbursement(
            db.session.get(Disbursement, award),
            actor=db.session.scalars(
                select(User).where(User.role == Role.MANAGER)
            ).first(),
            reason="Wrong",
            reversed_on=date(2024, 6, 4),
            today=date(2026, 1, 1),
        )
        db.session.commit()
    assert totals("") == ("4", "£460.01")
    assert "1 reversal as well" in client.get("/awards/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?grant=abc", "grant"),
        ("?grant=999999", "grant"),
        ("?grant=1%20OR%201=1", "grant"),
        ("?category=-1", "category"),
        ("?item_type=cash_to_self", "item_type"),
        ("?date_from=30&date_from=2&date_from=2024", "date_from"),
        ("?date_from=2024-01-01", "date_from"),
        ("?date_to=1&date_to=1&date_to=0001", "date_to"),
        (
            "?date_from=2&date_from=6&date_from=2024&date_to=1&date_to=6&date_to=2024",
            "date_to",
        ),
        ("?beneficiary=H-NOBODY", "beneficiary"),
        ("?beneficiary=%3Cscript%3E", "beneficiary"),
    ],
)
def test_bad_filters_are_field_errors(client, ledger, query, field):
    response = client.get("/awards/" + query)
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), field)


@pytest.mark.parametrize(
    "after",
    [
        "garbage",
        "2024-13-01_5",
        "2024-01-01_99999999999999999999",
        "2024-01-01_-1",
        "_",
    ],
)
def test_a_bad_cursor_means_the_first_page(client, ledger, after):
    response = client.get("/awards/?after=" + after)
    assert response.status_code == 200
    assert "£450.01" in response.get_data(as_text=True)


def test_the_list_pages_with_a_keyset_cursor_keeping_the_filters(
    app, client, ledger, create_grant, create_disbursement
):
    other = create_grant("1000.00", reference="G2")
    for day in range(1, 28):
        for _ in range(2):
            create_disbursement(other, "1.00", awarded_on=date(2024, 7, day))
    create_disbursement(other, "1.00", awarded_on=date(2024, 8, 1))  # 55 on G2
    first = client.get(f"/awards/?grant={other}").get_data(as_text=True)
    assert first.count('<tr class="govuk-table__row">') == 1 + 50
    assert 'id="total-awards">55' in first
    link = html.unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    assert f"grant={other}" in link and "after=" in link
    second = client.get(link).get_data(as_text=True)
    assert second.count('<tr class="govuk-table__row">') == 1 + 5
    assert 'rel="next"' not in second
    assert "1 Jul 2024" in second
    assert 'href="/grants/%d"' % ledger.grant not in second
    assert "Back to the newest entries" in second


def test_one_available_to_award_on_the_form_its_error_the_grant_and_the_overview(
    app, client, ledger, create_batch
):
    """£49.99 left on G1, £40.00 of it held in vouchers: £9.99 available everywhere."""
    create_batch(ledger.grant, quantity=2, face_value="20.00")
    page = client.get("/awards/new").get_data(as_text=True)
    assert "G1 – Household Support Fund (£9.99 available to award)" in page
    refused = client.post("/awards/new", data=ledger.form(amount="10.00"))
    assert "£9.99 available" in field_error(refused.get_data(as_text=True), "amount")
    grant_page = client.get(f"/grants/{ledger.grant}").get_data(as_text=True)
    assert re.search(r'id="available-to-award">£9.99<', grant_page)
    overview = re.sub(r"\s+", " ", client.get("/grants/").get_data(as_text=True))
    assert re.search(r"G1</a>.*?£40.00</td>.*?£9.99</td>", overview)
    assert count(app, Disbursement) == 1


def test_every_problem_is_shown_in_one_round(app, client, ledger):
    """A bad supplier, a date in a locked period and more than is available: all three
    at once, not the period only after the rest is fixed."""
    from funds.models import PeriodLock

    with app.app_context():
        manager = db.session.scalars(
            select(User).where(User.role == Role.MANAGER)
        ).first()
        db.session.add(
            PeriodLock(
                grant_id=ledger.grant,
                starts_on=date(2024, 6, 1),
                ends_on=date(2024, 6, 30),
                locked_by_id=manager.id,
            )
        )
        db.session.commit()
    response = client.post(
        "/awards/new",
        data=ledger.form(supplier="Tesco\x00", amount="60.00"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "control characters" in field_error(page, "supplier")
    assert "locked period" in field_error(page, "awarded_on")
    assert "£49.99 available" in field_error(page, "amount")
    assert count(app, Disbursement) == 1


def test_a_date_outside_the_period_is_shown_with_a_missing_item(app, client, ledger):
    response = client.post(
        "/awards/new", data=ledger.form(item_type="", awarded_on=["1", "4", "2025"])
    )
    page = response.get_data(as_text=True)
    assert "Choose what was given" in field_error(page, "item_type")
    assert "grant's period" in field_error(page, "awarded_on")


def test_a_grant_that_pays_salaries_takes_larger_single_awards(
    app, client, ledger, sign_in_as, create_grant, item_id
):
    """The largest single award is the grant's: £10,000.00 unless a manager sets more."""
    staff_grant = create_grant("60000.00", reference="STAFF-1", title="A staff post")
    salary = {
        "grant": str(staff_grant),
        "beneficiary": "",
        "access_route": "not-applicable",
    }
    salary["item_type"] = str(item_id("Salary"))
    refused = client.post("/awards/new", data=ledger.form(amount="12000.00", **salary))
    assert "£10,000.00 or less: the largest single award on STAFF-1" in field_error(
        refused.get_data(as_text=True), "amount"
    )
    sign_in_as(Role.MANAGER)
    with app.app_context():
        grant = db.session.get(Grant, staff_grant)
        form = {
            "title": grant.title,
            "team": "",
            "starts_on": ["1", "4", "2024"],
            "ends_on": ["31", "3", "2025"],
            "control": "block",
            "status": "open",
            "max_award": "15000.00",
            "notes": "",
        }
    changed = client.post(f"/grants/{staff_grant}/edit", data=form)
    assert changed.status_code == 302, changed.get_data(as_text=True)[:2000]
    with app.app_context():
        assert db.session.get(Grant, staff_grant).max_award == Decimal("15000.00")
    recorded = client.post("/awards/new", data=ledger.form(amount="12000.00", **salary))
    assert recorded.status_code == 302


# --- finding the household by name, without JavaScript ---------------------------------------


def _pick_radios(page: str) -> list[str]:
    return re.findall(r'name="beneficiary_pick" type="radio" value="([^"]+)"', page)


def test_a_name_offers_the_matches_and_the_one_picked_is_recorded(
    app, client, ledger, create_household, create_young_person
):
    with app.app_context():
        db.session.get(Household, ledger.household).name = "Jamie Smith"
        db.session.commit()
    namesake = create_young_person(name="Jamie Smithers")
    data = ledger.form(beneficiary="jamie smi", amount="12.00")
    asked = client.post("/awards/new", data=data)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "Choose which household or young person “jamie smi” is" in field_error(
        page, "beneficiary"
    )
    with app.app_context():
        other = db.session.get(YoungPerson, namesake).reference
    assert _pick_radios(page) == [ledger.reference, other]
    assert "Jamie Smith (" in page and "Jamie Smithers (" in page
    assert count(app, Disbursement) == 1  # nothing recorded while choosing
    # What was typed stays as typed; the choice is the household.
    assert 'value="jamie smi"' in page
    data["beneficiary_pick"] = ledger.reference
    recorded = client.post("/awards/new", data=data)
    assert recorded.status_code == 302
    with app.app_context():
        line = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id.desc())
        ).first()
        assert (line.household_id, line.young_person_id) == (ledger.household, None)
        assert line.amount == Decimal("12.00")


def test_one_match_is_still_chosen_by_the_clerk_not_for_them(app, client, ledger):
    with app.app_context():
        db.session.get(Household, ledger.household).name = "Ola Nowak"
        db.session.commit()
    asked = client.post("/awards/new", data=ledger.form(beneficiary="Nowak"))
    assert asked.status_code == 422
    assert _pick_radios(asked.get_data(as_text=True)) == [ledger.reference]
    # A pick that is not among what the name found is not taken.
    wrong = client.post(
        "/awards/new",
        data=ledger.form(beneficiary="Nowak", beneficiary_pick="H-ZZZZZZ"),
    )
    assert wrong.status_code == 422
    assert count(app, Disbursement) == 1


def test_a_name_nobody_has_says_so(app, client, ledger):
    response = client.post("/awards/new", data=ledger.form(beneficiary="Nobody Here"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "No household or young person matches “Nobody Here”" in field_error(
        page, "beneficiary"
    )
    assert _pick_radios(page) == []
