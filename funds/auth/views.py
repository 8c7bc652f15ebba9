"""Sign in, sign out, first-run set-up, change password, confirm password."""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from funds.admin.services import create_user, user_count
from funds.auth.forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    LoginForm,
    SetupForm,
)
from funds.auth.services import (
    LoginRefused,
    authenticate,
    change_own_password,
    confirm_password,
    end_session,
)
from funds.auth.two_factor import (
    PENDING_SECONDS,
    confirm_password_and_code,
    has_two_factor,
    must_enrol,
)
from funds.auth.two_factor_forms import ConfirmWithCodeForm
from funds.errors import FundsError, apply_to_form
from funds.extensions import db, limiter
from funds.models import Role, User

bp = Blueprint("auth", __name__)


def safe_next(target: str | None) -> str | None:
    """Only a local path: never another host, scheme or protocol-relative URL."""
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
    ):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def start_session(user) -> None:
    """A new session for a freshly authenticated user (no pre-login state survives)."""
    session.clear()
    login_user(user)
    session.permanent = True
    session["auth_at"] = time.time()


#: The session key of a sign-in waiting for its second step (never a signed-in user).
PENDING_KEY = "two_factor_pending"


def begin_second_step(user, target: str | None) -> None:
    """A correct password from a user with a second step: the session holds only who and
    when (and the user's current session token, so a reset or sign-out elsewhere ends it)."""
    session.clear()
    session[PENDING_KEY] = {
        "user_id": user.id,
        "token": user.session_token,
        "at": time.time(),
        "next": target,
    }


def pending_sign_in() -> tuple[User, str | None] | None:
    """The user waiting for a second step and where they were going, or None (nothing
    pending, expired after PENDING_SECONDS, or the account changed since)."""
    marker = session.get(PENDING_KEY)
    if not isinstance(marker, dict):
        return None
    at, user_id, token = marker.get("at"), marker.get("user_id"), marker.get("token")
    fresh = isinstance(at, (int, float)) and 0 <= time.time() - at <= PENDING_SECONDS
    user = db.session.get(User, user_id) if fresh and isinstance(user_id, int) else None
    if (
        user is None
        or user.disabled
        or not has_two_factor(user)
        or not isinstance(token, str)
        or not hmac.compare_digest(token, user.session_token)
    ):
        session.pop(PENDING_KEY, None)
        return None
    return user, safe_next(marker.get("next"))


def _login_limit_key():
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    key_func=_login_limit_key,
)
def login():
    if user_count() == 0:
        return redirect(url_for("auth.setup"))
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(
                form.email.data, form.password.data, ip=request.remote_addr or ""
            )
        except LoginRefused as error:
            db.session.commit()  # keep the failure count and the audit event
            form.form_errors.append(error.message)
            return render_template("auth/login.html", form=form), 401
        db.session.commit()
        target = safe_next(request.args.get("next"))
        if has_two_factor(user):
            begin_second_step(user, target)
            return redirect(url_for("two_factor.code"))
        start_session(user)
        if must_enrol(user):
            return redirect(url_for("two_factor.enrol"))
        return redirect(target or url_for("main.index"))
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout():
    end_session(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have signed out", "success")
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup():
    if user_count() != 0:
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user, _ = create_user(
                actor=None,
                email=form.email.data,
                name=form.name.data,
                role=Role.ADMIN,
                password=form.new_password.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            start_session(user)
            flash(
                "Your administrator account is ready. Next, add the people who will use funds.",
                "success",
            )
            return redirect(url_for("admin.users"))
    status = 422 if form.errors else 200
    return render_template("auth/setup.html", form=form), status


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            change_own_password(
                user,
                current_password=form.current_password.data,
                new_password=form.new_password.data,
            )
        except FundsError as error:
            db.session.commit()  # a wrong current password is audited
            apply_to_form(form, error)
        else:
            db.session.commit()
            start_session(user)  # this session continues; every other one has ended
            flash(
                "Your password has been changed. You have been signed out everywhere else.",
                "success",
            )
            return redirect(url_for("main.index"))
    status = 422 if form.errors else 200
    return render_template("auth/change_password.html", form=form), status


@bp.route("/account/confirm", methods=["GET", "POST"])
def confirm():
    user = current_user._get_current_object()
    second_step = has_two_factor(user)
    form = ConfirmWithCodeForm() if second_step else ConfirmPasswordForm()
    target = safe_next(request.args.get("next")) or url_for("main.index")
    if form.validate_on_submit():
        try:
            if second_step:
                confirm_password_and_code(
                    user.id,
                    password=form.password.data,
                    code=form.code.data,
                    ip=request.remote_addr or "",
                )
            else:
                confirm_password(user, form.password.data)
        except FundsError as error:
            db.session.commit()
            apply_to_form(form, error)
        else:
            db.session.commit()
            session["reauth_at"] = time.time()
            return redirect(target)
    status = 422 if form.errors else 200
    return render_template("auth/confirm.html", form=form), status
