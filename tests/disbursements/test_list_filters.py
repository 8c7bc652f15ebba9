"""The awards list's filters, totals and download: each filter narrows the list and its
totals exactly as SQL written here says, hostile supplier names are plain text, and "not
yet paid" leaves out stock vouchers and reversed awards."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import select, text

from funds.extensions import db
from funds.models import (
    AccessRoute,
    AuditEvent,
    BudgetLine,
    DeliveryMethod,
    Disbursement,
    Household,
    ItemType,
    Role,
    User,
    Voucher,
)
from tests.conftest import TODAY

HOSTILE = ["50% Off_Shop", "A*?~B", "=cmd|' /C calc'!A0", "+SUM(A1)"]


def _user(role_name: str):
    return db.session.scalars(select(User).where(User.email == role_name)).one()


@pytest.fixture
def books(
    app,
    client,
    login,
    create_user,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_batch,
    item_id,
):
    """Two grants, a budget line, awards by two people to a household and a young person,
    with hostile suppliers; one paid, one reversed, one voucher given from stock."""
    from funds.disbursements.services import mark_paid, reverse_disbursement
    from funds.vouchers.services import issue_vouchers

    class Books:
        pass

    b = Books()
    b.finance = create_user(Role.FINANCE, email="fin@example.org", name="Fay Finance")
    b.clerk = create_user(Role.STAFF, email="clerk@example.org", name="Cal Clerk")
    b.g1 = create_grant("5000.00", reference="G1")
    b.g2 = create_grant("5000.00", reference="G2")
    b.household = create_household(name="Marta Kowalska")
    b.person = create_young_person(name="Jo Bloggs")
    add = create_disbursement
    b.tesco = add(b.g1, "10.00", supplier="Tesco", household_id=b.household)
    b.tesco_lower = add(
        b.g2, "11.00", supplier="TESCO", awarded_on=date(2024, 7, 1), actor_id=b.clerk
    )
    b.hostile = [
        add(b.g1, "12.00", supplier=name, awarded_on=date(2024, 8, day))
        for day, name in enumerate(HOSTILE, start=1)
    ]
    b.lookalike = add(b.g1, "13.00", supplier="50X Off-Shop")
    b.fridge = add(
        b.g1,
        "250.00",
        item="Fridge",
        supplier="Currys",
        delivery_method=DeliveryMethod.DIRECT_PURCHASE,
        young_person_id=b.person,
        awarded_on=date(2024, 5, 2),
    )
    b.fridge_g2 = add(
        b.g2, "240.00", item="Fridge", delivery_method=DeliveryMethod.DIRECT_PURCHASE
    )
    b.paid = add(b.g2, "20.00", supplier="Asda", awarded_on=date(2024, 4, 10))
    b.reversed = add(b.g2, "30.00", supplier="Asda", awarded_on=date(2024, 4, 11))
    batch = create_batch(b.g1, quantity=2, face_value="20.00")
    with app.app_context():
        finance = db.session.get(User, b.finance)
        mark_paid(
            db.session.get(Disbursement, b.paid),
            actor=finance,
            paid_on=date(2024, 4, 20),
            payment_reference="BACS-9",
            today=TODAY,
        )
        reversal = reverse_disbursement(
            db.session.get(Disbursement, b.reversed),
            actor=finance,
            reason="Entered twice",
            reversed_on=date(2024, 4, 12),
            today=TODAY,
        )
        b.reversal = reversal.id
        voucher = db.session.scalars(
            select(Voucher.id).where(Voucher.batch_id == batch).order_by(Voucher.id)
        ).first()
        (issued,) = issue_vouchers(
            [voucher],
            actor=finance if False else db.session.get(User, b.clerk),
            household_id=b.household,
            awarded_on=date(2024, 6, 5),
            access_route=AccessRoute.REFERRAL,
            today=TODAY,
        )
        b.stock_voucher = issued.id
        white_goods = db.session.scalar(
            select(ItemType.category_id).where(ItemType.name == "Fridge")
        )
        line = BudgetLine(
            grant_id=b.g1, category_id=white_goods, amount=Decimal("1000.00")
        )
        db.session.add(line)
        db.session.commit()
        b.budget_line = line.id
        b.white_goods = white_goods
        b.household_ref = db.session.get(Household, b.household).reference
    login(b.finance)
    return b


# --- what SQL written here says -------------------------------------------------------------

_UNPAID = """
    d.reverses_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = d.id)
    AND NOT EXISTS (SELECT 1 FROM disbursement_payments p WHERE p.disbursement_id = d.id)
    AND NOT EXISTS (SELECT 1 FROM vouchers v WHERE v.disbursement_id = d.id)
"""


def expected(app, where: str, **params) -> dict:
    """Ids, count of awards, net, unpaid count, unpaid value, oldest unpaid date."""
    with app.app_context():
        ids = set(
            db.session.scalars(
                text(f"SELECT d.id FROM disbursements d WHERE {where}"), params
            )
        )
        awards, net = db.session.execute(
            text(
                "SELECT COUNT(CASE WHEN d.reverses_id IS NULL THEN 1 END),"
                f" COALESCE(SUM(d.amount_pence), 0) FROM disbursements d WHERE {where}"
            ),
            params,
        ).one()
        unpaid, value, oldest = db.session.execute(
            text(
                "SELECT COUNT(*), COALESCE(SUM(d.amount_pence), 0), MIN(d.awarded_on)"
                f" FROM disbursements d WHERE ({where}) AND {_UNPAID}"
            ),
            params,
        ).one()
    return {
        "ids": ids,
        "awards": str(awards),
        "net": _pounds(net),
        "unpaid": str(unpaid),
        "unpaid_value": _pounds(value),
        "oldest": None if oldest is None else date.fromisoformat(str(oldest)[:10]),
    }


def _pounds(pence: int) -> str:
    pounds = Decimal(pence) / 100
    return f"{'-' if pounds < 0 else ''}£{abs(pounds):,.2f}"


def shown(client, query: str) -> dict:
    """What the list page and its CSV download say for ``query``."""
    response = client.get("/awards/" + query)
    assert response.status_code == 200, query
    page = response.get_data(as_text=True)

    def figure(name: str) -> str | None:
        match = re.search(rf'id="{name}">([^<]+)<', page)
        return match.group(1) if match else None

    oldest = figure("oldest-unpaid")
    return {
        "ids": download_ids(client, query),
        "awards": figure("total-awards").split()[0],
        "net": figure("total-net"),
        "unpaid": figure("total-unpaid"),
        "unpaid_value": figure("total-unpaid-value"),
        "oldest": None if oldest is None else date(*_day_month_year(oldest)),
    }


def _day_month_year(text_date: str) -> tuple[int, int, int]:
    from datetime import datetime

    day = datetime.strptime(text_date, "%d %b %Y")
    return day.year, day.month, day.day


def download_rows(client, query: str) -> list[dict]:
    response = client.get("/awards/download.csv" + query)
    assert response.status_code == 200, query
    body = response.get_data(as_text=True)
    return list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))


def download_ids(client, query: str) -> set[int]:
    return {int(row["Award"]) for row in download_rows(client, query)}


def test_each_filter_narrows_the_list_and_its_totals(app, client, books):
    cases = [
        ("", "1 = 1", {}),
        ("?payment_status=unpaid", _UNPAID, {}),
        (
            "?payment_status=paid",
            "EXISTS (SELECT 1 FROM disbursement_payments p WHERE p.disbursement_id = d.id)",
            {},
        ),
        ("?payment_status=reversal", "d.reverses_id IS NOT NULL", {}),
        (
            "?payment_status=reversed",
            "EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = d.id)",
            {},
        ),
        (
            "?payment_status=voucher-stock",
            "EXISTS (SELECT 1 FROM vouchers v WHERE v.disbursement_id = d.id)",
            {},
        ),
        ("?supplier=tesco", "d.supplier IN ('Tesco', 'TESCO')", {}),
        ("?supplier=%20TeSco%20", "d.supplier IN ('Tesco', 'TESCO')", {}),
        (
            "?delivery_method=direct-purchase",
            "d.delivery_method = 'direct-purchase'",
            {},
        ),
        (
            f"?budget_line={books.budget_line}",
            "d.grant_id = :g AND d.item_type_id IN"
            " (SELECT id FROM item_types WHERE category_id = :c)",
            {"g": books.g1, "c": books.white_goods},
        ),
        (
            f"?recorded_by={books.clerk}",
            "d.created_by_id = :u",
            {"u": books.clerk},
        ),
        (
            f"?grant={books.g2}&payment_status=unpaid"
            "&date_from=1&date_from=4&date_from=2024&date_to=30&date_to=6&date_to=2024",
            f"d.grant_id = :g AND d.awarded_on BETWEEN '2024-04-01' AND '2024-06-30'"
            f" AND {_UNPAID}",
            {"g": books.g2},
        ),
    ]
    for query, where, params in cases:
        want = expected(app, where, **params)
        assert want["ids"], query  # every case narrows to something
        assert shown(client, query) == want, query
    # Filters narrow: the whole list has more than any filtered one.
    assert len(expected(app, "1 = 1")["ids"]) == 13


def test_unpaid_leaves_out_stock_vouchers_reversed_awards_and_reversals(
    app, client, books
):
    ids = download_ids(client, "?payment_status=unpaid")
    assert books.stock_voucher not in ids
    assert books.reversed not in ids and books.reversal not in ids
    assert books.paid not in ids
    assert books.tesco in ids and books.fridge in ids
    statuses = {
        int(row["Award"]): row["Payment status"] for row in download_rows(client, "")
    }
    assert statuses[books.stock_voucher] == "Voucher from stock (paid with its batch)"
    assert statuses[books.reversed] == "Reversed"
    assert statuses[books.reversal] == "Reversal"
    assert statuses[books.paid] == "Paid"
    # The oldest unpaid date is the oldest award still to pay, not the paid one.
    page = client.get("/awards/").get_data(as_text=True)
    assert 'id="oldest-unpaid">2 May 2024<' in page


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_supplier_names_match_only_themselves(app, client, books, name):
    rows = download_rows(client, "?" + _encode({"supplier": name}))
    assert [int(row["Award"]) for row in rows] == [books.hostile[HOSTILE.index(name)]]
    # Written as text in the file: a leading = or + is defused.
    written = rows[0]["Supplier"]
    assert written.lstrip("'") == name
    if name[0] in "=+":
        assert written.startswith("'")


@pytest.mark.parametrize(
    "pattern", ["%", "_", "50% Off%", "50_ Off_Shop", "*", "?", "A%"]
)
def test_wildcards_are_ordinary_characters(client, books, pattern):
    assert download_ids(client, "?" + _encode({"supplier": pattern})) == set()


def _encode(params: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(params)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("?payment_status=owed", "payment_status"),
        ("?payment_status=UNPAID", "payment_status"),
        ("?delivery_method=pigeon", "delivery_method"),
        ("?budget_line=999999", "budget_line"),
        ("?budget_line=1e3", "budget_line"),
        ("?recorded_by=999999", "recorded_by"),
        ("?recorded_by=%D9%A3", "recorded_by"),
        ("?supplier=Tesco%00", "supplier"),
        ("?supplier=" + "x" * 121, "supplier"),
        ("?date_from=31&date_from=2&date_from=2024", "date_from"),
    ],
)
def test_bad_filter_values_are_field_errors_never_500(client, books, query, field):
    for path in ("/awards/", "/awards/download.csv", "/awards/download.xlsx"):
        response = client.get(path + query)
        page = response.get_data(as_text=True)
        response.close()
        assert response.status_code == 422, (path, query)
        assert re.search(rf'id="{field}-error"', page), (path, query)
    assert client.get("/payments/new" + query).status_code == 422


def test_the_download_is_every_page_of_exactly_the_filter(
    app, client, books, create_disbursement
):
    for day in range(1, 29):
        for _ in range(2):
            create_disbursement(books.g2, "1.00", awarded_on=date(2024, 9, day))
    query = f"?grant={books.g2}"
    page = client.get("/awards/" + query).get_data(as_text=True)
    assert 'rel="next"' in page  # more than one page on screen
    rows = download_rows(client, query)
    want = expected(app, "d.grant_id = :g", g=books.g2)
    assert {int(row["Award"]) for row in rows} == want["ids"]
    assert len(rows) == len(want["ids"]) > 50
    assert list(rows[0]) == [
        "Award",
        "Date",
        "Grant",
        "Category",
        "Item",
        "Supplier",
        "How it was given",
        "Beneficiary reference",
        "Amount",
        "Payment status",
        "Paid on",
        "Payment reference",
        "Recorded by",
    ]
    paid = next(row for row in rows if int(row["Award"]) == books.paid)
    assert (paid["Paid on"], paid["Payment reference"]) == ("2024-04-20", "BACS-9")
    assert sum(Decimal(row["Amount"]) for row in rows) == Decimal(
        want["net"].replace("£", "").replace(",", "")
    )
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "list.download")
        ).one()
        assert (event.after["list"], event.after["format"]) == ("awards", "csv")
        assert event.after["filters"] == {"grant": [str(books.g2)]}


@pytest.mark.parametrize("role", [Role.FINANCE, Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_the_download_has_references_never_names(
    app, client, books, login, create_user, role
):
    client.post("/logout")
    login(create_user(role))
    body = client.get("/awards/download.csv").get_data(as_text=True)
    assert books.household_ref in body
    assert "Kowalska" not in body and "Bloggs" not in body
    workbook = client.get("/awards/download.xlsx")
    data = workbook.data
    workbook.close()
    assert workbook.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    values = [cell.value for row in sheet.iter_rows() for cell in row]
    assert books.household_ref in values
    assert not any("Kowalska" in str(value) for value in values)
    headings = [cell.value for cell in sheet[1]]
    amounts = [
        row[headings.index("Amount")]
        for row in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert len(amounts) == len(expected(app, "1 = 1")["ids"])


def test_the_list_links_keep_the_filter(client, books):
    page = client.get("/awards/?supplier=Tesco&payment_status=unpaid").get_data(
        as_text=True
    )
    links = [html.unescape(link) for link in re.findall(r'href="([^"]+)"', page)]
    assert "/awards/download.csv?supplier=Tesco&payment_status=unpaid" in links
    assert "/awards/download.xlsx?supplier=Tesco&payment_status=unpaid" in links
    assert "/payments/new?supplier=Tesco&payment_status=unpaid" in links


_ROW = re.compile(
    r'<a class="govuk-link" href="/awards/(\d+)">.*?</a></td>\s*'
    r'<td class="govuk-table__cell">\s*(.*?)\s*</td>.*?'
    r'<td class="govuk-table__cell">\s*<strong class="govuk-tag[^"]*">([^<]+)</strong>',
    re.S,
)

_EACH_LINE = """
    SELECT d.id,
           COALESCE(h.reference, y.reference, '—'),
           CASE WHEN d.reverses_id IS NOT NULL THEN 'Reversal'
                WHEN EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = d.id)
                    THEN 'Reversed'
                WHEN EXISTS (SELECT 1 FROM disbursement_payments p
                             WHERE p.disbursement_id = d.id) THEN 'Paid'
                ELSE 'Not paid' END
    FROM disbursements d
    LEFT JOIN households h ON h.id = d.household_id
    LEFT JOIN young_people y ON y.id = d.young_person_id
    ORDER BY d.awarded_on DESC, d.id DESC
"""


def test_each_row_says_who_it_was_for_and_whether_it_was_paid_or_reversed(
    app, client, books
):
    """Newest first; the household, the young person or a dash; the tag from the SQL
    written here (a reversal, a reversed award, a paid one, the rest not paid)."""
    page = client.get("/awards/").get_data(as_text=True)
    shown = [
        (int(award), re.sub(r"<[^>]+>", "", who).strip(), tag)
        for award, who, tag in _ROW.findall(page)
    ]
    with app.app_context():
        expected = [tuple(row) for row in db.session.execute(text(_EACH_LINE))]
    assert shown == expected
    tags = {tag for _, _, tag in shown}
    assert tags == {"Reversal", "Reversed", "Paid", "Not paid"}
    assert {who for _, who, _ in shown} >= {books.household_ref, "—"}
