"""Pages for evidence files: upload to a record, download one, remove one."""

from __future__ import annotations

import io

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

from funds.errors import FundsError, apply_to_form, status_for
from funds.evidence import storage
from funds.evidence.files import MAX_FILES, download_name
from funds.evidence.forms import RemoveForm, UploadForm
from funds.evidence.queries import (
    ID_ARGUMENTS,
    RECORD_PAGES,
    why_not_downloadable,
)
from funds.evidence.services import (
    attach,
    forget,
    record_download,
    remove,
    target_for,
)
from funds.extensions import csrf, db
from funds.models import EvidenceFile, EvidenceKind
from funds.permissions import allowed

#: An uploaded file is never run as a page: sandboxed, and allowed to load nothing.
SANDBOX_POLICY = (
    "sandbox; default-src 'none'; frame-ancestors 'none'; object-src 'none'; "
    "base-uri 'none'"
)

bp = Blueprint("evidence", __name__)

#: Room in a request for the form's other fields and the multipart boundaries.
_FORM_ROOM = 1024 * 1024


def _actor():
    return current_user._get_current_object()


def record_url(kind: EvidenceKind, record_id: int) -> str:
    """The page of the record files of ``kind`` are attached to."""
    return url_for(RECORD_PAGES[kind], **{ID_ARGUMENTS[kind]: record_id})


def _record_id(evidence: EvidenceFile) -> int:
    return {
        EvidenceKind.AWARD: evidence.disbursement_id,
        EvidenceKind.VOUCHER_BATCH: evidence.voucher_batch_id,
        EvidenceKind.SESSION: evidence.session_id,
        EvidenceKind.AGREEMENT: evidence.grant_id,
    }[evidence.kind]


def _allow_large_upload() -> None:
    """Upload routes only: room for MAX_FILES files of EVIDENCE_MAX_BYTES each. The
    CSRF check runs here (not before the request) so that it reads the body under this
    limit, not the site's smaller one."""
    cap = int(current_app.config["EVIDENCE_MAX_BYTES"])
    request.max_content_length = MAX_FILES * cap + _FORM_ROOM
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def _upload(kind: EvidenceKind, record_id: int):
    _allow_large_upload()
    form = UploadForm()
    try:
        target = target_for(kind, record_id)
    except FundsError as error:
        apply_to_form(form, error)
        return render_template(
            "evidence/upload.html",
            form=form,
            kind=kind,
            record_id=record_id,
            back_url=record_url(kind, record_id),
            upload_url=request.path,
        ), status_for(error)
    if target is None:
        abort(404)
    status = 200
    if form.validate_on_submit():
        cap = int(current_app.config["EVIDENCE_MAX_BYTES"])
        uploads = []
        for upload in request.files.getlist("files"):
            # One byte more than the cap is enough to tell that a file is too large.
            uploads.append((upload.filename, upload.read(cap + 1)))
            upload.close()
        try:
            files = attach(
                target, uploads, actor=_actor(), description=form.description.data
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            stored = [f.stored_name for f in files]
            try:
                db.session.commit()
            except BaseException:
                db.session.rollback()
                forget(stored)
                raise
            count = len(files)
            flash(
                f"{count} file{'s' if count != 1 else ''} attached",
                "success",
            )
            return redirect(record_url(kind, record_id) + "#evidence")
    elif request.method == "POST":
        status = 422
    return render_template(
        "evidence/upload.html",
        form=form,
        kind=kind,
        record_id=record_id,
        back_url=record_url(kind, record_id),
        upload_url=request.path,
    ), status


@bp.route("/awards/<int:disbursement_id>", methods=["GET", "POST"])
@csrf.exempt
def upload_award(disbursement_id: int):
    return _upload(EvidenceKind.AWARD, disbursement_id)


@bp.route("/voucher-batches/<int:batch_id>", methods=["GET", "POST"])
@csrf.exempt
def upload_batch(batch_id: int):
    return _upload(EvidenceKind.VOUCHER_BATCH, batch_id)


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@csrf.exempt
def upload_session(session_id: int):
    return _upload(EvidenceKind.SESSION, session_id)


@bp.route("/grants/<int:grant_id>", methods=["GET", "POST"])
@csrf.exempt
def upload_agreement(grant_id: int):
    return _upload(EvidenceKind.AGREEMENT, grant_id)


def _file_or_404(file_id: int) -> EvidenceFile:
    evidence = db.get_or_404(EvidenceFile, file_id)
    # Whoever may see the record's page may see its files; nobody else.
    if not allowed(RECORD_PAGES[evidence.kind]):
        abort(403)
    return evidence


@bp.route("/<int:file_id>")
def download(file_id: int):
    evidence = _file_or_404(file_id)
    back_url = record_url(evidence.kind, _record_id(evidence))
    if evidence.removed_at is not None:
        return render_template(
            "evidence/unavailable.html", evidence=evidence, back_url=back_url
        ), 404
    reason = why_not_downloadable(evidence)
    if reason is not None:
        return render_template(
            "evidence/unavailable.html",
            evidence=evidence,
            reason=reason,
            back_url=back_url,
        ), 409
    try:
        data = storage.read(evidence.stored_name)
    except OSError:
        return render_template(
            "evidence/unavailable.html",
            evidence=evidence,
            reason="The file is missing from the server's storage. Ask an administrator "
            "to restore it from a backup.",
            back_url=back_url,
        ), 404
    record_download(evidence, actor=_actor())
    db.session.commit()
    response = send_file(
        io.BytesIO(data),
        mimetype=evidence.content_type,
        as_attachment=True,
        download_name=download_name(evidence.original_name, evidence.content_type),
        max_age=0,
        conditional=False,
        etag=False,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<int:file_id>/remove", methods=["GET", "POST"])
def remove_file(file_id: int):
    evidence = _file_or_404(file_id)
    back_url = record_url(evidence.kind, _record_id(evidence))
    if evidence.removed_at is not None:
        return render_template(
            "evidence/unavailable.html", evidence=evidence, back_url=back_url
        ), 404
    form = RemoveForm()
    status = 200
    if form.validate_on_submit():
        try:
            remove(evidence, actor=_actor(), reason=form.reason.data)
            db.session.commit()
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            flash(f"{evidence.original_name} was removed", "success")
            return redirect(back_url + "#evidence")
    elif request.method == "POST":
        status = 422
    return render_template(
        "evidence/remove.html", form=form, evidence=evidence, back_url=back_url
    ), status
