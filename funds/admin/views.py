"""User administration pages, the audit trail and the organisation's details."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from funds.admin.audit_trail import describe
from funds.admin.forms import (
    ROLE_HINTS,
    AuditFilterForm,
    ConfirmForm,
    NewUserForm,
    OrganisationForm,
    RoleForm,
)
from funds.admin.queries import (
    AUDIT_PAGE_SIZE,
    audit_download_rows,
    audit_people,
    list_audit_events,
    list_users,
)
from funds.admin.services import (
    change_role,
    create_user,
    disable_user,
    enable_user,
    reset_password,
)
from funds.auth.decorators import recent_login_required
from funds.auth.two_factor import reset_two_factor
from funds.downloads import Column, audited_download
from funds.errors import FundsError, apply_to_form
from funds.extensions import db
from funds.models import AuditEvent, Role, User
from funds.organisation import current_organisation, update_organisation

bp = Blueprint("admin", __name__)


@bp.route("/users")
def users():
    return render_template(
        "admin/users.html", users=db.session.scalars(list_users()).all()
    )


@bp.route("/users/new", methods=["GET", "POST"])
@recent_login_required()
def new_user():
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user, temporary = create_user(
                actor=current_user._get_current_object(),
                email=form.email.data,
                name=form.name.data,
                role=Role(form.role.data),
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
        else:
            db.session.commit()
            # Shown once in this response, never stored or put in a cookie.
            return render_template(
                "admin/password_shown.html", user=user, password=temporary, new=True
            )
    status = 422 if form.errors else 200
    return render_template(
        "admin/new_user.html", form=form, role_hints=ROLE_HINTS
    ), status


@bp.route("/users/<int:user_id>")
@recent_login_required()
def user(user_id: int):
    return _user_page(db.get_or_404(User, user_id))


def _user_page(person: User, *, role_form: RoleForm | None = None, status: int = 200):
    role_form = role_form or RoleForm(data={"role": person.role.value})
    page = render_template(
        "admin/user.html",
        person=person,
        form=role_form,
        confirm=ConfirmForm(),
        role_hints=ROLE_HINTS,
    )
    return page, status


def _act(user_id: int, action, success: str, form_class=ConfirmForm):
    """Run one account action from the user page: validate, call the service, commit."""
    person = db.get_or_404(User, user_id)
    form = form_class()
    role_form = form if isinstance(form, RoleForm) else None
    if not form.validate_on_submit():
        return _user_page(person, role_form=role_form, status=422)
    try:
        result = action(person, form)
    except FundsError as error:
        db.session.rollback()
        role_form = role_form or RoleForm(data={"role": person.role.value})
        apply_to_form(role_form, error)
        return _user_page(person, role_form=role_form, status=409)
    db.session.commit()
    if isinstance(result, str):
        return render_template(
            "admin/password_shown.html", user=person, password=result, new=False
        )
    flash(success.format(name=person.name), "success")
    return redirect(url_for("admin.user", user_id=person.id))


@bp.route("/users/<int:user_id>/role", methods=["POST"], endpoint="change_role")
@recent_login_required("admin.user")
def change_role_view(user_id: int):
    actor = current_user._get_current_object()
    return _act(
        user_id,
        lambda person, form: change_role(
            person, actor=actor, role=Role(form.role.data)
        ),
        "{name}'s role has been changed",
        RoleForm,
    )


@bp.route("/users/<int:user_id>/disable", methods=["POST"], endpoint="disable_user")
@recent_login_required("admin.user")
def disable_user_view(user_id: int):
    actor = current_user._get_current_object()
    return _act(
        user_id,
        lambda person, form: disable_user(person, actor=actor),
        "{name} can no longer sign in",
    )


@bp.route("/users/<int:user_id>/enable", methods=["POST"], endpoint="enable_user")
@recent_login_required("admin.user")
def enable_user_view(user_id: int):
    actor = current_user._get_current_object()
    return _act(
        user_id,
        lambda person, form: enable_user(person, actor=actor),
        "{name} can sign in again",
    )


@bp.route(
    "/users/<int:user_id>/reset-password", methods=["POST"], endpoint="reset_password"
)
@recent_login_required("admin.user")
def reset_password_view(user_id: int):
    actor = current_user._get_current_object()
    return _act(user_id, lambda person, form: reset_password(person, actor=actor), "")


@bp.route(
    "/users/<int:user_id>/reset-two-step",
    methods=["POST"],
    endpoint="reset_two_factor",
)
@recent_login_required("admin.user")
def reset_two_factor_view(user_id: int):
    actor = current_user._get_current_object()
    return _act(
        user_id,
        lambda person, form: reset_two_factor(person, actor=actor),
        "{name}'s two-step sign-in has been reset: they now sign in with their "
        "password, and have been signed out everywhere",
    )


@bp.route("/audit")
def audit():
    form = AuditFilterForm(formdata=request.args)
    form.set_people(audit_people())
    if not form.validate():
        return render_template(
            "admin/audit.html", form=form, entries=None, older=None
        ), 422
    before = _before(request.args.get("before"))
    events = db.session.scalars(
        list_audit_events(
            before_id=before, limit=AUDIT_PAGE_SIZE + 1, **form.criteria()
        ).options(joinedload(AuditEvent.actor))
    ).all()
    more = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    older = (
        url_for(".audit", before=events[-1].id, **form.link_args()) if more else None
    )
    newest = url_for(".audit", **form.link_args()) if before is not None else None
    return render_template(
        "admin/audit.html",
        form=form,
        entries=describe(events),
        older=older,
        newest=newest,
    )


#: The audit trail as a file: the columns of audit_download_rows.
AUDIT_COLUMNS = (
    Column("When (UTC)", "text", 20),
    Column("Who", "text", 20),
    Column("Action", "text", 22),
    Column("Record", "text", 20),
    Column("Summary", "text", 80),
    Column("From (IP address)", "text", 16),
)


@bp.route("/audit/download.csv", endpoint="audit_download_csv", defaults={"fmt": "csv"})
@bp.route(
    "/audit/download.xlsx", endpoint="audit_download_xlsx", defaults={"fmt": "xlsx"}
)
def audit_download(fmt: str):
    """Every entry the trail's current filter shows (all pages), as a file."""
    form = AuditFilterForm(formdata=request.args)
    form.set_people(audit_people())
    if not form.validate():
        return render_template(
            "admin/audit.html", form=form, entries=None, older=None
        ), 422
    filters = {
        name: getattr(form, name).data
        for name in ("who", "what", "date_from", "date_to")
        if getattr(form, name).data
    }
    return audited_download(
        fmt,
        actor=current_user._get_current_object(),
        list_name="audit-trail",
        filters=filters,
        stem="audit-trail",
        title="Audit trail",
        columns=AUDIT_COLUMNS,
        rows=audit_download_rows(**form.criteria()),
    )


def _before(token: str | None) -> int | None:
    """The page's starting point from its link: an id in ASCII digits, else the newest."""
    if token and token.isascii() and token.isdigit() and len(token) < 19:
        return int(token)
    return None


# --- the organisation -------------------------------------------------------------------


@bp.route("/organisation", methods=["GET", "POST"])
def organisation():
    """The organisation's name, address, charity number and returns contact."""
    current = current_organisation()
    if request.method == "GET":
        form = OrganisationForm(
            data={name: getattr(current, name) for name in OrganisationForm.FIELDS}
        )
    else:
        form = OrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            update_organisation(
                form.details(), actor=current_user._get_current_object()
            )
        except FundsError as error:
            db.session.rollback()
            apply_to_form(form, error)
            status = 422
        else:
            db.session.commit()
            flash("Organisation details saved: new returns use them.", "success")
            return redirect(url_for(".organisation"))
    elif form.is_submitted():
        status = 422
    return render_template(
        "admin/organisation.html", form=form, organisation=current
    ), status
