"""Funder returns: choose, check the figures, download, submit; history; unlocking periods."""

from __future__ import annotations

import io
from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
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

from funds.errors import FundsError, apply_to_form
from funds.extensions import db, limiter
from funds.models import FunderReturn, Grant, PeriodLock
from funds.returns.forms import TEMPLATE_HINTS, ReturnForm, UnlockForm
from funds.returns.services import (
    build_return,
    compare_with_ledger,
    locks_for_grant,
    return_figures,
    returns_for_grant,
    submit_return,
    unlock_period,
)

bp = Blueprint("returns", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _grants() -> list[Grant]:
    return list(
        db.session.scalars(
            select(Grant).options(joinedload(Grant.funder)).order_by(Grant.reference)
        )
    )


def _form() -> ReturnForm:
    form = ReturnForm(formdata=request.args if request.args else None)
    form.set_grants(_grants())
    return form


def _chosen_or_errors(form: ReturnForm):
    """Validate the choice; returns (grant, template, from, to) or None with form errors set."""
    if not request.args or not form.validate():
        return None
    grant_id, template, date_from, date_to = form.chosen()
    grant = db.session.get(Grant, grant_id)
    if grant is None:
        form.grant.errors = ["Choose a grant"]
        return None
    return grant, template, date_from, date_to


def _build(grant, template, date_from, date_to):
    return build_return(
        grant,
        template=template,
        date_from=date_from,
        date_to=date_to,
        prepared_by=current_user.name,
        prepared_on=date.today(),
        organisation=current_app.config["ORGANISATION_NAME"],
    )


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
    return render_template(
        "returns/index.html", form=_form(), hints=TEMPLATE_HINTS, recent=recent
    )


@bp.route("/prepare")
def prepare():
    form = _form()
    chosen = _chosen_or_errors(form)
    if chosen is None:
        return render_template(
            "returns/index.html", form=form, hints=TEMPLATE_HINTS, recent=[]
        ), 422
    grant, template, date_from, date_to = chosen
    try:
        figures, digest = return_figures(
            grant, template=template, date_from=date_from, date_to=date_to
        )
    except FundsError as error:
        apply_to_form(form, error)
        return render_template(
            "returns/index.html", form=form, hints=TEMPLATE_HINTS, recent=[]
        ), 422
    return render_template(
        "returns/prepare.html",
        form=form,
        grant=grant,
        template=template,
        date_from=date_from,
        date_to=date_to,
        checksum=digest,
        figures=figures,
        locks=[lock for lock in locks_for_grant(grant.id) if lock.active],
        query=request.query_string.decode("ascii", "replace"),
    )


@bp.route("/download")
@limiter.limit("20 per minute")
def download():
    form = _form()
    chosen = _chosen_or_errors(form)
    if chosen is None:
        abort(400)
    try:
        built = _build(*chosen)
    except FundsError:
        abort(400)
    return send_file(
        io.BytesIO(built.workbook),
        mimetype=XLSX,
        as_attachment=True,
        download_name=built.filename,
    )


@bp.route("/submit", methods=["POST"])
def submit():
    form = ReturnForm(formdata=request.form)
    form.set_grants(_grants())
    if not form.validate():
        return render_template(
            "returns/index.html", form=form, hints=TEMPLATE_HINTS, recent=[]
        ), 422
    grant_id, template, date_from, date_to = form.chosen()
    grant = db.session.get(Grant, grant_id) or abort(404)
    try:
        submitted = submit_return(
            grant,
            actor=current_user._get_current_object(),
            template=template,
            date_from=date_from,
            date_to=date_to,
            organisation=current_app.config["ORGANISATION_NAME"],
            today=date.today(),
        )
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        return render_template(
            "returns/index.html", form=form, hints=TEMPLATE_HINTS, recent=[]
        ), 409
    db.session.commit()
    flash(
        f"Return submitted. {date_from:%-d %b %Y} to {date_to:%-d %b %Y} of {grant.reference} is now locked.",
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
