"""Shared fixtures: the app on SQLite (or PostgreSQL via FUNDS_TEST_DATABASE_URL), users, log-in."""

from __future__ import annotations

import os
import re

import pytest
from sqlalchemy import func, select

from funds import create_app
from funds.admin.services import create_user as create_user_service
from funds.extensions import db
from funds.models import AuditEvent, Role, User

#: A password every test user has; it passes the password policy.
PASSWORD = "plum-orbit-lantern-42"

TEST_DATABASE_URL = os.environ.get("FUNDS_TEST_DATABASE_URL", "sqlite://")
ON_POSTGRES = TEST_DATABASE_URL.startswith("postgres")


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
        db.drop_all()
        db.engine.dispose()


@pytest.fixture
def client(app):
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
