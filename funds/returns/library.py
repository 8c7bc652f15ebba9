"""Where definitions come from: the built-in files, the versions managers saved, and files
brought in from elsewhere (TOML)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import tomli_w
from sqlalchemy import Select, func, select
from sqlalchemy.orm import QueryableAttribute

from funds.extensions import db
from funds.models import ReturnDefinition
from funds.returns.definition import (
    Definition,
    DefinitionError,
    definition_dict,
    parse_definition,
)

BUILT_IN = Path(__file__).parent / "definitions"
#: The largest definition file accepted (a big one is a few kilobytes).
MAX_FILE_BYTES = 200_000


@dataclass(frozen=True)
class Available:
    """A definition the returns page offers: its latest version."""

    key: str
    version: int
    title: str
    description: str
    built_in: bool


@cache
def built_in_definitions() -> dict[str, Definition]:
    """Every built-in definition by key (a broken file is a bug: it fails loudly)."""
    found = {}
    for path in sorted(BUILT_IN.glob("*.toml")):
        definition = parse_definition(tomllib.loads(path.read_text("utf-8")))
        if definition.key != path.stem:
            raise DefinitionError([f"{path.name} has the key {definition.key!r}"])
        found[definition.key] = definition
    return found


def _latest_saved(*columns: QueryableAttribute | type[ReturnDefinition]) -> Select:
    """``columns`` of the latest saved version of each definition managers made, in
    title order."""
    latest = (
        select(
            ReturnDefinition.key, func.max(ReturnDefinition.version).label("version")
        )
        .group_by(ReturnDefinition.key)
        .subquery()
    )
    return (
        select(*columns)
        .join(
            latest,
            (latest.c.key == ReturnDefinition.key)
            & (latest.c.version == ReturnDefinition.version),
        )
        .order_by(ReturnDefinition.title, ReturnDefinition.key)
    )


def _built_in_by_title() -> list[Definition]:
    return sorted(built_in_definitions().values(), key=lambda d: d.title)


def available() -> list[Available]:
    """The built-in definitions, then the managers' own (latest version of each)."""
    result = [
        Available(d.key, d.version, d.title, d.description, True)
        for d in _built_in_by_title()
    ]
    for row in db.session.scalars(_latest_saved(ReturnDefinition)):
        result.append(
            Available(
                row.key,
                row.version,
                row.title,
                row.body.get("description", ""),
                False,
            )
        )
    return result


def titles() -> list[tuple[str, str]]:
    """The key and title of each definition ``available()`` lists, in its order: for a
    form's choices, without reading every definition's body."""
    return [(d.key, d.title) for d in _built_in_by_title()] + [
        (key, title)
        for key, title in db.session.execute(
            _latest_saved(ReturnDefinition.key, ReturnDefinition.title)
        )
    ]


def get_definition(key: str, version: int | None = None) -> Definition:
    """A definition by key (latest version unless one is named).

    :raises LookupError: when there is no such definition or version.
    """
    built_in = built_in_definitions().get(key)
    if built_in is not None:
        if version is not None and version != built_in.version:
            raise LookupError(f"{key} version {version}")
        return built_in
    query = select(ReturnDefinition).where(ReturnDefinition.key == key)
    if version is not None:
        query = query.where(ReturnDefinition.version == version)
    row = db.session.scalar(query.order_by(ReturnDefinition.version.desc()).limit(1))
    if row is None:
        raise LookupError(key)
    return parse_definition(row.body)


def versions(key: str) -> list[ReturnDefinition]:
    """A saved definition's versions, newest first."""
    return list(
        db.session.scalars(
            select(ReturnDefinition)
            .where(ReturnDefinition.key == key)
            .order_by(ReturnDefinition.version.desc())
        )
    )


def is_built_in(key: str) -> bool:
    return key in built_in_definitions()


def key_taken(key: str) -> bool:
    return (
        is_built_in(key)
        or db.session.scalar(select(func.count()).where(ReturnDefinition.key == key))
        > 0
    )


def read_file(content: bytes) -> Definition:
    """A definition from an uploaded TOML file, checked whole.

    :raises DefinitionError: with every problem, in words a manager can act on.
    """
    if len(content) > MAX_FILE_BYTES:
        raise DefinitionError(
            [
                f"The file is larger than {MAX_FILE_BYTES // 1000} KB; a definition is a few KB"
            ]
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DefinitionError(["The file is not UTF-8 text"]) from error
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise DefinitionError(
            [f"The file is not a TOML definition: {error}"]
        ) from error
    return parse_definition(data)


def to_toml(definition: Definition) -> str:
    """The definition as a readable TOML file (what ``read_file`` reads back)."""
    header = (
        f"# {definition.title}: a funds return definition (key {definition.key}, "
        f"version {definition.version}).\n"
    )
    return header + tomli_w.dumps(definition_dict(definition))
