"""Pages for households and young people: lists with search, add, change, and what
each received across grants."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from funds import clock
from funds.activities.queries import attended
from funds.auth.decorators import recent_login_required
from funds.disbursements.queries import Cursor, LedgerFilter, ledger_page
from funds.downloads import Column, audited_download
from funds.errors import FundsError, NotAllowed, apply_to_form
from funds.extensions import db
from funds.models import Disability, Ethnicity, Gender, Household, Role, YoungPerson
from funds.people.finding import KINDS, find_people
from funds.people.forms import (
    HouseholdForm,
    NameSearchForm,
    SearchForm,
    YoungPersonForm,
)
from funds.people.queries import (
    household_download_rows,
    list_households,
    list_young_people,
    received,
    teams,
    young_people_download_rows,
    young_people_in,
)
from funds.people.services import (
    HouseholdInput,
    LikelyDuplicate,
    YoungPersonInput,
    create_household,
    create_young_person,
    update_household,
    update_young_person,
)
from funds.permissions import can_see_names
from funds.privacy.holds import active_hold
from funds.privacy.viewing import recent_views, record_view

bp = Blueprint("people", __name__)

# Service field names that the forms show under another field.
_FORM_FIELD = {"has_children": "groups"}


def _actor():
    return current_user._get_current_object()


def _posted():
    """The posted fields, even when there are none (Flask-WTF would then use the
    defaults, and an empty POST would add a household of one adult)."""
    return request.form if request.method == "POST" else None


def _show_error(form, error: FundsError) -> int:
    """Put a service's error on the form; the status code to answer with."""
    db.session.rollback()
    if error.field in _FORM_FIELD:
        error = type(error)(error.message, field=_FORM_FIELD[error.field])
    apply_to_form(form, error)
    return 409 if isinstance(error, NotAllowed) else 422


def _matches(error: LikelyDuplicate) -> list[dict]:
    """What the duplicate warning lists (read before the rollback expires them)."""
    return [
        {
            "id": match.id,
            "reference": match.reference,
            "case_reference": match.case_reference,
            "name": match.name,
            "date_of_birth": getattr(match, "date_of_birth", None),
        }
        for match in error.matches
    ]


def _search_form() -> tuple[SearchForm | NameSearchForm, bool]:
    """The list's search and whether its text may match names: only when posted (names
    never travel in a URL or an access log) and only for roles that may see names. A
    query string's ``q`` finds references and case references, never a name."""
    if request.method == "POST":
        return NameSearchForm(), can_see_names()
    return SearchForm(request.args), False


def _search_page(template: str, lister):
    """A list with its search box; a search that cannot be run is a 422."""
    form, by_name = _search_form()
    if form.validate():
        result = lister(form.q.data, with_names=by_name, page=form.page_number)
        status = 200
    else:
        result, status = None, 422
    return render_template(
        template,
        form=form,
        result=result,
        searched=bool(form.q.data) and status == 200,
        posted=request.method == "POST",
        today=clock.today(),
    ), status


#: Who the person is: only for roles that may see names (funds.permissions.NAME_ROLES).
_NAME_COLUMNS = (Column("Name", "text", 24), Column("Contact details", "text", 28))


def _people_download(fmt: str, template: str, list_name: str, columns, rows):
    """Everyone the list (with its search) finds, as a file; names only for roles that
    may see them. ``columns(show_names)`` and ``rows(q, with_names, by_name)``. A
    posted search is recorded without its text (it may be a name)."""
    form, by_name = _search_form()
    show_names = can_see_names()
    if not form.validate():
        return render_template(
            template,
            form=form,
            result=None,
            searched=False,
            posted=request.method == "POST",
            today=clock.today(),
        ), 422
    q = form.q.data or None
    filters = {}
    if q and request.method == "POST":
        filters = {"search": "posted (text not kept)"}
    elif q:
        filters = {"q": q}
    return audited_download(
        fmt,
        actor=_actor(),
        list_name=list_name,
        filters=filters,
        stem=list_name,
        title=list_name.replace("-", " ").capitalize(),
        columns=columns(show_names),
        rows=rows(q, with_names=show_names, by_name=by_name),
    )


def _ledger(**filters):
    """A page of this person's ledger lines and the link to the next page."""
    page = ledger_page(
        LedgerFilter(**filters), after=Cursor.parse(request.args.get("after"))
    )
    next_url = None
    if page.next_cursor is not None:
        next_url = url_for(
            request.endpoint, **request.view_args, after=page.next_cursor.token()
        )
    return {
        "page": page,
        "next_url": next_url,
        "received": received(**filters),
        "older": "after" in request.args,
    }


def _log_view(record: Household | YoungPerson):
    """A page with names on it is a view on record (``person.view``), committed at once
    in its own short transaction; admins see who viewed it (None for other roles)."""
    if can_see_names():
        record_view(record, actor=_actor())
        db.session.commit()
    if current_user.role is Role.ADMIN:
        return recent_views(record)
    return None


# --- finding people ----------------------------------------------------------------

#: The longest text the type-ahead searches for (a name is at most 120 characters).
LOOKUP_MAX = 120


@bp.route("/people/lookup", methods=["POST"])
def lookup():
    """The type-ahead: households and young people matching the text, as JSON.

    POST only, with the text in the form body (and the CSRF token in ``X-CSRFToken``),
    so a typed name never reaches an address, a browser's history or an access log.
    """
    text = request.form.get("q", "")
    kinds = tuple(request.form.get("kinds", ",".join(KINDS)).split(","))
    if len(text) > LOOKUP_MAX:
        return _no_store(jsonify(error=f"Type {LOOKUP_MAX} characters or fewer")), 422
    if not kinds or any(kind not in KINDS for kind in kinds):
        return _no_store(jsonify(error="Ask for households, young people or both")), 422
    found = find_people(text, with_names=can_see_names(), kinds=kinds)
    return _no_store(
        jsonify(results=[match.as_json() for match in found.matches], more=found.more)
    )


def _no_store(response):
    """The answers hold names: never kept in a cache (set here as well as globally)."""
    response.headers["Cache-Control"] = "no-store"
    return response


# --- households ---------------------------------------------------------------------


@bp.route("/households", methods=["GET", "POST"])
def households():
    return _search_page("people/households.html", list_households)


def _household_columns(show_names: bool) -> list[Column]:
    return [
        Column("Reference", "text", 12),
        *(_NAME_COLUMNS if show_names else ()),
        Column("Case reference", "text", 16),
        Column("Team", "text", 18),
        Column("Adults", "number", 8),
        Column("Children", "number", 9),
        Column("Has children", "text", 9),
        Column("Has a pensioner", "text", 9),
        Column("Has a disabled person", "text", 9),
        Column("Has a care leaver", "text", 9),
        Column("Postcode district", "text", 10),
        Column("Added", "date", 12),
    ]


@bp.route(
    "/households/download.csv",
    endpoint="households_download_csv",
    defaults={"fmt": "csv"},
    methods=["GET", "POST"],
)
@bp.route(
    "/households/download.xlsx",
    endpoint="households_download_xlsx",
    defaults={"fmt": "xlsx"},
    methods=["GET", "POST"],
)
@recent_login_required()
def households_download(fmt: str):
    return _people_download(
        fmt,
        "people/households.html",
        "households",
        _household_columns,
        household_download_rows,
    )


def _household_input(form: HouseholdForm, household: Household | None = None):
    return HouseholdInput(
        adults=form.adults.number,
        children=form.children.number,
        **form.flags(),
        postcode_district=form.postcode_district.data,
        case_reference=form.case_reference.data,
        team_id=form.team_id,
        **form.private_values(household),
    )


def _household_form(household: Household | None = None) -> HouseholdForm:
    initial = None
    if household is not None and request.method == "GET":
        initial = HouseholdForm.initial(household)
    form = HouseholdForm(formdata=_posted(), data=initial)
    form.setup(teams=teams(), show_names=can_see_names())
    return form


@bp.route("/households/new", methods=["GET", "POST"])
def new_household():
    form = _household_form()
    matches: list[dict] = []
    status = 200
    if form.validate_on_submit():
        try:
            household = create_household(
                _household_input(form),
                actor=_actor(),
                check_duplicates=not form.confirm_duplicate.data,
            )
        except LikelyDuplicate as error:
            matches = _matches(error)
            db.session.rollback()
            status = 409
        except FundsError as error:
            status = _show_error(form, error)
        else:
            db.session.commit()
            flash(f"Household {household.reference} added", "success")
            return redirect(url_for("people.household", household_id=household.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "people/household_form.html", form=form, household=None, matches=matches
    ), status


@bp.route("/households/<int:household_id>")
def household(household_id: int):
    record = db.get_or_404(Household, household_id)
    views = _log_view(record)
    return render_template(
        "people/household.html",
        household=record,
        views=views,
        hold=active_hold(record),
        young_people=young_people_in(record.id),
        today=clock.today(),
        **_ledger(household_id=record.id),
    )


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
def edit_household(household_id: int):
    record = db.get_or_404(Household, household_id)
    form = _household_form(record)
    status = 200
    if form.validate_on_submit():
        try:
            update_household(record, _household_input(form, record), actor=_actor())
        except FundsError as error:
            status = _show_error(form, error)
        else:
            db.session.commit()
            flash(f"Household {record.reference} updated", "success")
            return redirect(url_for("people.household", household_id=record.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "people/household_form.html", form=form, household=record, matches=[]
    ), status


# --- young people -------------------------------------------------------------------


@bp.route("/young-people", methods=["GET", "POST"])
def young_people():
    return _search_page("people/young_people.html", list_young_people)


def _young_person_columns(show_names: bool) -> list[Column]:
    return [
        Column("Reference", "text", 12),
        *(_NAME_COLUMNS if show_names else ()),
        Column("Case reference", "text", 16),
        Column("Age", "number", 6),
        Column("Gender", "text", 14),
        Column("Ethnic group", "text", 28),
        Column("Disability", "text", 12),
        Column("Team", "text", 18),
        Column("Household", "text", 12),
        Column("Added", "date", 12),
    ]


@bp.route(
    "/young-people/download.csv",
    endpoint="young_people_download_csv",
    defaults={"fmt": "csv"},
    methods=["GET", "POST"],
)
@bp.route(
    "/young-people/download.xlsx",
    endpoint="young_people_download_xlsx",
    defaults={"fmt": "xlsx"},
    methods=["GET", "POST"],
)
@recent_login_required()
def young_people_download(fmt: str):
    today = clock.today()
    return _people_download(
        fmt,
        "people/young_people.html",
        "young-people",
        _young_person_columns,
        lambda q, with_names, by_name: young_people_download_rows(
            q, with_names=with_names, today=today, by_name=by_name
        ),
    )


def _young_person_input(form: YoungPersonForm, person: YoungPerson | None = None):
    return YoungPersonInput(
        date_of_birth=form.date_of_birth.data,
        gender=Gender(form.gender.data),
        ethnicity=Ethnicity(form.ethnicity.data),
        disability=Disability(form.disability.data),
        case_reference=form.case_reference.data,
        team_id=form.team_id,
        household_reference=form.household.data,
        **form.private_values(person),
    )


def _young_person_form(person: YoungPerson | None = None) -> YoungPersonForm:
    initial = None
    if person is not None and request.method == "GET":
        initial = YoungPersonForm.initial(person)
    form = YoungPersonForm(formdata=_posted(), data=initial)
    form.setup(teams=teams(), show_names=can_see_names())
    return form


@bp.route("/young-people/new", methods=["GET", "POST"])
def new_young_person():
    form = _young_person_form()
    matches: list[dict] = []
    status = 200
    if form.validate_on_submit():
        try:
            person = create_young_person(
                _young_person_input(form),
                actor=_actor(),
                today=clock.today(),
                check_duplicates=not form.confirm_duplicate.data,
            )
        except LikelyDuplicate as error:
            matches = _matches(error)
            db.session.rollback()
            status = 409
        except FundsError as error:
            status = _show_error(form, error)
        else:
            db.session.commit()
            flash(f"Young person {person.reference} added", "success")
            return redirect(url_for("people.young_person", young_person_id=person.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "people/young_person_form.html", form=form, person=None, matches=matches
    ), status


@bp.route("/young-people/<int:young_person_id>")
def young_person(young_person_id: int):
    record = db.get_or_404(YoungPerson, young_person_id)
    views = _log_view(record)
    return render_template(
        "people/young_person.html",
        person=record,
        views=views,
        hold=active_hold(record),
        age=record.age_on(clock.today()),
        attended=attended(record.id),
        **_ledger(young_person_id=record.id),
    )


@bp.route("/young-people/<int:young_person_id>/edit", methods=["GET", "POST"])
def edit_young_person(young_person_id: int):
    record = db.get_or_404(YoungPerson, young_person_id)
    form = _young_person_form(record)
    status = 200
    if form.validate_on_submit():
        try:
            update_young_person(
                record,
                _young_person_input(form, record),
                actor=_actor(),
                today=clock.today(),
            )
        except FundsError as error:
            status = _show_error(form, error)
        else:
            db.session.commit()
            flash(f"Young person {record.reference} updated", "success")
            return redirect(url_for("people.young_person", young_person_id=record.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "people/young_person_form.html", form=form, person=record, matches=[]
    ), status
