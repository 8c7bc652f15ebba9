"""Funder returns: choose, check the figures, download, submit; history; unlocking periods."""

from __future__ import annotations

import io
import tempfile
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from funds import clock
from funds.errors import FundsError, apply_to_form
from funds.extensions import db, limiter
from funds.jobs import start as start_job
from funds.models import FunderReturn, Grant, PeriodLock
from funds.organisation import current_organisation
from funds.returns.forms import BuildForm, ReturnForm, UnlockForm, submit_form
from funds.returns.jobs import BACKGROUND_LINES, build_in_background, lines_in_period
from funds.returns.library import available, get_definition
from funds.returns.services import (
    compare_with_ledger,
    compute_figures,
    locks_for_grant,
    returns_for_grant,
    submit_return,
    submitted_definition,
    unlock_period,
    write_return,
)

bp = Blueprint("returns", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _grants() -> list[Grant]:
    return list(
        db.session.scalars(
            select(Grant).options(joinedload(Grant.funder)).order_by(Grant.reference)
        )
    )


def _form(formdata=None) -> ReturnForm:
    if formdata is None:
        formdata = request.args if request.args else None
    form = ReturnForm(formdata=formdata)
    form.set_choices(_grants(), available())
    return form


def _chosen_or_errors(form: ReturnForm):
    """Validate the choice: (grant, definition, from, to), or None with form errors set."""
    if not form.validate():
        return None
    grant_id, key, date_from, date_to = form.chosen()
    grant = db.session.get(Grant, grant_id)
    if grant is None:
        form.grant.errors = ["Choose a grant"]
        return None
    try:
        definition = get_definition(key)
    except LookupError:
        form.template.errors = ["Choose which return to build"]
        return None
    return grant, definition, date_from, date_to


def _chooser(form: ReturnForm, status: int, recent=()):
    return render_template("returns/index.html", form=form, recent=recent), status


@bp.route("/")
def index():
    recent = list(
        db.session.scalars(
            select(FunderReturn)
            .options(
                joinedload(FunderReturn.grant), joinedload(FunderReturn.submitted_by)
            )
            .order_by(FunderReturn.submitted_at.desc())
            .limit(20)
        )
    )
    return _chooser(_form(), 200, recent)


@bp.route("/prepare")
def prepare():
    form = _form()
    chosen = _chosen_or_errors(form) if request.args else None
    if chosen is None:
        return _chooser(form, 422)
    grant, definition, date_from, date_to = chosen
    try:
        figures = compute_figures(
            grant, definition=definition, date_from=date_from, date_to=date_to
        )
    except FundsError as error:
        apply_to_form(form, error)
        return _chooser(form, 422)
    return render_template(
        "returns/prepare.html",
        grant=grant,
        definition=definition,
        date_from=date_from,
        date_to=date_to,
        figures=figures,
        locks=[lock for lock in locks_for_grant(grant.id) if lock.active],
        query=request.query_string.decode("ascii", "replace"),
        in_background=_in_background(grant, date_from, date_to),
        build_form=BuildForm(),
        background_lines=BACKGROUND_LINES,
    )


def _in_background(grant: Grant, date_from: date, date_to: date) -> bool:
    """A large return is built by the job worker, never while the browser waits."""
    return lines_in_period(grant.id, date_from, date_to) > BACKGROUND_LINES


@bp.route("/build", methods=["POST"])
@limiter.limit("20 per hour")
def build():
    """Queue a large return's build; its job page shows progress, then the download."""
    form = _form(request.args)
    chosen = _chosen_or_errors(form) if request.args else None
    if chosen is None or not BuildForm().validate_on_submit():
        abort(400)
    grant, definition, date_from, date_to = chosen
    job_id = build_in_background(
        grant, definition, date_from, date_to, actor=current_user
    ).id
    db.session.commit()
    start_job(job_id)
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.route("/download")
@limiter.limit("20 per minute")
def download():
    form = _form()
    chosen = _chosen_or_errors(form) if request.args else None
    if chosen is None:
        abort(400)
    grant, definition, date_from, date_to = chosen
    if _in_background(grant, date_from, date_to):
        flash(
            "This return covers so many lines that it is built in the background: "
            "use “Build the workbook”.",
            "error",
        )
        return redirect(
            url_for("returns.prepare")
            + "?"
            + request.query_string.decode("ascii", "replace")
        )
    return send_return(grant, definition, date_from, date_to)


def send_return(
    grant: Grant, definition, date_from: date, date_to: date, *, prefix: str = ""
):
    """Write the return to a temporary file and send it from there (the file closes
    with the response); a build the rules refuse is a 400."""
    spool = tempfile.TemporaryFile()
    try:
        written = write_return(
            grant,
            definition=definition,
            date_from=date_from,
            date_to=date_to,
            prepared_by=current_user.name,
            prepared_on=clock.today(),
            target=spool,
        )
    except FundsError:
        spool.close()
        abort(400)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return send_file(
        spool,
        mimetype=XLSX,
        as_attachment=True,
        download_name=prefix + written.filename,
    )


def _submit_page(form, submit, chosen, status=200):
    grant, definition, date_from, date_to = chosen
    return render_template(
        "returns/submit.html",
        form=submit,
        choice=form,
        grant=grant,
        definition=definition,
        date_from=date_from,
        date_to=date_to,
        locks=[lock for lock in locks_for_grant(grant.id) if lock.active],
    ), status


@bp.route("/submit", methods=["GET", "POST"])
def submit():
    """GET: what submitting will lock, and the sign-off. POST: submit and lock."""
    formdata = request.form if request.method == "POST" else None
    form = _form(formdata)
    chosen = _chosen_or_errors(form) if (formdata or request.args) else None
    if chosen is None:
        return _chooser(form, 422)
    grant, definition, date_from, date_to = chosen
    signing = submit_form(
        list(definition.signoff.signatories),
        formdata,
        contact=current_organisation().contact,
    )
    if request.method == "GET":
        return _submit_page(form, signing, chosen)
    if not signing.validate():
        return _submit_page(form, signing, chosen, 422)
    today = clock.today()
    try:
        submitted = submit_return(
            grant,
            actor=current_user._get_current_object(),
            definition=definition,
            date_from=date_from,
            date_to=date_to,
            today=today,
            signoff=signing.signoff(today),
        )
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        if form.errors:
            return _chooser(form, 409)
        apply_to_form(signing, error)
        return _submit_page(form, signing, chosen, 409)
    db.session.commit()
    flash(
        f"Return submitted. {date_from:%-d %b %Y} to {date_to:%-d %b %Y} of "
        f"{grant.reference} is now locked.",
        "success",
    )
    return redirect(url_for("returns.detail", return_id=submitted.id))


@bp.route("/<int:return_id>")
def detail(return_id: int):
    submitted = db.get_or_404(FunderReturn, return_id)
    lock = db.session.scalar(
        select(PeriodLock).where(PeriodLock.funder_return_id == submitted.id)
    )
    return render_template(
        "returns/detail.html",
        submitted=submitted,
        definition=None if submitted.is_legacy else submitted_definition(submitted),
        comparison=compare_with_ledger(submitted),
        lock=lock,
        unlock_form=UnlockForm(),
    )


@bp.route("/<int:return_id>/workbook.xlsx")
def stored_workbook(return_id: int):
    submitted = db.get_or_404(FunderReturn, return_id)
    return send_file(
        io.BytesIO(submitted.workbook),
        mimetype=XLSX,
        as_attachment=True,
        download_name=submitted.filename,
    )


@bp.route("/grant/<int:grant_id>")
def grant_history(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    return render_template(
        "returns/grant_history.html",
        grant=grant,
        submitted=returns_for_grant(grant.id),
        locks=locks_for_grant(grant.id),
        unlock_form=UnlockForm(),
    )


@bp.route("/locks/<int:lock_id>/unlock", methods=["POST"])
def unlock(lock_id: int):
    lock = db.get_or_404(PeriodLock, lock_id)
    form = UnlockForm()
    if form.validate_on_submit():
        try:
            unlock_period(
                lock, actor=current_user._get_current_object(), reason=form.reason.data
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(
                f"{lock.starts_on:%-d %b %Y} to {lock.ends_on:%-d %b %Y} is unlocked.",
                "success",
            )
            return redirect(url_for("returns.grant_history", grant_id=lock.grant_id))
    grant = db.session.get(Grant, lock.grant_id)
    return (
        render_template(
            "returns/grant_history.html",
            grant=grant,
            submitted=returns_for_grant(grant.id),
            locks=locks_for_grant(grant.id),
            unlock_form=form,
            form=form,
            failed_lock=lock.id,
        ),
        422,
    )
