"""Configuration: defaults, then instance/config.py, then FUNDS_* environment, or a test config."""

from __future__ import annotations

import os
import sys
from datetime import date, timedelta

from flask import Flask

#: The placeholder key. The app refuses to start with it outside debug and testing.
DEV_SECRET_KEY = "dev"  # noqa: S105 - the value we refuse, not a secret


def default_config(app: Flask) -> dict:
    """The built-in defaults, safe for a developer's machine."""
    return {
        "SECRET_KEY": DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": "sqlite:///"
        + os.path.join(app.instance_path, "funds.sqlite"),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # The organisation using funds; shown in the header and on every return.
        "ORGANISATION_NAME": "Your charity",
        # Served over HTTPS (behind a proxy): Secure cookies, __Host- cookie name, HSTS.
        "HTTPS": False,
        # How many proxies set X-Forwarded-For in front of the app (0 = none).
        "PROXY_COUNT": 0,
        "TRUSTED_HOSTS": None,
        # How long a request waits for a lock another request holds (SQLite's write lock,
        # a PostgreSQL row) before it is answered "busy: try again" (milliseconds).
        "LOCK_TIMEOUT_MS": 15000,
        # Background jobs: the queue is instance/jobs.sqlite unless REDIS_URL is set
        # (redis://host:6379/0), so workers on several machines can share it.
        "REDIS_URL": None,
        "JOBS_DATABASE": None,
        # Run jobs at once inside the request instead of queueing them (tests only).
        "JOBS_IMMEDIATE": False,
        # A running job silent for this long is shown as failed (its worker was stopped).
        "JOB_STALE_SECONDS": 30,
        # The month the financial year starts (4: April), for the fund movements.
        "FINANCIAL_YEAR_START_MONTH": 4,
        # Evidence files (receipts, invoices): kept here, outside static/, under random
        # names; each file at most EVIDENCE_MAX_BYTES.
        "EVIDENCE_DIR": os.path.join(app.instance_path, "evidence"),
        "EVIDENCE_MAX_BYTES": 8 * 1024 * 1024,
        # A second copy of the erasure log, outside the database: a restored backup does
        # not bring it back to an older state (see `flask --app app retention replay`).
        "ERASURE_LOG_FILE": os.path.join(app.instance_path, "erasures.log"),
        # Virus scanning through a running clamd: a Unix socket path, or host:port.
        # None: files are not scanned (and are marked so).
        "CLAMD_ADDRESS": None,
        # Admin, manager and finance users must set up and use a second sign-in step.
        "REQUIRE_TWO_FACTOR": False,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 500 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # A session is refused this long after its log-in, however active.
        "SESSION_ABSOLUTE_LIFETIME": timedelta(hours=12),
        # Sensitive actions (grant totals, user admin) need a log-in this recent.
        "FRESH_LOGIN_WINDOW": timedelta(minutes=15),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": 3600,
        # argon2id parameters (OWASP: m >= 19 MiB, t >= 2); argon2-cffi's RFC 9106 defaults.
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_COST": 65536,
        "PASSWORD_HASH_PARALLELISM": 4,
        # Words a password must not be built on (besides the common-password list).
        "PASSWORD_CONTEXT_WORDS": ["funds"],
        # Login throttling: this many failures per email (or per address) in the window.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_FAILURE_WINDOW": timedelta(minutes=15),
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "LOGIN_RATE_LIMIT": "30 per minute",
    }


def load_config(app: Flask, test_config: dict | None) -> None:
    """Apply the configuration layers in order and normalise the result."""
    app.config.from_mapping(default_config(app))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("FUNDS")
    else:
        app.config.from_mapping(test_config)
    _normalise(app)
    check_production_safety(app)


def _normalise(app: Flask) -> None:
    config = app.config
    # FUNDS_DATABASE_URL is the documented name; it wins over the default URI.
    url = config.pop("DATABASE_URL", None)
    if url:
        config["SQLALCHEMY_DATABASE_URI"] = url
    uri = config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgres://"):
        uri = "postgresql://" + uri.removeprefix("postgres://")
    if uri.startswith("postgresql://"):
        uri = "postgresql+psycopg://" + uri.removeprefix("postgresql://")
    config["SQLALCHEMY_DATABASE_URI"] = uri
    https = bool(config["HTTPS"])
    config["SESSION_COOKIE_SECURE"] = https
    config["REMEMBER_COOKIE_SECURE"] = https
    config["SESSION_COOKIE_NAME"] = "__Host-funds-session" if https else "funds-session"
    config["PREFERRED_URL_SCHEME"] = "https" if https else "http"
    config["WTF_CSRF_SSL_STRICT"] = True
    held = config.get("TODAY")
    if held is not None and not isinstance(held, date):
        # From the environment: "2026-03-31", or 20260331 (read as JSON, a number).
        config["TODAY"] = date.fromisoformat(str(held))


def check_production_safety(app: Flask) -> None:
    """Refuse to run outside debug and testing with a missing, default or short key."""
    if app.debug or app.testing or _writing_instance_config():
        return
    key = app.config.get("SECRET_KEY")
    if not key or key == DEV_SECRET_KEY or len(str(key)) < 32:
        raise RuntimeError(
            "SECRET_KEY is missing or is the development default. Run "
            "'flask --app app init-instance' to write instance/config.py with a random key, "
            "or set FUNDS_SECRET_KEY to at least 32 random characters."
        )


def _writing_instance_config() -> bool:
    """True while ``flask init-instance`` runs: it must load the app to write the key."""
    return (
        os.environ.get("FLASK_RUN_FROM_CLI") == "true"
        and "init-instance" in sys.argv[1:]
    )
