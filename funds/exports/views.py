"""The hand-off to the accounts: choose a grant, period and file and download it; reconcile
the accounts' total with funds' payments."""

from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file
from flask_login import current_user
from sqlalchemy import select

from funds import downloads
from funds.errors import FundsError, ValidationError, apply_to_form
from funds.exports.formats import FORMATS
from funds.exports.forms import ExportForm, ReconcileForm, grant_choices
from funds.exports.services import (
    LEDGER_COLUMNS,
    accounts_total_from_table,
    build_accounting_export,
    export_stem,
    ledger_export_rows,
    record_export,
)
from funds.exports.services import (
    reconcile as reconcile_service,
)
from funds.extensions import db, limiter
from funds.models import Grant
from funds.spreadsheets import open_table

bp = Blueprint("exports", __name__)


def _with_grants(form):
    form.grant.choices = grant_choices(
        list(db.session.scalars(select(Grant).order_by(Grant.reference)))
    )
    if request.method == "GET" and request.args.get("grant"):
        form.grant.data = request.args["grant"]
    return form


def _page(form, status: int = 200):
    return render_template("exports/index.html", form=form), status


@bp.route("/")
def index():
    return _page(_with_grants(ExportForm(formdata=None)))


@bp.route("/download", methods=["POST"])
@limiter.limit("30 per minute")
def download():
    form = _with_grants(ExportForm())
    if not form.validate_on_submit():
        return _page(form, 422)
    grant = db.get_or_404(Grant, int(form.grant.data))
    system, date_from, date_to = (
        form.system.data,
        form.date_from.data,
        form.date_to.data,
    )
    actor = current_user._get_current_object()
    if system in FORMATS:
        try:
            built = build_accounting_export(
                grant, system=system, date_from=date_from, date_to=date_to
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            return _page(form, 422)
        record_export(
            grant,
            actor=actor,
            kind=system,
            date_from=date_from,
            date_to=date_to,
            lines=built.lines,
            total=built.total,
            files=len(built.files),
        )
        db.session.commit()
        if len(built.files) == 1:
            data, name, mimetype = built.files[0], built.names[0], "text/csv"
        else:
            data, name, mimetype = (
                built.zipped(),
                f"{built.stem}.zip",
                "application/zip",
            )
        response = send_file(
            io.BytesIO(data),
            mimetype=mimetype,
            as_attachment=True,
            download_name=name,
            max_age=0,
        )
        response.headers["Cache-Control"] = "no-store"
        return response
    # The ledger: the download is audited (and committed) before it streams.
    record_export(grant, actor=actor, kind=system, date_from=date_from, date_to=date_to)
    db.session.commit()
    return downloads.download(
        system.removeprefix("ledger-"),
        export_stem(grant, "ledger", date_from, date_to),
        "Ledger lines",
        LEDGER_COLUMNS,
        ledger_export_rows(grant, date_from, date_to),
    )


@bp.route("/reconcile", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def reconcile():
    if request.method == "GET":
        form = _with_grants(ReconcileForm(formdata=None))
        return render_template("exports/reconcile.html", form=form, result=None)
    form = _with_grants(ReconcileForm())
    if not form.validate_on_submit():
        return render_template("exports/reconcile.html", form=form, result=None), 422
    grant = db.get_or_404(Grant, int(form.grant.data))
    try:
        accounts_total = form.accounts_total.data
        upload = form.upload()
        if upload is not None:
            if not (grant.accounts_code or "").strip():
                raise ValidationError(
                    f"Set the accounts code of grant {grant.reference} first: the rows "
                    "holding it are the ones added up",
                    field="grant",
                )
            table = open_table(upload.filename, upload.read(), field="accounts_file")
            accounts_total = accounts_total_from_table(
                table,
                code=grant.accounts_code,
                code_column=form.code_column.data,
                amount_column=form.amount_column.data,
                negative_out=form.negative_out.data,
            )
        result = reconcile_service(
            grant,
            date_from=form.date_from.data,
            date_to=form.date_to.data,
            accounts_total=accounts_total,
        )
    except FundsError as error:
        apply_to_form(form, error)
        return render_template("exports/reconcile.html", form=form, result=None), 422
    return render_template("exports/reconcile.html", form=form, result=result)
