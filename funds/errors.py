"""Domain errors raised by services, and the HTTP error pages."""

from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, SecurityError

from funds.extensions import db

log = logging.getLogger("funds")


class FundsError(Exception):
    """Base of every rule a service refuses to break; the message is for the user."""

    #: The form field the problem belongs to, if any.
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class ValidationError(FundsError):
    """Input that breaks a rule (a date outside a period, a duplicate reference...)."""


class NotAllowed(FundsError):
    """The action is not allowed in the record's current state."""


class Conflict(FundsError):
    """The action clashes with what is already recorded (a double submission, a lock)."""


def is_lock_timeout(error: OperationalError) -> bool:
    """Whether the database gave up waiting for a lock (try again), not a real fault."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "lock timeout" in text


def add_problems(form, problems: list[FundsError]) -> None:
    """Show rules a service would refuse beside the form's own errors, in one round: each
    on its field unless that field already shows an error."""
    for problem in problems:
        field = getattr(form, problem.field, None) if problem.field else None
        if field is not None and field.errors:
            continue
        apply_to_form(form, problem)


def status_for(error: FundsError) -> int:
    """The status of a page re-shown with a service's error: 409 when it clashes with
    what is recorded, 422 for input that breaks a rule."""
    return 409 if isinstance(error, Conflict) else 422


def apply_to_form(form, error: FundsError) -> None:
    """Show a service's error on the matching form field, or on the form as a whole."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


_TITLES = {
    400: "Something was wrong with that request",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not available here",
    413: "That was too large to send",
    429: "Too many requests",
    500: "Sorry, there is a problem with the service",
    503: "The service is busy",
}


def _render(code: int, message: str | None = None, reference: str | None = None):
    title = _TITLES.get(code, "Something went wrong")
    return (
        render_template(
            "errors/error.html",
            code=code,
            title=title,
            message=message,
            reference=reference,
        ),
        code,
    )


def register_error_handlers(app: Flask) -> None:
    """One handler for HTTP errors, one for CSRF failures and one for everything else."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        db.session.rollback()
        return _render(
            400,
            "The form had expired or did not come from this site. Go back, reload the page and try again. Nothing was saved.",
        )

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code is None or error.code < 400:
            return error
        if isinstance(error, SecurityError):
            # A Host header the site does not answer to: no page can be built for it
            # (its links would point at that host), so a short plain answer.
            return (
                "Bad request: this site does not answer to that host name.\n",
                400,
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        db.session.rollback()
        response = _render(error.code)
        if error.code == 405 and error.valid_methods:
            return response[0], 405, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(OperationalError)
    def database_busy(error):
        # SQLite: another request kept the write lock past the busy timeout. Whatever
        # this request did is rolled back: say so, and that trying again will work.
        db.session.rollback()
        if not is_lock_timeout(error):
            return unexpected_error(error)
        log.warning("database busy: %s", str(error.orig)[:200])
        page, code = _render(
            503,
            "Many changes are being saved at this moment. Nothing was recorded: wait a "
            "few seconds and try again.",
        )
        return page, code, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def unexpected_error(error):
        db.session.rollback()
        if app.config.get("PROPAGATE_EXCEPTIONS") or (
            app.config.get("PROPAGATE_EXCEPTIONS") is None
            and (app.testing or app.debug)
        ):
            raise error
        reference = uuid.uuid4().hex[:12]
        log.exception("unhandled error reference=%s", reference)
        return _render(500, reference=reference)
