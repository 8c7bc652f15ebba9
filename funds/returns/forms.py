"""The forms that choose a return (grant, definition, period), sign it off and unlock periods."""

from __future__ import annotations

from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovTextArea,
)
from wtforms import (
    Form,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.models import Grant
from funds.returns.library import Available
from funds.validators import Email, GovDateField, PlainText, Present, strip_text
from funds.widgets import GovSelect, GovTextInput


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

    def set_choices(self, grants: list[Grant], definitions: list[Available]) -> None:
        self.grant.choices = [SelectChoice("", "Choose a grant")] + [
            SelectChoice(str(g.id), f"{g.reference} – {g.title} ({g.funder.name})")
            for g in grants
        ]
        self.template.choices = [SelectChoice(d.key, d.title) for d in definitions]
        self.hints = {
            d.key: d.description
            + ("" if d.built_in else f" (our own, version {d.version})")
            for d in definitions
        }

    def validate_date_to(self, field):
        if self.date_from.data and field.data and field.data < self.date_from.data:
            raise ValidationError("The end of the period must be on or after its start")

    def chosen(self) -> tuple[int, str, date, date]:
        return (
            int(self.grant.data),
            self.template.data,
            self.date_from.data,
            self.date_to.data,
        )


def _text(label: str, *, max_length: int = 120, validators=(), description=None):
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        description=description,
        validators=[
            Length(max=max_length, message=f"Enter {max_length} characters or fewer"),
            PlainText(),
            *validators,
        ],
    )


class SignatoryForm(Form):
    """One person signing the return off (all optional; typed, not drawn)."""

    name = _text("Name")
    role = _text("Job title")
    email = _text("Email", max_length=254, validators=[Email()])
    signature = _text(
        "Signature (type the name)",
        description="Typing the name here signs the return off today.",
    )

    def validate_signature(self, field):
        if field.data and not self.name.data:
            raise ValidationError("Enter the name of the person signing")


class ContactForm(Form):
    """The funder's single point of contact for questions about the return."""

    name = _text("Name")
    email = _text("Email", max_length=254, validators=[Email()])
    phone = _text("Phone", max_length=40)


class SubmitForm(FlaskForm):
    """Confirming a submission (which locks the period), with its sign-off.

    ``submit_form`` adds one ``signatory_<n>`` sub-form per signatory of the definition.
    """

    contact = FormField(ContactForm)
    roles: list[str] = []

    @property
    def signatories(self) -> list:
        return [getattr(self, f"signatory_{i}") for i in range(len(self.roles))]

    def signoff(self, today: date) -> dict:
        """The sign-off as the workbook and the submitted return keep it."""
        people = []
        for role, entry in zip(self.roles, self.signatories, strict=True):
            data = entry.form
            people.append(
                {
                    "signatory": role,
                    "name": data.name.data or "",
                    "role": data.role.data or "",
                    "email": data.email.data or "",
                    "signature": data.signature.data or "",
                    "date": today if data.signature.data else None,
                }
            )
        contact = self.contact.form
        return {
            "signatories": people,
            "contact": {
                "name": contact.name.data or "",
                "email": contact.email.data or "",
                "phone": contact.phone.data or "",
            },
        }


def submit_form(
    roles: list[str], formdata=None, *, contact: dict | None = None
) -> SubmitForm:
    """A SubmitForm with a sign-off sub-form for each of these signatories; the contact
    starts as ``contact`` (the organisation's returns contact)."""

    class _Submit(SubmitForm):
        pass

    _Submit.roles = list(roles)
    for index in range(len(roles)):
        setattr(_Submit, f"signatory_{index}", FormField(SignatoryForm))
    return _Submit(formdata=formdata, data={"contact": contact or {}})


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


class BuildForm(FlaskForm):
    """The button that queues a large return's build (the choice is in the query)."""
