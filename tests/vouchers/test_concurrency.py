"""Two clerks issuing the same voucher at the same moment: exactly one wins, on both engines.

Each clerk is a separate *process* (``spawn``: nothing is shared but the database) with
its own app. Both wait at a barrier, then issue the same voucher to different households
through the real service and commit, as the issue page does. This is repeated for several
vouchers, one race each.
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
from funds.models import AuditEvent, Disbursement, Role, Voucher, VoucherStatus
from tests.conftest import IN_PERIOD, TEST_DATABASE_URL, TODAY, make_config

pytestmark = pytest.mark.slow

CLERKS = 2
RACES = 4
#: A process not at the barrier (or done) by then has hung: fail, do not wait forever.
TIMEOUT_SECONDS = 60


# --- what each process runs (module level, so that ``spawn`` can import it) ---------------


def _clerk(url: str, instance_path: str, number: int, job: dict, barrier, results):
    """Build an app, then for each voucher: wait for the other clerk and issue it."""
    from funds.errors import ValidationError
    from funds.models import AccessRoute, User
    from funds.vouchers.services import issue_vouchers

    outcome = {"number": number, "won": [], "refused": [], "errors": []}
    try:
        app = create_app(
            make_config(SQLALCHEMY_DATABASE_URI=url), instance_path=instance_path
        )
        with app.app_context():
            # Open the connection now (pragmas, WAL) so that the race starts at the barrier.
            db.session.get(User, job["actor_ids"][number])
            db.session.rollback()
            for voucher_id in job["voucher_ids"]:
                barrier.wait(timeout=TIMEOUT_SECONDS)
                try:
                    # As in a request: load the signed-in user, call the service, commit.
                    actor = db.session.get(User, job["actor_ids"][number])
                    issue_vouchers(
                        [voucher_id],
                        actor=actor,
                        household_id=job["household_ids"][number],
                        awarded_on=job["awarded_on"],
                        access_route=AccessRoute.REFERRAL,
                        today=job["today"],
                        idempotency_key=uuid.uuid4().hex,
                    )
                    db.session.commit()
                    outcome["won"].append(voucher_id)
                except ValidationError as error:
                    db.session.rollback()
                    outcome["refused"].append((voucher_id, error.field, error.message))
                except Exception as error:  # every other failure is counted
                    db.session.rollback()
                    outcome["errors"].append(f"{type(error).__name__}: {error}")
            db.session.remove()
            db.engine.dispose()
    except Exception as error:  # reported to the parent, never lost
        outcome["errors"].append(f"{type(error).__name__}: {error}")
    results.put(outcome)


def _race(url: str, instance_path: str, job: dict) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(CLERKS)
    results = context.Queue()
    processes = [
        context.Process(
            target=_clerk,
            args=(url, instance_path, number, job, barrier, results),
            daemon=True,
        )
        for number in range(CLERKS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=TIMEOUT_SECONDS * 3) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=TIMEOUT_SECONDS)
            if process.is_alive():  # pragma: no cover - only when something hung
                process.kill()
    return sorted(outcomes, key=lambda outcome: outcome["number"])


# --- the databases ----------------------------------------------------------------------


def _admin_connection(server_url):
    import psycopg

    libpq = server_url.set(drivername="postgresql").render_as_string(
        hide_password=False
    )
    return psycopg.connect(libpq, autocommit=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database for this test only: a file SQLite one, or a fresh PostgreSQL one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'voucher-race.sqlite'}"
        return
    if not TEST_DATABASE_URL.startswith("postgres"):
        pytest.skip("FUNDS_TEST_DATABASE_URL is not a PostgreSQL URL")
    server = make_url(TEST_DATABASE_URL)
    name = f"funds_voucher_race_{uuid.uuid4().hex[:12]}"
    with _admin_connection(server) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with _admin_connection(server) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def race_app(database_url, tmp_path):
    """The app on the race database: two staff clerks, two households, a batch of vouchers."""
    from funds.admin.services import create_user
    from funds.grants.services import create_funder, create_grant
    from funds.models import ItemType
    from funds.people.services import HouseholdInput, create_household
    from funds.taxonomy.defaults import ensure_default_taxonomy
    from funds.vouchers.serials import serials_from_range
    from funds.vouchers.services import BatchInput, create_batch

    app = create_app(
        make_config(SQLALCHEMY_DATABASE_URI=database_url),
        instance_path=str(tmp_path / "instance"),
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
        clerks = [
            create_user(
                actor=manager,
                email=f"clerk{n}@example.org",
                name=f"Clerk {n}",
                role=Role.STAFF,
                password="plum-orbit-lantern-42",
            )[0]
            for n in range(CLERKS)
        ]
        households = [
            create_household(HouseholdInput(adults=1), actor=manager)
            for _ in range(CLERKS)
        ]
        ensure_default_taxonomy()
        funder = create_funder(actor=manager, name="Race funder", categories=["Food"])
        grant = create_grant(
            actor=manager,
            reference="RACE-V",
            title="Vouchers two clerks issue at once",
            funder_id=funder.id,
            total=Decimal("500.00"),
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
            control="block",
        )
        food = db.session.scalars(
            select(ItemType.id).where(ItemType.name == "Food voucher")
        ).one()
        batch = create_batch(
            BatchInput(
                grant_id=grant.id,
                supplier="Tesco",
                item_type_id=food,
                face_value=Decimal("20.00"),
                quantity=RACES,
                purchase_cost=Decimal("20.00") * RACES,
                purchased_on=date(2024, 5, 1),
                expires_on=date(2025, 5, 1),
            ),
            serials_from_range("TES0001", f"TES{RACES:04d}"),
            actor=manager,
            today=TODAY,
        )
        db.session.commit()
        app.config["RACE_JOB"] = {
            "voucher_ids": [voucher.id for voucher in batch.vouchers],
            "actor_ids": [clerk.id for clerk in clerks],
            "household_ids": [household.id for household in households],
            "awarded_on": IN_PERIOD,
            "today": TODAY,
        }
        db.session.remove()
        db.engine.dispose()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_two_clerks_issuing_one_voucher_at_once_exactly_one_wins(
    race_app, database_url, tmp_path
):
    job = race_app.config["RACE_JOB"]
    started = time.perf_counter()
    outcomes = _race(database_url, str(tmp_path / "instance"), job)
    engine = make_url(database_url).get_backend_name()
    errors = [e for o in outcomes for e in o["errors"]]
    won = [v for o in outcomes for v in o["won"]]
    refused = [r for o in outcomes for r in o["refused"]]
    print(
        f"\n{engine}: {RACES} races of {CLERKS} clerks: won={len(won)} "
        f"refused={len(refused)} errors={len(errors)} "
        f"({time.perf_counter() - started:.2f}s)"
    )

    assert [e for e in errors if "database is locked" in e] == []
    assert errors == []
    # Every voucher was won exactly once, and the loser was told why.
    assert sorted(won) == sorted(job["voucher_ids"])
    assert len(refused) == RACES * (CLERKS - 1)
    for voucher_id, field, message in refused:
        assert voucher_id in job["voucher_ids"]
        assert field == "vouchers"
        assert "has already been issued" in message
    with race_app.app_context():
        vouchers = db.session.scalars(select(Voucher).order_by(Voucher.id)).all()
        assert {v.status for v in vouchers} == {VoucherStatus.ISSUED}
        awards = db.session.scalars(select(Disbursement)).all()
        assert len(awards) == RACES  # one ledger row per voucher
        assert {v.disbursement_id for v in vouchers} == {a.id for a in awards}
        assert sum(a.amount for a in awards) == Decimal("20.00") * RACES
        issued_events = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "voucher.issue")
        )
        assert issued_events == RACES
        db.session.remove()
