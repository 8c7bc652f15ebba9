"""A restore drill, on SQLite and on PostgreSQL: a database built by the migrations takes
awards while it is backed up; the backup verifies against its manifest, a changed backup
does not, and it restores into an empty database with every grant's spend intact."""

from __future__ import annotations

import json
import threading
import uuid
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from flask_migrate import upgrade
from sqlalchemy import make_url, select

from funds import create_app
from funds.extensions import db
from funds.models import Grant, Role, User
from tests.conftest import ON_POSTGRES, PASSWORD, TEST_DATABASE_URL, TODAY, make_config

pytestmark = pytest.mark.slow


@contextmanager
def _database(tmp_path: Path, name: str):
    """A new empty database of the engine under test: its URL."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path}/{name}.sqlite"
        return
    server = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    database = f"funds_backup_{name}_{uuid.uuid4().hex[:8]}"
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _app(url: str, tmp_path: Path):
    app = create_app(
        make_config(SQLALCHEMY_DATABASE_URI=url, LOCK_TIMEOUT_MS=30000),
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        upgrade()
    return app


def _seed(app) -> dict:
    from funds.admin.services import create_user
    from funds.grants.services import create_funder, create_grant
    from funds.models import ItemType
    from funds.people.services import HouseholdInput, create_household
    from funds.taxonomy.defaults import ensure_default_taxonomy

    with app.app_context():
        ensure_default_taxonomy()
        manager, _ = create_user(
            actor=None,
            email="m@example.org",
            name="M",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        funder = create_funder(actor=manager, name="Funder", categories=["Food"])
        grant = create_grant(
            actor=manager,
            reference="DRILL-1",
            title="Drill",
            funder_id=funder.id,
            total=Decimal("100000.00"),
            starts_on=date(2024, 4, 1),
            ends_on=date(2025, 3, 31),
        )
        household = create_household(HouseholdInput(), actor=manager)
        db.session.commit()
        return {
            "grant": grant.id,
            "household": household.id,
            "manager": manager.id,
            "food": db.session.scalar(
                select(ItemType.id).where(ItemType.name == "Food voucher")
            ),
        }


def _award(app, ids: dict) -> None:
    from funds.disbursements.services import AwardInput, record_disbursement
    from funds.models import DeliveryMethod

    with app.app_context():
        record_disbursement(
            AwardInput(
                grant_id=ids["grant"],
                item_type_id=ids["food"],
                amount=Decimal("12.34"),
                awarded_on=date(2024, 6, 1),
                delivery_method=DeliveryMethod.VOUCHER,
                household_id=ids["household"],
            ),
            actor=db.session.get(User, ids["manager"]),
            today=TODAY,
        )
        db.session.commit()


def test_a_backup_taken_during_writes_verifies_and_restores(tmp_path):
    with _database(tmp_path, "live") as live_url, _database(tmp_path, "new") as new_url:
        live = _app(live_url, tmp_path / "live")
        ids = _seed(live)
        for _ in range(20):
            _award(live, ids)

        # Clerks keep recording while the backup is taken.
        stop = threading.Event()
        recorded = []

        def clerk():
            while not stop.is_set():
                _award(live, ids)
                recorded.append(1)

        writer = threading.Thread(target=clerk)
        writer.start()
        try:
            result = live.test_cli_runner().invoke(
                args=["backup", "create", "--out", str(tmp_path / "backups")]
            )
        finally:
            stop.set()
            writer.join(timeout=60)
        assert result.exit_code == 0, result.output
        assert recorded, "awards were recorded while the backup was taken"
        backup = next(
            p for p in (tmp_path / "backups").iterdir() if not p.name.endswith(".json")
        )
        manifest = json.loads(Path(f"{backup}.json").read_text())
        assert (
            manifest["schema_revision"]
            and manifest["row_counts"]["disbursements"] >= 20
        )
        spent = manifest["grants"]["DRILL-1"]["spent_pence"]
        assert spent == 1234 * manifest["row_counts"]["disbursements"]

        verified = live.test_cli_runner().invoke(args=["backup", "verify", str(backup)])
        assert verified.exit_code == 0, verified.output
        assert "restores exactly" in verified.output

        # A manifest that does not match the backup's contents is caught.
        altered = dict(manifest)
        altered["grants"] = {
            "DRILL-1": {**manifest["grants"]["DRILL-1"], "spent_pence": 1}
        }
        Path(f"{backup}.json").write_text(json.dumps(altered))
        refused = live.test_cli_runner().invoke(args=["backup", "verify", str(backup)])
        assert refused.exit_code != 0 and "grants differ" in refused.output
        Path(f"{backup}.json").write_text(json.dumps(manifest))

        # Restore into a new, empty database: every grant's spend as in the manifest.
        target = create_app(
            make_config(SQLALCHEMY_DATABASE_URI=new_url),
            instance_path=str(tmp_path / "new"),
        )
        restored = target.test_cli_runner().invoke(
            args=["backup", "restore", str(backup)]
        )
        assert restored.exit_code == 0, restored.output
        with target.app_context():
            from funds.grants.queries import spent_on_grant

            grant = db.session.scalar(select(Grant).where(Grant.reference == "DRILL-1"))
            assert spent_on_grant(grant.id) == Decimal(spent).scaleb(-2)
        # A database that already holds data is not replaced without --force.
        again = target.test_cli_runner().invoke(args=["backup", "restore", str(backup)])
        assert again.exit_code != 0 and "--force" in again.output
        forced = target.test_cli_runner().invoke(
            args=["backup", "restore", str(backup), "--force"]
        )
        assert forced.exit_code == 0, forced.output
        with live.app_context():
            db.session.remove()
            db.engine.dispose()
        with target.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_changed_backup_file_does_not_verify(tmp_path):
    with _database(tmp_path, "small") as url:
        app = _app(url, tmp_path / "small")
        _seed(app)
        made = app.test_cli_runner().invoke(
            args=["backup", "create", "--out", str(tmp_path / "b")]
        )
        assert made.exit_code == 0, made.output
        backup = next(
            p for p in (tmp_path / "b").iterdir() if not p.name.endswith(".json")
        )
        content = bytearray(backup.read_bytes())
        content[len(content) // 2] ^= 0xFF
        backup.write_bytes(bytes(content))
        result = app.test_cli_runner().invoke(args=["backup", "verify", str(backup)])
        assert result.exit_code != 0 and "SHA-256 differs" in result.output
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
