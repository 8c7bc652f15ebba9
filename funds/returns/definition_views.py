"""Return definitions on the web: the list, copying one, changing a draft's sheets and
tables, previewing it on a real grant, saving it as a version, export and import."""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from funds.errors import FundsError, apply_to_form
from funds.extensions import db
from funds.models import DefinitionDraft, Grant
from funds.returns.definition import DefinitionError
from funds.returns.definition_forms import (
    DetailsForm,
    ImportForm,
    NewSheetForm,
    SheetForm,
    ValueLabelsForm,
    table_form,
)
from funds.returns.dimensions import DIMENSIONS
from funds.returns.drafts import (
    DraftProblems,
    add_sheet,
    add_table,
    copy_definition,
    discard_draft,
    draft_definition,
    edit_saved,
    import_definition,
    move_sheet,
    move_table,
    next_version,
    remove_sheet,
    remove_table,
    save_version,
    set_details,
    set_sheet,
    set_table,
    set_value_labels,
)
from funds.returns.forms import ReturnForm
from funds.returns.library import (
    MAX_FILE_BYTES,
    available,
    get_definition,
    read_file,
    to_toml,
    versions,
)
from funds.returns.measures import MEASURES
from funds.returns.services import compute_figures
from funds.returns.views import _grants, send_return

bp = Blueprint("definitions", __name__)
TOML = "application/toml"


def _actor():
    return current_user._get_current_object()


def _token_ok() -> bool:
    """A POST button with nothing but the CSRF token (copy, move, remove, save...)."""
    return FlaskForm().validate_on_submit()


def _drafts() -> list[DefinitionDraft]:
    return list(
        db.session.scalars(select(DefinitionDraft).order_by(DefinitionDraft.title))
    )


def _problems_to_form(form, error: FundsError) -> None:
    if isinstance(error, DraftProblems):
        form.form_errors.extend(error.problems)
    else:
        apply_to_form(form, error)


@bp.route("/")
def index(import_form=None, status=200):
    return render_template(
        "definitions/index.html",
        definitions=available(),
        drafts=_drafts(),
        import_form=import_form or ImportForm(formdata=None),
        **({"form": import_form} if import_form is not None else {}),
    ), status


@bp.route("/<key>/copy", methods=["POST"])
def copy(key: str):
    if not _token_ok():
        abort(400)
    try:
        draft = copy_definition(key, actor=_actor())
    except LookupError:
        abort(404)
    db.session.commit()
    flash(
        f"“{draft.title}” is a draft copy: change it, preview it, then save it.",
        "success",
    )
    return redirect(url_for(".draft", draft_id=draft.id))


@bp.route("/<key>/edit", methods=["POST"])
def edit(key: str):
    if not _token_ok():
        abort(400)
    try:
        draft = edit_saved(key, actor=_actor())
    except LookupError:
        abort(404)
    except FundsError as error:
        flash(error.message, "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return redirect(url_for(".draft", draft_id=draft.id))


@bp.route("/<key>")
def saved(key: str):
    try:
        definition = get_definition(key)
    except LookupError:
        abort(404)
    return render_template(
        "definitions/saved.html",
        definition=definition,
        versions=versions(key),
        describe=_describe,
    )


@bp.route("/<key>/export.toml")
def export(key: str):
    version = request.args.get("version", type=int)
    try:
        definition = get_definition(key, version)
    except LookupError:
        abort(404)
    return send_file(
        io.BytesIO(to_toml(definition).encode("utf-8")),
        mimetype=TOML,
        as_attachment=True,
        download_name=f"{definition.key}-v{definition.version}.toml",
    )


@bp.route("/import", methods=["POST"])
def import_file():
    form = ImportForm()
    if form.validate_on_submit():
        content = form.content(MAX_FILE_BYTES)
        try:
            definition = read_file(content)
        except DefinitionError as error:
            form.file.errors = list(error.problems)
        else:
            draft = import_definition(definition, actor=_actor())
            db.session.commit()
            flash(
                f"“{draft.title}” was read from the file: check it, then save it.",
                "success",
            )
            return redirect(url_for(".draft", draft_id=draft.id))
    return index(import_form=form, status=422)


# --- one draft ---------------------------------------------------------------------------------


def _describe(table: dict) -> str:
    """A table in a sentence: what its rows and columns are and what it counts."""
    parts = []
    if table.get("rows"):
        parts.append(f"rows: {DIMENSIONS[table['rows']].label.lower()}")
    if table.get("columns"):
        parts.append(f"columns: {DIMENSIONS[table['columns']].label.lower()}")
    measures = ", ".join(
        (table.get("labels") or {}).get(key) or MEASURES[key].label
        for key in table.get("measures", [])
    )
    parts.append(f"showing {measures}")
    if table.get("suppress_below"):
        parts.append(f"counts under {table['suppress_below']} hidden")
    return "; ".join(parts)


def _draft_page(draft: DefinitionDraft, *, status=200, **forms):
    details = forms.pop("details", None) or DetailsForm(
        formdata=None,
        data={
            "title": draft.title,
            "key": draft.key,
            "description": draft.body.get("description", ""),
        },
    )
    new_sheet = forms.pop("new_sheet", None) or NewSheetForm(formdata=None)
    labels = forms.pop("labels", None) or ValueLabelsForm(formdata=None)
    preview = ReturnForm(formdata=None)
    preview.set_choices(_grants(), [])
    failed = next((f for f in (details, new_sheet, labels) if f.errors), None)
    return render_template(
        "definitions/draft.html",
        draft=draft,
        body=draft.body,
        version=next_version(draft.key),
        details=details,
        new_sheet=new_sheet,
        labels=labels,
        preview=preview,
        describe=_describe,
        sheet_forms={
            index: SheetForm(
                formdata=None,
                data={
                    "name": s["name"],
                    "orientation": s.get("orientation", "landscape"),
                },
                prefix=f"sheet{index}",
            )
            for index, s in enumerate(draft.body["sheets"])
        },
        **({"form": failed} if failed is not None else {}),
    ), status


def _draft_or_404(draft_id: int) -> DefinitionDraft:
    return db.get_or_404(DefinitionDraft, draft_id)


@bp.route("/drafts/<int:draft_id>")
def draft(draft_id: int):
    return _draft_page(_draft_or_404(draft_id))


@bp.route("/drafts/<int:draft_id>/details", methods=["POST"])
def details(draft_id: int):
    draft = _draft_or_404(draft_id)
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            set_details(
                draft,
                actor=_actor(),
                key=form.key.data,
                title=form.title.data,
                description=form.description.data or "",
            )
        except FundsError as error:
            db.session.rollback()
            _problems_to_form(form, error)
        else:
            db.session.commit()
            flash("The title and key have been saved", "success")
            return redirect(url_for(".draft", draft_id=draft.id))
    return _draft_page(_draft_or_404(draft_id), details=form, status=422)


def _after_change(draft_id: int, message: str, anchor: str = ""):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(".draft", draft_id=draft_id) + anchor)


def _refused(draft_id: int, error: FundsError):
    db.session.rollback()
    messages = error.problems if isinstance(error, DraftProblems) else [error.message]
    for message in messages:
        flash(message, "error")
    return redirect(url_for(".draft", draft_id=draft_id))


def _button(draft_id: int, action, message: str, anchor: str = ""):
    if not _token_ok():
        abort(400)
    draft = _draft_or_404(draft_id)
    try:
        action(draft)
    except FundsError as error:
        return _refused(draft_id, error)
    return _after_change(draft_id, message, anchor)


@bp.route(
    "/drafts/<int:draft_id>/sheets/<int:sheet>/tables/<int:table>/move/<direction>",
    methods=["POST"],
)
def move(draft_id: int, sheet: int, table: int, direction: str):
    if direction not in ("up", "down"):
        abort(404)
    by = -1 if direction == "up" else 1
    return _button(
        draft_id,
        lambda d: move_table(
            d, actor=_actor(), sheet=sheet - 1, table=table - 1, by=by
        ),
        f"The table was moved {direction}",
        "#sheets",
    )


@bp.route(
    "/drafts/<int:draft_id>/sheets/<int:sheet>/tables/<int:table>/remove",
    methods=["POST"],
)
def remove(draft_id: int, sheet: int, table: int):
    return _button(
        draft_id,
        lambda d: remove_table(d, actor=_actor(), sheet=sheet - 1, table=table - 1),
        "The table was removed",
        "#sheets",
    )


@bp.route("/drafts/<int:draft_id>/sheets/<int:sheet>/tables/add", methods=["POST"])
def add(draft_id: int, sheet: int):
    if not _token_ok():
        abort(400)
    draft = _draft_or_404(draft_id)
    try:
        position = add_table(draft, actor=_actor(), sheet=sheet - 1)
    except FundsError as error:
        return _refused(draft_id, error)
    db.session.commit()
    return redirect(
        url_for(".table", draft_id=draft_id, sheet=sheet, table=position + 1)
    )


@bp.route("/drafts/<int:draft_id>/sheets/<int:sheet>", methods=["POST"])
def sheet_settings(draft_id: int, sheet: int):
    draft = _draft_or_404(draft_id)
    form = SheetForm(prefix=f"sheet{sheet - 1}")
    if not form.validate_on_submit():
        for field in form:
            for message in field.errors:
                flash(f"Sheet {sheet}: {message}", "error")
        return redirect(url_for(".draft", draft_id=draft_id) + "#sheets")
    try:
        set_sheet(
            draft,
            actor=_actor(),
            sheet=sheet,
            name=form.name.data,
            orientation=form.orientation.data,
        )
    except FundsError as error:
        return _refused(draft_id, error)
    return _after_change(draft_id, "The sheet has been saved", "#sheets")


@bp.route(
    "/drafts/<int:draft_id>/sheets/<int:sheet>/move/<direction>", methods=["POST"]
)
def sheet_move(draft_id: int, sheet: int, direction: str):
    if direction not in ("up", "down"):
        abort(404)
    by = -1 if direction == "up" else 1
    return _button(
        draft_id,
        lambda d: move_sheet(d, actor=_actor(), sheet=sheet - 1, by=by),
        f"The sheet was moved {direction}",
        "#sheets",
    )


@bp.route("/drafts/<int:draft_id>/sheets/<int:sheet>/remove", methods=["POST"])
def sheet_remove(draft_id: int, sheet: int):
    return _button(
        draft_id,
        lambda d: remove_sheet(d, actor=_actor(), sheet=sheet - 1),
        "The sheet was removed",
        "#sheets",
    )


@bp.route("/drafts/<int:draft_id>/sheets/add", methods=["POST"])
def sheet_add(draft_id: int):
    draft = _draft_or_404(draft_id)
    form = NewSheetForm()
    if form.validate_on_submit():
        try:
            add_sheet(draft, actor=_actor(), name=form.name.data)
        except FundsError as error:
            db.session.rollback()
            _problems_to_form(form, error)
        else:
            return _after_change(
                draft_id, f"The sheet “{form.name.data}” was added", "#sheets"
            )
    return _draft_page(_draft_or_404(draft_id), new_sheet=form, status=422)


@bp.route("/drafts/<int:draft_id>/labels", methods=["POST"])
def labels(draft_id: int):
    draft = _draft_or_404(draft_id)
    form = ValueLabelsForm()
    if form.validate_on_submit():
        try:
            set_value_labels(
                draft,
                actor=_actor(),
                dimension=form.dimension.data,
                labels=form.parsed(),
            )
        except FundsError as error:
            db.session.rollback()
            _problems_to_form(form, error)
        else:
            return _after_change(draft_id, "The names have been saved", "#names")
    return _draft_page(_draft_or_404(draft_id), labels=form, status=422)


def _sheets_of_tables(draft: DefinitionDraft) -> list[tuple[int, str]]:
    return [
        (index, sheet["name"])
        for index, sheet in enumerate(draft.body["sheets"])
        if sheet.get("kind", "tables") == "tables"
    ]


@bp.route(
    "/drafts/<int:draft_id>/sheets/<int:sheet>/tables/<int:table>",
    methods=["GET", "POST"],
)
def table(draft_id: int, sheet: int, table: int):
    """Sheets and tables are numbered from 1 in addresses, as on the page."""
    draft = _draft_or_404(draft_id)
    sheet, table = sheet - 1, table - 1
    try:
        current = draft.body["sheets"][sheet]["tables"][table]
    except (IndexError, KeyError):
        abort(404)
    formdata = request.form if request.method == "POST" else None
    form = table_form(current, _sheets_of_tables(draft), sheet, formdata=formdata)
    status = 200
    if request.method == "POST":
        if form.validate():
            try:
                set_table(
                    draft,
                    actor=_actor(),
                    sheet=sheet,
                    table=table,
                    settings=form.settings(),
                    to_sheet=form.sheet.data,
                )
            except FundsError as error:
                db.session.rollback()
                _problems_to_form(form, error)
            else:
                return _after_change(
                    draft_id, f"The table “{form.title.data}” has been saved", "#sheets"
                )
        status = 422
    return render_template(
        "definitions/table.html",
        draft=db.session.get(DefinitionDraft, draft_id),
        form=form,
        sheet=sheet + 1,
        table=table + 1,
        sheet_name=draft.body["sheets"][sheet]["name"],
        dimensions=DIMENSIONS,
    ), status


@bp.route("/drafts/<int:draft_id>/preview")
def preview(draft_id: int):
    draft = _draft_or_404(draft_id)
    form = ReturnForm(formdata=request.args)
    form.set_choices(_grants(), [])
    del form.template
    figures = None
    status = 200
    if form.validate():
        grant = db.session.get(Grant, int(form.grant.data))
        try:
            figures = compute_figures(
                grant,
                definition=draft_definition(draft),
                date_from=form.date_from.data,
                date_to=form.date_to.data,
            )
        except FundsError as error:
            apply_to_form(form, error)
            status = 422
    else:
        status = 422
    return render_template(
        "definitions/preview.html",
        draft=draft,
        preview=form,
        figures=figures,
        query=request.query_string.decode("ascii", "replace"),
        **({"form": form} if form.errors else {}),
    ), status


@bp.route("/drafts/<int:draft_id>/preview.xlsx")
def preview_workbook(draft_id: int):
    draft = _draft_or_404(draft_id)
    form = ReturnForm(formdata=request.args)
    form.set_choices(_grants(), [])
    del form.template
    if not form.validate():
        abort(400)
    grant = db.session.get(Grant, int(form.grant.data))
    return send_return(
        grant,
        draft_definition(draft),
        form.date_from.data,
        form.date_to.data,
        prefix="preview-",
    )


@bp.route("/drafts/<int:draft_id>/export.toml")
def draft_export(draft_id: int):
    draft = _draft_or_404(draft_id)
    definition = draft_definition(draft)
    return send_file(
        io.BytesIO(to_toml(definition).encode("utf-8")),
        mimetype=TOML,
        as_attachment=True,
        download_name=f"{definition.key}-draft.toml",
    )


@bp.route("/drafts/<int:draft_id>/save", methods=["POST"])
def save(draft_id: int):
    if not _token_ok():
        abort(400)
    draft = _draft_or_404(draft_id)
    try:
        saved_version = save_version(draft, actor=_actor())
    except FundsError as error:
        return _refused(draft_id, error)
    db.session.commit()
    flash(
        f"“{saved_version.title}” version {saved_version.version} is saved: it is offered "
        "on the returns page.",
        "success",
    )
    return redirect(url_for(".saved", key=saved_version.key))


@bp.route("/drafts/<int:draft_id>/discard", methods=["POST"])
def discard(draft_id: int):
    if not _token_ok():
        abort(400)
    draft = _draft_or_404(draft_id)
    title = draft.title
    discard_draft(draft, actor=_actor())
    db.session.commit()
    flash(f"The draft “{title}” was discarded", "success")
    return redirect(url_for(".index"))
