"""Forms for changing a return definition: its details, a sheet, a table, value names, and
bringing one in from a file."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.returns.definition import KEY
from funds.returns.dimensions import DIMENSIONS
from funds.returns.measures import MEASURES, offered
from funds.validators import (
    PlainText,
    Present,
    WholeNumberField,
    strip_text,
    text_problem,
)
from funds.widgets import GovSelect, GovTextInput


def _text(
    label: str, *, required: str | None = None, max_length: int = 120, description=None
):
    validators = [Present(required)] if required else []
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        description=description,
        validators=[
            *validators,
            Length(max=max_length, message=f"Enter {max_length} characters or fewer"),
            PlainText(),
        ],
    )


class DetailsForm(FlaskForm):
    """A draft's key, title and description."""

    title = _text("Title", required="Enter the return's title")
    key = _text(
        "Key",
        required="Enter a key",
        max_length=40,
        description="Lower-case letters, digits and dashes, like “hsf-2026”: how scripts "
        "and the command line name this return.",
    )
    description = _text("Description (optional)", max_length=500)

    def validate_key(self, field):
        if field.data and not KEY.fullmatch(field.data):
            raise ValidationError(
                "Use 1 to 40 lower-case letters, digits or dashes, like “hsf-2026”"
            )


class SheetForm(FlaskForm):
    """A sheet's name and how it prints."""

    name = _text("Sheet name", required="Enter the sheet's name", max_length=31)
    orientation = RadioField(
        "Printed",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("landscape", "Landscape"),
            SelectChoice("portrait", "Portrait"),
        ],
        validators=[InputRequired("Choose how the sheet prints")],
    )


class NewSheetForm(FlaskForm):
    name = _text(
        "Name of the new sheet", required="Enter the sheet's name", max_length=31
    )


class ValuesField(TextAreaField):
    """Values typed one a line; ``values`` is None when empty (show every value)."""

    widget = GovTextArea()

    @property
    def values(self) -> list[str] | None:
        lines = [line.strip() for line in re.split(r"\r\n|\r|\n", self.data or "")]
        lines = [line for line in lines if line]
        return lines or None

    def pre_validate(self, form):
        problem = text_problem(self.data or "", multiline=True)
        if problem:
            raise ValidationError(problem)
        values = self.values or []
        if len(values) > 200:
            raise ValidationError("List 200 values or fewer")
        if len(set(values)) != len(values):
            raise ValidationError("A value is listed twice")


def _dimension_choices() -> list[SelectChoice]:
    return [SelectChoice("", "None")] + [
        SelectChoice(key, dimension.label) for key, dimension in DIMENSIONS.items()
    ]


class TableForm(FlaskForm):
    """One table: what splits its rows and columns, which measures, in which order."""

    title = _text("Title", required="Enter the table's title", max_length=200)
    note = _text("Note under the title (optional)", max_length=500)
    rows = SelectField(
        "Rows",
        widget=GovSelect(),
        invalid_choice_message="Choose a dimension from the list",
        invalid_value_message="Choose a dimension from the list",
    )
    row_heading = _text("Heading of the first column (optional)")
    row_values = ValuesField(
        "Rows to show, in order (optional)",
        description="One on each line. Leave empty to show every value in its usual order.",
    )
    columns = SelectField(
        "Columns",
        widget=GovSelect(),
        invalid_choice_message="Choose a dimension from the list",
        invalid_value_message="Choose a dimension from the list",
    )
    column_values = ValuesField(
        "Columns to show, in order (optional)",
        description="One on each line. Leave empty to show every value in its usual order.",
    )
    others = BooleanField(
        "Also show values found in the data but not listed", widget=GovCheckboxInput()
    )
    totals = BooleanField("Show totals", widget=GovCheckboxInput())
    check = BooleanField(
        "Check the totals against every line of the period", widget=GovCheckboxInput()
    )
    suppress_below = WholeNumberField(
        "Hide counts below (optional)",
        low=0,
        high=100,
        message="Enter a whole number from 0 to 100",
        description="For example 5: counts of 1 to 4 people are shown as “<5”. The table is "
        "then written as figures, not formulas.",
    )
    sheet = SelectField(
        "Sheet",
        widget=GovSelect(),
        coerce=int,
        invalid_choice_message="Choose a sheet from the list",
        invalid_value_message="Choose a sheet from the list",
    )

    def measure_fields(self) -> list[tuple]:
        """(measure, show, position, label) fields, in the order of the registry."""
        return [
            (
                measure,
                getattr(self, f"show_{measure.key}"),
                getattr(self, f"position_{measure.key}"),
                getattr(self, f"label_{measure.key}"),
            )
            for measure in offered()
        ]

    def chosen_measures(self) -> list[str]:
        chosen = [
            (position.data or 99, index, measure.key)
            for index, (measure, show, position, _) in enumerate(self.measure_fields())
            if show.data
        ]
        return [key for _, _, key in sorted(chosen)]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not self.chosen_measures():
            self.form_errors.append("Tick at least one measure to show")
            return False
        return valid

    def settings(self) -> dict:
        """The table as a definition holds it."""
        measures = self.chosen_measures()
        labels = {
            measure.key: label.data
            for measure, show, _, label in self.measure_fields()
            if show.data and label.data and label.data != MEASURES[measure.key].label
        }
        return {
            "title": self.title.data,
            "note": self.note.data or "",
            "rows": self.rows.data or None,
            "columns": self.columns.data or None,
            "measures": measures,
            "row_heading": self.row_heading.data or "",
            "labels": labels,
            "row_values": self.row_values.values,
            "column_values": self.column_values.values,
            "others": bool(self.others.data),
            "totals": bool(self.totals.data),
            "check": bool(self.check.data),
            "suppress_below": self.suppress_below.data or 0,
        }


def table_form(
    table: dict, sheets: list[tuple[int, str]], sheet: int, formdata=None
) -> TableForm:
    """A TableForm for one table of a draft, with a show/position/heading trio per measure."""

    class _Table(TableForm):
        pass

    for measure in offered():
        setattr(
            _Table,
            f"show_{measure.key}",
            BooleanField(measure.label, widget=GovCheckboxInput()),
        )
        setattr(
            _Table,
            f"position_{measure.key}",
            WholeNumberField(
                f"Position of {measure.label}",
                low=1,
                high=99,
                message="Enter a position from 1 to 99",
            ),
        )
        setattr(
            _Table, f"label_{measure.key}", _text(f"Column heading for {measure.label}")
        )
    measures = list(table.get("measures", []))
    labels = table.get("labels", {})
    data = {
        "title": table.get("title", ""),
        "note": table.get("note", ""),
        "rows": table.get("rows") or "",
        "columns": table.get("columns") or "",
        "row_heading": table.get("row_heading", ""),
        "row_values": "\n".join(table.get("row_values") or []),
        "column_values": "\n".join(table.get("column_values") or []),
        "others": table.get("others", False),
        "totals": table.get("totals", True),
        "check": table.get("check", True),
        "suppress_below": table.get("suppress_below") or None,
        "sheet": sheet,
    }
    for measure in offered():
        shown = measure.key in measures
        data[f"show_{measure.key}"] = shown
        data[f"position_{measure.key}"] = (
            measures.index(measure.key) + 1 if shown else None
        )
        data[f"label_{measure.key}"] = labels.get(measure.key) or measure.label
    form = _Table(formdata=formdata, data=data)
    form.rows.choices = _dimension_choices()
    form.columns.choices = _dimension_choices()
    form.sheet.choices = [SelectChoice(index, name) for index, name in sheets]
    return form


class ValueLabelsForm(FlaskForm):
    """What the return calls the values of one dimension: ``code = Label`` a line."""

    dimension = SelectField(
        "Dimension",
        widget=GovSelect(),
        invalid_choice_message="Choose a dimension from the list",
        invalid_value_message="Choose a dimension from the list",
    )
    labels = TextAreaField(
        "Names",
        widget=GovTextArea(),
        description="One on each line, as value = name, for example “children = Families "
        "with children”. Leave empty to use the usual names.",
        validators=[Length(max=10_000), PlainText(multiline=True)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dimension.choices = [
            SelectChoice(k, d.label) for k, d in DIMENSIONS.items()
        ]

    def validate_labels(self, field):
        for line in re.split(r"\r\n|\r|\n", field.data or ""):
            if line.strip() and "=" not in line:
                raise ValidationError(
                    f"Write each line as value = name: “{line.strip()[:40]}”"
                )

    def parsed(self) -> dict[str, str]:
        result = {}
        for line in re.split(r"\r\n|\r|\n", self.labels.data or ""):
            if "=" in line:
                code, label = line.split("=", 1)
                result[code.strip()] = label.strip()
        return result


class ImportForm(FlaskForm):
    """A definition file (.toml) exported from funds or written by hand."""

    file = FileField(
        "Definition file",
        widget=GovFileInput(),
        description="A .toml file, as funds exports it (up to 200 KB).",
    )

    def validate_file(self, field):
        if field.data is None or not getattr(field.data, "filename", None):
            raise ValidationError("Choose a definition file")

    def content(self, limit: int) -> bytes:
        """The file's bytes, read no further than ``limit`` + 1."""
        return self.file.data.read(limit + 1)
