"""Restoring a backup taken before an erasure erases that person again, on SQLite and on
PostgreSQL: the erasure log's second copy lives outside the database."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import Household
from tests.test_backups import _app, _database, _seed

pytestmark = pytest.mark.slow

NAME = "Zofia *?~ =<> Restorewicz\ufffe"


def test_restoring_an_older_backup_erases_again(tmp_path):
    with _database(tmp_path, "replay") as url:
        app = _app(url, tmp_path)
        ids = _seed(app)
        with app.app_context():
            household = db.session.get(Household, ids["household"])
            household.name = NAME
            reference = household.reference
            db.session.commit()
        made = app.test_cli_runner().invoke(
            args=["backup", "create", "--out", str(tmp_path / "b")]
        )
        assert made.exit_code == 0, made.output

        erased = app.test_cli_runner().invoke(
            args=["person", "erase", reference, "--reason", "asked by phone"]
        )
        assert erased.exit_code == 0, erased.output
        log_file = tmp_path / "instance" / "erasures.log"
        assert reference in log_file.read_text() and "Restorewicz" not in (
            log_file.read_text()
        )

        backup = next(
            p for p in (tmp_path / "b").iterdir() if not p.name.endswith(".json")
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        restored = app.test_cli_runner().invoke(
            args=["backup", "restore", str(backup), "--force"]
        )
        assert restored.exit_code == 0, restored.output
        assert "Erasures applied again: 1." in restored.output
        with app.app_context():
            again = db.session.scalar(
                select(Household).where(Household.reference == reference)
            )
            assert again.name is None and again.erased_at is not None
            db.session.remove()
            db.engine.dispose()
