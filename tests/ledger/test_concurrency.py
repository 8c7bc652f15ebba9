"""Many clerks at once never overspend a ``block`` grant (DESIGN.md §4), on both engines.

Each clerk is a separate *process* (``spawn``: nothing is shared but the database) that
builds its own app, waits at a barrier so that all start together, and records £10 awards
through the real service, committing after each one as a view would.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from funds import create_app
from funds.extensions import db
from funds.models import AuditEvent, Disbursement, Role
from tests.conftest import IN_PERIOD, TEST_DATABASE_URL, TODAY, make_config

pytestmark = pytest.mark.slow

PROCESSES = 8
ATTEMPTS = 4
AWARD = Decimal("10.00")
TOTAL = Decimal("100.00")
FITS = int(TOTAL / AWARD)  # 10 awards fit in the grant
#: A process that is not at the barrier (or done) by then has hung: fail, do not wait forever.
TIMEOUT_SECONDS = 60


# --- what each process runs (module level, so that ``spawn`` can import it) ---------------


def _clerk(
    url: str,
    instance_path: str,
    number: int,
    job: dict,
    attempts: int,
    barrier,
    results,
) -> None:
    """Build an app, wait for the others, then try ``attempts`` awards; report the outcome."""
    from funds.disbursements.services import (
        AlreadyRecorded,
        AwardInput,
        Overspend,
        record_disbursement,
    )
    from funds.models import DeliveryMethod, User

    outcome = {
        "number": number,
        "accepted": 0,
        "refused": 0,
        "already": 0,
        "errors": [],
        "seconds": 0.0,
    }
    try:
        app = create_app(
            make_config(SQLALCHEMY_DATABASE_URI=url), instance_path=instance_path
        )
        with app.app_context():
            # Open the connection now (pragmas, WAL) so that the race starts at the barrier.
            db.session.get(User, job["actor_id"])
            db.session.rollback()
            barrier.wait(timeout=TIMEOUT_SECONDS)
            started = time.perf_counter()
            for attempt in range(attempts):
                try:
                    # As in a request: load the signed-in user, call the service, commit.
                    actor = db.session.get(User, job["actor_id"])
                    record_disbursement(
                        AwardInput(
                            grant_id=job["grant_id"],
                            item_type_id=job["item_type_id"],
                            amount=Decimal(job["amount"]),
                            awarded_on=job["awarded_on"],
                            delivery_method=DeliveryMethod.VOUCHER,
                            notes=f"process {number} attempt {attempt}",
                        ),
                        actor=actor,
                        today=job["today"],
                        idempotency_key=job.get("idempotency_key"),
                    )
                    db.session.commit()
                    outcome["accepted"] += 1
                except Overspend:
                    db.session.rollback()
                    outcome["refused"] += 1
                except AlreadyRecorded:
                    db.session.rollback()
                    outcome["already"] += 1
                except Exception as error:  # every other failure is counted
                    db.session.rollback()
                    outcome["errors"].append(f"{type(error).__name__}: {error}")
            outcome["seconds"] = time.perf_counter() - started
            db.session.remove()
            db.engine.dispose()
    except Exception as error:  # reported to the parent, never lost
        outcome["errors"].append(f"{type(error).__name__}: {error}")
    results.put(outcome)


def _race(url: str, instance_path: str, jobs: list[dict], attempts: int) -> list[dict]:
    """Run one clerk process per job, all released together; return their outcomes."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(jobs))
    results = context.Queue()
    processes = [
        context.Process(
            target=_clerk,
            args=(url, instance_path, number, job, attempts, barrier, results),
            daemon=True,
        )
        for number, job in enumerate(jobs)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [
            results.get(timeout=TIMEOUT_SECONDS * 2) for _ in range(len(processes))
        ]
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT_SECONDS)
            if process.is_alive():  # pragma: no cover - only when something hung
                process.kill()
    return sorted(outcomes, key=lambda outcome: outcome["number"])


# --- the databases ----------------------------------------------------------------------


def _postgres_server_url():
    if not TEST_DATABASE_URL.startswith("postgres"):
        return None
    return make_url(TEST_DATABASE_URL)


def _admin_connection(server_url):
    import psycopg

    libpq = server_url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    return psycopg.connect(libpq, autocommit=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """A database for this module only: a file SQLite one, or a new PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('race') / 'race.sqlite'}"
        return
    server = _postgres_server_url()
    if server is None:
        pytest.skip("FUNDS_TEST_DATABASE_URL is not a PostgreSQL URL")
    name = f"funds_race_{uuid.uuid4().hex[:12]}"
    with _admin_connection(server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection(server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def race_app(database_url, tmp_path_factory):
    """The app on the race database, with its schema, a manager, a staff clerk, a funder."""
    from funds.admin.services import create_user
    from funds.grants.services import create_funder
    from funds.models import ItemType
    from funds.taxonomy.defaults import ensure_default_taxonomy

    instance_path = str(tmp_path_factory.mktemp("instance"))
    app = create_app(
        make_config(SQLALCHEMY_DATABASE_URI=database_url), instance_path=instance_path
    )
    with app.app_context():
        db.create_all()
        manager, _ = create_user(
            actor=None,
            email="manager@example.org",
            name="Mina Manager",
            role=Role.MANAGER,
            password="plum-orbit-lantern-42",
        )
        clerk, _ = create_user(
            actor=manager,
            email="clerk@example.org",
            name="Cal Clerk",
            role=Role.STAFF,
            password="plum-orbit-lantern-42",
        )
        ensure_default_taxonomy()
        funder = create_funder(actor=manager, name="Race funder", categories=["Food"])
        item_type_id = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Food voucher")
        ).one()
        db.session.commit()
        app.config["RACE"] = {
            "manager_id": manager.id,
            "clerk_id": clerk.id,
            "funder_id": funder.id,
            "item_type_id": item_type_id,
            "instance_path": instance_path,
            "url": database_url,
        }
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def race_job(race_app) -> dict:
    """A new £100 block grant, and what each clerk process needs to spend it."""
    from funds.grants.services import create_grant
    from funds.models import User

    race = race_app.config["RACE"]
    with race_app.app_context():
        grant = create_grant(
            actor=db.session.get(User, race["manager_id"]),
            reference=f"RACE-{uuid.uuid4().hex[:8]}",
            title="A grant many clerks spend at once",
            funder_id=race["funder_id"],
            total=TOTAL,
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
            control="block",
        )
        db.session.commit()
        job = {
            "grant_id": grant.id,
            "item_type_id": race["item_type_id"],
            "actor_id": race["clerk_id"],
            "amount": str(AWARD),
            "awarded_on": IN_PERIOD,
            "today": TODAY,
        }
        db.session.remove()
        db.engine.dispose()
    return job


def _ledger_figures(app, grant_id: int) -> dict:
    """What reached the database for one grant: its ledger rows, spend and audit events."""
    with app.app_context():
        ids = set(
            db.session.scalars(
                select(Disbursement.id).where(Disbursement.grant_id == grant_id)
            )
        )
        spent = db.session.scalar(
            select(func.coalesce(func.sum(Disbursement.amount), 0)).where(
                Disbursement.grant_id == grant_id
            )
        )
        audited = list(
            db.session.scalars(
                select(AuditEvent.object_id).where(
                    AuditEvent.action == "disbursement.create",
                    AuditEvent.object_type == "disbursements",
                    AuditEvent.object_id.in_(
                        select(Disbursement.id).where(Disbursement.grant_id == grant_id)
                    ),
                )
            )
        )
        db.session.remove()
        db.engine.dispose()
    return {
        "ids": ids,
        "rows": len(ids),
        "spent": Decimal(spent),
        "audited": audited,
        "events": len(audited),
    }


def _report(label: str, outcomes: list[dict], seconds: float) -> dict:
    totals = {
        "accepted": sum(o["accepted"] for o in outcomes),
        "refused": sum(o["refused"] for o in outcomes),
        "already": sum(o["already"] for o in outcomes),
        "errors": [e for o in outcomes for e in o["errors"]],
    }
    print(
        f"\n{label}: accepted={totals['accepted']} refused={totals['refused']} "
        f"already-recorded={totals['already']} errors={len(totals['errors'])} "
        f"race={max(o['seconds'] for o in outcomes):.2f}s total={seconds:.2f}s"
    )
    return totals


def test_many_clerks_at_once_never_overspend_a_block_grant(race_app, race_job):
    race = race_app.config["RACE"]
    job = race_job
    started = time.perf_counter()
    outcomes = _race(race["url"], race["instance_path"], [job] * PROCESSES, ATTEMPTS)
    engine = make_url(race["url"]).get_backend_name()
    totals = _report(
        f"{engine}: {PROCESSES} processes x {ATTEMPTS} attempts of £{AWARD}",
        outcomes,
        time.perf_counter() - started,
    )

    locked = [e for e in totals["errors"] if "database is locked" in e]
    assert locked == []
    assert totals["errors"] == []
    assert totals["accepted"] == FITS
    assert totals["refused"] == PROCESSES * ATTEMPTS - FITS
    figures = _ledger_figures(race_app, job["grant_id"])
    assert figures["spent"] <= TOTAL  # overspend 0
    assert figures["spent"] == AWARD * FITS
    assert figures["rows"] == FITS
    assert figures["events"] == FITS
    assert set(figures["audited"]) == figures["ids"]


def test_one_form_token_sent_to_two_grants_at_once_is_recorded_once(race_app, race_job):
    """The token's unique index decides (two grants: no grant lock is shared): the
    second gets "already recorded", never a 500."""
    from funds.grants.services import create_grant
    from funds.models import User

    race = race_app.config["RACE"]
    with race_app.app_context():
        other = create_grant(
            actor=db.session.get(User, race["manager_id"]),
            reference=f"RACE-{uuid.uuid4().hex[:8]}",
            title="Another grant",
            funder_id=race["funder_id"],
            total=TOTAL,
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
            control="block",
        )
        db.session.commit()
        other_id = other.id
        db.session.remove()
        db.engine.dispose()
    key = uuid.uuid4().hex
    jobs = [
        {**race_job, "idempotency_key": key},
        {**race_job, "grant_id": other_id, "idempotency_key": key},
    ]
    outcomes = _race(race["url"], race["instance_path"], jobs, 1)
    totals = _report("one token, two grants, at once", outcomes, 0.0)
    assert totals["errors"] == []
    assert totals["accepted"] == 1 and totals["already"] == 1
    rows = _ledger_figures(race_app, race_job["grant_id"])["rows"]
    rows += _ledger_figures(race_app, other_id)["rows"]
    assert rows == 1


def test_the_same_form_sent_twice_at_once_is_recorded_once(race_app, race_job):
    race = race_app.config["RACE"]
    job = {**race_job, "idempotency_key": uuid.uuid4().hex}
    started = time.perf_counter()
    outcomes = _race(race["url"], race["instance_path"], [job, job], 1)
    engine = make_url(race["url"]).get_backend_name()
    totals = _report(
        f"{engine}: one form submitted by two processes at once",
        outcomes,
        time.perf_counter() - started,
    )

    assert totals["errors"] == []
    assert totals["accepted"] == 1
    assert totals["already"] == 1
    figures = _ledger_figures(race_app, job["grant_id"])
    assert figures["rows"] == 1
    assert figures["events"] == 1
    assert figures["spent"] == AWARD
