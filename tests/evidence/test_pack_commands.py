"""The evidence pack from the grant's page, in the background, and from the command line."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from funds.evidence.pack import build_pack
from funds.extensions import db
from funds.models import AuditEvent, EvidenceKind, Grant, Job, JobStatus, Role
from funds.money import from_pence
from tests.conftest import audit_actions
from tests.evidence.pack_helpers import Pack, add_file, pounds, sha256

FORM = {
    "pack-date_from": ["1", "4", "2024"],
    "pack-date_to": ["31", "3", "2025"],
    "pack-template": "",
}


@pytest.fixture
def grant(app, create_grant, create_disbursement, create_household, create_user):
    grant_id = create_grant("3000.00", reference="C4C-HSF4")
    household = create_household()
    line = create_disbursement(grant_id, "19.99", household_id=household)
    uploader = create_user(Role.STAFF, name="Sam Staff")
    with app.app_context():
        add_file(grant_id, EvidenceKind.AWARD, uploader_id=uploader, record_id=line)
    return grant_id


@pytest.fixture
def manager(create_user, login):
    user = create_user(Role.MANAGER, name="Mina Manager")
    login(user)
    return user


def _pack_events(app) -> list[dict]:
    with app.app_context():
        return [
            event.after
            for event in db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == "evidence.pack")
            )
        ]


def test_the_grant_page_offers_the_pack_with_the_grant_period(
    app, client, grant, manager
):
    page = client.get(f"/grants/{grant}").get_data(as_text=True)
    assert "Download evidence pack" in page
    # the period defaults to the grant's: 1 April 2024 to 31 March 2025
    for box, value in (
        ("pack-date_from-day", "01"),
        ("pack-date_from-month", "04"),
        ("pack-date_from-year", "2024"),
        ("pack-date_to-day", "31"),
        ("pack-date_to-month", "03"),
        ("pack-date_to-year", "2025"),
    ):
        assert re.search(rf'id="{box}"[^>]*value="{value}"', page), box
    assert f'action="/grants/{grant}/evidence-pack"' in page


def test_a_manager_downloads_a_small_pack_at_once(app, client, grant, manager):
    response = client.post(f"/grants/{grant}/evidence-pack", data=FORM)
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    disposition = response.headers["Content-Disposition"]
    name = re.search(r'filename="?([^";]+)', disposition).group(1)
    assert name == "evidence-pack-C4C-HSF4-2024-04-01-to-2025-03-31.zip"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name)
    assert response.headers["Cache-Control"] == "no-store"
    pack = Pack(response.get_data())
    response.close()  # the pack streams from a temporary file, closed with the response
    row = pack.rows("Evidence files")[0]
    assert row["SHA-256"] == sha256(pack.read(row["File in the pack"]))
    assert _pack_events(app) == [
        {
            "grant": "C4C-HSF4",
            "from": "2024-04-01",
            "to": "2025-03-31",
            "lines": 1,
            "files": 1,
            "not_included": 0,
            "funder_return": None,
        }
    ]


def test_a_hostile_reference_gives_a_safe_filename(app, client, grant, manager):
    with app.app_context():
        db.session.get(Grant, grant).reference = 'G "x"/../\\ y'
        db.session.commit()
    response = client.post(f"/grants/{grant}/evidence-pack", data=FORM)
    response.close()
    assert response.status_code == 200
    name = re.search(r'filename="?([^";]+)', response.headers["Content-Disposition"])
    assert re.fullmatch(r"[A-Za-z0-9._-]+", name.group(1)), name.group(1)
    assert name.group(1) == "evidence-pack-G-x-y-2024-04-01-to-2025-03-31.zip"


@pytest.mark.parametrize(
    "changes, field, message",
    [
        (
            {"pack-date_to": ["1", "4", "2023"]},
            "pack-date_to",
            "The end of the period must be on or after its start",
        ),
        ({"pack-date_from": ["31", "2", "2024"]}, "pack-date_from", "real date"),
        ({"pack-date_from": ["1", "4", "20245"]}, "pack-date_from", ""),
        ({"pack-date_from": ["x", "y", "z"]}, "pack-date_from", ""),
        ({"pack-date_from": ["", "", ""]}, "pack-date_from", "Enter the first day"),
        (
            {"pack-date_from": ["1", "1", "2030"], "pack-date_to": ["1", "2", "2030"]},
            "pack-date_from",
            "must overlap the grant",
        ),
        ({"pack-template": "no-such-return"}, "pack-template", ""),
    ],
)
def test_bad_dates_are_refused_on_the_field_and_nothing_is_written(
    app, client, grant, manager, changes, field, message
):
    before = audit_actions(app)
    response = client.post(f"/grants/{grant}/evidence-pack", data={**FORM, **changes})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "There is a problem" in page
    assert f'href="#{field}' in page
    assert message in page
    assert audit_actions(app) == before


def test_staff_cannot_build_a_pack(app, client, grant, create_user, login):
    login(create_user(Role.STAFF))
    assert client.post(f"/grants/{grant}/evidence-pack", data=FORM).status_code == 403
    assert "Download evidence pack" not in client.get(f"/grants/{grant}").get_data(
        as_text=True
    )


@pytest.mark.parametrize("app_config", [{"EVIDENCE_PACK_MAX_LINES": 0}])
def test_a_large_pack_is_built_by_the_job_worker(
    app, client, grant, manager, create_user, login
):
    response = client.post(f"/grants/{grant}/evidence-pack", data=FORM)
    assert response.status_code == 302
    job_url = response.headers["Location"]
    assert re.fullmatch(r"/jobs/[0-9]+", job_url)
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert job.kind == "evidence.pack" and job.status == JobStatus.DONE, job.error
        result_url = job.result_url
    assert client.get(job_url).headers["Location"] == result_url
    download = client.get(result_url)
    assert download.status_code == 200 and download.mimetype == "application/zip"
    assert (
        "evidence-pack-C4C-HSF4-2024-04-01-to-2025-03-31.zip"
        in (download.headers["Content-Disposition"])
    )
    pack = Pack(download.get_data())
    download.close()
    assert len(pack.rows("Ledger lines")) == 1
    assert [event["files"] for event in _pack_events(app)] == [1]
    # someone else's pack does not exist for another manager
    other = app.test_client()
    login(create_user(Role.MANAGER), the_client=other)
    assert other.get(result_url).status_code == 404


@pytest.mark.parametrize("app_config", [{"EVIDENCE_PACK_MAX_BYTES": 10}])
def test_a_pack_with_many_bytes_of_files_goes_to_the_worker(
    app, client, grant, manager
):
    response = client.post(f"/grants/{grant}/evidence-pack", data=FORM)
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]


# --- the command line ---------------------------------------------------------------------


def _invoke(runner, *args):
    return runner.invoke(args=["evidence", "pack", *args])


def test_the_command_writes_the_pack_and_is_audited(app, runner, grant, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "pack.zip"
    result = _invoke(
        runner,
        "--grant",
        "C4C-HSF4",
        "--from",
        "2024-04-01",
        "--to",
        "2025-03-31",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert "1 ledger lines, 1 evidence files" in result.output
    pack = Pack(out.read_bytes())
    assert pack.rows("Ledger lines")[0]["Ledger id"]
    assert _pack_events(app)[0]["lines"] == 1
    assert list(folder.iterdir()) == [out]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--grant", "NOPE"], "No grant with the reference 'NOPE'"),
        (["--from", "2024-02-30"], "is not a date"),
        (["--to", "tomorrow"], "is not a date"),
        (["--from", "2025-04-01", "--to", "2024-04-01"], "on or after its start"),
        (["--from", "0001-01-01"], "Enter a year between"),
        (["--out", "{missing}/pack.zip"], "Cannot write"),
    ],
)
def test_the_command_refuses_bad_input_leaving_no_file(
    app, runner, grant, tmp_path, args, message
):
    folder = tmp_path / "out"
    folder.mkdir()
    values = {
        "--grant": "C4C-HSF4",
        "--from": "2024-04-01",
        "--to": "2025-03-31",
        "--out": str(folder / "pack.zip"),
    }
    for key, value in zip(args[::2], args[1::2], strict=True):
        values[key] = value.format(missing=folder / "no-such-folder")
    result = _invoke(runner, *[item for pair in values.items() for item in pair])
    assert result.exit_code != 0
    assert message in result.stderr
    assert list(folder.iterdir()) == []
    assert _pack_events(app) == []


# --- money summed -------------------------------------------------------------------------


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pence=st.lists(st.integers(min_value=1, max_value=99_999), max_size=8))
def test_the_pack_total_is_the_exact_sum_of_the_lines(
    app, create_grant, create_disbursement, pence
):
    grant_id = create_grant("10000.00")
    for amount in pence:
        create_disbursement(grant_id, str(from_pence(amount)), item="Fridge")
    with app.app_context():
        target = io.BytesIO()
        built = build_pack(
            db.session.get(Grant, grant_id),
            date(2024, 4, 1),
            date(2025, 3, 31),
            target,
            prepared_by="Test",
        )
        db.session.rollback()
    expected = from_pence(sum(pence))
    assert built.total == expected
    pack = Pack(target.getvalue())
    rows = pack.rows("Ledger lines")
    assert sum((pounds(r["Amount"]) for r in rows), Decimal("0.00")) == expected
    assert pounds(pack.summary()["Total of the ledger lines in the period"]) == expected


@pytest.mark.parametrize(
    ("app_config", "root"),
    [({}, ""), ({"APPLICATION_ROOT": "/funds"}, "/funds")],
)
def test_the_worker_builds_the_result_url_outside_any_request(
    app, grant, create_user, root
):
    from flask import has_request_context

    from funds.evidence.pack import build_in_background
    from funds.jobs import start
    from funds.models import User

    owner = create_user(Role.MANAGER, name="Mina Manager")
    with app.app_context():
        assert not has_request_context()
        job = build_in_background(
            db.session.get(Grant, grant),
            date(2024, 4, 1),
            date(2025, 3, 31),
            actor=db.session.get(User, owner),
            template=None,
        )
        job_id = job.id
        db.session.commit()
        start(job_id)
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.DONE, job.error
        assert job.result_url == f"{root}/grants/{grant}/evidence-pack/jobs/{job_id}"
