"""The factory and the configuration layers, including the production guard."""

from __future__ import annotations

import os

import pytest

from funds import create_app
from tests.conftest import make_config

LONG_KEY = "k" * 40


@pytest.fixture
def clean_env(monkeypatch):
    for key in list(os.environ):
        if key.startswith("FUNDS_") or key in ("FLASK_DEBUG", "FLASK_RUN_FROM_CLI"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_testing_config_is_applied(tmp_path):
    app = create_app(make_config(), instance_path=str(tmp_path))
    assert app.testing
    assert create_app.__doc__


def test_refuses_to_start_without_a_secret_key(tmp_path, clean_env):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(instance_path=str(tmp_path))


def test_refuses_the_development_key_and_short_keys(tmp_path, clean_env):
    clean_env.setenv("FUNDS_SECRET_KEY", "dev")
    with pytest.raises(RuntimeError):
        create_app(instance_path=str(tmp_path))
    clean_env.setenv("FUNDS_SECRET_KEY", "short-key")
    with pytest.raises(RuntimeError):
        create_app(instance_path=str(tmp_path))


def test_instance_config_then_environment(tmp_path, clean_env):
    (tmp_path / "config.py").write_text(
        f"SECRET_KEY = {LONG_KEY!r}\nORGANISATION_NAME = 'From the file'\nHTTPS = True\n"
    )
    app = create_app(instance_path=str(tmp_path))
    assert not app.testing
    assert app.config["SECRET_KEY"] == LONG_KEY
    assert app.config["ORGANISATION_NAME"] == "From the file"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")

    clean_env.setenv("FUNDS_ORGANISATION_NAME", "From the environment")
    clean_env.setenv("FUNDS_DATABASE_URL", "postgres://funds@db.example/funds")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["ORGANISATION_NAME"] == "From the environment"
    assert (
        app.config["SQLALCHEMY_DATABASE_URI"]
        == "postgresql+psycopg://funds@db.example/funds"
    )


def test_test_config_ignores_the_environment(tmp_path, clean_env):
    clean_env.setenv("FUNDS_ORGANISATION_NAME", "Leaked")
    app = create_app(make_config(), instance_path=str(tmp_path))
    assert app.config["ORGANISATION_NAME"] != "Leaked"


def test_default_database_is_sqlite_in_the_instance_folder(tmp_path, clean_env):
    clean_env.setenv("FUNDS_SECRET_KEY", LONG_KEY)
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/funds.sqlite"
    assert app.config["SESSION_COOKIE_SECURE"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 10 * 1024 * 1024


def test_production_defaults_are_safe(tmp_path, clean_env):
    clean_env.setenv("FUNDS_SECRET_KEY", LONG_KEY)
    app = create_app(instance_path=str(tmp_path))
    config = app.config
    assert not app.debug
    assert (
        config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"
    )
    assert (
        config["REMEMBER_COOKIE_HTTPONLY"]
        and config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    )
    assert config["PERMANENT_SESSION_LIFETIME"].total_seconds() == 30 * 60
    assert config["WTF_CSRF_ENABLED"] is not False
    # OWASP's floor for argon2id is 19 MiB and two passes.
    assert config["PASSWORD_HASH_MEMORY_COST"] >= 19 * 1024
    assert config["PASSWORD_HASH_TIME_COST"] >= 2
    import openpyxl

    assert openpyxl.DEFUSEDXML


def test_sqlite_pragmas_on_a_file_database(tmp_path):
    from sqlalchemy import text

    from funds.extensions import db

    app = create_app(
        make_config(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/f.sqlite"),
        instance_path=str(tmp_path),
    )
    with app.app_context():
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 10000
