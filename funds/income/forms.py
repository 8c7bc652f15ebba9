"""Forms for a grant's income: a receipt, an expected payment, a transfer between funds."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovTextArea,
)
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from funds.grants.forms import NOTES_MAX, optional_int
from funds.validators import GovDateField, MoneyField, PlainText, Present, strip_text
from funds.widgets import GovSelect, GovTextInput


def _reference(label: str, required: str, max_length: int, **kwargs):
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[Present(required), Length(max=max_length), PlainText()],
        **kwargs,
    )


def _long_text(label: str, *, required: str | None = None, **kwargs):
    validators = [Present(required)] if required else []
    return TextAreaField(
        label,
        widget=GovTextArea(),
        filters=[strip_text],
        validators=[*validators, Length(max=NOTES_MAX), PlainText(multiline=True)],
        **kwargs,
    )


class ReceiptForm(FlaskForm):
    """Money received from the funder, or paid back to it."""

    kind = RadioField(
        "What happened?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("received", "Money received from the funder"),
            SelectChoice("repaid", "Money paid back to the funder"),
        ],
        default="received",
        validators=[InputRequired("Choose whether money came in or was paid back")],
        invalid_choice_message="Choose whether money came in or was paid back",
    )
    received_on = GovDateField(
        "Date on the bank statement",
        subject="the date",
        validators=[Present("Enter the date on the bank statement")],
    )
    amount = MoneyField("Amount", validators=[Present("Enter the amount")])
    reference = _reference(
        "Reference",
        "Enter the bank or remittance reference",
        80,
        description="As it appears on the bank statement or the funder's remittance.",
    )
    notes = _long_text("Notes (optional)")

    def signed_amount(self):
        return -self.amount.data if self.kind.data == "repaid" else self.amount.data


class ExpectedForm(FlaskForm):
    """A payment the grant agreement says the funder will make."""

    due_on = GovDateField(
        "When is it due?", validators=[Present("Enter the date it is due")]
    )
    amount = MoneyField("Amount", validators=[Present("Enter the amount")])
    description = StringField(
        "Description (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        description="For example, second tranche, on receipt of the Q2 return.",
        validators=[Length(max=120), PlainText()],
    )


class TransferForm(FlaskForm):
    """Money moved between this grant's fund and another fund."""

    direction = RadioField(
        "Which way does the money go?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice("in", "Into this grant's fund"),
            SelectChoice("out", "Out of this grant's fund"),
        ],
        validators=[InputRequired("Choose which way the money goes")],
        invalid_choice_message="Choose which way the money goes",
    )
    other_grant = SelectField(
        "The other fund: another grant",
        widget=GovSelect(),
        coerce=optional_int,
        invalid_value_message="Choose a grant from the list",
        invalid_choice_message="Choose a grant from the list",
    )
    other_fund = StringField(
        "Or the other fund's name",
        widget=GovTextInput(),
        filters=[strip_text],
        description="For a fund that is not a grant here, e.g. General (unrestricted) "
        "fund.",
        validators=[Length(max=120), PlainText()],
    )
    transferred_on = GovDateField(
        "Date of the transfer", validators=[Present("Enter the date of the transfer")]
    )
    amount = MoneyField("Amount", validators=[Present("Enter the amount")])
    reason = _long_text(
        "Why is the money moving?",
        required="Enter the reason for the transfer",
        description="For example, trustees' decision of 3 March to meet the overspend "
        "on white goods from general funds. The reason is shown in the fund note.",
    )

    def set_grants(self, choices: list[tuple[int, str]]) -> None:
        self.other_grant.choices = [
            SelectChoice("", "Not a grant (name it below)"),
            *(SelectChoice(gid, label) for gid, label in choices),
        ]
