"""Forms for signing in, first-run set-up and password changes."""

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovPasswordInput,
)
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, Length

from funds.validators import Email, PlainText, strip_text
from funds.widgets import GovTextInput


class LoginForm(FlaskForm):
    """Email and password."""

    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[InputRequired("Enter your email address"), Length(max=254)],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password")],
    )


class NewPasswordMixin:
    """A new password typed twice; the policy itself is checked by the service."""

    new_password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description="At least 12 characters. Three random words make a good password.",
        validators=[InputRequired("Enter a new password")],
    )
    confirm_password = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Enter the new password again"),
            EqualTo("new_password", "The passwords do not match"),
        ],
    )


class SetupForm(NewPasswordMixin, FlaskForm):
    """The first administrator, created on first run."""

    name = StringField(
        "Your name",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[InputRequired("Enter your name"), Length(max=120), PlainText()],
    )
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip_text],
        description="You will use this to sign in.",
        validators=[
            InputRequired("Enter your email address"),
            Length(max=254),
            Email(),
        ],
    )


class ChangePasswordForm(NewPasswordMixin, FlaskForm):
    """Your own password: the current one is required."""

    current_password = PasswordField(
        "Current password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your current password")],
    )


class ConfirmPasswordForm(FlaskForm):
    """Re-enter your password before a sensitive action."""

    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password")],
    )
