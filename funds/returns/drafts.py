"""Changing return definitions: copy one into a draft, edit its sheets and tables, save it
as a new version, bring one in from a file. Every change is checked whole and audited."""

from __future__ import annotations

import copy
import re

from sqlalchemy import func, select

from funds.audit import record_event
from funds.database import writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import DefinitionDraft, ReturnDefinition, Role, User
from funds.returns.definition import (
    Definition,
    DefinitionError,
    definition_dict,
    parse_definition,
)
from funds.returns.library import get_definition, is_built_in, key_taken

EDITORS = (Role.MANAGER, Role.ADMIN)
#: A new table starts as this (the manager then changes it).
NEW_TABLE = {"title": "New table", "rows": "funder_category", "measures": ["net_spend"]}


def _require_editor(actor: User) -> None:
    if actor.role not in EDITORS:
        raise NotAllowed("Only a manager can change return definitions")


class DraftProblems(ValidationError):
    """The change would make a definition that cannot be used; ``problems`` says why."""

    def __init__(self, problems: list[str], *, field: str | None = None):
        super().__init__("; ".join(problems), field=field)
        self.problems = problems


def _checked(body: dict, *, field: str | None = None) -> Definition:
    """The body as a definition, or DraftProblems listing what is wrong."""
    try:
        return parse_definition(body)
    except DefinitionError as error:
        raise DraftProblems(error.problems, field=field) from error


def _free_key(base: str) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:34] or "return"
    taken_by_drafts = set(db.session.scalars(select(DefinitionDraft.key)))
    key, number = base, 1
    while key_taken(key) or key in taken_by_drafts:
        number += 1
        key = f"{base}-{number}"
    return key


def next_version(key: str) -> int:
    """The version a draft with this key would be saved as."""
    latest = db.session.scalar(
        select(func.max(ReturnDefinition.version)).where(ReturnDefinition.key == key)
    )
    return (latest or 0) + 1


def _new_draft(
    definition: Definition, *, actor: User, based_on: str | None
) -> DefinitionDraft:
    body = definition_dict(definition)
    draft = DefinitionDraft(
        key=definition.key,
        title=definition.title,
        body=body,
        based_on=based_on,
        created_by_id=actor.id,
    )
    db.session.add(draft)
    db.session.flush()
    return draft


@writes
def copy_definition(
    key: str, *, actor: User, version: int | None = None
) -> DefinitionDraft:
    """A draft copy of a definition, under a new key and title.

    :raises NotAllowed: for a role that may not edit definitions.
    :raises LookupError: for an unknown definition.
    """
    _require_editor(actor)
    source = get_definition(key, version)
    new_key = _free_key(f"{source.key}-copy")
    copied = source.with_identity(
        key=new_key, version=1, title=f"{source.title} (copy)"[:120]
    )
    draft = _new_draft(copied, actor=actor, based_on=f"{source.key}@{source.version}")
    record_event(
        "definition.copy",
        actor=actor,
        obj=draft,
        after={"from": f"{source.key} version {source.version}", "key": new_key},
    )
    return draft


@writes
def edit_saved(key: str, *, actor: User) -> DefinitionDraft:
    """A draft of a saved (not built-in) definition's next version."""
    _require_editor(actor)
    if is_built_in(key):
        raise NotAllowed("A built-in definition cannot be changed: copy it instead")
    source = get_definition(key)
    existing = db.session.scalar(
        select(DefinitionDraft).where(DefinitionDraft.key == key)
    )
    if existing is not None:
        return existing
    draft = _new_draft(source, actor=actor, based_on=f"{key}@{source.version}")
    record_event("definition.edit", actor=actor, obj=draft, after={"key": key})
    return draft


@writes
def import_definition(definition: Definition, *, actor: User) -> DefinitionDraft:
    """A draft from a file that has already been read and checked.

    A file whose key is a built-in's gets a free key; one whose key is a saved definition's
    becomes that definition's next version when saved.
    """
    _require_editor(actor)
    key = definition.key
    taken_by_drafts = set(db.session.scalars(select(DefinitionDraft.key)))
    if is_built_in(key) or key in taken_by_drafts:
        key = _free_key(key)
    imported = definition.with_identity(key=key, version=1, title=definition.title)
    draft = _new_draft(imported, actor=actor, based_on="file")
    record_event(
        "definition.import",
        actor=actor,
        obj=draft,
        after={"key": key, "title": draft.title},
    )
    return draft


def _change(
    draft: DefinitionDraft, body: dict, *, actor: User, what: str, field=None
) -> None:
    definition = _checked(body, field=field)
    before = {"key": draft.key, "title": draft.title}
    draft.body = definition_dict(definition)
    draft.key = definition.key
    draft.title = definition.title
    db.session.flush()
    record_event(
        "definition.change",
        actor=actor,
        obj=draft,
        before=before,
        after={"key": draft.key, "title": draft.title, "change": what},
    )


@writes
def set_details(
    draft: DefinitionDraft, *, actor: User, key: str, title: str, description: str
) -> None:
    """The draft's key, title and description.

    :raises ValidationError: for a key a built-in, another draft or another saved
        definition already has (the draft's own saved definition is fine).
    """
    _require_editor(actor)
    if key != draft.key:
        other_draft = db.session.scalar(
            select(DefinitionDraft.id).where(
                DefinitionDraft.key == key, DefinitionDraft.id != draft.id
            )
        )
        if key_taken(key) or other_draft is not None:
            raise ValidationError(
                "Another return definition already has this key: choose another",
                field="key",
            )
    body = copy.deepcopy(draft.body)
    body.update({"key": key, "title": title, "description": description})
    _change(draft, body, actor=actor, what="details", field="title")


def _sheets(body: dict) -> list[dict]:
    return body["sheets"]


def _table_at(body: dict, sheet: int, table: int) -> dict:
    try:
        return _sheets(body)[sheet]["tables"][table]
    except (IndexError, KeyError) as error:
        raise ValidationError("That table is no longer in the draft") from error


@writes
def set_table(
    draft: DefinitionDraft,
    *,
    actor: User,
    sheet: int,
    table: int,
    settings: dict,
    to_sheet: int | None = None,
) -> None:
    """Replace one table's settings (and move it to another sheet, at its end).

    :raises ValidationError: with every problem the changed definition would have.
    """
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    _table_at(body, sheet, table)
    clean = {k: v for k, v in settings.items() if v not in (None, "", [], {})}
    for flag in ("totals", "check"):
        if settings.get(flag) is False:
            clean[flag] = False
    if to_sheet is not None and to_sheet != sheet:
        if (
            not 0 <= to_sheet < len(_sheets(body))
            or _sheets(body)[to_sheet].get("kind", "tables") != "tables"
        ):
            raise ValidationError("Choose a sheet of tables", field="sheet")
        del _sheets(body)[sheet]["tables"][table]
        _sheets(body)[to_sheet].setdefault("tables", []).append(clean)
    else:
        _sheets(body)[sheet]["tables"][table] = clean
    _change(
        draft,
        body,
        actor=actor,
        what=f"table “{clean.get('title', '')}”",
        field="title",
    )


@writes
def move_table(
    draft: DefinitionDraft, *, actor: User, sheet: int, table: int, by: int
) -> None:
    """Move a table up (-1) or down (+1): past its sheet's ends it goes to the next sheet
    of tables."""
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    moved = _table_at(body, sheet, table)
    tables = _sheets(body)[sheet]["tables"]
    target = table + by
    if 0 <= target < len(tables):
        tables[table], tables[target] = tables[target], tables[table]
    else:
        others = [
            i
            for i, s in enumerate(_sheets(body))
            if s.get("kind", "tables") == "tables"
            and (i < sheet if by < 0 else i > sheet)
        ]
        if not others:
            raise ValidationError("The table is already at that end of the return")
        del tables[table]
        destination = others[-1] if by < 0 else others[0]
        into = _sheets(body)[destination].setdefault("tables", [])
        if by < 0:
            into.append(moved)
        else:
            into.insert(0, moved)
    _change(draft, body, actor=actor, what=f"moved “{moved.get('title')}”")


@writes
def remove_table(
    draft: DefinitionDraft, *, actor: User, sheet: int, table: int
) -> None:
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    removed = _table_at(body, sheet, table)
    del _sheets(body)[sheet]["tables"][table]
    _change(draft, body, actor=actor, what=f"removed “{removed.get('title')}”")


@writes
def add_table(draft: DefinitionDraft, *, actor: User, sheet: int) -> int:
    """Add a new table at the end of a sheet of tables; returns its position."""
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    try:
        target = _sheets(body)[sheet]
    except IndexError as error:
        raise ValidationError("That sheet is no longer in the draft") from error
    if target.get("kind", "tables") != "tables":
        raise ValidationError(
            "Tables go on a sheet of tables, not the cover or sign-off"
        )
    target.setdefault("tables", []).append(dict(NEW_TABLE))
    _change(draft, body, actor=actor, what="added a table")
    return len(target["tables"]) - 1


@writes
def set_sheet(
    draft: DefinitionDraft, *, actor: User, sheet: int, name: str, orientation: str
) -> None:
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    try:
        _sheets(body)[sheet].update({"name": name, "orientation": orientation})
    except IndexError as error:
        raise ValidationError("That sheet is no longer in the draft") from error
    _change(draft, body, actor=actor, what=f"sheet “{name}”", field="name")


@writes
def move_sheet(draft: DefinitionDraft, *, actor: User, sheet: int, by: int) -> None:
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    sheets = _sheets(body)
    target = sheet + by
    if not (0 <= sheet < len(sheets) and 0 <= target < len(sheets)):
        raise ValidationError("The sheet is already at that end of the return")
    sheets[sheet], sheets[target] = sheets[target], sheets[sheet]
    _change(draft, body, actor=actor, what="moved a sheet")


@writes
def add_sheet(draft: DefinitionDraft, *, actor: User, name: str) -> None:
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    _sheets(body).append({"name": name, "tables": [dict(NEW_TABLE)]})
    _change(draft, body, actor=actor, what=f"added sheet “{name}”", field="name")


@writes
def remove_sheet(draft: DefinitionDraft, *, actor: User, sheet: int) -> None:
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    try:
        removed = _sheets(body).pop(sheet)
    except IndexError as error:
        raise ValidationError("That sheet is no longer in the draft") from error
    _change(draft, body, actor=actor, what=f"removed sheet “{removed.get('name')}”")


@writes
def set_value_labels(
    draft: DefinitionDraft, *, actor: User, dimension: str, labels: dict[str, str]
) -> None:
    """What the return calls each value of a dimension (code -> label; empty: the usual)."""
    _require_editor(actor)
    body = copy.deepcopy(draft.body)
    chosen = {code: label for code, label in labels.items() if label}
    all_labels = body.setdefault("value_labels", {})
    if chosen:
        all_labels[dimension] = chosen
    else:
        all_labels.pop(dimension, None)
    if not all_labels:
        body.pop("value_labels")
    _change(draft, body, actor=actor, what=f"names of {dimension}", field="labels")


@writes
def save_version(draft: DefinitionDraft, *, actor: User) -> ReturnDefinition:
    """Keep the draft as the next version of its definition (never changed again); the
    draft is done with.

    :raises ValidationError: for a key a built-in definition has.
    """
    _require_editor(actor)
    if is_built_in(draft.key):
        raise ValidationError(
            "A built-in definition has this key: give the draft its own key",
            field="key",
        )
    version = next_version(draft.key)
    body = dict(draft.body, version=version)
    definition = _checked(body)
    saved = ReturnDefinition(
        key=definition.key,
        version=version,
        title=definition.title,
        body=definition_dict(definition),
        based_on=draft.based_on,
        created_by_id=actor.id,
    )
    db.session.add(saved)
    db.session.flush()
    record_event(
        "definition.save",
        actor=actor,
        obj=saved,
        after={"key": saved.key, "version": version, "title": saved.title},
    )
    db.session.delete(draft)
    db.session.flush()
    return saved


@writes
def discard_draft(draft: DefinitionDraft, *, actor: User) -> None:
    _require_editor(actor)
    record_event(
        "definition.discard",
        actor=actor,
        obj=draft,
        before={"key": draft.key, "title": draft.title},
    )
    db.session.delete(draft)
    db.session.flush()


def draft_definition(draft: DefinitionDraft) -> Definition:
    """The draft as a definition, at the version it would be saved as."""
    return parse_definition(dict(draft.body, version=next_version(draft.key)))
