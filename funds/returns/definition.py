"""A return definition: the sheets, tables, labels and sign-off of one funder's return, as
data. Parsed and checked from a plain dict (a TOML file, or JSON from the database)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from funds.returns.dimensions import DIMENSIONS
from funds.returns.measures import BUDGET, MEASURES, VARIANCE, parts
from funds.validators import text_problem

#: Sheets the engine adds itself after the definition's own.
DATA_SHEETS = ("Transactions", "Sessions")
SHEET_KINDS = ("tables", "cover", "signoff")
ORIENTATIONS = ("landscape", "portrait")
COVER_FIELDS = {
    "organisation": "Organisation",
    "charity_number": "Registered charity number",
    "address": "Address",
    "funder": "Funder",
    "grant_reference": "Grant reference",
    "grant": "Grant",
    "grant_total": "Grant total",
    "grant_period": "Grant period",
    "period": "Return period",
    "prepared_by": "Prepared by",
    "prepared_on": "Prepared on",
    "definition": "Return definition",
    "checksum": "Checksum of the figures (SHA-256)",
}
SIGNOFF_FIELDS = {
    "name": "Name",
    "role": "Role",
    "email": "Email",
    "date": "Date",
    "signature": "Signature (typed)",
}
KEY = re.compile(r"[a-z0-9][a-z0-9-]{0,39}", re.ASCII)
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
MAX_SHEETS = 20
MAX_TABLES = 30
MAX_MEASURES = 12
MAX_VALUES = 200


class DefinitionError(ValueError):
    """A definition that cannot be used; ``problems`` says every reason, for a person."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class TableDef:
    """One table: rows and columns split by dimensions, cells holding measures."""

    title: str
    measures: tuple[str, ...]
    rows: str | None = None
    columns: str | None = None
    row_heading: str = ""
    #: Column headings for measures (measure key -> label).
    labels: dict = field(default_factory=dict)
    #: The row (or column) values to show, in order; None shows every value.
    row_values: tuple[str, ...] | None = None
    column_values: tuple[str, ...] | None = None
    #: With values listed: also show values found in the data but not listed.
    others: bool = False
    totals: bool = True
    check: bool = True
    #: Counts from 1 to this less one are shown as "<n"; 0 shows every count.
    suppress_below: int = 0
    note: str = ""

    def label_for(self, measure_key: str) -> str:
        return self.labels.get(measure_key) or MEASURES[measure_key].label


@dataclass(frozen=True)
class SheetDef:
    """One sheet of the workbook, in the order the definition lists them."""

    name: str
    kind: str = "tables"
    tables: tuple[TableDef, ...] = ()
    orientation: str = "landscape"


@dataclass(frozen=True)
class CoverDef:
    title: str = ""
    fields: tuple[str, ...] = tuple(COVER_FIELDS)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SignoffDef:
    title: str = "Sign-off"
    statement: str = ""
    signatories: tuple[str, ...] = ("Prepared by", "Approved by")
    fields: tuple[str, ...] = tuple(SIGNOFF_FIELDS)
    #: A single point of contact for the funder's questions (name, email, phone).
    contact: bool = True


@dataclass(frozen=True)
class Definition:
    """A whole return, ready for the engine."""

    key: str
    version: int
    title: str
    description: str = ""
    sheets: tuple[SheetDef, ...] = ()
    cover: CoverDef = CoverDef()
    signoff: SignoffDef = SignoffDef()
    #: The definition's own names for dimension values (dimension -> code -> label).
    value_labels: dict = field(default_factory=dict)

    @property
    def tables(self) -> list[tuple[SheetDef, TableDef]]:
        return [(sheet, table) for sheet in self.sheets for table in sheet.tables]

    def with_identity(self, *, key: str, version: int, title: str) -> Definition:
        return replace(self, key=key, version=version, title=title)


# --- reading ---------------------------------------------------------------------------------


class _Reader:
    """Collects every problem instead of stopping at the first."""

    def __init__(self):
        self.problems: list[str] = []

    def problem(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}" if where else message)

    def text(
        self,
        data: dict,
        name: str,
        where: str,
        *,
        required: bool = False,
        default: str = "",
        max_length: int = 200,
        multiline: bool = False,
    ) -> str:
        value = data.get(name, default)
        if value is None:
            value = default
        if not isinstance(value, str):
            self.problem(where, f"{name} must be text")
            return default
        value = value.strip()
        if required and not value:
            self.problem(where, f"{name} is missing")
        if len(value) > max_length:
            self.problem(where, f"{name} must be {max_length} characters or fewer")
        problem = text_problem(value, multiline=multiline)
        if problem:
            self.problem(where, f"{name}: {problem}")
        return value

    def flag(self, data: dict, name: str, where: str, default: bool) -> bool:
        value = data.get(name, default)
        if not isinstance(value, bool):
            self.problem(where, f"{name} must be true or false")
            return default
        return value

    def number(
        self, data: dict, name: str, where: str, default: int, low: int, high: int
    ) -> int:
        value = data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f"{name} must be a whole number")
            return default
        if not low <= value <= high:
            self.problem(where, f"{name} must be from {low} to {high}")
            return default
        return value

    def texts(
        self,
        data: dict,
        name: str,
        where: str,
        *,
        max_items: int,
        max_length: int = 120,
    ) -> tuple[str, ...] | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, f"{name} must be a list of text")
            return None
        if len(value) > max_items:
            self.problem(where, f"{name} may list at most {max_items}")
        for item in value:
            if len(item) > max_length:
                self.problem(
                    where,
                    f"{name}: “{item[:40]}” is longer than {max_length} characters",
                )
            problem = text_problem(item)
            if problem:
                self.problem(where, f"{name}: {problem}")
        return tuple(value)


def _quote(text: str) -> str:
    return f"“{text}”"


def _table(reader: _Reader, data, where: str) -> TableDef | None:
    if not isinstance(data, dict):
        reader.problem(where, "a table must be a set of settings")
        return None
    title = reader.text(data, "title", where, required=True)
    where = f"{where} {_quote(title)}" if title else where
    rows = data.get("rows") or None
    columns = data.get("columns") or None
    raw_measures = data.get("measures")
    if isinstance(raw_measures, str):
        raw_measures = [raw_measures]
    if not isinstance(raw_measures, list) or not raw_measures:
        reader.problem(where, "measures must list at least one measure")
        raw_measures = []
    measures: list[str] = []
    for key in raw_measures:
        measure = MEASURES.get(key) if isinstance(key, str) else None
        if measure is None or measure.hidden:
            reader.problem(
                where,
                f"unknown measure {_quote(str(key))}; choose from "
                + ", ".join(m.key for m in MEASURES.values() if not m.hidden),
            )
        elif key in measures:
            reader.problem(where, f"the measure {_quote(key)} is listed twice")
        else:
            measures.append(key)
    if len(measures) > MAX_MEASURES:
        reader.problem(where, f"a table may have at most {MAX_MEASURES} measures")
    labels = data.get("labels", {})
    if not isinstance(labels, dict):
        reader.problem(where, "labels must map measures to column headings")
        labels = {}
    for key, label in labels.items():
        if key not in measures:
            reader.problem(
                where,
                f"labels names {_quote(str(key))}, which is not a measure of this table",
            )
        elif not isinstance(label, str) or not label.strip() or len(label) > 120:
            reader.problem(
                where, f"the label of {_quote(key)} must be 1 to 120 characters"
            )
        elif text_problem(label):
            reader.problem(where, f"the label of {_quote(key)}: {text_problem(label)}")
    table = TableDef(
        title=title,
        measures=tuple(measures),
        rows=rows,
        columns=columns,
        row_heading=reader.text(data, "row_heading", where, max_length=120),
        labels={k: v.strip() for k, v in labels.items() if isinstance(v, str)},
        row_values=reader.texts(data, "row_values", where, max_items=MAX_VALUES),
        column_values=reader.texts(data, "column_values", where, max_items=MAX_VALUES),
        others=reader.flag(data, "others", where, False),
        totals=reader.flag(data, "totals", where, True),
        check=reader.flag(data, "check", where, True),
        suppress_below=reader.number(data, "suppress_below", where, 0, 0, 100),
        note=reader.text(data, "note", where, max_length=500),
    )
    _check_table(reader, table, where)
    return table


def _check_table(reader: _Reader, table: TableDef, where: str) -> None:
    """Dimensions exist, apply to the measures' source, and the measures fit together."""
    measures = [MEASURES[key] for key in table.measures]
    sources = {m.source for m in measures}
    if len(sources) > 1:
        reader.problem(
            where,
            "its measures count different things (ledger lines and activity sessions); "
            "put them in separate tables",
        )
    source = next(iter(sources), None)
    dims = []
    for role, key in (("rows", table.rows), ("columns", table.columns)):
        if key is None:
            continue
        dimension = DIMENSIONS.get(key) if isinstance(key, str) else None
        if dimension is None:
            reader.problem(
                where,
                f"unknown dimension {_quote(str(key))} for the {role}; choose from "
                + ", ".join(DIMENSIONS),
            )
            continue
        if source and not dimension.applies_to(source):
            reader.problem(
                where,
                f"the dimension {_quote(key)} does not apply to "
                + ("activity sessions" if source == "activities" else "ledger lines"),
            )
        dims.append(dimension)
    if table.rows is not None and table.rows == table.columns:
        reader.problem(where, "the rows and the columns cannot be the same dimension")
    if table.columns is not None and len(measures) != 1:
        reader.problem(
            where, "a table with a column dimension shows exactly one measure"
        )
    if table.row_values is not None and table.rows is None:
        reader.problem(where, "row_values needs a row dimension")
    if table.column_values is not None and table.columns is None:
        reader.problem(where, "column_values needs a column dimension")
    for values, role in ((table.row_values, "row"), (table.column_values, "column")):
        if values is not None and len(set(values)) != len(values):
            reader.problem(where, f"a {role} value is listed twice")
    personal = any(d.personal for d in dims)
    for measure in measures:
        if personal and not all(m.personal for m in parts(measure)):
            reader.problem(
                where,
                f"the measure {_quote(measure.key)} does not apply to a split by a "
                "person's age, gender, ethnicity or disability",
            )
        if measure.how == BUDGET and (table.rows != "budget_line" or table.columns):
            reader.problem(
                where,
                f"the measure {_quote(measure.key)} needs budget lines as the rows "
                "and no column dimension",
            )
        if measure.how == VARIANCE and not {"budget", "net_spend_to_date"} <= set(
            table.measures
        ):
            reader.problem(
                where,
                f"the measure {_quote(measure.key)} needs the measures "
                "“budget” and “net_spend_to_date” in the same table",
            )


def _sheet(reader: _Reader, data, where: str) -> SheetDef | None:
    if not isinstance(data, dict):
        reader.problem(where, "a sheet must be a set of settings")
        return None
    name = reader.text(data, "name", where, required=True, max_length=1000)
    where = f"Sheet {_quote(name)}" if name else where
    if len(name) > 31:
        reader.problem(
            where, f"the name is {len(name)} characters; Excel allows at most 31"
        )
    if SHEET_NAME_FORBIDDEN.search(name):
        reader.problem(where, "a sheet name cannot contain [ ] : * ? / or \\")
    if name.startswith("'") or name.endswith("'"):
        reader.problem(where, "a sheet name cannot start or end with an apostrophe")
    if name.casefold() in {s.casefold() for s in (*DATA_SHEETS, "History")}:
        reader.problem(where, f"the name {_quote(name)} is kept for funds' own sheets")
    kind = data.get("kind", "tables")
    if kind not in SHEET_KINDS:
        reader.problem(where, f"kind must be one of {', '.join(SHEET_KINDS)}")
        kind = "tables"
    orientation = data.get("orientation", "landscape")
    if orientation not in ORIENTATIONS:
        reader.problem(where, "orientation must be landscape or portrait")
        orientation = "landscape"
    raw_tables = data.get("tables", [])
    if not isinstance(raw_tables, list):
        reader.problem(where, "tables must be a list")
        raw_tables = []
    if kind != "tables" and raw_tables:
        reader.problem(where, f"a {kind} sheet has no tables")
    if len(raw_tables) > MAX_TABLES:
        reader.problem(where, f"a sheet may have at most {MAX_TABLES} tables")
    tables = tuple(
        table
        for index, item in enumerate(raw_tables, start=1)
        if (table := _table(reader, item, f"{where}, table {index}")) is not None
    )
    return SheetDef(name=name, kind=kind, tables=tables, orientation=orientation)


def parse_definition(data: dict) -> Definition:
    """A definition from plain data, checked whole.

    :raises DefinitionError: listing every problem found.
    """
    reader = _Reader()
    if not isinstance(data, dict):
        raise DefinitionError(["A definition must be a set of settings"])
    key = data.get("key", "")
    if not isinstance(key, str) or not KEY.fullmatch(key):
        reader.problem(
            "",
            "key must be 1 to 40 lower-case letters, digits or dashes, like “hsf-2026”",
        )
        key = "invalid"
    version = reader.number(data, "version", "", 1, 1, 1_000_000)
    title = reader.text(data, "title", "", required=True, max_length=120)
    description = reader.text(data, "description", "", max_length=500)

    raw_sheets = data.get("sheets")
    if not isinstance(raw_sheets, list) or not raw_sheets:
        reader.problem("", "sheets must list at least one sheet")
        raw_sheets = []
    if len(raw_sheets) > MAX_SHEETS:
        reader.problem("", f"a definition may have at most {MAX_SHEETS} sheets")
    sheets = tuple(
        sheet
        for index, item in enumerate(raw_sheets, start=1)
        if (sheet := _sheet(reader, item, f"Sheet {index}")) is not None
    )
    names = [s.name.casefold() for s in sheets]
    for name in {n for n in names if names.count(n) > 1}:
        reader.problem(
            "", f"two sheets are called {_quote(name)}; each needs its own name"
        )
    for kind in ("cover", "signoff"):
        if sum(1 for s in sheets if s.kind == kind) > 1:
            reader.problem("", f"only one sheet may be the {kind}")
    if not any(s.tables for s in sheets):
        reader.problem("", "the definition has no table of figures")

    cover_data = data.get("cover", {})
    signoff_data = data.get("signoff", {})
    if not isinstance(cover_data, dict):
        reader.problem("Cover", "must be a set of settings")
        cover_data = {}
    if not isinstance(signoff_data, dict):
        reader.problem("Sign-off", "must be a set of settings")
        signoff_data = {}
    cover_fields = reader.texts(cover_data, "fields", "Cover", max_items=20)
    for name in cover_fields or ():
        if name not in COVER_FIELDS:
            reader.problem(
                "Cover",
                f"unknown field {_quote(name)}; choose from {', '.join(COVER_FIELDS)}",
            )
    cover = CoverDef(
        title=reader.text(cover_data, "title", "Cover", max_length=120),
        fields=cover_fields if cover_fields is not None else tuple(COVER_FIELDS),
        notes=reader.texts(cover_data, "notes", "Cover", max_items=10, max_length=300)
        or (),
    )
    signoff_fields = reader.texts(signoff_data, "fields", "Sign-off", max_items=10)
    for name in signoff_fields or ():
        if name not in SIGNOFF_FIELDS:
            reader.problem(
                "Sign-off",
                f"unknown field {_quote(name)}; choose from {', '.join(SIGNOFF_FIELDS)}",
            )
    signoff = SignoffDef(
        title=reader.text(
            signoff_data, "title", "Sign-off", default="Sign-off", max_length=120
        ),
        statement=reader.text(
            signoff_data, "statement", "Sign-off", max_length=2000, multiline=True
        ),
        signatories=reader.texts(signoff_data, "signatories", "Sign-off", max_items=10)
        or ("Prepared by", "Approved by"),
        fields=signoff_fields if signoff_fields is not None else tuple(SIGNOFF_FIELDS),
        contact=reader.flag(signoff_data, "contact", "Sign-off", True),
    )

    value_labels = data.get("value_labels", {})
    if not isinstance(value_labels, dict):
        reader.problem("Value labels", "must map dimensions to their values' labels")
        value_labels = {}
    clean_labels: dict[str, dict[str, str]] = {}
    for dimension, labels in value_labels.items():
        where = f"Value labels of {_quote(str(dimension))}"
        if dimension not in DIMENSIONS:
            reader.problem(where, "unknown dimension")
            continue
        if not isinstance(labels, dict):
            reader.problem(where, "must map values to labels")
            continue
        for code, label in labels.items():
            if not isinstance(label, str) or not label.strip() or len(label) > 120:
                reader.problem(
                    where,
                    f"the label of {_quote(str(code))} must be 1 to 120 characters",
                )
            elif text_problem(label):
                reader.problem(where, f"{_quote(str(code))}: {text_problem(label)}")
        chosen = [v.strip() for v in labels.values() if isinstance(v, str)]
        if len(set(chosen)) != len(chosen):
            reader.problem(where, "two values have the same label")
        clean_labels[dimension] = {
            str(code): label.strip()
            for code, label in labels.items()
            if isinstance(label, str)
        }

    if reader.problems:
        raise DefinitionError(reader.problems)
    return Definition(
        key=key,
        version=version,
        title=title,
        description=description,
        sheets=sheets,
        cover=cover,
        signoff=signoff,
        value_labels=clean_labels,
    )


# --- writing ---------------------------------------------------------------------------------


def _table_dict(table: TableDef) -> dict:
    data: dict = {"title": table.title}
    if table.rows:
        data["rows"] = table.rows
    if table.columns:
        data["columns"] = table.columns
    data["measures"] = list(table.measures)
    if table.row_heading:
        data["row_heading"] = table.row_heading
    if table.labels:
        data["labels"] = dict(table.labels)
    if table.row_values is not None:
        data["row_values"] = list(table.row_values)
    if table.column_values is not None:
        data["column_values"] = list(table.column_values)
    if table.others:
        data["others"] = True
    if not table.totals:
        data["totals"] = False
    if not table.check:
        data["check"] = False
    if table.suppress_below:
        data["suppress_below"] = table.suppress_below
    if table.note:
        data["note"] = table.note
    return data


def definition_dict(definition: Definition) -> dict:
    """The definition as plain data (what ``parse_definition`` reads back unchanged)."""
    data: dict = {
        "key": definition.key,
        "version": definition.version,
        "title": definition.title,
    }
    if definition.description:
        data["description"] = definition.description
    cover = definition.cover
    data["cover"] = {"title": cover.title, "fields": list(cover.fields)}
    if cover.notes:
        data["cover"]["notes"] = list(cover.notes)
    signoff = definition.signoff
    data["signoff"] = {
        "title": signoff.title,
        "statement": signoff.statement,
        "signatories": list(signoff.signatories),
        "fields": list(signoff.fields),
        "contact": signoff.contact,
    }
    if definition.value_labels:
        data["value_labels"] = {
            dim: dict(labels) for dim, labels in definition.value_labels.items()
        }
    sheets = []
    for sheet in definition.sheets:
        item: dict = {"name": sheet.name}
        if sheet.kind != "tables":
            item["kind"] = sheet.kind
        if sheet.orientation != "landscape":
            item["orientation"] = sheet.orientation
        if sheet.tables:
            item["tables"] = [_table_dict(t) for t in sheet.tables]
        sheets.append(item)
    data["sheets"] = sheets
    return data
