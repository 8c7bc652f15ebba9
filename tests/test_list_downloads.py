"""Every list downloads as CSV and as an Excel table: the rows the list's filter shows
(every page), formula-safe, names only for roles that may see them, and on record."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
import pandas
import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, Grant, GrantStatus, Role
from tests.conftest import REAL_TODAY, audit_actions

HOSTILE = ['=HYPERLINK("http://x")', "+1", "@SUM(1)", "-2+3"]


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    response.close()
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))


def _sheet(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:1000]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    data = response.get_data()
    response.close()  # the file it was sent from
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return workbook.worksheets[0], data


def _values(ws) -> list[tuple]:
    return [tuple(row) for row in ws.iter_rows(values_only=True)]


@pytest.fixture
def as_role(app, create_user, login):
    """A client signed in with the given role."""

    def _client(role: Role):
        the_client = app.test_client()
        login(create_user(role), the_client=the_client)
        return the_client

    return _client


def _last_download(app) -> AuditEvent:
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "list.download")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event is not None
        db.session.expunge(event)
        return event


# --- grants ---------------------------------------------------------------------------


@pytest.fixture
def grants(app, create_grant, create_disbursement, create_batch, create_household):
    """An open grant with awards and vouchers held; a closed one; a hostile title."""
    household = create_household()
    open_grant = create_grant("1000.00", reference="G-OPEN", title=HOSTILE[0])
    create_disbursement(open_grant, "120.50", household_id=household)
    create_disbursement(open_grant, "30.25", household_id=household)
    create_batch(open_grant, quantity=3, face_value="20.00")
    closed = create_grant("500.00", reference="G-SHUT", title="Closed one")
    create_disbursement(closed, "99.99", household_id=household)
    with app.app_context():
        db.session.get(Grant, closed).status = GrantStatus.CLOSED
        db.session.commit()
    return open_grant, closed


@pytest.mark.parametrize("show", [None, "all"])
def test_the_grants_download_is_the_list_with_its_totals(app, as_role, grants, show):
    from funds.grants.queries import grants_overview, overview_totals

    client = as_role(Role.FINANCE)
    query = "?show=all" if show else ""
    rows = _csv(client.get(f"/grants/download.csv{query}"))
    ws, _ = _sheet(client.get(f"/grants/download.xlsx{query}"))
    sheet = _values(ws)
    assert rows[0] == [
        "Reference",
        "Title",
        "Funder",
        "Team",
        "Total",
        "Spent",
        "Held in vouchers",
        "Available to award",
        "Not yet paid",
        "Start",
        "End",
        "Status",
    ]
    assert list(sheet[0]) == rows[0]
    with app.app_context():
        listed = grants_overview(include_closed=bool(show))
        totals = overview_totals(include_closed=bool(show))
        expected = [
            (
                row.grant.reference,
                row.spent,
                row.held,
                row.available,
                row.unpaid,
                row.grant.starts_on,
            )
            for row in listed
        ]
    assert [r[0] for r in rows[1:]] == [e[0] for e in expected]
    assert len(rows) - 1 == (2 if show else 1) == totals.grants
    for got, row, want in zip(rows[1:], sheet[1:], expected, strict=True):
        assert [Decimal(got[5]), Decimal(got[6]), Decimal(got[7]), Decimal(got[8])] == [
            *want[1:5]
        ]
        assert got[9] == want[5].isoformat()
        assert row[0] == want[0]
        assert Decimal(str(row[5])) == want[1]
        assert row[9].date() == want[5]
    assert sum(Decimal(r[5]) for r in rows[1:]) == totals.spent
    assert sum(Decimal(r[4]) for r in rows[1:]) == totals.total
    assert sum(Decimal(r[7]) for r in rows[1:]) == totals.available
    event = _last_download(app)
    assert event.after == {
        "list": "grants",
        "filters": {"show": "all"} if show else {},
        "format": "xlsx",
    }


def test_the_grants_page_links_its_downloads_with_its_filter(as_role, grants):
    client = as_role(Role.STAFF)
    html = client.get("/grants/?show=all").get_data(as_text=True)
    assert "/grants/download.csv?show=all" in html
    assert "/grants/download.xlsx?show=all" in html
    assert "Download Excel" in html


def test_text_that_looks_like_a_formula_stays_text(app, as_role, grants):
    client = as_role(Role.MANAGER)
    rows = _csv(client.get("/grants/download.csv"))
    assert rows[1][1] == "'" + HOSTILE[0]
    ws, data = _sheet(client.get("/grants/download.xlsx"))
    cell = ws.cell(row=2, column=2)
    assert cell.value == HOSTILE[0]
    assert cell.data_type == "s"
    assert cell.quotePrefix
    frame = pandas.read_excel(io.BytesIO(data), engine="openpyxl")
    assert frame["Title"].iloc[0] == HOSTILE[0]


def test_an_unknown_format_is_not_found_and_not_recorded(app, as_role, grants):
    client = as_role(Role.ADMIN)
    before = audit_actions(app).count("list.download")
    for url in (
        "/grants/download.pdf",
        "/grants/download.CSV",
        "/grants/download.",
        "/households/download.xls",
        "/admin/audit/download.json",
    ):
        assert client.get(url).status_code == 404, url
    assert audit_actions(app).count("list.download") == before


def test_signing_in_is_needed_to_download(client, grants):
    response = client.get("/grants/download.csv")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# --- households and young people ------------------------------------------------------


@pytest.fixture
def people(create_household, create_young_person):
    first = create_household(
        name=HOSTILE[2],
        contact="07700 900123",
        adults=2,
        children=3,
        has_children=True,
        has_pensioner=True,
        postcode_district="SO14",
        case_reference="CASE-1",
    )
    second = create_household(name="Jo Bloggs", contact="jo@example.org", adults=1)
    person = create_young_person(
        name=HOSTILE[1],
        contact="secret phone",
        date_of_birth=date(2010, 2, 3),
        household_id=first,
    )
    return first, second, person


def test_finance_downloads_households_without_names(app, as_role, people):
    client = as_role(Role.FINANCE)
    rows = _csv(client.get("/households/download.csv"))
    assert "Name" not in rows[0] and "Contact details" not in rows[0]
    assert len(rows) == 3
    text = "\n".join(",".join(row) for row in rows)
    for private in ("SUM(1)", "Jo Bloggs", "07700", "jo@example.org"):
        assert private not in text
    ws, data = _sheet(client.get("/households/download.xlsx"))
    everything = repr(_values(ws))
    assert "Jo Bloggs" not in everything and "SUM(1)" not in everything
    assert b"Jo Bloggs" not in data
    # Only the references (and facts) leave the app.
    with app.app_context():
        from funds.models import Household

        references = set(db.session.scalars(select(Household.reference)))
    assert {row[0] for row in rows[1:]} == references
    people_rows = _csv(client.get("/young-people/download.csv"))
    assert "Name" not in people_rows[0]
    assert "secret phone" not in repr(people_rows)
    assert "+1" not in repr(people_rows)


def test_finance_cannot_search_the_download_by_name(as_role, people):
    client = as_role(Role.FINANCE)
    rows = _csv(client.get("/households/download.csv?q=Bloggs"))
    assert rows[1:] == []


def test_staff_download_names_and_the_facts_the_list_shows(app, as_role, people):
    client = as_role(Role.STAFF)
    rows = _csv(client.get("/households/download.csv"))
    header = rows[0]
    assert header[:3] == ["Reference", "Name", "Contact details"]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows[1:]}
    first = by_name["'" + HOSTILE[2]]
    assert first["Contact details"] == "07700 900123"
    assert first["Adults"] == "2" and first["Children"] == "3"
    assert first["Has children"] == "Yes" and first["Has a pensioner"] == "Yes"
    assert first["Has a care leaver"] == "No"
    assert first["Postcode district"] == "SO14"
    assert first["Case reference"] == "CASE-1"
    ws, _ = _sheet(client.get("/households/download.xlsx"))
    names = {ws.cell(row=r, column=2).value for r in range(2, ws.max_row + 1)}
    assert HOSTILE[2] in names
    cell = next(
        ws.cell(row=r, column=2)
        for r in range(2, ws.max_row + 1)
        if ws.cell(row=r, column=2).value == HOSTILE[2]
    )
    assert cell.quotePrefix

    young = _csv(client.get("/young-people/download.csv"))
    record = dict(zip(young[0], young[1], strict=True))
    assert record["Name"] == "'+1"
    assert record["Contact details"] == "secret phone"
    today = REAL_TODAY
    assert record["Age"] == str(today.year - 2010 - ((today.month, today.day) < (2, 3)))
    assert record["Household"].startswith("H-")
    assert "Date of birth" not in young[0]


def test_a_search_narrows_the_download_and_is_recorded(app, as_role, people):
    client = as_role(Role.STAFF)
    # A name search posts (never in a URL), and its text is not kept in the audit trail.
    rows = _csv(client.post("/households/download.csv", data={"q": "bloggs"}))
    assert [row[1] for row in rows[1:]] == ["Jo Bloggs"]
    assert _last_download(app).after == {
        "list": "households",
        "filters": {"search": "posted (text not kept)"},
        "format": "csv",
    }
    page = client.post("/households", data={"q": "bloggs"}).get_data(as_text=True)
    assert 'formaction="/households/download.csv"' in page
    assert "download.csv?q=" not in page


def test_a_search_that_cannot_run_downloads_nothing(app, as_role, people):
    client = as_role(Role.STAFF)
    before = audit_actions(app).count("list.download")
    response = client.get("/households/download.csv?q=" + "x" * 101)
    assert response.status_code == 422
    assert audit_actions(app).count("list.download") == before


# --- voucher stock --------------------------------------------------------------------


def test_voucher_stock_downloads_each_batch_by_status(
    app, as_role, create_grant, create_batch
):
    from funds.models import Voucher, VoucherStatus
    from funds.vouchers.queries import reconciliation

    grant = create_grant("1000.00")
    first = create_batch(grant, quantity=5, face_value="10.00", supplier=HOSTILE[3])
    second = create_batch(
        grant,
        quantity=2,
        face_value="25.00",
        prefix="ARG",
        purchased_on=date(2024, 6, 1),
    )
    with app.app_context():
        vouchers = list(
            db.session.scalars(
                select(Voucher).where(Voucher.batch_id == first).order_by(Voucher.id)
            )
        )
        vouchers[0].status = VoucherStatus.RETURNED
        vouchers[1].status = VoucherStatus.EXPIRED
        db.session.commit()
    client = as_role(Role.STAFF)
    rows = _csv(client.get("/vouchers/batches/download.csv"))
    header = rows[0]
    records = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [int(r["Batch"]) for r in records] == [second, first]  # newest first
    with app.app_context():
        for record in records:
            check = reconciliation(batch_id=int(record["Batch"]))
            assert int(record["Quantity bought"]) == check.bought_count
            assert Decimal(record["Value bought"]) == check.bought_value
            for status, label in (
                (VoucherStatus.IN_STOCK, "In stock"),
                (VoucherStatus.ISSUED, "Issued"),
                (VoucherStatus.RETURNED, "Returned"),
                (VoucherStatus.EXPIRED, "Expired"),
            ):
                assert int(record[label]) == check.lines[status].count
                assert Decimal(record[f"{label} value"]) == check.lines[status].value
    assert records[1]["Supplier"] == "'" + HOSTILE[3]
    assert records[1]["In stock"] == "3" and records[1]["Returned value"] == "10.00"
    ws, _ = _sheet(client.get("/vouchers/batches/download.xlsx"))
    sheet = _values(ws)
    assert sheet[2][3] == HOSTILE[3]
    assert ws.cell(row=3, column=4).quotePrefix
    assert sheet[1][8] == 2 and Decimal(str(sheet[1][9])) == Decimal("50.00")
    assert "/vouchers/batches/download.xlsx" in client.get("/vouchers/").get_data(
        as_text=True
    )


# --- activity sessions ----------------------------------------------------------------


def test_activity_sessions_download_every_page(
    app, as_role, create_grant, create_session, create_young_person
):
    from funds.activities import queries

    grant = create_grant("5000.00")
    person = create_young_person()
    for day in range(1, 4):
        create_session(grant, "90.00", held_on=date(2024, 6, day), attendees=(person,))
    client = as_role(Role.FINANCE)
    original = queries.session_page

    rows = _csv(client.get("/activities/download.csv"))
    assert rows[0][:3] == ["Date", "Activity", "Grant"]
    assert [row[0] for row in rows[1:]] == ["2024-06-03", "2024-06-02", "2024-06-01"]
    with app.app_context():
        page = original(size=1)  # the page shows one; the download has every page
        assert len(page.rows) == 1 and page.next_cursor is not None
    for row in rows[1:]:
        assert row[3] == "1" and row[6] == "90.00" and row[7] == "90.00"
        assert row[8] == "No"
    ws, _ = _sheet(client.get("/activities/download.xlsx"))
    assert ws.max_row == 4
    assert ws.cell(row=2, column=1).value.date() == date(2024, 6, 3)
    assert sum(Decimal(row[6]) for row in rows[1:]) == Decimal("270.00")


def test_one_grants_sessions_download_from_its_programme(
    app, as_role, create_grant, create_session, create_young_person
):
    ours = create_grant("5000.00", reference="ACT-1")
    other = create_grant("5000.00", reference="ACT-2")
    person = create_young_person()
    for day in range(1, 4):
        create_session(ours, "90.00", held_on=date(2024, 6, day), attendees=(person,))
    create_session(other, "40.00", held_on=date(2024, 6, 9), attendees=(person,))
    client = as_role(Role.MANAGER)
    rows = _csv(client.get(f"/activities/download.csv?grant_id={ours}"))
    assert [row[2] for row in rows[1:]] == ["ACT-1"] * 3
    assert [row[3] for row in rows[1:]] == ["1"] * 3  # only this grant's registers
    assert sum(Decimal(row[6]) for row in rows[1:]) == Decimal("270.00")
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert event.action == "list.download"
        assert event.after["filters"] == {"grant": "ACT-1"}
    ws, _ = _sheet(client.get(f"/activities/download.xlsx?grant_id={ours}"))
    assert ws.max_row == 4
    period = "&date_from=2&date_from=6&date_from=2024&date_to=2&date_to=6&date_to=2024"
    rows = _csv(client.get(f"/activities/download.csv?grant_id={ours}{period}"))
    assert [row[0] for row in rows[1:]] == ["2024-06-02"]
    with app.app_context():
        event = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1)
        ).one()
        assert event.after["filters"] == {
            "grant": "ACT-1",
            "from": "2024-06-02",
            "to": "2024-06-02",
        }
    backwards = (
        "&date_from=3&date_from=6&date_from=2024&date_to=1&date_to=6&date_to=2024"
    )
    response = client.get(f"/activities/download.csv?grant_id={ours}{backwards}")
    assert response.status_code == 422
    for query in (
        "?grant_id=999999",
        "?grant_id=abc",
        "?grant_id=",
        "?grant_id=0",
        "?grant_id=99999999999999999999",
        "?grant_id=%EF%BC%91",  # a full-width one
        "?grant_id=%2B1",
        f"?grant_id=%20{ours}",
    ):
        response = client.get(f"/activities/download.csv{query}")
        assert response.status_code == 404, query


# --- the audit trail ------------------------------------------------------------------


def test_the_audit_trail_downloads_for_admins_only(
    app, as_role, create_grant, create_user, login
):
    create_grant("100.00", reference="G-AUD")
    for role in (Role.STAFF, Role.MANAGER, Role.FINANCE):
        client = as_role(role)
        for fmt in ("csv", "xlsx"):
            assert client.get(f"/admin/audit/download.{fmt}").status_code == 403
    admin = as_role(Role.ADMIN)
    everything = _csv(admin.get("/admin/audit/download.csv"))
    assert everything[0] == [
        "When (UTC)",
        "Who",
        "Action",
        "Record",
        "Summary",
        "From (IP address)",
    ]
    actions = [row[2] for row in everything[1:]]
    assert "grant.create" in actions and "user.create" in actions
    # Its own download is on record, newest first.
    assert actions[0] == "list.download"
    grants_only = _csv(admin.get("/admin/audit/download.csv?what=grants"))
    assert [row[2] for row in grants_only[1:]] == ["grant.create"]
    assert grants_only[1][3].startswith("grants #")
    assert "set up grant G-AUD" in grants_only[1][4]
    assert grants_only[1][1] == "Factory Manager"
    assert _last_download(app).after == {
        "list": "audit-trail",
        "filters": {"what": "grants"},
        "format": "csv",
    }
    ws, _ = _sheet(admin.get("/admin/audit/download.xlsx?what=grants"))
    assert ws.max_row == 2 and ws.cell(row=2, column=3).value == "grant.create"
    page = admin.get("/admin/audit?what=grants").get_data(as_text=True)
    assert "/admin/audit/download.csv?what=grants" in page
    bad = admin.get("/admin/audit/download.csv?what=nonsense")
    assert bad.status_code == 422


def test_the_audit_trail_describes_a_download(app, as_role, grants):
    admin = as_role(Role.ADMIN)
    admin.get("/grants/download.xlsx?show=all").close()
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "downloaded the grants list (show: all) as XLSX" in page


# --- the vouchers' issued list uses the same writer -----------------------------------


def test_the_issued_list_is_written_by_the_shared_writer(monkeypatch):
    from funds import downloads
    from funds.vouchers import views

    assert not hasattr(views, "spreadsheet_safe")
    assert views.audited_download is downloads.audited_download
