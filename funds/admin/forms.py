"""Forms for user administration and the audit trail's filter."""

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovTextArea,
)
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.admin.audit_trail import KINDS
from funds.disbursements.forms import NoBareCarriageReturn, notes_filter
from funds.models import Role
from funds.organisation import Organisation
from funds.validators import Email, GovDateField, PlainText, strip_text
from funds.widgets import GovSelect, GovTextInput

#: The "who" choice for events with nobody signed in.
SYSTEM = "system"

ROLE_HINTS = {
    Role.STAFF: "Records people, awards, vouchers and activity sessions",
    Role.MANAGER: "Also sets up grants and budgets, approves overspends and prepares returns",
    Role.FINANCE: "Checks spend, reverses mistakes, marks payments and locks periods",
    Role.ADMIN: "Also adds users, changes roles and sees the audit trail",
}


#: The order roles are offered in: the most common first.
ROLE_ORDER = (Role.STAFF, Role.MANAGER, Role.FINANCE, Role.ADMIN)


def role_choices() -> list[SelectChoice]:
    return [SelectChoice(role.value, role.label) for role in ROLE_ORDER]


class RoleField(RadioField):
    """A role, chosen from radios with a hint for each."""

    widget = GovRadioInput()

    def __init__(self, label="Role", **kwargs):
        super().__init__(
            label,
            choices=role_choices(),
            validators=[InputRequired("Choose a role")],
            **kwargs,
        )


class NewUserForm(FlaskForm):
    """Add a user; a temporary password is generated."""

    name = StringField(
        "Full name",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            InputRequired("Enter the person's name"),
            Length(max=120),
            PlainText(),
        ],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip_text],
        description="They will use this to sign in.",
        validators=[
            InputRequired("Enter their email address"),
            Length(max=254),
            Email(),
        ],
    )
    role = RoleField()


class RoleForm(FlaskForm):
    """Change a user's role."""

    role = RoleField("New role")


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class AuditFilterForm(FlaskForm):
    """Narrow the audit trail by who, what and when (a GET form: nothing is changed)."""

    class Meta:
        csrf = False

    who = SelectField(
        "Who",
        default="",
        widget=GovSelect(),
        invalid_choice_message="Choose someone from the list",
    )
    what = SelectField(
        "What",
        default="",
        widget=GovSelect(),
        choices=[
            SelectChoice("", "Everything"),
            *(SelectChoice(key, label) for key, (label, _) in KINDS.items()),
        ],
        invalid_choice_message="Choose a kind of change from the list",
    )
    date_from = GovDateField("From", subject="the start date", example="1 4 2024")
    date_to = GovDateField("To", subject="the end date", example="31 3 2025")

    def set_people(self, users) -> None:
        self.who.choices = [
            SelectChoice("", "Anyone"),
            SelectChoice(SYSTEM, "Nobody signed in (the system, failed sign-ins)"),
            *(SelectChoice(str(user.id), user.name) for user in users),
        ]

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date")

    @property
    def filtered(self) -> bool:
        return any(
            (self.who.data, self.what.data, self.date_from.data, self.date_to.data)
        )

    def criteria(self) -> dict:
        """What the query narrows by."""
        who = self.who.data or None
        return {
            "actor_id": None if who in (None, SYSTEM) else int(who),
            "no_actor": who == SYSTEM,
            "prefixes": KINDS[self.what.data][1] if self.what.data else (),
            "date_from": self.date_from.data,
            "date_to": self.date_to.data,
        }

    def link_args(self) -> dict:
        """The filter as query arguments, for the paging links."""
        args = {}
        for name in ("who", "what"):
            if getattr(self, name).data:
                args[name] = getattr(self, name).data
        for name in ("date_from", "date_to"):
            day = getattr(self, name).data
            if day:
                args[name] = [str(day.day), str(day.month), str(day.year)]
        return args


def _line(label: str, *, max_length: int = 120, validators=(), description=None):
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


class OrganisationForm(FlaskForm):
    """The organisation's details, shown in the header and on every return."""

    name = _line(
        "Organisation name",
        validators=[InputRequired("Enter the organisation’s name")],
    )
    address = TextAreaField(
        "Address (optional)",
        widget=GovTextArea(),
        filters=[notes_filter],
        validators=[
            Length(max=400, message="Enter an address of 400 characters or fewer"),
            NoBareCarriageReturn(),
            PlainText(multiline=True),
        ],
    )
    charity_number = _line(
        "Registered charity number (optional)",
        max_length=20,
        description="For example 1123456, SC012345 or NIC100002.",
    )
    contact_name = _line("Name (optional)")
    contact_email = _line("Email (optional)", max_length=254, validators=[Email()])
    contact_phone = _line("Phone (optional)", max_length=40)

    FIELDS = (
        "name",
        "address",
        "charity_number",
        "contact_name",
        "contact_email",
        "contact_phone",
    )

    def details(self) -> Organisation:
        return Organisation(
            **{name: getattr(self, name).data or "" for name in self.FIELDS}
        )
