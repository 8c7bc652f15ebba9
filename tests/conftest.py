"""Shared fixtures: the app on SQLite (or PostgreSQL via FUNDS_TEST_DATABASE_URL), users, log-in."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
import time_machine
from flask.testing import FlaskClient
from sqlalchemy import func, select

from funds import create_app
from funds.admin.services import create_user as create_user_service
from funds.extensions import db
from funds.ledger.verify import verify_rollups
from funds.models import AuditEvent, Role, User

#: A password every test user has; it passes the password policy.
PASSWORD = "plum-orbit-lantern-42"

TEST_DATABASE_URL = os.environ.get("FUNDS_TEST_DATABASE_URL", "sqlite://")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")

#: The day this test run started. Every test is held on it (``hold_the_day``), so a
#: run that crosses midnight sees one day from start to end.
REAL_TODAY = date.today()


@contextmanager
def hold_the_day(day: date):
    """The clock keeps running, whole days behind the machine's, so that it reads ``day``
    (after midnight, yesterday) at the machine's local time of day."""
    behind = date.today() - day
    if not behind:
        yield
        return
    with time_machine.travel(-behind, tick=True):
        yield


@pytest.fixture(autouse=True)
def _on_the_day_the_run_started(request):
    # A test that starts other processes (servers, the job worker) keeps the machine's
    # clock: they cannot be held, and they compare times with it.
    if request.node.get_closest_marker("real_clock"):
        yield
        return
    with hold_the_day(REAL_TODAY):
        yield


def make_config(**overrides) -> dict:
    """The test configuration: cheap password hashing, CSRF and rate limits off."""
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-that-is-long-enough-to-pass",
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 8,
        "PASSWORD_HASH_PARALLELISM": 1,
        "ORGANISATION_NAME": "Riverside Youth Project",
        # Background jobs run inside the request that asks for them (tests of the real
        # worker start one: tests/test_jobs.py).
        "JOBS_IMMEDIATE": True,
    }
    config.update(overrides)
    return config


def reset_database(app) -> None:
    """Drop and recreate every table (used between tests on a shared database)."""
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()


@pytest.fixture
def app_config() -> dict:
    """Override in a module to change the app's configuration."""
    return {}


@pytest.fixture
def app(tmp_path, app_config):
    app = create_app(
        make_config(**app_config), instance_path=str(tmp_path / "instance")
    )
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        # Whatever the test did, the running totals still agree with the ledger.
        differences = verify_rollups()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    assert not differences, [str(d) for d in differences[:10]]


class ReadToTheEnd(FlaskClient):
    """Reads each response to its end and closes it, as a browser and a WSGI server do:
    a download sent from a temporary file (a return, an evidence pack) is closed then."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = ReadToTheEnd
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def create_user(app):
    """Make a user (committed) and return its id; defaults give a staff member."""
    counter = iter(range(1, 10_000))

    def _create(
        role: Role = Role.STAFF,
        *,
        email: str | None = None,
        name: str | None = None,
        password: str = PASSWORD,
        **fields,
    ) -> int:
        number = next(counter)
        with app.app_context():
            user, _ = create_user_service(
                actor=None,
                email=email or f"{Role(role).value}{number}@example.org",
                name=name or f"{Role(role).label} {number}",
                role=Role(role),
                password=password,
            )
            for key, value in fields.items():
                setattr(user, key, value)
            db.session.commit()
            return user.id

    return _create


@pytest.fixture
def login(client, app):
    """Sign ``client`` in as the user with this id (through the real log-in form)."""

    def _login(user_id: int, *, password: str = PASSWORD, the_client=None):
        the_client = the_client or client
        with app.app_context():
            email = db.session.get(User, user_id).email
        response = the_client.post(
            "/login", data={"email": email, "password": password}
        )
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    return _login


@pytest.fixture
def admin_id(create_user):
    return create_user(Role.ADMIN, email="admin@example.org", name="Ada Admin")


@pytest.fixture
def signed_in_admin(client, login, admin_id):
    login(admin_id)
    return admin_id


def count(app, model, *where) -> int:
    """Rows of ``model`` in a fresh app context (what really reached the database)."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def audit_actions(app) -> list[str]:
    """Every audit action recorded so far, oldest first, read in a fresh context."""
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id))
        )


def csrf_token_from(html: str) -> str:
    """The CSRF token in a rendered form."""
    match = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', html
    ) or re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


# --- ledger factories ---------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from funds.models import HSF_CATEGORIES, DeliveryMethod, ItemType  # noqa: E402

#: A date inside the default test grant's period.
IN_PERIOD = date(2024, 6, 3)
#: "Today" for services in tests: after every default period.
TODAY = date(2026, 11, 23)


@pytest.fixture
def system_actor(app, create_user):
    """A manager that factories act as; created once per test."""
    holder: dict = {}

    def _get() -> int:
        if "id" not in holder:
            holder["id"] = create_user(
                Role.MANAGER,
                email="factory-manager@example.org",
                name="Factory Manager",
            )
        return holder["id"]

    return _get


def _actor(actor_id):
    return db.session.get(User, actor_id)


@pytest.fixture
def item_id(app):
    """The id of a default item type by name (the default taxonomy is loaded on first use)."""
    from funds.taxonomy.defaults import ensure_default_taxonomy

    def _item(name: str = "Food voucher") -> int:
        with app.app_context():
            ensure_default_taxonomy()
            db.session.commit()
            return db.session.scalars(
                select(ItemType.id).where(ItemType.name == name)
            ).one()

    return _item


@pytest.fixture
def create_funder(app, system_actor, item_id):
    """Make a funder (HSF categories and the default HSF mapping unless told otherwise)."""
    counter = iter(range(1, 10_000))

    def _create(
        name: str | None = None, *, categories=HSF_CATEGORIES, hsf_mapping: bool = True
    ) -> int:
        from funds.grants.services import create_funder as service
        from funds.taxonomy.defaults import apply_default_hsf_mapping

        item_id()  # the default taxonomy exists
        actor = system_actor()
        with app.app_context():
            funder = service(
                actor=_actor(actor),
                name=name or f"Funder {next(counter)}",
                categories=list(categories),
            )
            if hsf_mapping:
                apply_default_hsf_mapping(funder)
            db.session.commit()
            return funder.id

    return _create


@pytest.fixture
def create_grant(app, system_actor, create_funder):
    """Make a grant: £1,000.00, 1 Apr 2024 - 31 Mar 2025, block control, unless told otherwise."""
    counter = iter(range(1, 10_000))

    def _create(
        total: str = "1000.00",
        *,
        funder_id: int | None = None,
        reference: str | None = None,
        starts_on: date = date(2024, 4, 1),
        ends_on: date = date(2025, 3, 31),
        control: str = "block",
        title: str = "Test grant",
    ) -> int:
        from funds.grants.services import create_grant as service

        funder_id = funder_id or create_funder()
        actor = system_actor()
        with app.app_context():
            grant = service(
                actor=_actor(actor),
                reference=reference or f"G-{next(counter):03d}",
                title=title,
                funder_id=funder_id,
                total=Decimal(total),
                starts_on=starts_on,
                ends_on=ends_on,
                control=control,
            )
            db.session.commit()
            return grant.id

    return _create


@pytest.fixture
def create_household(app, system_actor):
    """Make a household; keyword arguments are HouseholdInput fields."""

    def _create(**fields) -> int:
        from funds.people.services import HouseholdInput
        from funds.people.services import create_household as service

        actor = system_actor()
        with app.app_context():
            household = service(HouseholdInput(**fields), actor=_actor(actor))
            db.session.commit()
            return household.id

    return _create


@pytest.fixture
def create_young_person(app, system_actor):
    """Make a young person; keyword arguments are YoungPersonInput fields."""

    def _create(**fields) -> int:
        from funds.people.services import (
            YoungPersonInput,
        )
        from funds.people.services import (
            create_young_person as service,
        )

        actor = system_actor()
        with app.app_context():
            person = service(
                YoungPersonInput(**fields), actor=_actor(actor), today=TODAY
            )
            db.session.commit()
            return person.id

    return _create


@pytest.fixture
def create_disbursement(app, system_actor, item_id):
    """Record an award through the real service; returns its id."""

    def _create(
        grant_id: int,
        amount: str = "10.00",
        *,
        item: str = "Food voucher",
        awarded_on: date = IN_PERIOD,
        actor_id: int | None = None,
        delivery_method: DeliveryMethod = DeliveryMethod.VOUCHER,
        confirm_overspend: bool = False,
        **fields,
    ) -> int:
        from funds.disbursements.services import AwardInput, record_disbursement

        item_type_id = item_id(item)
        actor = actor_id or system_actor()
        with app.app_context():
            disbursement = record_disbursement(
                AwardInput(
                    grant_id=grant_id,
                    item_type_id=item_type_id,
                    amount=Decimal(amount),
                    awarded_on=awarded_on,
                    delivery_method=delivery_method,
                    **fields,
                ),
                actor=_actor(actor),
                today=TODAY,
                confirm_overspend=confirm_overspend,
            )
            db.session.commit()
            return disbursement.id

    return _create


@pytest.fixture
def create_session(app, system_actor, item_id):
    """Record an activity session (its cost goes through the ledger); returns its id."""

    def _create(
        grant_id: int,
        cost: str = "100.00",
        *,
        activity: str = "Kayaking",
        held_on: date = IN_PERIOD,
        attendees: tuple[int, ...] = (),
        carers: int = 0,
        **fields,
    ) -> int:
        from funds.activities.services import (
            SessionInput,
            record_session,
            set_attendance,
        )

        activity_id = item_id(activity)
        actor = system_actor()
        with app.app_context():
            user = _actor(actor)
            session = record_session(
                SessionInput(
                    grant_id=grant_id,
                    item_type_id=activity_id,
                    held_on=held_on,
                    cost=Decimal(cost),
                    **fields,
                ),
                actor=user,
                today=TODAY,
            )
            if attendees or carers:
                set_attendance(
                    session, actor=user, young_person_ids=set(attendees), carers=carers
                )
            db.session.commit()
            return session.id

    return _create


@pytest.fixture
def create_batch(app, system_actor, item_id):
    """Buy a voucher batch (serials PREFIX0001...); returns its id."""

    def _create(
        grant_id: int,
        *,
        quantity: int = 10,
        face_value: str = "20.00",
        supplier: str = "Tesco",
        prefix: str = "TES",
        first: int = 1,
        item: str = "Food voucher",
        purchased_on: date = date(2024, 5, 1),
        expires_on: date = date(2025, 5, 1),
        **fields,
    ) -> int:
        from funds.vouchers.serials import serials_from_range
        from funds.vouchers.services import BatchInput, create_batch

        item_type_id = item_id(item)
        actor = system_actor()
        serials = serials_from_range(
            f"{prefix}{first:04d}", f"{prefix}{first + quantity - 1:04d}"
        )
        with app.app_context():
            batch = create_batch(
                BatchInput(
                    grant_id=grant_id,
                    supplier=supplier,
                    item_type_id=item_type_id,
                    face_value=Decimal(face_value),
                    quantity=quantity,
                    purchase_cost=Decimal(face_value) * quantity,
                    purchased_on=purchased_on,
                    expires_on=expires_on,
                    **fields,
                ),
                serials,
                actor=_actor(actor),
                today=TODAY,
            )
            db.session.commit()
            return batch.id

    return _create


@pytest.fixture
def records(
    app,
    create_user,
    create_grant,
    create_household,
    create_young_person,
    create_disbursement,
    create_session,
    create_batch,
    item_id,
):
    """One real record for every kind of id a URL takes, so detail pages answer 200."""
    from datetime import date

    from funds.extensions import db
    from funds.models import Funder, Grant, PeriodLock, User
    from funds.returns.library import get_definition
    from funds.returns.services import submit_return
    from tests.conftest import TODAY

    grant = create_grant("5000.00")
    locked_grant = create_grant("100.00")
    household = create_household()
    person = create_young_person()
    ids = {
        "user_id": create_user(Role.STAFF, email="target@example.org"),
        "grant_id": grant,
        "household_id": household,
        "young_person_id": person,
        "disbursement_id": create_disbursement(grant, "20.00", household_id=household),
        "session_id": create_session(grant, "50.00", attendees=(person,)),
        "batch_id": create_batch(grant, quantity=2),
        "item_id": item_id("Fridge"),
        # A return definition, a draft of one, its second sheet's first table.
        "key": "hsf",
        "sheet": 2,
        "table": 1,
        "direction": "up",
        "fmt": "csv",
    }
    with app.app_context():
        ids["funder_id"] = db.session.get(Grant, grant).funder_id
        ids["category_id"] = db.session.get(ItemType, ids["item_id"]).category_id
        manager = db.session.scalars(
            db.select(User).where(User.role == Role.MANAGER)
        ).first()
        submitted = submit_return(
            db.session.get(Grant, locked_grant),
            actor=manager,
            definition=get_definition("budget"),
            date_from=date(2024, 4, 1),
            date_to=date(2024, 4, 30),
            today=TODAY,
        )
        db.session.commit()
        ids["return_id"] = submitted.id
        ids["lock_id"] = db.session.scalars(db.select(PeriodLock.id)).one()
        from funds.returns.drafts import copy_definition

        ids["draft_id"] = copy_definition("hsf", actor=manager).id
        db.session.commit()
        # A payment run (of its own award, so the award above stays unpaid).
        from funds.payments.services import create_payment_run

        paid = create_disbursement(grant, "5.00")
        finance = db.session.get(
            User, create_user(Role.FINANCE, email="payer@example.org")
        )
        # An expected payment from the funder (the income schedule).
        from funds.income.services import add_expected

        ids["expected_id"] = add_expected(
            db.session.get(Grant, grant),
            actor=manager,
            due_on=date(2024, 4, 1),
            amount=Decimal("100.00"),
            description="Tranche",
        ).id
        ids["run_id"] = create_payment_run(
            [paid],
            actor=finance,
            paid_on=date(2024, 6, 30),
            reference="BACS-1",
            today=TODAY,
        ).id
        db.session.commit()
        # An import checked (with a row to fix, so that its errors file exists), and a
        # return built in the background (its job done, its workbook waiting).
        from funds.imports import services as imports
        from funds.jobs import start
        from funds.returns.jobs import build_in_background

        run = imports.upload(
            "households", "h.csv", b"Name,Adults\nA,two\n", actor=manager
        )
        imports.set_mapping(run, run.mapping, actor=manager)
        check = imports.request(run, "check", actor=manager)
        job = build_in_background(
            db.session.get(Grant, grant),
            get_definition("budget"),
            date(2024, 4, 1),
            date(2024, 4, 30),
            actor=manager,
        )
        ids.update(import_id=run.id, job_id=job.id, kind="households")
        jobs = (check.id, job.id)
        db.session.commit()
        for job_id in jobs:
            start(job_id)
        assert db.session.get(Funder, ids["funder_id"])
        # A receipt on the award (its download and removal pages).
        from funds.evidence.services import attach, target_for
        from funds.models import EvidenceKind

        target = target_for(EvidenceKind.AWARD, ids["disbursement_id"])
        (receipt,) = attach(
            target, [("receipt.pdf", b"%PDF-1.4\n%%EOF\n")], actor=manager
        )
        ids["file_id"] = receipt.id
        db.session.commit()
    return ids


def worker_process(database_url: str, jobs_database: str, log) -> subprocess.Popen:
    """The real job worker (``flask --app app jobs worker``) for a database and queue."""
    env = {
        **os.environ,
        "FUNDS_DATABASE_URL": database_url,
        "FUNDS_SECRET_KEY": "a-long-secret-key-for-the-worker-under-test-0123456",
        "FUNDS_JOBS_DATABASE": jobs_database,
        "FUNDS_ORGANISATION_NAME": '"Riverside Youth Project"',
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
