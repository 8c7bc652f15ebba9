"""The evidence pack's pages: the form on a grant's page, the download, and a pack the
job worker built."""

from __future__ import annotations

import tempfile

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError as FieldError

from funds.database import begin_writing
from funds.errors import FundsError, apply_to_form
from funds.evidence.pack import (
    build_in_background,
    build_pack,
    check_pack_period,
    is_large,
    job_pack_path,
    record_pack,
)
from funds.extensions import db, limiter
from funds.jobs import start
from funds.models import Grant, Job, JobStatus, Role
from funds.returns.library import titles
from funds.validators import GovDateField, Present
from funds.widgets import GovSelect

bp = Blueprint("evidence_pack", __name__)

ZIP = "application/zip"


class PackForm(FlaskForm):
    """The period of a grant's evidence pack, and which return to put in it."""

    date_from = GovDateField(
        "From",
        example="1 4 2024",
        subject="the first day of the period",
        validators=[Present("Enter the first day of the period")],
    )
    date_to = GovDateField(
        "To",
        example="30 6 2024",
        subject="the last day of the period",
        validators=[Present("Enter the last day of the period")],
    )
    template = SelectField("Funder return to include", widget=GovSelect())

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise FieldError("The end of the period must be on or after its start")


def pack_form(grant: Grant, formdata=None) -> PackForm:
    """The form, its period defaulting to the grant's."""
    form = PackForm(
        formdata=formdata,
        prefix="pack",
        data={"date_from": grant.starts_on, "date_to": grant.ends_on, "template": ""},
    )
    form.template.choices = [
        SelectChoice("", "The return last submitted for this grant (if any)")
    ] + [SelectChoice(key, title) for key, title in titles()]
    return form


@bp.app_template_global("evidence_pack_form")
def evidence_pack_form(grant: Grant) -> PackForm:
    """For the grant's page: the form with its defaults."""
    return pack_form(grant)


def _page(grant: Grant, form: PackForm, status: int):
    return render_template("evidence/pack.html", grant=grant, form=form), status


@bp.route("/<int:grant_id>/evidence-pack", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def pack(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    if request.method == "GET":
        return _page(grant, pack_form(grant), 200)
    form = pack_form(grant, formdata=request.form)
    if not form.validate():
        return _page(grant, form, 422)
    date_from, date_to = form.date_from.data, form.date_to.data
    template = form.template.data or None
    try:
        check_pack_period(grant, date_from, date_to)
    except FundsError as error:
        apply_to_form(form, error)
        return _page(grant, form, 422)
    actor = current_user._get_current_object()
    if is_large(grant, date_from, date_to):
        begin_writing()
        job = build_in_background(
            db.session.get(Grant, grant_id),
            date_from,
            date_to,
            actor=actor,
            template=template,
        )
        job_id = job.id
        db.session.commit()
        start(job_id)
        return redirect(url_for("jobs.detail", job_id=job_id))
    spool = tempfile.TemporaryFile()
    try:
        built = build_pack(
            grant, date_from, date_to, spool, prepared_by=actor.name, template=template
        )
        record_pack(
            grant, actor=actor, date_from=date_from, date_to=date_to, built=built
        )
        db.session.commit()
    except BaseException:
        spool.close()
        db.session.rollback()
        raise
    spool.seek(0)
    response = send_file(
        spool, mimetype=ZIP, as_attachment=True, download_name=built.filename, max_age=0
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:grant_id>/evidence-pack/jobs/<int:job_id>")
def result(grant_id: int, job_id: int):
    """A pack the worker built: only for who asked for it (or an administrator)."""
    job = db.session.get(Job, job_id)
    if (
        job is None
        or job.kind != "evidence.pack"
        or job.status != JobStatus.DONE
        or job.params.get("grant_id") != grant_id
        or (job.created_by_id != current_user.id and current_user.role != Role.ADMIN)
    ):
        abort(404)
    path = job_pack_path(job)
    if not path.exists():
        abort(404)
    response = send_file(
        path,
        mimetype=ZIP,
        as_attachment=True,
        download_name=job.result_name or f"evidence-pack-{job.id}.zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
