"""Pages for the ledger: the list, recording an award, one award, reversing, paying.

There is deliberately no page that edits or deletes a ledger line: a mistake is
corrected by a reversal.
"""

from __future__ import annotations

import logging
from datetime import date

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from funds import clock
from funds.disbursements.forms import (
    AwardForm,
    PaidForm,
    ReverseForm,
    new_form_token,
    optional_id,
    read_filter,
)
from funds.disbursements.queries import (
    BENEFICIARY_REFERENCE,
    AwardStory,
    Cursor,
    available_by_grant,
    award_story,
    grant_choices,
    item_choices,
    ledger_download_rows,
    ledger_page,
    ledger_totals,
)
from funds.disbursements.services import (
    OVERRIDE_ROLES,
    AlreadyRecorded,
    AwardInput,
    Overspend,
    available_on_grant,
    ledger_problems,
    mark_paid,
    record_disbursement,
    record_download,
    reverse_disbursement,
)
from funds.downloads import Column, download
from funds.errors import FundsError, NotAllowed, add_problems, apply_to_form
from funds.evidence.queries import panel as evidence_panel
from funds.extensions import db
from funds.models import AccessRoute, DeliveryMethod, EvidenceKind
from funds.money import format_money
from funds.payment_status import PaymentStatus
from funds.permissions import can_see_names

bp = Blueprint("disbursements", __name__)
security_log = logging.getLogger("funds.security")

#: The query parameters of the list's filter form (kept on the "older entries" link).
FILTER_FIELDS = (
    "grant",
    "category",
    "item_type",
    "date_from",
    "date_to",
    "beneficiary",
    "payment_status",
    "supplier",
    "delivery_method",
    "budget_line",
    "recorded_by",
    "evidence",
)


def _actor():
    return current_user._get_current_object()


def _balance_sentence(grant) -> str:
    """What is left on a grant, said plainly (an overspend is never shown as "-£5")."""
    left = available_on_grant(grant)
    if left < 0:
        return f"{grant.reference} is now {format_money(-left)} overspent."
    return f"{grant.reference} now has {format_money(left)} available to award."


def _story_or_404(disbursement_id: int) -> AwardStory:
    story = award_story(disbursement_id)
    if story is None:
        abort(404)
    return story


# --- the list -----------------------------------------------------------------------------


def kept_filters(args) -> dict[str, list[str]]:
    """The filter's query parameters as they were typed (for links that keep them)."""
    return {
        key: values
        for key, values in args.to_dict(flat=False).items()
        if key in FILTER_FIELDS
    }


@bp.route("/")
def index():
    form, filters = read_filter(request.args)
    if filters is None:
        return render_template(
            "disbursements/index.html", form=form, page=None, totals=None
        ), 422
    page = ledger_page(filters, after=Cursor.parse(request.args.get("after")))
    # The links to the next and the first page keep the filters as they were typed.
    kept = kept_filters(request.args)
    return render_template(
        "disbursements/index.html",
        form=form,
        page=page,
        totals=ledger_totals(filters),
        filtered=filters.active,
        next_url=url_for(".index", **kept, after=page.next_cursor.token())
        if page.next_cursor
        else None,
        first_page_url=url_for(".index", **kept) if request.args.get("after") else None,
        download_csv_url=url_for(".download_csv", **kept),
        download_xlsx_url=url_for(".download_xlsx", **kept),
        payment_run_url=url_for(
            "payments.new",
            **{**kept, "payment_status": [PaymentStatus.UNPAID.value]},
        ),
    )


#: The awards list's download: its columns, in order.
DOWNLOAD_COLUMNS = (
    Column("Award", "number", 9),
    Column("Date", "date", 12),
    Column("Grant", "text", 14),
    Column("Category", "text", 20),
    Column("Item", "text", 22),
    Column("Supplier", "text", 20),
    Column("How it was given", "text", 18),
    Column("Beneficiary reference", "text", 14),
    Column("Amount", "money", 12),
    Column("Payment status", "text", 18),
    Column("Paid on", "date", 12),
    Column("Payment reference", "text", 18),
    Column("Recorded by", "text", 20),
)


def _download_list(fmt: str):
    form, filters = read_filter(request.args)
    if filters is None:
        return render_template(
            "disbursements/index.html", form=form, page=None, totals=None
        ), 422
    record_download(actor=_actor(), fmt=fmt, filters=kept_filters(request.args))
    # Committed before the file streams: the download is on record even if it fails.
    db.session.commit()
    return download(
        fmt, "awards", "Awards", DOWNLOAD_COLUMNS, ledger_download_rows(filters)
    )


@bp.route("/download.csv")
def download_csv():
    return _download_list("csv")


@bp.route("/download.xlsx")
def download_xlsx():
    return _download_list("xlsx")


# --- recording an award -------------------------------------------------------------------


def _prefill(args) -> dict:
    """What ``?grant=<id>&household=<ref>&young_person=<ref>`` puts in the form."""
    data: dict = {}
    try:
        data["grant"] = optional_id(args.get("grant"))
    except ValueError:
        pass
    for key in ("household", "young_person"):
        reference = (args.get(key) or "").strip().upper()
        if BENEFICIARY_REFERENCE.fullmatch(reference) and "beneficiary" not in data:
            data["beneficiary"] = reference
    return data


def _award_choices(form: AwardForm) -> None:
    form.find_by_name = can_see_names()
    grants = grant_choices(open_only=True)
    available = available_by_grant([grant.id for grant in grants])
    form.set_choices(
        [
            SelectChoice(
                str(grant.id),
                f"{grant.reference} – {grant.title} "
                f"({format_money(available[grant.id])} available to award)",
            )
            for grant in grants
        ],
        [SelectChoice(str(i), label) for i, label in item_choices(active_only=True)],
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        form = AwardForm(data=_prefill(request.args))
        form.form_token.data = new_form_token()
    else:
        form = AwardForm()
    _award_choices(form)
    actor = _actor()
    offer_confirm = bool(form.confirm_overspend.data) and actor.role in OVERRIDE_ROLES
    if form.validate_on_submit():
        household_id, young_person_id = form.beneficiary_ids()
        award = AwardInput(
            grant_id=form.grant.data,
            item_type_id=form.item_type.data,
            amount=form.amount.data,
            awarded_on=form.awarded_on.data,
            delivery_method=DeliveryMethod(form.delivery_method.data),
            access_route=AccessRoute(form.access_route.data),
            quantity=form.quantity.data,
            household_id=household_id,
            young_person_id=young_person_id,
            supplier=form.supplier.data or None,
            evidence_reference=form.evidence_reference.data or None,
            notes=form.notes.data or None,
            requested_on=form.requested_on.data,
            method_reason=form.method_reason.data or None,
        )
        try:
            line = record_disbursement(
                award,
                actor=actor,
                today=clock.today(),
                idempotency_key=form.form_token.data,
                confirm_overspend=bool(form.confirm_overspend.data),
            )
        except AlreadyRecorded as error:
            db.session.rollback()
            flash(
                "This was already recorded. It has not been recorded twice: "
                "this is the award you recorded.",
                "info",
            )
            return redirect(url_for(".detail", disbursement_id=error.disbursement_id))
        except Overspend as error:
            db.session.rollback()
            apply_to_form(form, error)
            offer_confirm = error.can_confirm
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            flash(
                f"Award recorded: {format_money(line.amount)} from "
                f"{line.grant.reference}. {_balance_sentence(line.grant)}",
                "success",
            )
            return redirect(url_for(".detail", disbursement_id=line.id))
    elif request.method == "POST":
        # The ledger's own rules, shown with the form's errors in one round.
        add_problems(
            form,
            ledger_problems(
                grant_id=None if form.grant.errors else form.grant.data,
                day=None if form.awarded_on.errors else form.awarded_on.data,
                amount=None if form.amount.errors else form.amount.data,
                today=clock.today(),
            ),
        )
    if form.grant.errors and request.form.get("grant"):
        security_log.warning(
            "award refused: grant %r is not open to new awards user=%s",
            request.form.get("grant")[:20],
            actor.id,
        )
    status = 422 if form.errors or form.form_errors else 200
    return render_template(
        "disbursements/new.html", form=form, offer_confirm=offer_confirm
    ), status


# --- one award ----------------------------------------------------------------------------


def _reversal_day(story: AwardStory) -> date:
    """Today, or the grant's last day if it has ended."""
    return min(clock.today(), story.line.grant.ends_on)


@bp.route("/<int:disbursement_id>")
def detail(disbursement_id: int):
    story = _story_or_404(disbursement_id)
    return render_template(
        "disbursements/detail.html",
        story=story,
        line=story.line,
        reverse_form=ReverseForm(
            formdata=None, data={"reversed_on": _reversal_day(story)}
        ),
        paid_form=PaidForm(formdata=None, data={"paid_on": clock.today()}),
        evidence=None
        if story.line.is_reversal
        else evidence_panel(EvidenceKind.AWARD, story.line.id),
    )


@bp.route("/<int:disbursement_id>/reverse", methods=["GET", "POST"])
def reverse(disbursement_id: int):
    story = _story_or_404(disbursement_id)
    form = ReverseForm(data={"reversed_on": _reversal_day(story)})
    status = 200
    if form.validate_on_submit():
        try:
            reversal = reverse_disbursement(
                story.line,
                actor=_actor(),
                reason=form.reason.data,
                reversed_on=form.reversed_on.data,
                today=clock.today(),
            )
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
                f"Award reversed: {format_money(-reversal.amount)} is back on "
                f"{reversal.grant.reference}. {_balance_sentence(reversal.grant)}",
                "success",
            )
            return redirect(url_for(".detail", disbursement_id=disbursement_id))
    elif form.errors:
        status = 422
    return render_template(
        "disbursements/reverse.html", form=form, story=story, line=story.line
    ), status


@bp.route("/<int:disbursement_id>/paid", methods=["GET", "POST"], endpoint="mark_paid")
def mark_paid_view(disbursement_id: int):
    story = _story_or_404(disbursement_id)
    form = PaidForm(data={"paid_on": clock.today()})
    status = 200
    if form.validate_on_submit():
        try:
            mark_paid(
                story.line,
                actor=_actor(),
                paid_on=form.paid_on.data,
                payment_reference=form.payment_reference.data,
                today=clock.today(),
            )
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
            flash("Marked as paid", "success")
            return redirect(url_for(".detail", disbursement_id=disbursement_id))
    elif form.errors:
        status = 422
    return render_template(
        "disbursements/paid.html", form=form, story=story, line=story.line
    ), status
