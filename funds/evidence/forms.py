"""Forms for evidence files: upload several at once, remove one with a reason."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovFileInput,
    GovTextArea,
)
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from funds.evidence.files import MAX_FILES
from funds.evidence.services import MAX_REASON
from funds.validators import PlainText, strip_text
from funds.validators import Present as Required
from funds.widgets import GovTextInput


class UploadForm(FlaskForm):
    """Attach receipts, invoices or photos of them to a record."""

    files = MultipleFileField(
        "Receipts or invoices",
        widget=GovFileInput(),
        description=f"PDF, JPEG or PNG photos, or Excel (.xlsx); up to {MAX_FILES} "
        "files at once. On a phone you can take a photo.",
    )
    description = StringField(
        "What the files show (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Length(max=200, message="Enter 200 characters or fewer"),
            PlainText(),
        ],
    )


class RemoveForm(FlaskForm):
    """Remove a file (its bytes are deleted; the record that it existed stays)."""

    reason = TextAreaField(
        "Why is this file being removed?",
        widget=GovTextArea(),
        filters=[strip_text],
        description="For example: attached to the wrong award, a photo of the wrong receipt.",
        validators=[
            Required("Say why the file is being removed"),
            Length(
                max=MAX_REASON,
                message=f"Enter a reason of {MAX_REASON} characters or fewer",
            ),
            PlainText(multiline=True),
        ],
    )
