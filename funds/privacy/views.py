"""Pages for retention rules, holds, erasure and the due-for-review list."""

from __future__ import annotations

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

from funds import clock
from funds.auth.decorators import recent_login_required
from funds.errors import FundsError, NotAllowed, apply_to_form, status_for
from funds.extensions import db
from funds.models import Grant, Household, RecordKind, YoungPerson
from funds.privacy.erasure import erase_person, erasure_preview
from funds.privacy.forms import EraseForm, HoldForm, ReviewForm, event_of, rule_form
from funds.privacy.holds import active_hold, holding, place_hold, release_hold
from funds.privacy.retention import due_files, due_people, remove_file, rules, set_rule

bp = Blueprint("privacy", __name__)

#: URL word -> (model, page endpoint, its id argument, what it is called)
_SUBJECTS = {
    "households": (Household, "people.household", "household_id", "household"),
    "young-people": (
        YoungPerson,
        "people.young_person",
        "young_person_id",
        "young person",
    ),
    "grants": (Grant, "grants.detail", "grant_id", "grant"),
}


def _actor():
    return current_user._get_current_object()


def _subject(subject: str, ids: dict, *, people_only: bool = False):
    if subject not in _SUBJECTS or (people_only and subject == "grants"):
        abort(404)
    model, endpoint, argument, noun = _SUBJECTS[subject]
    record = db.get_or_404(model, ids[argument])
    return record, url_for(endpoint, **{argument: record.id}), noun


def _routes(action: str, subjects=tuple(_SUBJECTS)):
    """One URL per kind of record, e.g. /privacy/households/<household_id>/hold, all
    served by the same view (the record's id argument is named as everywhere else)."""

    def decorator(view):
        for subject in subjects:
            argument = _SUBJECTS[subject][2]
            view = bp.route(
                f"/{subject}/<int:{argument}>/{action}",
                methods=["GET", "POST"],
                defaults={"subject": subject},
            )(view)
        return view

    return decorator


# --- retention rules -------------------------------------------------------------------


def _rules_page(forms: dict, status: int = 200, form=None):
    # ``form`` (the one that failed) feeds the layout's error summary.
    return render_template(
        "privacy/retention.html",
        rules=rules(),
        forms=forms,
        kinds=list(RecordKind),
        form=form,
    ), status


def _rule_forms(current) -> dict:
    return {
        kind: rule_form(
            kind,
            formdata=None,
            data={"months": current[kind].months, "event": current[kind].event.value},
        )
        for kind in RecordKind
    }


@bp.route("/retention", methods=["GET", "POST"])
def retention():
    forms = _rule_forms(rules())
    if request.method == "GET":
        return _rules_page(forms)
    try:
        kind = RecordKind(request.form.get("kind", ""))
    except ValueError:
        abort(400)
    form = rule_form(kind)
    if form.validate_on_submit():
        try:
            set_rule(
                kind, months=form.months.data, event=event_of(form), actor=_actor()
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = status_for(error)
        else:
            db.session.commit()
            flash(f"Retention of {kind.label.lower()} saved", "success")
            return redirect(url_for("privacy.retention"))
    else:
        status = 422
    forms = _rule_forms(rules())
    forms[kind] = form
    return _rules_page(forms, status, form)


# --- holds -----------------------------------------------------------------------------


def _hold_page(form, record, noun, back, *, hold, releasing: bool, status=200):
    return render_template(
        "privacy/hold.html",
        form=form,
        record=record,
        noun=noun,
        back=back,
        hold=hold,
        releasing=releasing,
    ), status


def _commit_or_show(form, action, *, done: str, back: str) -> tuple:
    """Run the service ``action``; on success commit, flash ``done`` and go ``back``;
    on its error roll back and put the message on the form. Returns (redirect or None,
    status): a held or erased record clashes (409), a bad reason breaks a rule (422)."""
    try:
        action()
    except FundsError as error:
        db.session.rollback()
        apply_to_form(form, error)
        return None, 409 if isinstance(error, NotAllowed) else status_for(error)
    db.session.commit()
    flash(done, "success")
    return redirect(back), 200


@_routes("hold")
def place(subject: str, **ids):
    record, back, noun = _subject(subject, ids)
    form = HoldForm()
    hold = active_hold(record)
    if hold is not None:  # already held: the page says so (and offers no form)
        return _hold_page(form, record, noun, back, hold=hold, releasing=False)
    status = 200
    if form.validate_on_submit():
        done, status = _commit_or_show(
            form,
            lambda: place_hold(record, reason=form.reason.data, actor=_actor()),
            done=f"{record.reference} is held: it will not be erased",
            back=back,
        )
        if done is not None:
            return done
    elif form.is_submitted():
        status = 422
    return _hold_page(
        form, record, noun, back, hold=None, releasing=False, status=status
    )


@_routes("release")
def release(subject: str, **ids):
    record, back, noun = _subject(subject, ids)
    form = HoldForm()
    hold = active_hold(record)
    status = 200
    if hold is not None and form.validate_on_submit():
        done, status = _commit_or_show(
            form,
            lambda: release_hold(record, reason=form.reason.data, actor=_actor()),
            done=f"The hold on {record.reference} is released",
            back=back,
        )
        if done is not None:
            return done
    elif form.is_submitted():
        status = 422 if hold is not None else 409
    return _hold_page(
        form, record, noun, back, hold=hold, releasing=True, status=status
    )


# --- erasure ---------------------------------------------------------------------------


@_routes("erase", subjects=("households", "young-people"))
@recent_login_required("privacy.erase")
def erase(subject: str, **ids):
    record, back, noun = _subject(subject, ids, people_only=True)
    form = EraseForm()
    status = 200
    if form.validate_on_submit():
        done, status = _commit_or_show(
            form,
            lambda: erase_person(record, reason=form.reason.data, actor=_actor()),
            done=f"The personal details of {noun} {record.reference} were erased",
            back=back,
        )
        if done is not None:
            return done
    elif form.is_submitted():
        status = 422
    record, back, noun = _subject(subject, ids, people_only=True)
    return render_template(
        "privacy/erase.html",
        form=form,
        record=record,
        noun=noun,
        back=back,
        preview=erasure_preview(record),
        hold=holding(record),
    ), status


# --- due for review --------------------------------------------------------------------


@bp.route("/review", methods=["GET", "POST"])
@recent_login_required("privacy.review")
def review():
    today = clock.today()
    form = ReviewForm()
    status = 200
    if form.validate_on_submit():
        people = {d.reference: d for d in due_people(today)}
        files = {str(d.id): d for d in due_files(today)}
        chosen_people = [people[r] for r in form.people.data or [] if r in people]
        chosen_files = [files[f] for f in form.files.data or [] if f in files]
        if not chosen_people and not chosen_files:
            form.form_errors.append("Tick at least one record that is still due")
            status = 422
        else:
            done = _apply(chosen_people, chosen_files)
            flash(done, "success")
            return redirect(url_for("privacy.review"))
    return render_template(
        "privacy/review.html",
        form=form,
        people=due_people(today),
        files=due_files(today),
        rules=rules(),
        today=today,
    ), status


def _apply(people, files) -> str:
    """Erase and remove what was ticked, each in its own short transaction."""
    erased = removed = 0
    left = []
    for due in people:
        model = Household if due.subject_type == "household" else YoungPerson
        try:
            erase_person(
                db.session.get(model, due.id),
                reason=f"Retention review: {due.rule.text} (due {due.due_on})",
                actor=_actor(),
            )
        except FundsError as error:
            db.session.rollback()
            left.append(f"{due.reference} ({error.message})")
            continue
        db.session.commit()
        erased += 1
    for due in files:
        try:
            remove_file(due.id, reason=f"retention: {due.rule.text}", actor=_actor())
        except FundsError:
            db.session.rollback()
            continue
        db.session.commit()
        removed += 1
    message = f"{erased} people erased and {removed} evidence files removed"
    if left:
        message += "; left: " + ", ".join(left)
    return message
