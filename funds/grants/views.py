"""Grants: the overview, a grant's page, setting up grants, totals and budget lines."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from funds import clock
from funds.auth.decorators import recent_login_required
from funds.disbursements.queries import Cursor, ledger_page
from funds.downloads import Column, audited_download
from funds.errors import FundsError, apply_to_form, status_for
from funds.evidence.queries import panel as evidence_panel
from funds.extensions import db
from funds.grants.forms import (
    BudgetLineForm,
    EditGrantForm,
    GrantForm,
    LedgerFilterForm,
    TotalForm,
)
from funds.grants.queries import (
    allocated_to_lines,
    budget_lines,
    grant_download_rows,
    grant_spend,
    grant_summary,
    grants_overview,
    overview_totals,
    spent_on_grant,
    total_changes,
)
from funds.grants.services import (
    change_grant_total,
    create_grant,
    set_budget_line,
    update_grant,
)
from funds.models import BudgetControl, BudgetLine, EvidenceKind, Grant, GrantStatus
from funds.privacy.holds import active_hold

bp = Blueprint("grants", __name__)


def _actor():
    return current_user._get_current_object()


@bp.route("/")
def index():
    show_all = request.args.get("show") == "all"
    return render_template(
        "grants/index.html",
        rows=grants_overview(include_closed=show_all),
        totals=overview_totals(include_closed=show_all),
        show_all=show_all,
        today=clock.today(),
    )


#: The grants list as a file: the columns of grant_download_rows.
DOWNLOAD_COLUMNS = (
    Column("Reference", "text", 18),
    Column("Title", "text", 30),
    Column("Funder", "text", 24),
    Column("Team", "text", 18),
    Column("Total", "money", 13),
    Column("Spent", "money", 13),
    Column("Held in vouchers", "money", 13),
    Column("Available to award", "money", 13),
    Column("Not yet paid", "money", 13),
    Column("Start", "date", 12),
    Column("End", "date", 12),
    Column("Status", "text", 10),
)


@bp.route("/download.csv", endpoint="download_csv", defaults={"fmt": "csv"})
@bp.route("/download.xlsx", endpoint="download_xlsx", defaults={"fmt": "xlsx"})
def download_list(fmt: str):
    """The grants the list shows (open ones, or all with ``?show=all``) as a file."""
    show_all = request.args.get("show") == "all"
    return audited_download(
        fmt,
        actor=_actor(),
        list_name="grants",
        filters={"show": "all"} if show_all else {},
        stem="grants",
        title="Grants",
        columns=DOWNLOAD_COLUMNS,
        rows=grant_download_rows(include_closed=show_all),
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = GrantForm()
    if form.validate_on_submit():
        try:
            grant = create_grant(
                actor=_actor(),
                reference=form.reference.data,
                title=form.title.data,
                funder_id=form.funder.data,
                team_id=form.team.data,
                total=form.total.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                control=BudgetControl(form.control.data),
                notes=form.notes.data,
                max_award=form.max_award.data,
                accounts_code=form.accounts_code.data,
                return_due_on=form.return_due_on.data,
                forecast_tolerance=form.forecast_tolerance.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            return render_template("grants/new.html", form=form), status_for(error)
        db.session.commit()
        flash(f"Grant {grant.reference} has been set up", "success")
        return redirect(url_for("grants.detail", grant_id=grant.id))
    status = 422 if form.errors else 200
    return render_template("grants/new.html", form=form), status


@bp.route("/<int:grant_id>")
def detail(grant_id: int):
    summary = grant_summary(grant_id)
    if summary is None:
        abort(404)
    grant = summary.grant
    form = LedgerFilterForm(formdata=request.args)
    # Only the filters themselves go into links (never url_for's own _anchor etc.).
    filters = {
        name: values
        for name, values in request.args.lists()
        if name in LedgerFilterForm.FIELDS
    }
    first_url = url_for("grants.detail", grant_id=grant.id, **filters) + "#awards"
    page = next_url = None
    status = 200
    if form.validate():
        page = ledger_page(
            form.ledger_filter(grant.id), after=Cursor.parse(request.args.get("after"))
        )
        if page.next_cursor is not None:
            next_url = (
                url_for(
                    "grants.detail",
                    grant_id=grant.id,
                    **filters,
                    after=page.next_cursor.token(),
                )
                + "#awards"
            )
    else:
        status = 422
    spend = grant_spend(grant.id)
    return render_template(
        "grants/detail.html",
        grant=grant,
        summary=summary,
        hold=active_hold(grant),
        # The overview row's own figures: one read of the running totals.
        stock=summary.held,
        available=summary.available,
        today=clock.today(),
        changes=total_changes(grant.id),
        lines=spend.lines,
        allocated=sum((row.line.amount for row in spend.lines), Decimal("0.00")),
        categories=spend.categories,
        form=form,
        page=page,
        next_url=next_url,
        first_url=first_url if "after" in request.args else None,
        evidence=evidence_panel(EvidenceKind.AGREEMENT, grant.id),
    ), status


@bp.route("/<int:grant_id>/edit", methods=["GET", "POST"])
def edit(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = EditGrantForm(
        data={
            "title": grant.title,
            "team": grant.team_id,
            "starts_on": grant.starts_on,
            "ends_on": grant.ends_on,
            "control": grant.control.value,
            "status": grant.status.value,
            "notes": grant.notes,
            "max_award": grant.max_award,
            "evidence_required_above": grant.evidence_required_above,
            "accounts_code": grant.accounts_code,
            "return_due_on": grant.return_due_on,
            "forecast_tolerance": grant.forecast_tolerance,
        }
        if request.method == "GET"
        else None
    )
    if form.validate_on_submit():
        try:
            update_grant(
                grant,
                actor=_actor(),
                title=form.title.data,
                team_id=form.team.data,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                control=BudgetControl(form.control.data),
                status=GrantStatus(form.status.data),
                notes=form.notes.data,
                max_award=form.max_award.data,
                accounts_code=form.accounts_code.data,
                return_due_on=form.return_due_on.data,
                forecast_tolerance=form.forecast_tolerance.data,
                evidence_required_above=form.evidence_required_above.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            grant = db.get_or_404(Grant, grant_id)
            return render_template(
                "grants/edit.html", form=form, grant=grant
            ), status_for(error)
        db.session.commit()
        flash("The grant's details have been saved", "success")
        return redirect(url_for("grants.detail", grant_id=grant.id))
    status = 422 if form.errors else 200
    return render_template("grants/edit.html", form=form, grant=grant), status


@bp.route("/<int:grant_id>/total", methods=["GET", "POST"])
@recent_login_required("grants.change_total")
def change_total(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = TotalForm()
    if form.validate_on_submit():
        try:
            change_grant_total(
                grant,
                actor=_actor(),
                new_total=form.new_total.data,
                reason=form.reason.data,
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            db.session.commit()
            flash("The grant's total has been changed", "success")
            return redirect(url_for("grants.detail", grant_id=grant_id))
    else:
        status = 422 if form.errors else 200
    grant = db.get_or_404(Grant, grant_id)
    return render_template(
        "grants/change_total.html",
        form=form,
        grant=grant,
        spent=spent_on_grant(grant.id),
        allocated=allocated_to_lines(grant.id),
    ), status


@bp.route("/<int:grant_id>/budget-lines", methods=["GET", "POST"])
def budget_line(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    form = BudgetLineForm(
        data=_line_defaults(grant) if request.method == "GET" else None
    )
    status = 200
    if form.validate_on_submit():
        try:
            set_budget_line(
                grant,
                actor=_actor(),
                category_id=form.category.data,
                amount=form.amount.data,
                control=BudgetControl(form.control.data),
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            db.session.commit()
            flash("The budget line has been saved", "success")
            return redirect(
                url_for("grants.detail", grant_id=grant_id) + "#budget-lines"
            )
    elif form.errors:
        status = 422
    grant = db.get_or_404(Grant, grant_id)
    return render_template(
        "grants/budget_line.html",
        form=form,
        grant=grant,
        lines=budget_lines(grant.id),
        allocated=allocated_to_lines(grant.id),
    ), status


def _line_defaults(grant: Grant) -> dict:
    """Pre-fill the form from ``?category=`` when that category already has a line."""
    category_id = request.args.get("category", type=int)
    line = next(
        (line for line in grant.budget_lines if line.category_id == category_id), None
    )
    if not isinstance(line, BudgetLine):
        return {"category": category_id}
    return {
        "category": line.category_id,
        "amount": line.amount,
        "control": line.control.value,
    }
