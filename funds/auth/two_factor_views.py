"""Two-step sign-in pages: the code after the password, setting it up, turning it off and
new recovery codes."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from funds.auth.decorators import recent_login_required
from funds.auth.two_factor import (
    PENDING_SECONDS,
    complete_sign_in,
    disable_two_factor,
    enable_two_factor,
    format_secret,
    has_two_factor,
    must_enrol,
    new_secret,
    provisioning_uri,
    qr_svg,
    recovery_codes_left,
    renew_recovery_codes,
    two_factor_required,
    valid_secret,
)
from funds.auth.two_factor_forms import EnrolForm, ManageCodeForm, SignInCodeForm
from funds.auth.views import PENDING_KEY, pending_sign_in, start_session
from funds.errors import FundsError, apply_to_form, status_for
from funds.extensions import db, limiter
from funds.organisation import current_organisation

bp = Blueprint("two_factor", __name__)

#: The session key of a secret being set up (on the user only once confirmed).
SETUP_SLOT = "two_factor_setup"
#: Endpoints a user who must set up two-step sign-in may still reach.
_ENROL_EXEMPT = {
    "two_factor.enrol",
    "auth.logout",
    "auth.confirm",
    "auth.change_password",
    "static",
}


@bp.before_app_request
def require_enrolment():
    """With REQUIRE_TWO_FACTOR, admin, manager and finance users reach nothing but the
    set-up page (and sign-out) until their second step is on."""
    if request.endpoint is None or request.endpoint in _ENROL_EXEMPT:
        return None
    if not current_user.is_authenticated or current_user.must_change_password:
        return None  # a temporary password is changed first
    if must_enrol(current_user):
        return redirect(url_for("two_factor.enrol"))
    return None


def _ip() -> str:
    return request.remote_addr or ""


@bp.route("/login/two-step", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    methods=["POST"],
    key_func=lambda: request.remote_addr or "unknown",
)
def code():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    was_pending = PENDING_KEY in session
    pending = pending_sign_in()
    if pending is None:
        if was_pending:
            flash(
                "Sign in again: the code must be entered within "
                f"{PENDING_SECONDS // 60} minutes of your password",
                "info",
            )
        return redirect(url_for("auth.login"))
    user, target = pending
    form = SignInCodeForm()
    if form.validate_on_submit():
        try:
            user, used = complete_sign_in(user.id, form.code.data, ip=_ip())
        except FundsError as error:
            db.session.commit()  # keep the failure count and the audit event
            apply_to_form(form, error)
            return render_template("auth/two_factor_code.html", form=form), 401
        db.session.commit()
        start_session(user)
        if used.recovery_left is not None:
            left = used.recovery_left
            flash(
                f"You signed in with a recovery code, which now cannot be used again. "
                f"You have {left} recovery code{'' if left == 1 else 's'} left.",
                "info",
            )
        return redirect(target or url_for("main.index"))
    status = 422 if form.errors else 200
    return render_template("auth/two_factor_code.html", form=form), status


@bp.route("/account/two-step")
def manage():
    return _manage_page()


def _manage_page(*, renew=None, turn_off=None, status: int = 200):
    user = current_user._get_current_object()
    enabled = has_two_factor(user)
    # The form whose problem the page's error summary lists, if any.
    errored = {"form": renew or turn_off} if renew or turn_off else {}
    page = render_template(
        "auth/two_factor.html",
        **errored,
        enabled=enabled,
        required=two_factor_required(user),
        left=recovery_codes_left(user) if enabled else 0,
        renew=renew or ManageCodeForm(prefix="renew"),
        turn_off=turn_off or ManageCodeForm(prefix="off"),
    )
    return page, status


@bp.route("/account/two-step/set-up", methods=["GET", "POST"])
@recent_login_required("two_factor.enrol")
def enrol():
    user = current_user._get_current_object()
    if has_two_factor(user):
        return redirect(url_for(".manage"))
    secret = session.get(SETUP_SLOT)
    if not valid_secret(secret):
        secret = new_secret()
        session[SETUP_SLOT] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = enable_two_factor(user.id, secret=secret, code=form.code.data)
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            session.pop(SETUP_SLOT, None)
            # Shown once in this response, never stored or put in a cookie.
            return render_template(
                "auth/two_factor_recovery_codes.html", codes=codes, first=True
            )
    uri = provisioning_uri(secret, email=user.email, issuer=current_organisation().name)
    status = 422 if form.errors else 200
    return render_template(
        "auth/two_factor_enrol.html",
        form=form,
        qr=qr_svg(uri),
        secret=format_secret(secret),
        required=two_factor_required(user),
    ), status


@bp.route("/account/two-step/recovery-codes", methods=["POST"])
def recovery_codes():
    user = current_user._get_current_object()
    form = ManageCodeForm(prefix="renew")
    if not form.validate_on_submit():
        return _manage_page(renew=form, status=422)
    try:
        codes = renew_recovery_codes(user.id, code=form.code.data, ip=_ip())
    except FundsError as error:
        db.session.commit()  # a wrong code is counted and audited
        apply_to_form(form, error)
        return _manage_page(renew=form, status=status_for(error))
    db.session.commit()
    return render_template(
        "auth/two_factor_recovery_codes.html", codes=codes, first=False
    )


@bp.route("/account/two-step/turn-off", methods=["POST"])
def disable():
    user = current_user._get_current_object()
    form = ManageCodeForm(prefix="off")
    if not form.validate_on_submit():
        return _manage_page(turn_off=form, status=422)
    try:
        disable_two_factor(user.id, code=form.code.data, ip=_ip())
    except FundsError as error:
        db.session.commit()  # a wrong code is counted and audited
        apply_to_form(form, error)
        return _manage_page(turn_off=form, status=status_for(error))
    db.session.commit()
    flash("Two-step sign-in is off. You sign in with your password alone.", "success")
    return redirect(url_for(".manage"))
