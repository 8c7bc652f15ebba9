"""Forms for importing: the upload, the columns, undoing."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovFileInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from funds.imports.cells import shown
from funds.imports.kinds import KINDS, Kind
from funds.validators import PlainText, strip_text
from funds.widgets import GovSelect, GovTextInput

#: The order kinds are offered in: people and grants before what refers to them.
KIND_ORDER = ("households", "young_people", "grants", "awards", "sessions")
DO_NOT_IMPORT = ""


class UploadForm(FlaskForm):
    kind = RadioField(
        "What does the file hold?",
        choices=[SelectChoice(key, KINDS[key].label) for key in KIND_ORDER],
        widget=GovRadioInput(),
        validators=[InputRequired("Choose what the file holds")],
        invalid_choice_message="Choose what the file holds",
    )
    file = FileField(
        "The spreadsheet",
        widget=GovFileInput(),
        description="A .xlsx, .ods or .xls workbook (the first sheet is read) or a .csv "
        "file, with the headings in its first row.",
    )


class ReplaceForm(FlaskForm):
    """A corrected file for the same kind, matched the same way."""

    file = FileField("The corrected spreadsheet", widget=GovFileInput())


class UndoForm(FlaskForm):
    reason = TextAreaField(
        "Why is this import being undone?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Say why this import is being undone"),
            Length(max=2000, message="Keep the reason to 2,000 characters or fewer"),
            PlainText(multiline=True),
        ],
    )


def columns_form(
    kind: Kind, header: list[str], samples: list[list], formdata=None, data=None
):
    """A select per field: which column of the file holds it (two sample values shown
    for each column), plus a name to save the choice under."""

    choices = [SelectChoice(DO_NOT_IMPORT, "Do not import")]
    for index, heading in enumerate(header):
        examples = [shown(row[index]) for row in samples if index < len(row)]
        examples = [value for value in examples if value][:2]
        hint = f" (for example {', '.join(examples)})" if examples else ""
        choices.append(
            SelectChoice(str(index), f"{heading or f'Column {index + 1}'}{hint}")
        )

    class _Columns(FlaskForm):
        save_as = StringField(
            "Save these choices as (optional)",
            widget=GovTextInput(),
            filters=[strip_text],
            description="A name to offer them under next time, like “Old awards sheet”.",
            validators=[
                Length(max=80, message="Enter a name of 80 characters or fewer"),
                PlainText(),
            ],
        )

    for field in kind.fields:
        setattr(
            _Columns,
            f"column_{field.key}",
            SelectField(
                field.label + ("" if field.required else " (optional)"),
                choices=choices,
                default=DO_NOT_IMPORT,
                description=field.rule,
                widget=GovSelect(),
                invalid_choice_message="Choose one of the file's columns",
            ),
        )
    return _Columns(formdata=formdata, data=data)


def chosen_mapping(form, kind: Kind) -> dict[str, int]:
    mapping = {}
    for field in kind.fields:
        value = getattr(form, f"column_{field.key}").data
        if value not in (None, DO_NOT_IMPORT):
            mapping[field.key] = int(value)
    return mapping
