"""The returns pages: figures before download, the workbook, submission, history, unlocking."""

from __future__ import annotations

import io
import os
import re
import time
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from funds import job_files
from funds.extensions import db
from funds.models import AuditEvent, FunderReturn, Job, PeriodLock, Role
from tests.conftest import audit_actions, count

QUERY = "grant={grant}&template={template}&date_from=1&date_from=4&date_from=2023&date_to=31&date_to=3&date_to=2024"


@pytest.fixture
def manager(client, login, create_user):
    user_id = create_user(Role.MANAGER, name="Maria Manager")
    login(user_id)
    return user_id


def _rows(body: str, table_index: int) -> dict[str, list[str]]:
    """{row label: cell texts} of the n-th figures table on a page."""
    start = body.index(f'id="figures-{table_index}"')
    end = body.index("</table>", start)
    rows = {}
    for row in re.findall(
        r"<tr class=\"govuk-table__row funds-row--[a-z]+\">(.*?)</tr>",
        body[start:end],
        re.S,
    ):
        label = re.search(r"<th[^>]*>(.*?)</th>", row, re.S).group(1).strip()
        rows[label] = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return rows


def test_the_page_shows_the_sql_figures(client, hsf_year, manager):
    response = client.get(
        "/returns/prepare?" + QUERY.format(grant=hsf_year["grant"], template="hsf")
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    spend = _rows(body, 1)
    assert spend["Food"] == ["£150.00", "£0.00", "£0.00", "£0.00", "£150.00"]
    assert spend["Total"][-1] == "£520.50"
    assert spend["Check: all lines in the period"][-1] == "£520.50"
    assert _rows(body, 3)["Households (each counted once)"] == ["1", "1", "0", "1", "3"]
    assert "Download the workbook" in body and "Submit and lock the period" in body


def test_download_is_the_same_return(client, hsf_year, manager, build):
    query = QUERY.format(grant=hsf_year["grant"], template="hsf")
    response = client.get("/returns/download?" + query)
    assert response.status_code == 200
    assert (
        response.mimetype
        == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = response.headers["Content-Disposition"]
    assert "funder-return-C4C-HSF4-hsf-2023-04-01-to-2024-03-31.xlsx" in disposition
    assert response.headers["Cache-Control"] == "no-store"
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    checksum = next(
        r[1].value
        for r in book["Cover"].iter_rows()
        if r[0].value and "Checksum" in r[0].value
    )
    assert checksum == build(hsf_year["grant"], "hsf").checksum


@pytest.mark.parametrize(
    "query,message",
    [
        ("grant=&template=hsf", "Choose a grant"),
        (
            "grant={grant}&template=nonsense&date_from=1&date_from=4&date_from=2023&date_to=31&date_to=3&date_to=2024",
            "Not a valid choice",
        ),
        ("grant=abc&template=hsf", "Not a valid choice"),
        (
            "grant={grant}&template=hsf&date_from=30&date_from=2&date_from=2024&date_to=31&date_to=3&date_to=2024",
            "Enter a real date",
        ),
        (
            "grant={grant}&template=hsf&date_from=1&date_from=4&date_from=2024&date_to=1&date_to=3&date_to=2024",
            "on or after its start",
        ),
        (
            "grant={grant}&template=hsf&date_from=1&date_from=1&date_from=1&date_to=31&date_to=3&date_to=2024",
            "in numbers",
        ),
        (
            "grant={grant}&template=hsf&date_from=1&date_from=1&date_from=2020&date_to=31&date_to=3&date_to=2024",
            "within the grant",
        ),
    ],
)
def test_bad_choices_get_field_errors(client, hsf_year, manager, query, message):
    response = client.get("/returns/prepare?" + query.format(grant=hsf_year["grant"]))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (
        client.get(
            "/returns/download?" + query.format(grant=hsf_year["grant"])
        ).status_code
        == 400
    )


def _submit(client, grant_id, template="hsf", **signoff):
    return client.post(
        "/returns/submit",
        data={
            "grant": grant_id,
            "template": template,
            "date_from": ["1", "4", "2023"],
            "date_to": ["31", "3", "2024"],
            **signoff,
        },
    )


def test_submitting_asks_first_and_says_what_will_be_locked(
    app, client, hsf_year, manager
):
    page = client.get(
        "/returns/submit?" + QUERY.format(grant=hsf_year["grant"], template="hsf")
    )
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "locks 1 April 2023 to 31 March 2024 of C4C-HSF4" in body
    assert "Section 151 officer or chief finance officer" in body
    assert count(app, FunderReturn) == 0 and count(app, PeriodLock) == 0


def test_the_sign_off_is_kept_and_written_on_the_workbook(
    app, client, hsf_year, manager
):
    response = _submit(
        client,
        hsf_year["grant"],
        **{
            "signatory_2-name": "Sam Officer",
            "signatory_2-role": "Chief Finance Officer",
            "signatory_2-email": "sam@council.example",
            "signatory_2-signature": "Sam Officer",
            "contact-name": "Pat Contact",
            "contact-email": "pat@charity.example",
            "contact-phone": "01234 567890",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        submitted = db.session.scalars(select(FunderReturn)).one()
        officer = submitted.signoff["signatories"][2]
        assert officer["name"] == "Sam Officer"
        assert officer["signatory"] == "Section 151 officer or chief finance officer"
        assert submitted.signoff["contact"]["email"] == "pat@charity.example"
        workbook = submitted.workbook
    sheet = openpyxl.load_workbook(io.BytesIO(workbook))["Governance"]
    values = [c.value for row in sheet.iter_rows() for c in row if c.value]
    assert "Sam Officer" in values and "sam@council.example" in values
    assert "Pat Contact" in values


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("signatory_0-email", "not-an-email", "email address"),
        ("signatory_0-signature", "Someone", "name of the person signing"),
        ("contact-name", "Pat\ufffe", "special characters"),
    ],
)
def test_a_bad_sign_off_is_refused_and_nothing_is_locked(
    app, client, hsf_year, manager, field, value, message
):
    response = _submit(client, hsf_year["grant"], **{field: value})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app, FunderReturn) == 0 and count(app, PeriodLock) == 0


def test_submit_stores_the_workbook_and_locks_the_period(
    app, client, hsf_year, manager, build
):
    expected = build(hsf_year["grant"], "hsf").checksum
    response = _submit(client, hsf_year["grant"])
    assert response.status_code == 302
    with app.app_context():
        submitted = db.session.scalars(select(FunderReturn)).one()
        assert submitted.checksum == expected
        assert submitted.definition_key == "hsf" and submitted.definition_version == 1
        assert submitted.definition["title"] == "Household Support Fund"
        spend = submitted.figures["tables"][0]
        assert spend["rows"][-3][-1] == "520.50"  # the Total row's grand total
        assert submitted.workbook[:2] == b"PK"
        lock = db.session.scalars(select(PeriodLock)).one()
        assert (lock.starts_on, lock.ends_on, lock.active) == (
            date(2023, 4, 1),
            date(2024, 3, 31),
            True,
        )
        return_id = submitted.id
    assert {"funder_return.submit", "period.lock"} <= set(audit_actions(app))
    page = client.get(f"/returns/{return_id}").get_data(as_text=True)
    assert "exactly the same figures" in page
    # The figures as submitted, formatted as on the prepare page (money with £).
    assert _rows(page, 1)["Total"][-1] == "£520.50"
    assert "520.50<" not in page.replace("£520.50<", "")
    stored = client.get(f"/returns/{return_id}/workbook.xlsx")
    assert stored.status_code == 200 and stored.data[:2] == b"PK"
    # A second submission over a locked period is refused and writes nothing.
    again = _submit(client, hsf_year["grant"])
    assert again.status_code == 409 and "already locked" in again.get_data(as_text=True)
    assert count(app, FunderReturn) == 1


def test_unlock_needs_a_reason_and_is_audited(app, client, hsf_year, manager):
    _submit(client, hsf_year["grant"])
    with app.app_context():
        lock_id = db.session.scalars(select(PeriodLock.id)).one()
    refused = client.post(f"/returns/locks/{lock_id}/unlock", data={"reason": ""})
    assert refused.status_code == 422 and "Say why" in refused.get_data(as_text=True)
    ok = client.post(
        f"/returns/locks/{lock_id}/unlock", data={"reason": "Late receipt for March"}
    )
    assert ok.status_code == 302
    with app.app_context():
        lock = db.session.get(PeriodLock, lock_id)
        assert not lock.active and lock.unlock_reason == "Late receipt for March"
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "period.unlock")
        ).one()
        assert event.after["reason"] == "Late receipt for March"


def test_after_an_unlock_the_page_names_the_later_entries(
    app, client, hsf_year, manager, create_disbursement
):
    _submit(client, hsf_year["grant"])
    with app.app_context():
        lock_id = db.session.scalars(select(PeriodLock.id)).one()
        return_id = db.session.scalars(select(FunderReturn.id)).one()
    client.post(f"/returns/locks/{lock_id}/unlock", data={"reason": "Correction"})
    late = create_disbursement(
        hsf_year["grant"],
        "12.34",
        household_id=hsf_year["households"][2],
        awarded_on=date(2023, 12, 1),
    )
    body = client.get(f"/returns/{return_id}").get_data(as_text=True)
    assert "the figures differ" in body
    assert f"#{late} award" in body and "£12.34" in body


@pytest.mark.parametrize("role,status", [(Role.STAFF, 403), (Role.FINANCE, 200)])
def test_finance_reads_returns_but_staff_do_not(
    app, client, login, create_user, hsf_year, role, status
):
    login(create_user(role))
    assert (
        client.get(
            "/returns/prepare?" + QUERY.format(grant=hsf_year["grant"], template="hsf")
        ).status_code
        == status
    )
    if role == Role.STAFF:
        assert _submit(client, hsf_year["grant"]).status_code == 403
        assert count(app, FunderReturn) == 0


def test_finance_locks_a_period_by_submitting_but_a_manager_unlocks_it(
    app, client, login, create_user, hsf_year
):
    """DESIGN.md: finance locks periods once a return is submitted; undoing a lock needs
    a manager's reason."""
    login(create_user(Role.FINANCE))
    assert _submit(client, hsf_year["grant"]).status_code == 302
    with app.app_context():
        lock = db.session.scalars(select(PeriodLock)).one()
        assert lock.active
        lock_id = lock.id
    refused = client.post(f"/returns/locks/{lock_id}/unlock", data={"reason": "Oops"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(PeriodLock, lock_id).active


def test_cli_builds_a_return(app, runner, hsf_year, tmp_path):
    out = tmp_path / "return.xlsx"
    result = runner.invoke(
        args=[
            "return",
            "build",
            "--grant",
            "C4C-HSF4",
            "--template",
            "hsf",
            "--from",
            "2023-04-01",
            "--to",
            "2024-03-31",
            "--out",
            str(out),
        ]
    )
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["Cover", "Summary", "Governance", "Transactions"]
    bad = runner.invoke(
        args=[
            "return",
            "build",
            "--grant",
            "NOPE",
            "--template",
            "hsf",
            "--from",
            "2023-04-01",
            "--to",
            "2024-03-31",
            "--out",
            str(out),
        ]
    )
    assert bad.exit_code != 0 and "No grant" in bad.output


def test_returns_carry_the_details_and_offer_the_contact(client, manager, hsf_year):
    from tests.admin.test_organisation import DETAILS

    client.post("/admin/organisation", data=DETAILS)
    query = QUERY.format(grant=hsf_year["grant"], template="hsf")
    book = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/returns/download?{query}").data)
    )
    cover = {
        row[0].value: row[1].value
        for row in book["Cover"].iter_rows()
        if row[0].value and len(row) > 1
    }
    assert cover["Organisation"] == "Riverside Youth Trust"
    assert cover["Registered charity number"] == "1123456"
    assert cover["Address"] == "12 Quay Street, Southampton, SO14 2AB"
    confirm = client.get(f"/returns/submit?{query}").get_data(as_text=True)
    assert re.search(r'name="contact-name"[^>]*value="Priya Shah"', confirm)
    assert 'value="priya@riverside.example"' in confirm


def _job_id(job_url: str) -> int:
    """The job's id from its page's address (``/jobs/<id>``)."""
    return int(job_url.rsplit("/", 1)[1])


def test_a_large_return_is_built_in_the_background_and_downloaded_from_its_job(
    app, client, hsf_year, manager, build, monkeypatch
):
    from funds.models import JobStatus
    from funds.returns import views

    monkeypatch.setattr(views, "BACKGROUND_LINES", 3)
    query = QUERY.format(grant=hsf_year["grant"], template="hsf")
    page = client.get("/returns/prepare?" + query).get_data(as_text=True)
    assert "Build the workbook (.xlsx)" in page and "Download the workbook" not in page
    # The direct download no longer builds it while the browser waits.
    direct = client.get("/returns/download?" + query)
    assert direct.status_code == 302 and "/returns/prepare?" in direct.location
    started = client.post("/returns/build?" + query)
    assert started.status_code == 302 and "/jobs/" in started.location
    job_page = client.get(started.location).get_data(as_text=True)
    assert (
        "Download funder-return-C4C-HSF4-hsf-2023-04-01-to-2024-03-31.xlsx" in job_page
    )
    job_id = _job_id(started.location)
    workbook = client.get(f"/jobs/{job_id}/result")
    assert workbook.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(workbook.data))
    checksum = next(
        r[1].value
        for r in book["Cover"].iter_rows()
        if r[0].value and "Checksum" in r[0].value
    )
    assert checksum == build(hsf_year["grant"], "hsf").checksum
    assert workbook.headers["Cache-Control"] == "no-store"
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.DONE and job.kind == "return.build"
        # The workbook waits on disk, not in the database.
        assert job_files.result_path(job).read_bytes() == workbook.data
        assert job.result_data is None


@pytest.fixture
def built_in_background(app, client, hsf_year, manager, monkeypatch):
    """Builds the HSF return through the job worker: (the job's page, its file)."""
    from funds.returns import views

    monkeypatch.setattr(views, "BACKGROUND_LINES", 3)
    query = QUERY.format(grant=hsf_year["grant"], template="hsf")

    def build():
        job_url = client.post("/returns/build?" + query).location
        with app.app_context():
            job_id = _job_id(job_url)
            return job_url, job_files.result_path(db.session.get(Job, job_id))

    return build


def test_a_built_return_is_deleted_after_a_week_and_the_job_page_says_so(
    client, built_in_background
):
    first, path = built_in_background()
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(path, (eight_days_ago, eight_days_ago))
    second, _ = built_in_background()  # the next build sweeps
    assert not path.exists()
    page = client.get(first).get_data(as_text=True)
    assert "was kept for 7 days and has been deleted" in page
    assert "Download funder-return" not in page
    assert client.get(first + "/result").status_code == 404
    assert client.get(second + "/result").status_code == 200


def test_a_return_built_before_results_were_files_still_downloads(
    app, client, built_in_background
):
    job_url, path = built_in_background()
    with app.app_context():
        job = db.session.get(Job, _job_id(job_url))
        job.result_data = path.read_bytes()
        db.session.commit()
    kept = path.read_bytes()
    path.unlink()
    assert "Download funder-return" in client.get(job_url).get_data(as_text=True)
    assert client.get(job_url + "/result").data == kept


def test_someone_elses_job_is_not_found(
    app, client, hsf_year, manager, login, create_user, monkeypatch
):
    from funds.returns import views

    monkeypatch.setattr(views, "BACKGROUND_LINES", 3)
    query = QUERY.format(grant=hsf_year["grant"], template="hsf")
    job_url = client.post("/returns/build?" + query).location
    client.post("/logout")
    login(create_user(Role.FINANCE))
    assert client.get(job_url).status_code == 404
    assert client.get(job_url + "/result").status_code == 404
    assert client.get(job_url + "/progress").status_code == 404
