"""The form that chooses a return (grant, template, period) and the unlock form."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovSelect,
    GovTextArea,
)
from wtforms import RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.models import Grant, ReturnTemplate
from funds.validators import GovDateField, PlainText, Present

TEMPLATE_HINTS = {
    ReturnTemplate.HSF: "Spend and awards by HSF category and household group, households helped",
    ReturnTemplate.ACTIVITIES: "Sessions, unique and cumulative attendance, cost per participant, age and gender",
    ReturnTemplate.BUDGET: "Budget lines against spend with variance, beneficiaries and demographics",
}


class ReturnForm(FlaskForm):
    """Which return: read from the query string, so the page can be bookmarked."""

    class Meta:
        csrf = False

    grant = SelectField(
        "Grant", widget=GovSelect(), validators=[InputRequired("Choose a grant")]
    )
    template = RadioField(
        "Return",
        widget=GovRadioInput(),
        choices=[SelectChoice(t.value, t.label) for t in ReturnTemplate],
        validators=[InputRequired("Choose which return to build")],
    )
    date_from = GovDateField(
        "Period from",
        example="1 4 2023",
        validators=[Present("Enter the first day of the period")],
    )
    date_to = GovDateField(
        "Period to",
        example="31 3 2024",
        validators=[Present("Enter the last day of the period")],
    )

    def set_grants(self, grants: list[Grant]) -> None:
        self.grant.choices = [SelectChoice("", "Choose a grant")] + [
            SelectChoice(str(g.id), f"{g.reference} – {g.title} ({g.funder.name})")
            for g in grants
        ]

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("The end of the period must be on or after its start")

    def chosen(self) -> tuple[int, ReturnTemplate, date, date]:
        return (
            int(self.grant.data),
            ReturnTemplate(self.template.data),
            self.date_from.data,
            self.date_to.data,
        )


class UnlockForm(FlaskForm):
    """Unlock a period: a reason is required."""

    reason = TextAreaField(
        "Why is this period being unlocked?",
        widget=GovTextArea(),
        validators=[
            InputRequired("Say why the period is being unlocked"),
            Length(max=2000, message="Keep the reason to 2,000 characters or fewer"),
            PlainText(multiline=True),
        ],
    )
