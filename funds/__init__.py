"""funds: grants, the people they help, what was given, and each funder's return."""

from __future__ import annotations

import logging
import os

from flask import Flask, current_app
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    PrefixLoader,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from funds.config import load_config
from funds.extensions import csrf, db, limiter, login_manager, migrate
from funds.money import format_money
from funds.templating import register_templating

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` limited to what a database id can be, so a huge number is a 404, and
    to the digits 0 to 9 (``\\d`` would take ``１``, a full-width one, as 1)."""

    regex = r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not 0 < number < 2**63:
            raise ValidationError()
        return number


def create_app(
    test_config: dict | None = None, *, instance_path: str | None = None
) -> Flask:
    """Build the app: configuration, extensions, blueprints, CLI commands and error pages."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=instance_path or os.path.join(PROJECT_ROOT, "instance"),
        template_folder=os.path.join(PROJECT_ROOT, "templates"),
        static_folder=os.path.join(PROJECT_ROOT, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.url_map.converters["int"] = DatabaseIdConverter
    load_config(app, test_config)
    if app.config.get("TODAY") is not None and not app.testing:
        app.logger.warning(
            "FUNDS_TODAY holds today at %s: every date funds checks against today"
            " (periods, expiry, ages) uses it. For a training copy, never live records.",
            app.config["TODAY"].isoformat(),
        )
    if app.config["PROXY_COUNT"]:
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    register_extensions(app)
    register_templates(app)
    register_blueprints(app)
    register_jobs(app)
    register_hooks(app)
    register_commands(app)
    logging.getLogger("funds").setLevel(logging.INFO)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions to this app."""
    from funds.database import configure_engine

    db.init_app(app)
    configure_engine(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(__file__), "migrations"),
        render_as_batch=True,
        compare_type=True,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Sign in to see that page"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    WTFormsHelpers(app)


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept for the life of the process, shared by every app made in it.

    Jinja checks each template's source checksum, so an edited template is recompiled.
    """

    def __init__(self):
        self._store: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self._store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self._store[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = MemoryBytecodeCache()


def register_templates(app: Flask) -> None:
    """Top-level templates first, then the GOV.UK Frontend macro packages."""
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(app.template_folder),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    app.jinja_env.filters["money"] = format_money
    register_templating(app)
    app.context_processor(_organisation_name)


def _organisation_name() -> dict:
    """The organisation's name for the header, from its details page when filled in."""
    from sqlalchemy.exc import SQLAlchemyError

    from funds.organisation import current_organisation

    try:
        return {"organisation_name": current_organisation().name}
    except SQLAlchemyError:
        # An error page about the database itself still renders.
        db.session.rollback()
        return {"organisation_name": current_app.config["ORGANISATION_NAME"]}


def register_jobs(app: Flask) -> None:
    """The queue for long work, and the handlers that run it."""
    import funds.evidence.pack  # noqa: F401 - registers the evidence pack builder
    import funds.imports.jobs  # noqa: F401 - registers the import handlers
    import funds.returns.jobs  # noqa: F401 - registers the return builder
    from funds.jobs import init_jobs

    init_jobs(app)


def register_blueprints(app: Flask) -> None:
    """One blueprint per feature."""
    from funds.activities.views import bp as activities_bp
    from funds.admin.views import bp as admin_bp
    from funds.auth.two_factor_views import bp as two_factor_bp
    from funds.auth.views import bp as auth_bp
    from funds.dashboard.views import bp as dashboard_bp
    from funds.disbursements.views import bp as disbursements_bp
    from funds.evidence.pack_views import bp as evidence_pack_bp
    from funds.evidence.views import bp as evidence_bp
    from funds.exports.views import bp as exports_bp
    from funds.grants.views import bp as grants_bp
    from funds.imports.views import bp as imports_bp
    from funds.income.views import bp as income_bp
    from funds.job_views import bp as jobs_bp
    from funds.main.views import bp as main_bp
    from funds.payments.views import bp as payments_bp
    from funds.people.views import bp as people_bp
    from funds.privacy.export_views import bp as privacy_exports_bp
    from funds.privacy.views import bp as privacy_bp
    from funds.returns.definition_views import bp as definitions_bp
    from funds.returns.views import bp as returns_bp
    from funds.taxonomy.views import bp as taxonomy_bp
    from funds.vouchers.views import bp as vouchers_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(income_bp, url_prefix="/income")
    app.register_blueprint(auth_bp)
    app.register_blueprint(two_factor_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(grants_bp, url_prefix="/grants")
    app.register_blueprint(taxonomy_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(disbursements_bp, url_prefix="/awards")
    app.register_blueprint(payments_bp, url_prefix="/payments")
    app.register_blueprint(activities_bp, url_prefix="/activities")
    app.register_blueprint(vouchers_bp, url_prefix="/vouchers")
    app.register_blueprint(returns_bp, url_prefix="/returns")
    app.register_blueprint(definitions_bp, url_prefix="/returns/definitions")
    app.register_blueprint(imports_bp, url_prefix="/imports")
    app.register_blueprint(jobs_bp, url_prefix="/jobs")
    app.register_blueprint(exports_bp, url_prefix="/exports")
    app.register_blueprint(evidence_bp, url_prefix="/evidence")
    app.register_blueprint(evidence_pack_bp, url_prefix="/grants")
    app.register_blueprint(privacy_exports_bp, url_prefix="/privacy")
    app.register_blueprint(privacy_bp, url_prefix="/privacy")


def register_hooks(app: Flask) -> None:
    """Session rules, permissions, security headers and error pages, in that order."""
    from funds.auth.loader import register_user_loader
    from funds.errors import register_error_handlers
    from funds.navigation import register_navigation
    from funds.permissions import register_permissions
    from funds.security import register_security

    register_user_loader(login_manager)
    register_security(app)
    register_permissions(app)
    register_error_handlers(app)
    register_navigation(app)


def register_commands(app: Flask) -> None:
    """The ``flask`` commands."""
    from funds.cli import commands
    from funds.evidence.cli import evidence_group
    from funds.exports.cli import export_group
    from funds.imports.cli import import_group
    from funds.ledger.cli import ledger_group
    from funds.privacy.cli import person_group, retention_group
    from funds.privacy.export_cli import person_export
    from funds.returns.cli import return_group

    for command in [
        *commands,
        return_group,
        import_group,
        export_group,
        person_group,
        retention_group,
        evidence_group,
        ledger_group,
    ]:
        app.cli.add_command(command)
    person_group.add_command(person_export)  # ``flask person export``
