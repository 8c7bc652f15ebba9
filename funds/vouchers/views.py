"""Pages for voucher stock: batches, issuing vouchers, returns, expiry and reconciliation."""

from __future__ import annotations

import re
from datetime import date

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from funds import clock
from funds.disbursements.services import AlreadyRecorded
from funds.downloads import Column, audited_download
from funds.errors import FundsError, NotAllowed, apply_to_form
from funds.evidence.queries import panel as evidence_panel
from funds.extensions import db
from funds.models import (
    AccessRoute,
    EvidenceKind,
    Grant,
    ItemType,
    VoucherBatch,
    VoucherStatus,
)
from funds.money import format_money
from funds.permissions import can_see_names
from funds.vouchers import queries
from funds.vouchers.forms import (
    BatchForm,
    ConfirmForm,
    IssueForm,
    ReturnForm,
    StockFilterForm,
    new_form_token,
    valid_token,
)
from funds.vouchers.services import (
    BatchInput,
    create_batch,
    expire_vouchers,
    issue_vouchers,
    return_vouchers,
)

bp = Blueprint("vouchers", __name__)

#: What a grant reference may keep in a download's file name (anything else becomes "-"),
#: so the name is only [A-Za-z0-9._-] and never holds "..", "/" or a line break.
_UNSAFE_IN_FILENAME = re.compile(r"[^A-Za-z0-9_-]+", re.ASCII)


def _actor():
    return current_user._get_current_object()


def _status_for(error: FundsError) -> int:
    return 409 if isinstance(error, NotAllowed) else 422


# --- the stock ----------------------------------------------------------------------------


@bp.route("/")
def index():
    today = clock.today()
    return render_template(
        "vouchers/index.html",
        batches=queries.batches(),
        expiring=queries.expiring_soon(today),
        grants=queries.grants_with_stock(),
        today=today,
        warning_days=queries.EXPIRY_WARNING_DAYS,
    )


# --- buying a batch -----------------------------------------------------------------------


def _batch_choices(form: BatchForm) -> None:
    form.set_choices(
        [
            SelectChoice(
                str(grant.id),
                f"{grant.reference} – {grant.title} ({format_money(available)} "
                "available to award)",
            )
            for grant, available in queries.open_grants_with_available()
        ],
        [SelectChoice(str(i), label) for i, label in queries.voucher_item_choices()],
    )


@bp.route("/batches/new", methods=["GET", "POST"])
def new_batch():
    if request.method == "GET":
        form = BatchForm(data={"grant": request.args.get("grant", "")})
    else:
        form = BatchForm()
    _batch_choices(form)
    status = 200
    if form.validate_on_submit():
        data = BatchInput(
            grant_id=form.grant.data,
            supplier=form.supplier.data,
            item_type_id=form.item_type.data,
            face_value=form.face_value.data,
            quantity=form.quantity.data,
            purchase_cost=form.purchase_cost.data,
            purchased_on=form.purchased_on.data,
            expires_on=form.expires_on.data,
            sale_or_return=bool(form.sale_or_return.data),
            terms=form.terms.data or None,
            reference=form.reference.data or None,
        )
        try:
            batch = create_batch(
                data, form.serials, actor=_actor(), today=clock.today()
            )
        except FundsError as error:
            db.session.rollback()
            if error.field == "serials":
                field = form.serials_field()
                field.errors = [*field.errors, error.message]
            else:
                apply_to_form(form, error)
            status = _status_for(error)
        else:
            db.session.commit()
            flash(
                f"{batch.quantity:,} {batch.supplier} vouchers of "
                f"{format_money(batch.face_value)} added to stock",
                "success",
            )
            return redirect(url_for(".batch", batch_id=batch.id))
    elif form.errors or form.form_errors:
        status = 422
    return render_template("vouchers/new_batch.html", form=form), status


# --- one batch ----------------------------------------------------------------------------


def _batch_page(
    batch_id: int,
    *,
    return_form: ReturnForm | None = None,
    expire_form: ConfirmForm | None = None,
    status: int = 200,
):
    batch = db.get_or_404(VoucherBatch, batch_id)
    wanted = request.args.get("status")
    try:
        shown_status = VoucherStatus(wanted) if wanted else None
    except ValueError:
        shown_status = None
    return_form = return_form or ReturnForm(formdata=None)
    expire_form = expire_form or ConfirmForm(formdata=None)
    failed = next(
        (f for f in (return_form, expire_form) if f.errors or f.form_errors), None
    )
    today = clock.today()
    reconciliation = queries.reconciliation(batch_id=batch.id)
    return render_template(
        "vouchers/batch.html",
        batch=batch,
        item_type=db.session.get(ItemType, batch.item_type_id),
        reconciliation=reconciliation,
        in_stock=reconciliation.lines[VoucherStatus.IN_STOCK].count,
        vouchers=queries.batch_vouchers(batch.id, status=shown_status),
        shown_status=shown_status,
        statuses=list(VoucherStatus),
        return_form=return_form,
        expire_form=expire_form,
        evidence=evidence_panel(EvidenceKind.VOUCHER_BATCH, batch.id),
        form=failed,
        today=today,
        can_expire=today > batch.expires_on,
        limit=1000,
    ), status


@bp.route("/batches/<int:batch_id>")
def batch(batch_id: int):
    return _batch_page(batch_id)


@bp.route(
    "/batches/<int:batch_id>/return", methods=["POST"], endpoint="return_vouchers"
)
def return_vouchers_view(batch_id: int):
    batch = db.get_or_404(VoucherBatch, batch_id)
    form = ReturnForm()
    if not form.validate_on_submit():
        return _batch_page(batch_id, return_form=form, status=422)
    try:
        returned = return_vouchers(
            batch, form.serial_numbers, actor=_actor(), reason=form.reason.data
        )
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        return _batch_page(batch_id, return_form=form, status=_status_for(error))
    db.session.commit()
    flash(
        f"{returned:,} {'voucher' if returned == 1 else 'vouchers'} marked as returned "
        "to the supplier",
        "success",
    )
    return redirect(url_for(".batch", batch_id=batch_id))


@bp.route("/batches/<int:batch_id>/expire", methods=["POST"], endpoint="expire")
def expire_view(batch_id: int):
    batch = db.get_or_404(VoucherBatch, batch_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _batch_page(batch_id, expire_form=form, status=422)
    try:
        expired = expire_vouchers(batch, actor=_actor(), today=clock.today())
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        return _batch_page(batch_id, expire_form=form, status=_status_for(error))
    db.session.commit()
    flash(
        f"{expired:,} {'voucher' if expired == 1 else 'vouchers'} marked as expired",
        "success",
    )
    return redirect(url_for(".batch", batch_id=batch_id))


# --- issuing vouchers ---------------------------------------------------------------------


def _stock_filter(today: date) -> StockFilterForm:
    form = StockFilterForm(formdata=request.args)
    form.set_choices(
        [
            SelectChoice(str(ident), reference)
            for ident, reference in queries.grant_choices_for_stock(today)
        ]
    )
    if request.args.get("grant") and not form.validate():
        form.grant.data = None  # an unknown grant: list every grant's vouchers
        form.grant.errors = []
    return form


def _issue_prefill() -> dict:
    household = (request.args.get("household") or "").strip().upper()
    return {"household": household[:20]} if household else {}


@bp.route("/issue", methods=["GET", "POST"])
def issue():
    today = clock.today()
    if request.method == "GET":
        form = IssueForm(data=_issue_prefill())
        form.form_token.data = new_form_token()
    else:
        form = IssueForm()
    form.find_by_name = can_see_names()
    status = 200
    if form.validate_on_submit():
        try:
            issue_vouchers(
                form.vouchers.data,
                serials=form.typed_serials(),
                actor=_actor(),
                household_id=form.household_record.id,
                awarded_on=form.awarded_on.data,
                access_route=AccessRoute(form.access_route.data),
                today=today,
                idempotency_key=form.form_token.data,
            )
        except AlreadyRecorded:
            db.session.rollback()
            flash(
                "These vouchers were already issued. Nothing has been issued twice.",
                "info",
            )
            return redirect(url_for(".issue", issued=form.form_token.data))
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = _status_for(error)
        else:
            db.session.commit()
            return redirect(url_for(".issue", issued=form.form_token.data))
    elif form.errors or form.form_errors:
        status = 422
    issued = request.args.get("issued") if request.method == "GET" else None
    awards = (
        queries.awards_for_form(issued, current_user.id) if valid_token(issued) else []
    )
    stock_filter = _stock_filter(today)
    grant_id = stock_filter.grant.data
    return render_template(
        "vouchers/issue.html",
        form=form,
        stock_filter=stock_filter,
        groups=queries.stock_groups(grant_id, today),
        in_stock=queries.stock_count(grant_id, today),
        chosen=set(form.vouchers.data or []),
        awards=awards,
        today=today,
    ), status


# --- reconciliation -----------------------------------------------------------------------


@bp.route("/reconciliation/<int:grant_id>")
def reconciliation(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    today = clock.today()
    reconciliation = queries.reconciliation(grant_id=grant.id)
    return render_template(
        "vouchers/reconciliation.html",
        grant=grant,
        reconciliation=reconciliation,
        stock=queries.grant_stock(grant),
        expiring=queries.expiring_soon(today, grant_id=grant.id),
        batches=queries.batches(grant.id),
        issued=queries.issued_serials(grant_id=grant.id, limit=queries.ISSUED_SHOWN),
        issued_total=reconciliation.lines[VoucherStatus.ISSUED].count,
        today=today,
        warning_days=queries.EXPIRY_WARNING_DAYS,
    )


def _slug(text: str) -> str:
    return _UNSAFE_IN_FILENAME.sub("-", text).strip("-")[:60] or "grant"


#: The supplier's redemption statement: every field quoted, dates as DD/MM/YYYY.
ISSUED_COLUMNS = (
    Column("Serial", "text", 16),
    Column("Supplier", "text", 20),
    Column("Household reference", "text", 14),
    Column("Date issued", "text", 12),
    Column("Face value", "money", 12),
)


@bp.route("/reconciliation/<int:grant_id>/issued.csv", endpoint="issued_csv")
def issued_csv(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    rows = (
        (
            row.serial,
            row.supplier,
            row.reference or "",
            row.awarded_on.strftime("%d/%m/%Y"),
            row.face_value,
        )
        for row in queries.issued_serial_rows(grant.id)
    )
    return audited_download(
        "csv",
        actor=_actor(),
        list_name="vouchers-issued",
        filters={"grant": grant.reference},
        stem=f"vouchers-issued-{_slug(grant.reference)}",
        title="Vouchers issued",
        columns=ISSUED_COLUMNS,
        rows=rows,
        quote_all=True,
    )


#: The stock list as a file: the columns of queries.batch_download_rows.
BATCH_COLUMNS = (
    Column("Batch", "number", 8),
    Column("Batch reference", "text", 16),
    Column("Grant", "text", 16),
    Column("Supplier", "text", 20),
    Column("Item", "text", 18),
    Column("Face value", "money", 11),
    Column("Bought", "date", 12),
    Column("Expires", "date", 12),
    Column("Quantity bought", "number", 10),
    Column("Value bought", "money", 12),
    Column("In stock", "number", 9),
    Column("In stock value", "money", 12),
    Column("Issued", "number", 9),
    Column("Issued value", "money", 12),
    Column("Returned", "number", 9),
    Column("Returned value", "money", 12),
    Column("Expired", "number", 9),
    Column("Expired value", "money", 12),
)


@bp.route(
    "/batches/download.csv", endpoint="batches_download_csv", defaults={"fmt": "csv"}
)
@bp.route(
    "/batches/download.xlsx", endpoint="batches_download_xlsx", defaults={"fmt": "xlsx"}
)
def batches_download(fmt: str):
    """Every batch the stock page lists, with its vouchers counted by status."""
    return audited_download(
        fmt,
        actor=_actor(),
        list_name="voucher-batches",
        filters={},
        stem="voucher-stock",
        title="Voucher stock",
        columns=BATCH_COLUMNS,
        rows=queries.batch_download_rows(),
    )
