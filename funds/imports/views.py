"""Import pages: upload, match the columns, see what checking found, import, undo."""

from __future__ import annotations

import io

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

from funds.errors import FundsError, apply_to_form
from funds.extensions import db, limiter
from funds.imports import services
from funds.imports.files import errors_workbook, template_workbook
from funds.imports.forms import (
    KIND_ORDER,
    ReplaceForm,
    UndoForm,
    UploadForm,
    chosen_mapping,
    columns_form,
)
from funds.imports.kinds import KINDS
from funds.imports.queries import (
    problems_kept,
    problems_of,
    recent_imports,
    sample_rows,
    saved_mappings,
)
from funds.jobs import job_view, start
from funds.models import ImportMapping, ImportRun, ImportStatus

bp = Blueprint("imports", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _actor():
    return current_user._get_current_object()


def _run_or_404(import_id: int) -> ImportRun:
    return db.get_or_404(ImportRun, import_id)


def _upload(form, *, kind: str):
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", None):
        form.file.errors = ["Choose the file to import"]
        return None
    try:
        data = upload.read()
    finally:
        upload.close()
    try:
        return services.upload(kind, upload.filename, data, actor=_actor())
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        return None


@bp.route("/", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def index():
    form = UploadForm()
    status = 200
    if form.validate_on_submit():
        run = _upload(form, kind=form.kind.data)
        if run is not None:
            db.session.commit()
            return redirect(url_for(".columns", import_id=run.id))
        status = 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "imports/index.html",
        form=form,
        imports=recent_imports(),
        kinds=[(key, KINDS[key]) for key in KIND_ORDER],
        labels={key: kind.label for key, kind in KINDS.items()},
    ), status


def _start(run: ImportRun, what: str, reason: str | None = None):
    job_id = services.request(run, what, actor=_actor(), reason=reason).id
    db.session.commit()
    start(job_id)
    return redirect(url_for("jobs.detail", job_id=job_id))


@bp.route("/<int:import_id>/columns", methods=["GET", "POST"])
def columns(import_id: int):
    run = _run_or_404(import_id)
    kind = KINDS[run.kind]
    if run.status not in (ImportStatus.UPLOADED, ImportStatus.CHECKED):
        return redirect(url_for(".detail", import_id=run.id))
    mapping = run.mapping
    applied = None
    saved_id = request.args.get("saved", "")
    if request.method == "GET" and saved_id.isascii() and saved_id.isdigit():
        saved = db.session.get(ImportMapping, int(saved_id))
        if saved is not None and saved.kind == run.kind:
            mapping = services.mapping_from_saved(saved, run.header)
            applied = saved
    data = {f"column_{key}": str(index) for key, index in mapping.items()}
    form = columns_form(
        kind,
        run.header,
        sample_rows(run),
        formdata=request.form if request.method == "POST" else None,
        data=data,
    )
    status = 200
    if form.validate_on_submit():
        try:
            services.set_mapping(
                run,
                chosen_mapping(form, kind),
                actor=_actor(),
                save_as=form.save_as.data,
            )
            return _start(run, "check")
        except FundsError as error:
            db.session.rollback()
            if error.field and hasattr(form, f"column_{error.field}"):
                getattr(form, f"column_{error.field}").errors = [error.message]
            else:
                form.form_errors.append(error.message)
            status = 409 if error.field is None else 422
    elif form.is_submitted():
        status = 422
    return render_template(
        "imports/columns.html",
        run=run,
        kind=kind,
        form=form,
        saved=saved_mappings(run.kind),
        applied=applied,
    ), status


@bp.route("/<int:import_id>")
def detail(import_id: int):
    run = _run_or_404(import_id)
    job = services.job_for(run)
    return render_template(
        "imports/detail.html",
        run=run,
        kind=KINDS[run.kind],
        job=job_view(job) if job else None,
        problems=problems_of(run),
        problems_kept=problems_kept(run),
        replace_form=ReplaceForm(),
        undo_form=UndoForm(),
    )


@bp.route("/<int:import_id>/check", methods=["POST"])
def check(import_id: int):
    return _act(import_id, "check")


@bp.route("/<int:import_id>/import", methods=["POST"])
def commit(import_id: int):
    return _act(import_id, "import")


def _act(import_id: int, what: str, reason: str | None = None):
    run = _run_or_404(import_id)
    try:
        return _start(run, what, reason)
    except FundsError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for(".detail", import_id=run.id)), 303


@bp.route("/<int:import_id>/undo", methods=["POST"])
def undo(import_id: int):
    run = _run_or_404(import_id)
    form = UndoForm()
    if not form.validate_on_submit():
        return render_template(
            "imports/detail.html",
            run=run,
            kind=KINDS[run.kind],
            job=None,
            problems=problems_of(run),
            problems_kept=problems_kept(run),
            replace_form=ReplaceForm(),
            undo_form=form,
        ), 422
    return _act(import_id, "undo", form.reason.data)


@bp.route("/<int:import_id>/replace", methods=["POST"])
@limiter.limit("30 per hour")
def replace(import_id: int):
    """A corrected file: a new import of the same kind, its columns matched as before."""
    old = _run_or_404(import_id)
    form = ReplaceForm()
    run = _upload(form, kind=old.kind) if form.validate_on_submit() else None
    if run is None:
        for message in form.file.errors or ["Choose the corrected file"]:
            flash(message, "error")
        return redirect(url_for(".detail", import_id=old.id)), 303
    db.session.commit()
    headings = {old.header[index]: key for key, index in old.mapping.items()}
    mapping = {
        headings[heading]: index
        for index, heading in enumerate(run.header)
        if heading in headings
    }
    try:
        services.set_mapping(run, mapping, actor=_actor())
        return _start(run, "check")
    except FundsError:
        # The headings changed: the columns are matched by hand.
        db.session.rollback()
        return redirect(url_for(".columns", import_id=run.id))


@bp.route("/<int:import_id>/errors.xlsx")
def errors_file(import_id: int):
    run = _run_or_404(import_id)
    if not run.counts.get("errors"):
        abort(404)
    return send_file(
        io.BytesIO(errors_workbook(run)),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"import-{run.id}-rows-to-fix.xlsx",
    )


@bp.route("/templates/<kind>.xlsx")
def template(kind: str):
    if kind not in KINDS:
        abort(404)
    return send_file(
        io.BytesIO(template_workbook(KINDS[kind])),
        mimetype=XLSX,
        as_attachment=True,
        download_name=f"funds-{kind.replace('_', '-')}-template.xlsx",
    )
