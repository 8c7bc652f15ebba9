"""Background jobs with the real worker (``flask --app app jobs worker``) in its own process:
the page never waits for the work, progress is shown while it runs, and a worker killed
mid-job leaves the job shown as failed and nothing half-written."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from funds.extensions import db
from funds.models import Disbursement, ImportProblem, ImportRun, Job, JobStatus, Role
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, count, worker_process
from tests.imports.conftest import post_file, xlsx

pytestmark = [pytest.mark.slow, pytest.mark.real_clock]
ROOT = Path(__file__).resolve().parents[1]
#: Long enough that a heartbeat delayed by a busy machine is not taken for a dead worker;
#: short enough that the killed worker's job is shown as failed within the test.
STALE = 10


@pytest.fixture
def app_config(tmp_path):
    config = {
        "JOBS_IMMEDIATE": False,
        "JOBS_DATABASE": str(tmp_path / "jobs.sqlite"),
        "JOB_STALE_SECONDS": STALE,
    }
    if not ON_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/jobs-app.sqlite"
    return config


@pytest.fixture
def worker(app, tmp_path):
    """Start the job worker for this app's database and queue; yields its process."""
    processes = []
    log = open(tmp_path / "worker.log", "ab")  # noqa: SIM115 - closed below

    def _start():
        process = worker_process(
            TEST_DATABASE_URL if ON_POSTGRES else app.config["SQLALCHEMY_DATABASE_URI"],
            app.config["JOBS_DATABASE"],
            log,
        )
        processes.append(process)
        return process

    yield _start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    log.close()


@pytest.fixture
def big_file(app, create_grant, item_id):
    """30,000 awards: long enough to watch, and to kill the worker half way."""
    item_id("Food voucher")
    create_grant("9999999.00", reference="BIG")
    rows = [
        [
            "Grant reference",
            "Item",
            "Amount",
            "Date given",
            "How it was given",
            "How they came to be helped",
        ]
    ]
    rows += [
        ["BIG", "Food voucher", "1.00", "03/06/2024", "Cash", "Not applicable"]
    ] * 30_000
    return xlsx(rows)


def _start_import(client, data) -> int:
    response = post_file(
        client, "/imports/", {"kind": "awards"}, data=data, filename="big.xlsx"
    )
    assert response.status_code == 302
    return int(response.location.rstrip("/").split("/")[-2])


def _post_columns(app, client, import_id) -> int:
    with app.app_context():
        mapping = db.session.get(ImportRun, import_id).mapping
    started = time.monotonic()
    response = client.post(
        f"/imports/{import_id}/columns",
        data={f"column_{key}": str(index) for key, index in mapping.items()},
    )
    # The request only queues the job: it answers at once, whatever the file's size.
    assert time.monotonic() - started < 5
    assert response.status_code == 302 and "/jobs/" in response.location
    return int(response.location.rsplit("/", 1)[1])


def _progress(client, job_id) -> dict:
    return client.get(f"/jobs/{job_id}/progress").get_json()


def _wait(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def manager(client, login, create_user):
    user = create_user(Role.MANAGER)
    login(user)
    return user


def test_the_worker_checks_and_imports_while_the_page_shows_progress(
    app, client, manager, worker, big_file
):
    import_id = _start_import(client, big_file)
    job_id = _post_columns(app, client, import_id)
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Working in the background" in page  # queued: nobody runs it yet
    worker()
    _wait(lambda: _progress(client, job_id)["state"] == "done")
    # Done: the job's page sends you to the import, which shows what checking found.
    done = client.get(f"/jobs/{job_id}")
    assert done.status_code == 302 and done.location == f"/imports/{import_id}"
    page = client.get(done.location).get_data(as_text=True)
    assert "Import 30,000 awards" in page
    response = client.post(f"/imports/{import_id}/import")
    job_id = int(response.location.rsplit("/", 1)[1])
    # Importing takes seconds and reports every few thousand rows: the page shows it
    # part way. (Checking can finish between two looks, so it is not watched.)
    seen = _wait(
        lambda: (
            (state := _progress(client, job_id))["state"] == "running"
            and 0 < state["done"] < state["total"]
            and state
        )
    )
    assert seen["total"] == 30_000 and seen["percent"] < 100
    _wait(lambda: _progress(client, job_id)["state"] == "done")
    assert count(app, Disbursement) == 30_000


def test_a_killed_worker_leaves_the_job_failed_and_nothing_written(
    app, client, manager, worker, big_file
):
    import_id = _start_import(client, big_file)
    check_job = _post_columns(app, client, import_id)
    process = worker()
    _wait(lambda: _progress(client, check_job)["state"] == "done")
    response = client.post(f"/imports/{import_id}/import")
    job_id = int(response.location.rsplit("/", 1)[1])
    _wait(lambda: (state := _progress(client, job_id))["done"] > 1000 and state)
    process.send_signal(signal.SIGKILL)  # mid-import: its transaction never commits
    process.wait(timeout=10)
    state = _wait(lambda: (s := _progress(client, job_id))["state"] == "failed" and s)
    assert "stopped before it finished" in state["error"]
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "This did not finish" in page and "Nothing was changed" in page
    assert count(app, Disbursement) == 0
    with app.app_context():
        run = db.session.get(ImportRun, import_id)
        assert run.status.value == "checked"  # not imported, and can be tried again
        assert db.session.get(Job, job_id).status == JobStatus.RUNNING
    assert count(app, ImportProblem) == 0
    # A new worker; the import is asked for again and goes in once.
    worker()
    again = client.post(f"/imports/{import_id}/import")
    assert again.status_code == 302
    job_id = int(again.location.rsplit("/", 1)[1])
    _wait(lambda: _progress(client, job_id)["state"] == "done")
    assert count(app, Disbursement) == 30_000
