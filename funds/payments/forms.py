"""The payment run form: which awards, the date paid, the reference."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField, StringField
from wtforms.validators import Length

from funds.disbursements.forms import GovDateField
from funds.validators import (
    PlainText,
    new_form_token,
    optional_id,
    strip_text,
    valid_token,
)
from funds.validators import Present as Required
from funds.widgets import GovTextInput


class PaymentRunForm(FlaskForm):
    """Pay the ticked awards on one date under one reference."""

    #: The ticked awards' ids; whether each can be paid is the service's to say.
    awards = SelectMultipleField(coerce=optional_id, validate_choice=False)
    paid_on = GovDateField(
        "Date paid",
        subject="the date paid",
        validators=[Required("Enter the date the awards were paid")],
    )
    reference = StringField(
        "Payment reference",
        widget=GovTextInput(),
        filters=[strip_text],
        description="The bank batch, BACS or card reference finance reconciles against.",
        validators=[
            Required("Enter the payment reference"),
            Length(max=80, message="Enter a reference of 80 characters or fewer"),
            PlainText(),
        ],
    )
    form_token = HiddenField()

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid_token(self.form_token.data):
            # Nothing was paid: finance checks the list and sends it again.
            self.form_token.data = new_form_token()
            self.form_errors.append(
                "The form had expired. Check the list and send it again."
            )
            return False
        return valid

    def award_ids(self) -> list[int]:
        """The ticked award ids (an empty value is ignored)."""
        return [ident for ident in (self.awards.data or []) if ident is not None]
