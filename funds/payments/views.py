"""Pages for payment runs: make one from the awards list, list them, one run, remittance."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from funds import clock
from funds.disbursements.forms import read_filter
from funds.disbursements.queries import ledger_totals
from funds.downloads import Column, download
from funds.errors import FundsError, NotAllowed, apply_to_form
from funds.extensions import db
from funds.models import PaymentRun
from funds.money import format_money
from funds.payments.forms import PaymentRunForm, new_form_token
from funds.payments.queries import (
    get_run,
    list_runs,
    payable_awards,
    payable_filter,
    remittance_rows,
    run_lines,
)
from funds.payments.services import (
    MAX_RUN_LINES,
    RunAlreadyMade,
    create_payment_run,
    record_remittance_download,
)

bp = Blueprint("payments", __name__)


def _actor():
    return current_user._get_current_object()


def _run_or_404(run_id: int) -> PaymentRun:
    run = get_run(run_id)
    if run is None:
        abort(404)
    return run


@bp.route("/")
def index():
    return render_template("payments/index.html", runs=list_runs())


@bp.route("/new", methods=["GET", "POST"])
def new():
    filter_form, filters = read_filter(request.args)
    if filters is None:
        return render_template(
            "payments/new.html", filter_form=filter_form, form=None
        ), 422
    if request.method == "GET":
        form = PaymentRunForm(data={"paid_on": clock.today()})
        form.form_token.data = new_form_token()
    else:
        form = PaymentRunForm()
    status = 200
    if form.validate_on_submit():
        try:
            run = create_payment_run(
                form.award_ids(),
                actor=_actor(),
                paid_on=form.paid_on.data,
                reference=form.reference.data,
                today=clock.today(),
                form_token=form.form_token.data,
            )
        except RunAlreadyMade as error:
            db.session.rollback()
            flash(
                "This payment run was already made. It has not been made twice: "
                "this is the run you made.",
                "info",
            )
            return redirect(url_for(".detail", run_id=error.run_id))
        except NotAllowed as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = 409
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = 422
        else:
            db.session.commit()
            flash(
                f"Payment run {run.id} made: {run.lines} award"
                f"{'s' if run.lines != 1 else ''} marked paid, "
                f"{format_money(run.total)} in all.",
                "success",
            )
            return redirect(url_for(".detail", run_id=run.id))
    elif request.method == "POST":
        status = 422
    awards = payable_awards(filters)
    ticked = (
        {award.id for award in awards}
        if request.method == "GET"
        else set(form.award_ids())
    )
    return render_template(
        "payments/new.html",
        filter_form=filter_form,
        form=form,
        awards=awards,
        ticked=ticked,
        totals=ledger_totals(payable_filter(filters)),
        cap=MAX_RUN_LINES,
        back_url=url_for("disbursements.index", **request.args.to_dict(flat=False)),
    ), status


@bp.route("/<int:run_id>")
def detail(run_id: int):
    run = _run_or_404(run_id)
    return render_template("payments/detail.html", run=run, lines=run_lines(run.id))


#: The remittance's columns, in order.
REMITTANCE_COLUMNS = (
    Column("Run reference", "text", 18),
    Column("Paid on", "date", 12),
    Column("Award", "number", 9),
    Column("Date", "date", 12),
    Column("Grant", "text", 14),
    Column("Supplier", "text", 22),
    Column("Item", "text", 24),
    Column("Amount", "money", 12),
    Column("Beneficiary reference", "text", 14),
)


def _remittance(run_id: int, fmt: str):
    run = _run_or_404(run_id)
    record_remittance_download(run, actor=_actor(), fmt=fmt)
    # Committed before the file streams: the download is on record even if it fails.
    db.session.commit()
    return download(
        fmt,
        f"remittance-{run.id}-{run.reference}",
        "Remittance",
        REMITTANCE_COLUMNS,
        remittance_rows(run),
    )


@bp.route("/<int:run_id>/remittance.csv")
def remittance_csv(run_id: int):
    return _remittance(run_id, "csv")


@bp.route("/<int:run_id>/remittance.xlsx")
def remittance_xlsx(run_id: int):
    return _remittance(run_id, "xlsx")
