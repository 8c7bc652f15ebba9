"""Pages for a grant's income, its schedule, transfers and the fund movement table."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from funds import clock
from funds.downloads import FORMATS, Column, audited_download
from funds.errors import FundsError, apply_to_form, status_for
from funds.extensions import db
from funds.income import queries, services
from funds.income.forms import ExpectedForm, ReceiptForm, TransferForm
from funds.models import ExpectedIncome, Grant

bp = Blueprint("income", __name__)


def _actor():
    return current_user._get_current_object()


def _year_from(value: str | None) -> queries.FinancialYear:
    """The financial year asked for (``?year=2026``), or the current one."""
    if value and value.isascii() and value.isdigit() and len(value) == 4:
        year = int(value)
        if 2000 <= year <= 2100:
            return queries.FinancialYear(year)
        abort(404)
    if value:
        abort(404)
    return queries.FinancialYear.containing(clock.today())


@bp.route("/grants/<int:grant_id>")
def grant(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    today = clock.today()
    years = queries.fund_movements_by_year(
        queries.years_between(grant.starts_on, grant.ends_on), grant_id=grant.id
    )
    return render_template(
        "income/grant.html",
        grant=grant,
        today=today,
        position=queries.income_position(grant.id, today),
        receipts=queries.receipts(grant.id),
        schedule=queries.schedule(grant.id),
        transfers=queries.transfers(grant.id),
        years=[(year, rows[0]) for year, rows in years.items() if rows],
    )


def _form_page(template: str, form, grant: Grant, status: int):
    return render_template(template, form=form, grant=grant), status


@bp.route("/grants/<int:grant_id>/receipts/new", methods=["GET", "POST"])
def new_receipt(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = ReceiptForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.record_receipt(
                grant,
                actor=_actor(),
                received_on=form.received_on.data,
                amount=form.signed_amount(),
                reference=form.reference.data,
                notes=form.notes.data,
                today=clock.today(),
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            db.session.commit()
            flash("The receipt has been recorded", "success")
            return redirect(url_for("income.grant", grant_id=grant_id))
    elif form.errors:
        status = 422
    return _form_page(
        "income/receipt.html", form, db.get_or_404(Grant, grant_id), status
    )


@bp.route("/grants/<int:grant_id>/expected/new", methods=["GET", "POST"])
def new_expected(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = ExpectedForm()
    status = 200
    if form.validate_on_submit():
        services.add_expected(
            grant,
            actor=_actor(),
            due_on=form.due_on.data,
            amount=form.amount.data,
            description=form.description.data,
        )
        db.session.commit()
        flash("The expected payment has been added to the schedule", "success")
        return redirect(url_for("income.grant", grant_id=grant_id))
    if form.errors:
        status = 422
    return _form_page("income/expected.html", form, grant, status)


@bp.post("/expected/<int:expected_id>/remove")
def remove_expected(expected_id: int):
    expected = db.get_or_404(ExpectedIncome, expected_id)
    grant_id = expected.grant_id
    services.remove_expected(expected, actor=_actor())
    db.session.commit()
    flash("The expected payment has been taken off the schedule", "success")
    return redirect(url_for("income.grant", grant_id=grant_id))


@bp.route("/grants/<int:grant_id>/transfers/new", methods=["GET", "POST"])
def new_transfer(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = TransferForm()
    form.set_grants(queries.other_grants(grant.id))
    status = 200
    if form.validate_on_submit():
        other = (
            db.session.get(Grant, form.other_grant.data)
            if form.other_grant.data
            else None
        )
        try:
            services.record_transfer(
                grant,
                actor=_actor(),
                direction=form.direction.data,
                other_grant=other,
                other_fund=form.other_fund.data,
                transferred_on=form.transferred_on.data,
                amount=form.amount.data,
                reason=form.reason.data,
                today=clock.today(),
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            db.session.commit()
            flash("The transfer has been recorded", "success")
            return redirect(url_for("income.grant", grant_id=grant_id))
    elif form.errors:
        status = 422
    grant = db.get_or_404(Grant, grant_id)
    return _form_page("income/transfer.html", form, grant, status)


@bp.route("/fund-movements")
def movements():
    year = _year_from(request.args.get("year"))
    rows = queries.fund_movements(year)
    return render_template(
        "income/movements.html",
        year=year,
        rows=rows,
        totals=queries.movement_totals(rows),
        years=queries.years_with_activity(),
        formats=FORMATS,
    )


MOVEMENT_COLUMNS = [
    Column("Fund (grant)", width=20),
    Column("Title", width=36),
    Column("Balance brought forward", "money"),
    Column("Income", "money"),
    Column("Expenditure", "money"),
    Column("Transfers in", "money"),
    Column("Transfers out", "money"),
    Column("Balance carried forward", "money"),
]


@bp.route("/fund-movements.<fmt>")
def movements_download(fmt: str):
    year = _year_from(request.args.get("year"))

    def rows():
        for r in queries.fund_movements(year):
            yield (
                r.reference,
                r.title,
                r.brought_forward,
                r.income,
                r.expenditure,
                r.transfers_in,
                r.transfers_out,
                r.carried_forward,
            )

    return audited_download(
        fmt,
        actor=_actor(),
        list_name="fund-movements",
        filters={"year": year.label},
        stem=f"fund-movements-{year.label}",
        title=f"Fund movements {year.label}",
        columns=MOVEMENT_COLUMNS,
        rows=rows(),
    )
