"""What can be imported: each kind names its columns (with the rule for each) and turns a
checked row into records through the same rules as its form. The registry is filled by
the kind modules (people, grants, awards, sessions)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from funds.errors import FundsError
from funds.models import User
from funds.spreadsheets import Cell


class RowProblem(Exception):
    """Something wrong with a row: on one field (its key) or on the row as a whole (None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


def problem_from(error: FundsError, fields: dict[str, str]) -> RowProblem:
    """A service's error on a row, on the column its form field came from."""
    return RowProblem(error.message, fields.get(error.field or "", None))


@dataclass(frozen=True)
class Field:
    key: str
    #: The heading a template uses (and that maps without asking).
    label: str
    #: cell -> value; raises funds.imports.cells.CellError.
    parse: Callable[[Cell], Any]
    required: bool = False
    #: What to type, for the template's notes and the mapping page.
    rule: str = ""
    #: Other headings recognised for this column (lower case).
    aliases: tuple[str, ...] = ()
    #: Two example values for the template (as text).
    examples: tuple[str, str] = ("", "")


SOURCE_KEY = "source_key"


@dataclass
class Context:
    """One pass over a file: checking (nothing kept) or importing (kept)."""

    actor: User
    today: date
    #: Importing (rows are kept) or only checking (rolled back, or not written at all).
    write: bool
    import_id: int
    #: (row number, source key, id of the record made), for the import's records.
    created: list[tuple[int, str, int]] = field(default_factory=list)
    #: Anything a kind keeps between rows (look-ups, running balances).
    state: dict = field(default_factory=dict)


class Kind(ABC):
    """A kind of import. Subclasses set ``key``, ``label``, ``fields`` and implement
    ``row``; ``prepare`` and ``finish`` bracket a pass."""

    key: str = ""
    #: "Households", as a heading.
    label: str = ""
    #: "households", in a sentence.
    noun: str = ""
    fields: tuple[Field, ...] = ()
    #: The rows of the template import cleanly into any database.
    clean_template: bool = False
    #: Rows write through services that use savepoints (a failing row is rolled back alone).
    per_row_savepoint: bool = True
    #: What undo removes unless something refers to it (households, young people,
    #: grants): the ones kept keep their import records, so their ids still work.
    kept_model: type | None = None

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    def prepare(self, ctx: Context, rows: int) -> None:  # noqa: B027 - optional hook
        """Before the first row (nothing, unless a kind looks things up once)."""

    @abstractmethod
    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        """Check one row and (when the service writes) record it; raise RowProblem."""

    def finish(self, ctx: Context) -> None:  # noqa: B027 - optional hook
        """After the last row (nothing, unless a kind batches its writes)."""

    @abstractmethod
    def undo(self, import_run, actor: User, today: date) -> dict:
        """Take an import back as a whole; returns counts for the record."""


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.key] = kind
    return kind


def source_key_field(noun: str) -> Field:
    from funds.imports.cells import text

    return Field(
        SOURCE_KEY,
        "Your id",
        lambda cell: text(cell, max_length=120),
        rule=f"Optional: the {noun}'s id in your old spreadsheet. Importing the same "
        "file again then adds nothing twice; later imports can refer to it.",
        aliases=("id", "source id", "row id", "old id", "your reference", "ref"),
        examples=("1001", "1002"),
    )
