"""Voucher pages: what each shows, what each refuses, and what reaches the database."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    Role,
    User,
    Voucher,
    VoucherBatch,
    VoucherStatus,
)
from funds.vouchers.serials import serials_from_range
from funds.vouchers.services import BatchInput, create_batch, return_vouchers
from tests.conftest import IN_PERIOD, REAL_TODAY, TODAY, count


def _dmy(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


def _text(response) -> str:
    return response.get_data(as_text=True)


def _snapshot(app) -> tuple[int, ...]:
    return (
        count(app, VoucherBatch),
        count(app, Voucher),
        count(app, Disbursement),
        count(app, AuditEvent),
        count(app, Voucher, Voucher.status != VoucherStatus.IN_STOCK),
    )


@pytest.fixture
def finance(app, create_user, login):
    """A signed-in finance officer (buys batches, returns and expires vouchers)."""
    user_id = create_user(Role.FINANCE, email="finn@example.org", name="Finn Finance")
    login(user_id)
    return user_id


@pytest.fixture
def staff_client(app, create_user, login):
    """A second client, signed in as staff (issues vouchers)."""
    the_client = app.test_client()
    user_id = create_user(Role.STAFF, email="sam@example.org", name="Sam Staff")
    login(user_id, the_client=the_client)
    the_client.user_id = user_id
    return the_client


@pytest.fixture
def grant_id(create_grant):
    """A £1,000 grant whose period includes today (so vouchers can be given now)."""
    return create_grant(
        "1000.00",
        reference="HSF-4",
        starts_on=REAL_TODAY - timedelta(days=200),
        ends_on=REAL_TODAY + timedelta(days=165),
    )


@pytest.fixture
def food(item_id):
    return item_id("Food voucher")


@pytest.fixture
def buy(app, system_actor, food, grant_id):
    """Buy a batch now through the service (serials PREFIX0001...); returns its id."""

    def _buy(
        *,
        quantity=5,
        supplier="Tesco",
        prefix="TES",
        face="20.00",
        expires_on=None,
        grant=None,
    ):
        with app.app_context():
            batch = create_batch(
                BatchInput(
                    grant_id=grant or grant_id,
                    supplier=supplier,
                    item_type_id=food,
                    face_value=Decimal(face),
                    quantity=quantity,
                    purchase_cost=Decimal(face) * quantity,
                    purchased_on=REAL_TODAY - timedelta(days=30),
                    expires_on=expires_on or REAL_TODAY + timedelta(days=90),
                ),
                serials_from_range(f"{prefix}0001", f"{prefix}{quantity:04d}"),
                actor=db.session.get(User, system_actor()),
                today=REAL_TODAY,
            )
            db.session.commit()
            return batch.id

    return _buy


@pytest.fixture
def household(app, create_household):
    """(id, reference) of a household."""
    from funds.models import Household

    household_id = create_household(
        adults=2, children=1, has_children=True, name="Jo Bloggs"
    )
    with app.app_context():
        return household_id, db.session.get(Household, household_id).reference


def _ids(app, batch_id) -> dict[str, int]:
    with app.app_context():
        return dict(
            db.session.execute(
                select(Voucher.serial, Voucher.id).where(Voucher.batch_id == batch_id)
            ).all()
        )


def _status(app, serial, supplier="Tesco") -> VoucherStatus:
    with app.app_context():
        return db.session.scalars(
            select(Voucher.status).where(
                Voucher.serial == serial, Voucher.supplier == supplier
            )
        ).one()


# --- the stock page -----------------------------------------------------------------------


def test_the_stock_page_lists_batches_and_what_expires_soon(
    app, client, finance, buy, grant_id
):
    buy(
        quantity=3,
        supplier="Asda",
        prefix="ASD",
        expires_on=REAL_TODAY + timedelta(days=10),
    )
    buy(quantity=4)
    response = client.get("/vouchers/")
    assert response.status_code == 200
    html = _text(response)
    assert html.index("Tesco") < html.index("Asda") or "Tesco" in html
    assert "Expiring within 30 days" in html
    assert "3 Asda vouchers of £20.00" in html
    assert "Expires in 10 days" in html
    assert f'/vouchers/reconciliation/{grant_id}"' in html
    assert "Buy a batch" in html  # finance buys stock
    assert 'href="/vouchers/issue"' not in html  # but does not give it out


def test_staff_can_issue_but_not_buy(app, staff_client, buy):
    buy()
    html = _text(staff_client.get("/vouchers/"))
    assert 'href="/vouchers/issue"' in html
    assert "Buy a batch" not in html
    assert staff_client.get("/vouchers/batches/new").status_code == 403
    assert staff_client.post("/vouchers/batches/new", data={}).status_code == 403


def test_an_unknown_batch_or_grant_is_404(client, finance):
    assert client.get("/vouchers/batches/999").status_code == 404
    assert client.post("/vouchers/batches/999/return", data={}).status_code == 404
    assert client.post("/vouchers/batches/999/expire", data={}).status_code == 404
    assert client.get("/vouchers/reconciliation/999").status_code == 404
    assert client.get("/vouchers/reconciliation/999/issued.csv").status_code == 404
    assert client.get("/vouchers/batches/99999999999999999999999").status_code == 404


# --- buying a batch -----------------------------------------------------------------------


def _batch_form(grant_id, food, **changes) -> dict:
    data = {
        "grant": str(grant_id),
        "supplier": "Tesco",
        "item_type": str(food),
        "face_value": "20.00",
        "quantity": "5",
        "purchase_cost": "95.00",
        "purchased_on": _dmy(REAL_TODAY - timedelta(days=1)),
        "expires_on": _dmy(REAL_TODAY + timedelta(days=100)),
        "serials_from": "range",
        "first_serial": "TES0001",
        "last_serial": "TES0005",
        "serial_list": "",
        "terms": "",
        "reference": "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_batch_form_offers_open_grants_with_what_they_have_left(
    client, finance, grant_id, buy
):
    buy(quantity=10)
    html = _text(client.get(f"/vouchers/batches/new?grant={grant_id}"))
    assert "HSF-4 – Test grant (£800.00 available to award)" in html
    assert 'enctype="multipart/form-data"' in html
    assert f'<option value="{grant_id}" selected' in html
    assert "Kayaking" not in html  # activities are not bought as vouchers
    for odd in ("abc", "-1", "99999999999999999999999"):
        assert client.get(f"/vouchers/batches/new?grant={odd}").status_code == 200


def test_buying_a_batch_by_range(app, client, finance, grant_id, food):
    response = client.post(
        "/vouchers/batches/new",
        data=_batch_form(
            grant_id,
            food,
            sale_or_return="y",
            terms="Unused vouchers refunded",
            reference="INV-77",
        ),
    )
    assert response.status_code == 302, _text(response)[:2000]
    with app.app_context():
        batch = db.session.scalars(select(VoucherBatch)).one()
        assert response.headers["Location"] == f"/vouchers/batches/{batch.id}"
        assert batch.supplier == "Tesco"
        assert batch.face_value == Decimal("20.00")
        assert batch.purchase_cost == Decimal("95.00")
        assert batch.sale_or_return and batch.terms == "Unused vouchers refunded"
        assert batch.reference == "INV-77"
        assert batch.created_by_id == finance
        assert [v.serial for v in batch.vouchers] == [f"TES000{n}" for n in range(1, 6)]
    assert count(app, AuditEvent, AuditEvent.action == "voucher_batch.create") == 1
    page = _text(client.get(response.headers["Location"]))
    assert "5 Tesco vouchers of £20.00 added to stock" in page


def test_buying_a_batch_from_a_pasted_list(app, client, finance, grant_id, food):
    response = client.post(
        "/vouchers/batches/new",
        data=_batch_form(
            grant_id,
            food,
            serials_from="list",
            quantity="3",
            serial_list="Serial number\r\nUNI-01\r\nUNI-02, UNI-07\r\n",
            first_serial="",
            last_serial="",
        ),
    )
    assert response.status_code == 302, _text(response)[:2000]
    with app.app_context():
        assert sorted(db.session.scalars(select(Voucher.serial))) == [
            "UNI-01",
            "UNI-02",
            "UNI-07",
        ]


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        ("tesco.csv", b"Serial,Value\r\n5001,20\r\n5002,20\r\n", ["5001", "5002"]),
        ("tesco.xlsx", _xlsx([["Serial number"], [5001], [5002]]), ["5001", "5002"]),
    ],
)
def test_buying_a_batch_from_the_suppliers_file(
    app, client, finance, grant_id, food, filename, content, expected
):
    data = _batch_form(
        grant_id,
        food,
        serials_from="file",
        quantity="2",
        first_serial="",
        last_serial="",
    )
    data["serial_file"] = (io.BytesIO(content), filename)
    response = client.post(
        "/vouchers/batches/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 302, _text(response)[:3000]
    with app.app_context():
        assert sorted(db.session.scalars(select(Voucher.serial))) == expected


def _hostile_upload(name: str, content: bytes):
    return {"serials_from": "file", "serial_file": (io.BytesIO(content), name)}


def _macro_workbook() -> bytes:
    import zipfile

    out = io.BytesIO()
    source = zipfile.ZipFile(io.BytesIO(_xlsx([["TES0001"]])))
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename))
        target.writestr("xl/vbaProject.bin", b"macro")
    return out.getvalue()


BATCH_REFUSALS = [
    pytest.param(
        {"last_serial": "TES 0015"},
        "last_serial",
        "only letters, digits",
        id="bad-serial",
    ),
    pytest.param(
        {
            "serials_from": "list",
            "serial_list": "TES0001\nTES0002\nTES0002\nTES0004\nTES0005",
        },
        "serial_list",
        "appear more than once: TES0002",
        id="duplicate-serials",
    ),
    pytest.param(
        {"first_serial": "TES0004", "last_serial": "TES0008"},
        "first_serial",
        "already recorded for Tesco in an earlier batch: TES0004, TES0005",
        id="overlapping-range",
    ),
    pytest.param(
        {"quantity": "6"},
        "first_serial",
        "The quantity is 6 but 5 serial numbers were given",
        id="count-not-quantity",
    ),
    pytest.param(
        {"expires_on": _dmy(REAL_TODAY - timedelta(days=2))},
        "expires_on",
        "on or after the date bought",
        id="expiry-before-purchase",
    ),
    pytest.param(
        {
            "face_value": "200.00",
            "first_serial": "TES0011",
            "last_serial": "TES0015",
        },
        "quantity",
        "worth £1,000.00, more than the grant has left to award (£900.00)",
        id="over-the-grant",
    ),
    pytest.param(
        {"first_serial": "TES0015", "last_serial": "TES0011"},
        "last_serial",
        "must come after the first",
        id="reversed-range",
    ),
    pytest.param(
        {"serials_from": None},
        "serials_from",
        "Choose how you will give",
        id="no-method",
    ),
    pytest.param(
        {"serials_from": "list", "serial_list": "  "},
        "serial_list",
        "Paste the serial numbers",
        id="empty-list",
    ),
    pytest.param(
        {"serials_from": "file"}, "serial_file", "Choose the supplier", id="no-file"
    ),
    pytest.param(
        _hostile_upload("macros.xlsm", _macro_workbook()),
        "serial_file",
        "macros are not accepted",
        id="macro-workbook",
    ),
    pytest.param(
        _hostile_upload("f.xlsx", _xlsx([["Serial"], ["=1+1"]])),
        "serial_file",
        "contains formulas",
        id="formula",
    ),
    pytest.param(
        _hostile_upload("renamed.xlsx", b"MZ\x90\x00 not a workbook"),
        "serial_file",
        "could not be read",
        id="renamed-file",
    ),
    pytest.param(
        {"quantity": "5.0"}, "quantity", "from 1 to 10,000", id="quantity-5.0"
    ),
    pytest.param({"quantity": "10001"}, "quantity", "from 1 to 10,000", id="too-many"),
    pytest.param({"quantity": "５"}, "quantity", "digits 0 to 9", id="full-width"),
    pytest.param({"face_value": "1e3"}, "face_value", "digits 0 to 9", id="exponent"),
    pytest.param({"face_value": "0"}, "face_value", "£0.01 or more", id="zero-face"),
    pytest.param({"purchase_cost": "-5"}, "purchase_cost", "minus", id="negative-cost"),
    pytest.param(
        {"purchased_on": ["30", "2", "2025"]}, "purchased_on", "real date", id="30-feb"
    ),
    pytest.param(
        {
            "purchased_on": _dmy(REAL_TODAY + timedelta(days=1)),
            "expires_on": _dmy(REAL_TODAY + timedelta(days=30)),
        },
        "purchased_on",
        "future",
        id="bought-tomorrow",
    ),
    pytest.param({"grant": "99999"}, "grant", "open grants", id="unknown-grant"),
    pytest.param({"item_type": "abc"}, "item_type", "from the list", id="bad-item"),
    pytest.param(
        {"supplier": "Tesco\u202e"}, "supplier", "text-direction", id="bidi-supplier"
    ),
    pytest.param(
        {"supplier": "x" * 121}, "supplier", "120 characters", id="long-supplier"
    ),
]


@pytest.mark.parametrize(("changes", "field", "words"), BATCH_REFUSALS)
def test_a_bad_batch_is_refused_on_its_field_and_nothing_is_written(
    app, client, finance, grant_id, food, buy, changes, field, words
):
    buy(quantity=5, face="20.00")  # TES0001-TES0005 already held; £900 left
    before = _snapshot(app)
    data = _batch_form(
        grant_id,
        food,
        first_serial="TES0011",
        last_serial="TES0015",
    )
    if (
        "first_serial" not in changes
        and changes.get("serials_from", "range") != "range"
    ):
        data.update(first_serial="", last_serial="")
    data.update(changes)
    data = {key: value for key, value in data.items() if value is not None}
    response = client.post(
        "/vouchers/batches/new", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    html = _text(response)
    assert "There is a problem" in html
    assert f'href="#{field}' in html  # the error summary links to the field
    assert words in html.replace("&#39;", "'").replace("&#34;", '"')
    assert _snapshot(app) == before


def test_a_closed_grant_is_not_offered(app, client, finance, grant_id, food):
    from funds.models import Grant, GrantStatus

    with app.app_context():
        db.session.get(Grant, grant_id).status = GrantStatus.CLOSED
        db.session.commit()
    assert "HSF-4" not in _text(client.get("/vouchers/batches/new"))
    response = client.post("/vouchers/batches/new", data=_batch_form(grant_id, food))
    assert response.status_code == 422
    assert count(app, VoucherBatch) == 0


# --- one batch: reconciliation, returns, expiry ------------------------------------------


def test_the_batch_page_shows_the_reconciliation_and_every_voucher(
    app, client, finance, staff_client, buy, household
):
    batch_id = buy()
    ids = _ids(app, batch_id)
    household_id, reference = household
    staff_client.post(
        "/vouchers/issue",
        data=_issue_form(reference, vouchers=[ids["TES0002"]]),
    )
    response = client.get(f"/vouchers/batches/{batch_id}")
    assert response.status_code == 200
    html = _text(response)
    assert "5 Tesco vouchers of £20.00" in html
    assert "5 bought = 1 issued + 4 in stock + 0 returned + 0 expired" in html
    assert "£100.00 = £20.00 + £80.00 + £0.00 + £0.00" in html
    assert "Balances" in html and "does not balance" not in html
    with app.app_context():
        award = db.session.scalars(select(Disbursement.id)).one()
    assert f'href="/awards/{award}"' in html
    assert f'href="/households/{household_id}">{reference}</a>' in html
    assert "Jo Bloggs" not in html
    only_issued = _text(client.get(f"/vouchers/batches/{batch_id}?status=issued"))
    assert "TES0002" in only_issued and "TES0003" not in only_issued
    assert (
        client.get(f"/vouchers/batches/{batch_id}?status=nonsense").status_code == 200
    )


def test_a_batch_that_does_not_balance_says_so(app, client, finance, buy):
    batch_id = buy(quantity=3)
    with app.app_context():
        # A voucher row lost behind the services' back: the page must not hide it.
        db.session.execute(
            Voucher.__table__.delete().where(Voucher.serial == "TES0003")
        )
        db.session.commit()
    html = _text(client.get(f"/vouchers/batches/{batch_id}"))
    assert "This does not balance" in html
    assert "3 bought ≠ 0 issued + 2 in stock" in html


def test_returning_vouchers_by_list_and_by_range(app, client, finance, buy):
    batch_id = buy(quantity=10)
    response = client.post(
        f"/vouchers/batches/{batch_id}/return",
        data={"serials": "TES0009\r\nTES0010", "reason": "End of term"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/vouchers/batches/{batch_id}"
    response = client.post(
        f"/vouchers/batches/{batch_id}/return",
        data={"first_serial": "TES0006", "last_serial": "TES0007", "reason": "Torn"},
    )
    assert response.status_code == 302
    for serial in ("TES0006", "TES0007", "TES0009", "TES0010"):
        assert _status(app, serial) == VoucherStatus.RETURNED
    assert _status(app, "TES0008") == VoucherStatus.IN_STOCK
    with app.app_context():
        reasons = [
            event.after["reason"]
            for event in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "voucher.return")
            )
        ]
    assert sorted(reasons) == ["End of term"] * 2 + ["Torn"] * 2
    assert "2 vouchers marked as returned" in _text(
        client.get(response.headers["Location"])
    )


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        ({"serials": "TES0001", "reason": "x"}, 409, "TES0001 has already been issued"),
        ({"serials": "TES0099", "reason": "x"}, 422, "Not in this batch: TES0099"),
        ({"serials": "TES0003", "reason": ""}, 422, "Say why the vouchers"),
        ({"reason": "x"}, 422, "Enter the serial numbers"),
        (
            {
                "serials": "TES0003",
                "first_serial": "TES0004",
                "last_serial": "TES0004",
                "reason": "x",
            },
            422,
            "a list of serial numbers or a range, not both",
        ),
        ({"serials": "TES0003\nTES0003", "reason": "x"}, 422, "appear more than once"),
        ({"serials": "TES0003", "reason": "bad\x00reason"}, 422, "control characters"),
    ],
)
def test_a_bad_return_is_refused_and_nothing_changes(
    app, client, finance, staff_client, buy, household, data, status, words
):
    batch_id = buy()
    ids = _ids(app, batch_id)
    assert (
        staff_client.post(
            "/vouchers/issue", data=_issue_form(household[1], vouchers=[ids["TES0001"]])
        ).status_code
        == 302
    )
    before = _snapshot(app)
    response = client.post(f"/vouchers/batches/{batch_id}/return", data=data)
    assert response.status_code == status
    assert words in _text(response)
    assert _snapshot(app) == before


def test_staff_cannot_return_or_expire(app, staff_client, buy):
    batch_id = buy()
    before = _snapshot(app)
    assert (
        staff_client.post(
            f"/vouchers/batches/{batch_id}/return",
            data={"serials": "TES0001", "reason": "x"},
        ).status_code
        == 403
    )
    assert staff_client.post(f"/vouchers/batches/{batch_id}/expire").status_code == 403
    assert _snapshot(app) == before


def test_expiring_only_after_the_expiry_date(app, client, finance, buy, create_grant):
    current = buy(quantity=2)
    before = _snapshot(app)
    page = _text(client.get(f"/vouchers/batches/{current}"))
    assert "as expired" not in page  # no button while they are valid
    response = client.post(f"/vouchers/batches/{current}/expire")
    assert response.status_code == 409
    assert "valid until" in _text(response)
    assert _snapshot(app) == before

    # A batch from last year's grant whose vouchers ran out on 1 May 2025.
    old_grant = create_grant("500.00", reference="OLD-1")
    from funds.vouchers.services import BatchInput as Input

    with app.app_context():
        old = create_batch(
            Input(
                grant_id=old_grant,
                supplier="Asda",
                item_type_id=db.session.get(VoucherBatch, current).item_type_id,
                face_value=Decimal("10.00"),
                quantity=3,
                purchase_cost=Decimal("30.00"),
                purchased_on=IN_PERIOD,
                expires_on=date(2025, 5, 1),
            ),
            ["ASD1", "ASD2", "ASD3"],
            actor=db.session.get(User, finance),
            today=TODAY,
        )
        return_vouchers(old, ["ASD3"], actor=db.session.get(User, finance))
        db.session.commit()
        old_id = old.id
    page = _text(client.get(f"/vouchers/batches/{old_id}"))
    assert "Mark 2 vouchers as expired" in page
    response = client.post(f"/vouchers/batches/{old_id}/expire")
    assert response.status_code == 302
    assert [_status(app, s, "Asda") for s in ("ASD1", "ASD2", "ASD3")] == [
        VoucherStatus.EXPIRED,
        VoucherStatus.EXPIRED,
        VoucherStatus.RETURNED,
    ]
    assert count(app, AuditEvent, AuditEvent.action == "voucher.expire") == 2
    assert "2 vouchers marked as expired" in _text(
        client.get(f"/vouchers/batches/{old_id}")
    )
    # Again: nothing is left to expire.
    response = client.post(f"/vouchers/batches/{old_id}/expire")
    assert response.status_code == 409
    assert "No vouchers from this batch are left in stock" in _text(response)


# --- issuing ------------------------------------------------------------------------------


def _issue_form(reference, *, vouchers=(), serials="", token=None, **changes) -> dict:
    data = {
        "household": reference,
        "awarded_on": _dmy(REAL_TODAY),
        "access_route": "referral",
        "vouchers": [str(v) for v in vouchers],
        "serials": serials,
        "form_token": token or secrets.token_urlsafe(32),
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_issue_page_lists_stock_that_can_be_given_today(
    app, staff_client, buy, household, create_grant
):
    buy(
        quantity=3,
        supplier="Asda",
        prefix="ASD",
        face="30.00",
        expires_on=REAL_TODAY + timedelta(days=5),
    )
    tesco = buy(quantity=4)
    other_grant = create_grant(
        "500.00",
        reference="OTHER-1",
        starts_on=REAL_TODAY - timedelta(days=60),
        ends_on=REAL_TODAY + timedelta(days=10),
    )
    buy(quantity=2, supplier="Co-op", prefix="COP", grant=other_grant)
    html = _text(staff_client.get(f"/vouchers/issue?household={household[1]}"))
    assert f'value="{household[1]}"' in html
    assert "Asda, £30.00 each, expire" in html
    assert "Tesco, £20.00 each, expire" in html
    # The soonest expiry first.
    assert html.index("ASD0001") < html.index("TES0001")
    assert 'name="form_token"' in html
    assert "9 can be given today" in html
    ids = _ids(app, tesco)
    assert f'value="{ids["TES0004"]}"' in html
    filtered = _text(staff_client.get(f"/vouchers/issue?grant={other_grant}"))
    assert "COP0001" in filtered and "TES0001" not in filtered
    assert "2 can be given today" in filtered
    # An unknown grant in the address lists every grant's vouchers.
    assert "TES0001" in _text(staff_client.get("/vouchers/issue?grant=abc"))


def test_finance_cannot_issue(app, client, finance, buy, household):
    batch_id = buy()
    assert client.get("/vouchers/issue").status_code == 403
    response = client.post(
        "/vouchers/issue",
        data=_issue_form(household[1], vouchers=_ids(app, batch_id).values()),
    )
    assert response.status_code == 403
    assert count(app, Disbursement) == 0


def test_issuing_two_vouchers_to_a_household(app, staff_client, buy, household):
    batch_id = buy()
    ids = _ids(app, batch_id)
    household_id, reference = household
    token = "issue-token-" + "a" * 24
    response = staff_client.post(
        "/vouchers/issue",
        data=_issue_form(
            reference.lower(), vouchers=[ids["TES0001"], ids["TES0003"]], token=token
        ),
    )
    assert response.status_code == 302, _text(response)[:3000]
    assert response.headers["Location"] == f"/vouchers/issue?issued={token}"
    with app.app_context():
        awards = db.session.scalars(
            select(Disbursement).order_by(Disbursement.id)
        ).all()
        assert [a.amount for a in awards] == [Decimal("20.00")] * 2
        assert {a.household_id for a in awards} == {household_id}
        assert {a.created_by_id for a in awards} == {staff_client.user_id}
        assert {a.awarded_on for a in awards} == {REAL_TODAY}
        assert [a.evidence_reference for a in awards] == [
            "Voucher TES0001",
            "Voucher TES0003",
        ]
        award_ids = [a.id for a in awards]
    assert _status(app, "TES0001") == _status(app, "TES0003") == VoucherStatus.ISSUED
    assert _status(app, "TES0002") == VoucherStatus.IN_STOCK
    done = _text(staff_client.get(response.headers["Location"]))
    assert f"2 vouchers issued to household {reference}" in done
    for award_id in award_ids:
        assert f'href="/awards/{award_id}"' in done
    assert f'href="/households/{household_id}"' in done
    # The list now offers only what is left.
    assert f'value="{ids["TES0001"]}"' not in done
    assert f'value="{ids["TES0002"]}"' in done


def test_issuing_by_typed_or_scanned_serials(app, staff_client, buy, household):
    buy()
    response = staff_client.post(
        "/vouchers/issue",
        data=_issue_form(household[1], serials="TES0004\r\ntes0005\r\n"),
    )
    assert response.status_code == 302, _text(response)[:3000]
    assert _status(app, "TES0004") == _status(app, "TES0005") == VoucherStatus.ISSUED
    assert count(app, Disbursement) == 2


def test_the_same_form_sent_twice_issues_once(app, staff_client, buy, household):
    batch_id = buy()
    ids = _ids(app, batch_id)
    data = _issue_form(household[1], vouchers=[ids["TES0001"], ids["TES0002"]])
    first = staff_client.post("/vouchers/issue", data=data)
    again = staff_client.post("/vouchers/issue", data=data)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Disbursement) == 2
    page = _text(staff_client.get(again.headers["Location"]))
    assert "Nothing has been issued twice" in page
    assert "2 vouchers issued to household" in page


def test_another_users_token_shows_nothing(
    app, staff_client, buy, household, create_user, login
):
    batch_id = buy()
    data = _issue_form(household[1], vouchers=[_ids(app, batch_id)["TES0001"]])
    location = staff_client.post("/vouchers/issue", data=data).headers["Location"]
    other = app.test_client()
    login(create_user(Role.STAFF), the_client=other)
    assert "issued to household" not in _text(other.get(location))


def _expire_now(app, batch_id):
    """Mark TES0005 expired directly (as if its batch had been expired on an earlier date)."""
    with app.app_context():
        db.session.execute(
            Voucher.__table__.update()
            .where(Voucher.batch_id == batch_id, Voucher.serial == "TES0005")
            .values(status=VoucherStatus.EXPIRED.value)
        )
        db.session.commit()


ISSUE_REFUSALS = [
    pytest.param(
        {"serials": "TES0099"},
        "serials",
        "No voucher has the serial number TES0099",
        id="unknown-serial",
    ),
    pytest.param(
        {"serials": "TES0001"},
        "serials",
        "TES0001 (Tesco) has already been issued",
        id="issued-serial",
    ),
    pytest.param(
        {"ticked": "TES0001"},
        "vouchers",
        "TES0001 (Tesco) has already been issued",
        id="issued-ticked",
    ),
    pytest.param(
        {"serials": "TES0004"},
        "serials",
        "TES0004 (Tesco) was returned to the supplier",
        id="returned",
    ),
    pytest.param(
        {"serials": "TES0005"}, "serials", "TES0005 (Tesco) has expired", id="expired"
    ),
    pytest.param(
        {"serials": "OLD0001", "awarded_on": ["2", "5", "2025"]},
        "serials",
        "OLD0001 (Asda) expired on 1 May 2025",
        id="given-after-expiry",
    ),
    pytest.param(
        {"serials": "TES0002\nTES0002"},
        "serials",
        "appear more than once",
        id="scanned-twice",
    ),
    pytest.param(
        {"serials": "TES0002!"}, "serials", "only letters, digits", id="bad-characters"
    ),
    pytest.param({}, "vouchers", "Tick at least one voucher", id="nothing-chosen"),
    pytest.param(
        {"ticked": "abc"}, "vouchers", "Choose vouchers from the list", id="bad-id"
    ),
    pytest.param({"ticked": "999999"}, "vouchers", "does not exist", id="unknown-id"),
    pytest.param(
        {"household": "H-NOPE99", "serials": "TES0002"},
        "household",
        "no household with the reference H-NOPE99",
        id="unknown-household",
    ),
    pytest.param(
        {"household": "YP-123", "serials": "TES0002"},
        "household",
        "like H-7K3Q9M",
        id="not-a-household",
    ),
    pytest.param(
        {"household": "", "serials": "TES0002"},
        "household",
        "Enter the household",
        id="no-household",
    ),
    pytest.param(
        {"awarded_on": _dmy(REAL_TODAY + timedelta(days=1)), "serials": "TES0002"},
        "awarded_on",
        "future",
        id="tomorrow",
    ),
    pytest.param(
        {"awarded_on": ["31", "4", "2025"], "serials": "TES0002"},
        "awarded_on",
        "real date",
        id="31-april",
    ),
    pytest.param(
        {"access_route": "cash", "serials": "TES0002"},
        "access_route",
        "Choose how they came",
        id="bad-route",
    ),
    pytest.param(
        {"form_token": "", "serials": "TES0002"},
        None,
        "The form had expired",
        id="no-token",
    ),
]


@pytest.mark.parametrize(("changes", "field", "words"), ISSUE_REFUSALS)
def test_a_voucher_that_cannot_be_issued_is_refused_by_name(
    app, staff_client, buy, household, create_grant, changes, field, words
):
    batch_id = buy()
    ids = _ids(app, batch_id)
    household_id, reference = household
    assert (
        staff_client.post(
            "/vouchers/issue", data=_issue_form(reference, vouchers=[ids["TES0001"]])
        ).status_code
        == 302
    )
    with app.app_context():
        return_vouchers(
            db.session.get(VoucherBatch, batch_id),
            ["TES0004"],
            actor=db.session.get(User, staff_client.user_id),
        )
        db.session.commit()
    _expire_now(app, batch_id)
    old_grant = create_grant("500.00", reference="OLD-1")
    with app.app_context():
        create_batch(
            BatchInput(
                grant_id=old_grant,
                supplier="Asda",
                item_type_id=db.session.get(VoucherBatch, batch_id).item_type_id,
                face_value=Decimal("10.00"),
                quantity=1,
                purchase_cost=Decimal("10.00"),
                purchased_on=IN_PERIOD,
                expires_on=date(2025, 5, 1),
            ),
            ["OLD0001"],
            actor=db.session.get(User, staff_client.user_id),
            today=TODAY,
        )
        db.session.commit()
    before = _snapshot(app)
    changes = dict(changes)
    ticked = changes.pop("ticked", None)
    vouchers = [ids.get(ticked, ticked)] if ticked else []
    data = _issue_form(reference, vouchers=vouchers, **changes)
    response = staff_client.post("/vouchers/issue", data=data)
    assert response.status_code == 422
    html = _text(response).replace("&#39;", "'")
    assert "There is a problem" in html
    assert words in html
    if field:
        assert f'href="#{field}' in html
    assert _snapshot(app) == before
    # What was typed is kept, so the clerk corrects only the mistake.
    if changes.get("serials"):
        assert changes["serials"].split("\n")[0] in html


# --- reconciliation and the redemption list ----------------------------------------------


def test_the_reconciliation_page_checks_the_identity_and_shows_what_is_left(
    app, client, finance, staff_client, buy, household, grant_id
):
    batch_id = buy(quantity=10)
    ids = _ids(app, batch_id)
    staff_client.post(
        "/vouchers/issue",
        data=_issue_form(household[1], vouchers=[ids["TES0001"], ids["TES0002"]]),
    )
    client.post(
        f"/vouchers/batches/{batch_id}/return",
        data={"serials": "TES0010", "reason": "Torn"},
    )
    response = client.get(f"/vouchers/reconciliation/{grant_id}")
    assert response.status_code == 200
    html = _text(response)
    assert "10 bought = 2 issued + 7 in stock + 1 returned + 0 expired" in html
    assert "£200.00 = £40.00 + £140.00 + £20.00 + £0.00" in html
    assert "Balances" in html
    # total 1,000 − spent 40 − stock 140 = 820 available to award
    assert re.search(r"Held in unissued vouchers\s*</dt>\s*<dd[^>]*>\s*£140.00", html)
    assert re.search(r"Available to award\s*</dt>\s*<dd[^>]*>\s*<strong>£820.00", html)
    assert "TES0001" in html and household[1] in html
    assert f"/vouchers/reconciliation/{grant_id}/issued.csv" in html
    assert "Jo Bloggs" not in html


def test_a_long_issued_list_shows_the_first_serials_and_says_the_csv_has_all(
    app, client, finance, staff_client, buy, household, grant_id, monkeypatch
):
    from funds.vouchers import queries

    monkeypatch.setattr(queries, "ISSUED_SHOWN", 2)
    batch_id = buy(quantity=10)
    ids = _ids(app, batch_id)
    staff_client.post(
        "/vouchers/issue",
        data=_issue_form(
            household[1], vouchers=[ids["TES0001"], ids["TES0002"], ids["TES0003"]]
        ),
    )
    html = _text(client.get(f"/vouchers/reconciliation/{grant_id}"))
    issued = html[html.index('id="issued"') :]
    assert "TES0001" in issued and "TES0002" in issued
    assert "TES0003" not in issued
    assert (
        "The first 2 of 3 vouchers issued, by supplier and serial, are listed." in html
    )
    csv_text = client.get(f"/vouchers/reconciliation/{grant_id}/issued.csv").get_data(
        as_text=True
    )
    assert all(serial in csv_text for serial in ("TES0001", "TES0002", "TES0003"))


def test_the_issued_list_downloads_as_a_formula_safe_csv(
    app, client, finance, staff_client, grant_id, food, household
):
    hostile = ['=HYPERLINK("http://x")', "@SUM(A1)"]
    for number, supplier in enumerate(hostile):
        response = client.post(
            "/vouchers/batches/new",
            data=_batch_form(
                grant_id,
                food,
                supplier=supplier,
                quantity="1",
                first_serial=f"X{number}1",
                last_serial=f"X{number}1",
            ),
        )
        assert response.status_code == 302, _text(response)[:2000]
    with app.app_context():
        ids = list(db.session.scalars(select(Voucher.id).order_by(Voucher.id)))
    assert (
        staff_client.post(
            "/vouchers/issue", data=_issue_form(household[1], vouchers=ids)
        ).status_code
        == 302
    )
    response = client.get(f"/vouchers/reconciliation/{grant_id}/issued.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="vouchers-issued-[A-Za-z0-9._-]+-\d{4}-\d{2}-\d{2}\.csv"',
        disposition,
    ), disposition
    assert "no-store" in response.headers["Cache-Control"]
    body = response.get_data(as_text=True).lstrip("\ufeff")
    lines = body.split("\r\n")
    assert (
        lines[0]
        == '"Serial","Supplier","Household reference","Date issued","Face value"'
    )
    assert all(line.startswith('"') for line in lines if line)  # every field quoted
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 3
    with app.app_context():  # the whole list of who had which voucher is on record
        event = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert event.action == "list.download"
        assert event.after["list"] == "vouchers-issued"
        assert event.after["filters"]["grant"]
    suppliers = {row[1] for row in rows[1:]}
    assert suppliers == {"'" + name for name in hostile}
    for row in rows[1:]:
        assert row[2] == household[1]
        assert row[3] == REAL_TODAY.strftime("%d/%m/%Y")
        assert row[4] == "20.00"
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_a_grant_reference_never_breaks_the_download_name(
    app, client, finance, create_grant
):
    from funds.models import Grant

    grant = create_grant("100.00", reference="G-1")
    with app.app_context():
        # Whatever a reference holds, the header is built from safe characters only.
        db.session.get(Grant, grant).reference = 'Q1\r\nSet-Cookie: x=1/../"F"'
        db.session.commit()
    response = client.get(f"/vouchers/reconciliation/{grant}/issued.csv")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert "/" not in disposition and ".." not in disposition.split('"')[1].replace(
        ".csv", ""
    )
    assert "Set-Cookie" not in response.headers or "x=1" not in response.headers.get(
        "Set-Cookie", ""
    )
    assert re.fullmatch(
        r'attachment; filename="vouchers-issued-[A-Za-z0-9._-]+\.csv"', disposition
    )


def test_issuing_to_a_household_found_by_name(
    app, staff_client, buy, household, create_young_person
):
    buy()
    household_id, reference = household
    create_young_person(name="Jo Bloggsworth")  # a young person is not a household
    data = _issue_form("bloggs", serials="TES0004")
    asked = staff_client.post("/vouchers/issue", data=data)
    page = _text(asked)
    assert asked.status_code == 422
    assert "Choose which household “bloggs” is" in page
    assert re.findall(r'name="household_pick" type="radio" value="([^"]+)"', page) == [
        reference
    ]
    assert _status(app, "TES0004") == VoucherStatus.IN_STOCK
    data["household_pick"] = reference
    issued = staff_client.post("/vouchers/issue", data=data)
    assert issued.status_code == 302, _text(issued)[:2000]
    with app.app_context():
        award = db.session.scalars(select(Disbursement)).one()
        assert award.household_id == household_id
    assert _status(app, "TES0004") == VoucherStatus.ISSUED
