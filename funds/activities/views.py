"""Pages for the activity programme: sessions, recording one, its register, per-grant figures."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from funds import clock
from funds.activities.forms import (
    AttendanceForm,
    ProgrammeFilterForm,
    SessionForm,
)
from funds.activities.queries import (
    SessionCursor,
    activity_choices,
    grant_options,
    not_attended_count,
    programme,
    programme_sessions,
    programmes,
    register_choices,
    session_download_rows,
    session_for_cost,
    session_page,
    session_summary,
)
from funds.activities.services import SessionInput, record_session, set_attendance
from funds.disbursements.forms import new_form_token, optional_id
from funds.disbursements.services import (
    OVERRIDE_ROLES,
    AlreadyRecorded,
    Overspend,
    ledger_problems,
)
from funds.downloads import Column, audited_download
from funds.errors import FundsError, NotAllowed, add_problems, apply_to_form
from funds.evidence.queries import panel as evidence_panel
from funds.extensions import db
from funds.locks import active_lock
from funds.models import EvidenceKind, Grant
from funds.money import format_money
from funds.people.queries import teams
from funds.permissions import can_see_names

bp = Blueprint("activities", __name__)


def _actor():
    return current_user._get_current_object()


def _summary_or_404(session_id: int):
    summary = session_summary(session_id)
    if summary is None:
        abort(404)
    return summary


# --- the list -----------------------------------------------------------------------------


@bp.route("/")
def index():
    page = session_page(SessionCursor.parse(request.args.get("after")))
    next_url = (
        url_for(".index", after=page.next_cursor.token()) if page.next_cursor else None
    )
    return render_template(
        "activities/index.html",
        page=page,
        next_url=next_url,
        first_page=request.args.get("after") is None,
        programmes=programmes(),
    )


#: The sessions list as a file: the columns of session_download_rows.
DOWNLOAD_COLUMNS = (
    Column("Date", "date", 12),
    Column("Activity", "text", 22),
    Column("Grant", "text", 16),
    Column("Places filled", "number", 10),
    Column("Capacity", "number", 10),
    Column("Duration (minutes)", "number", 11),
    Column("Cost", "money", 12),
    Column("Cost per place", "money", 12),
    Column("Cancelled", "text", 10),
)


@bp.route("/download.csv", endpoint="download_csv", defaults={"fmt": "csv"})
@bp.route("/download.xlsx", endpoint="download_xlsx", defaults={"fmt": "xlsx"})
def download_list(fmt: str):
    """Every session the list pages through, newest first, as a file; with
    ``?grant_id=`` (and the programme's period), every session of that grant in it: the
    programme page links here."""
    if "grant_id" not in request.args:
        return _download(fmt, filters={}, stem="activity-sessions")
    grant = _grant_from_query(request.args.get("grant_id"))
    form = ProgrammeFilterForm(formdata=request.args)
    if not form.validate():
        abort(422)  # a period the programme page would not accept
    date_from, date_to = form.date_from.data, form.date_to.data
    filters = {"grant": grant.reference}
    if date_from:
        filters["from"] = date_from.isoformat()
    if date_to:
        filters["to"] = date_to.isoformat()
    return _download(
        fmt,
        filters=filters,
        stem=f"activity-sessions-{grant.reference}",
        grant_id=grant.id,
        date_from=date_from,
        date_to=date_to,
    )


def _grant_from_query(raw: str | None) -> Grant:
    """The grant a query's id names, under the same rules as an id in a path (ASCII
    digits, 1 to 2**63 - 1), or 404."""
    try:
        grant_id = optional_id(raw)
    except ValueError:
        abort(404)
    grant = db.session.get(Grant, grant_id) if grant_id else None
    if grant is None:
        abort(404)
    return grant


def _download(fmt: str, *, filters: dict, stem: str, **scope):
    return audited_download(
        fmt,
        actor=_actor(),
        list_name="activity-sessions",
        filters=filters,
        stem=stem,
        title="Activity sessions",
        columns=DOWNLOAD_COLUMNS,
        rows=session_download_rows(**scope),
    )


# --- recording a session ------------------------------------------------------------------


def _session_choices(form: SessionForm) -> None:
    form.set_choices(
        [SelectChoice(str(ident), label) for ident, label in activity_choices()],
        [
            SelectChoice(
                str(grant.id),
                f"{grant.reference} – {grant.title} ({format_money(available)} available)",
            )
            for grant, available in grant_options()
        ],
        [SelectChoice(str(team.id), team.name) for team in teams()],
    )


def _prefill(args) -> dict:
    """What ``?grant=<id>`` puts in the form (anything else in the query is ignored)."""
    try:
        grant_id = optional_id(args.get("grant"))
    except ValueError:
        return {}
    return {"grant": grant_id} if grant_id is not None else {}


@bp.route("/new", methods=["GET", "POST"])
def new():
    if request.method == "GET":
        form = SessionForm(data=_prefill(request.args))
        form.form_token.data = new_form_token()
    else:
        form = SessionForm()
    _session_choices(form)
    actor = _actor()
    offer_confirm = bool(form.confirm_overspend.data) and actor.role in OVERRIDE_ROLES
    status = 200
    if form.validate_on_submit():
        data = SessionInput(
            grant_id=form.grant.data,
            item_type_id=form.item_type.data,
            held_on=form.held_on.data,
            cost=form.cost.data,
            duration_minutes=form.duration.data,
            starts_at=form.starts_at.data,
            supplier=form.supplier.data or None,
            capacity=form.capacity.data,
            team_id=form.team.data,
            notes=form.notes.data or None,
        )
        try:
            session = record_session(
                data,
                actor=actor,
                today=clock.today(),
                idempotency_key=form.form_token.data,
                confirm_overspend=bool(form.confirm_overspend.data),
            )
        except AlreadyRecorded as error:
            db.session.rollback()
            session_id = session_for_cost(error.disbursement_id)
            flash(
                "This session was already recorded. It has not been recorded twice: "
                "this is the session you recorded.",
                "info",
            )
            if session_id is None:
                return redirect(
                    url_for(
                        "disbursements.detail", disbursement_id=error.disbursement_id
                    )
                )
            return redirect(url_for(".session", session_id=session_id))
        except Overspend as error:
            db.session.rollback()
            apply_to_form(form, error)
            offer_confirm = error.can_confirm
            status = 422
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = 422
        else:
            session_id = session.id
            db.session.commit()
            flash(
                "Session recorded. Its cost is on the grant's ledger. "
                "Now record who attended.",
                "success",
            )
            return redirect(url_for(".session", session_id=session_id))
    elif form.errors or form.form_errors:
        # The ledger's own rules (period, lock, money), shown in the same round.
        add_problems(
            form,
            ledger_problems(
                grant_id=None if form.grant.errors else form.grant.data,
                day=None if form.held_on.errors else form.held_on.data,
                amount=None if form.cost.errors else form.cost.data,
                today=clock.today(),
                date_field="held_on",
                amount_field="cost",
            ),
        )
        status = 422
    return render_template(
        "activities/new.html", form=form, offer_confirm=offer_confirm
    ), status


# --- one session --------------------------------------------------------------------------


@bp.route("/<int:session_id>")
def session(session_id: int):
    summary = _summary_or_404(session_id)
    session = summary.session
    return render_template(
        "activities/session.html",
        summary=summary,
        session=session,
        lock=active_lock(session.grant_id, session.held_on),
        evidence=evidence_panel(EvidenceKind.SESSION, session.id),
    )


@bp.route("/<int:session_id>/attendance", methods=["GET", "POST"])
def attendance(session_id: int):
    summary = _summary_or_404(session_id)
    session = summary.session
    show_names = can_see_names()
    choices = register_choices(session, with_names=show_names)
    # ?usual=1 ticks everyone who usually comes as well (the button, without JavaScript).
    ticking_usual = request.method == "GET" and request.args.get("usual") == "1"
    if request.method == "GET":
        ticked = {person.id for person in summary.attendees}
        if ticking_usual:
            ticked |= choices.usual
        form = AttendanceForm(
            data={"young_people": sorted(ticked), "carers": session.carers}
        )
    else:
        form = AttendanceForm()
    form.set_choices(choices.people, with_names=show_names)
    status = 200
    if form.validate_on_submit():
        try:
            added, removed = set_attendance(
                session,
                actor=_actor(),
                young_person_ids=form.attendee_ids(),
                carers=form.carers.data or 0,
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
            if added or removed:
                flash(
                    f"Register saved: {len(added)} added, {len(removed)} removed.",
                    "success",
                )
            else:
                flash("Register saved.", "success")
            return redirect(url_for(".session", session_id=session_id))
    elif form.errors or form.form_errors:
        status = 422
    return render_template(
        "activities/attendance.html",
        form=form,
        summary=summary,
        session=session,
        more=choices.more,
        usual=choices.usual,
        ticking_usual=ticking_usual,
        lock=active_lock(session.grant_id, session.held_on),
    ), status


# --- the programme of one grant -----------------------------------------------------------


@bp.route("/programme/<int:grant_id>", endpoint="programme")
def programme_view(grant_id: int):
    grant = db.session.get(Grant, grant_id)
    if grant is None:
        abort(404)
    form = ProgrammeFilterForm(formdata=request.args)
    if not form.validate():
        # The figures wait until the dates make sense; nothing half-filtered is shown.
        return render_template(
            "activities/programme.html", grant=grant, form=form, figures=None
        ), 422
    date_from, date_to = form.date_from.data, form.date_to.data
    return render_template(
        "activities/programme.html",
        grant=grant,
        form=form,
        figures=programme(grant_id, date_from=date_from, date_to=date_to),
        sessions=programme_sessions(grant_id, date_from=date_from, date_to=date_to),
        not_attended_total=not_attended_count(grant_id),
        filtered=form.filtered,
    )
