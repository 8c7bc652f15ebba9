"""The forms that choose an export (grant, period, format) and the figures to reconcile."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
)
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.exports.formats import FORMATS
from funds.models import Grant
from funds.validators import GovDateField, MoneyField, PlainText, Present, strip_text
from funds.widgets import GovSelect, GovTextInput

#: Every download the export page offers: the accounting files, then the ledger.
LEDGER_CHOICES = {
    "ledger-csv": (
        "Ledger lines (CSV)",
        "Every ledger line of the grant dated in the period, with its status and "
        "payment, for checking against the accounts.",
    ),
    "ledger-xlsx": ("Ledger lines (Excel)", "The same lines as an Excel table."),
}


def grant_choices(grants: list[Grant]) -> list[SelectChoice]:
    return [SelectChoice("", "Choose a grant")] + [
        SelectChoice(str(g.id), f"{g.reference} – {g.title}") for g in grants
    ]


class PeriodForm(FlaskForm):
    """A grant and a period."""

    grant = SelectField(
        "Grant", widget=GovSelect(), validators=[InputRequired("Choose a grant")]
    )
    date_from = GovDateField(
        "Period from",
        example="1 4 2024",
        validators=[Present("Enter the first day of the period")],
    )
    date_to = GovDateField(
        "Period to",
        example="30 6 2024",
        validators=[Present("Enter the last day of the period")],
    )

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("The end of the period must be on or after its start")


class ExportForm(PeriodForm):
    """What to download."""

    system = RadioField(
        "File",
        widget=GovRadioInput(),
        choices=[
            *[SelectChoice(key, fmt.title) for key, fmt in FORMATS.items()],
            *[SelectChoice(key, title) for key, (title, _) in LEDGER_CHOICES.items()],
        ],
        validators=[InputRequired("Choose which file to download")],
    )

    hints = {
        **{key: fmt.description for key, fmt in FORMATS.items()},
        **{key: hint for key, (_, hint) in LEDGER_CHOICES.items()},
    }


def _heading(label: str, default: str, description: str) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        default=default,
        filters=[strip_text],
        description=description,
        validators=[
            Length(max=60, message="Enter 60 characters or fewer"),
            PlainText(),
        ],
    )


class ReconcileForm(PeriodForm):
    """The accounts' figure: typed in, or read from an export of their transactions."""

    accounts_total = MoneyField(
        "Total the accounts show for the grant's code in the period",
        minimum=Decimal("0.00"),
        description="In pounds, like 1250.00. Or upload the accounts' export below.",
    )
    accounts_file = FileField(
        "Or an export of the accounts' transactions",
        widget=GovFileInput(),
        description="A .csv or .xlsx file with a heading row: the amounts of the rows "
        "whose code column holds the grant's accounts code are added up.",
    )
    code_column = _heading(
        "Column holding the grant's code",
        "Tracking",
        "Its heading, e.g. Tracking, Class or Analysis Type 1.",
    )
    amount_column = _heading(
        "Column holding the amount", "Amount", "Its heading, e.g. Amount, Net or Debit."
    )
    negative_out = BooleanField(
        "Spending shows as negative amounts in this file (money out)",
        widget=GovCheckboxInput(),
    )

    def upload(self):
        """The uploaded file, or None."""
        data = self.accounts_file.data
        return data if data is not None and getattr(data, "filename", None) else None

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.accounts_total.errors or self.accounts_file.errors:
            return False
        has_total = self.accounts_total.data is not None
        if has_total == (self.upload() is not None):
            message = (
                "Enter the accounts' total or upload their export, not both"
                if has_total
                else "Enter the total the accounts show, or upload their export"
            )
            self.accounts_total.errors = [*self.accounts_total.errors, message]
            return False
        if self.upload() is not None:
            for name in ("code_column", "amount_column"):
                field = getattr(self, name)
                if not field.data:
                    field.errors = [*field.errors, "Enter the column's heading"]
                    valid = False
        return valid
