"""Forms for user administration."""

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovRadioInput, GovTextInput
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from funds.models import Role
from funds.validators import Email, PlainText, strip_text

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
