"""Forms for the second sign-in step: a code from the app, or a recovery code."""

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import InputRequired, Length

from funds.auth.forms import ConfirmPasswordForm
from funds.widgets import GovTextInput


def _code_field(label: str, hint: str, required: str) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        description=hint,
        validators=[InputRequired(required), Length(max=40, message=required)],
    )


class SignInCodeForm(FlaskForm):
    """The second page of signing in."""

    code = _code_field(
        "Code",
        "The 6-digit code your authenticator app shows now, or one of your recovery "
        "codes.",
        "Enter the code from your authenticator app, or a recovery code",
    )


class EnrolForm(FlaskForm):
    """Confirm that the app shows codes for the new secret."""

    code = _code_field(
        "Code from your app",
        "The 6-digit code your app shows for this account.",
        "Enter the 6-digit code from your authenticator app",
    )


class ManageCodeForm(FlaskForm):
    """Turning the second step off, or new recovery codes: the current code first."""

    code = _code_field(
        "Code",
        "The 6-digit code your authenticator app shows now, or a recovery code.",
        "Enter the code from your authenticator app, or a recovery code",
    )


class ConfirmWithCodeForm(ConfirmPasswordForm):
    """The fresh-login check for a user with a second step: password and code."""

    code = _code_field(
        "Code",
        "The 6-digit code your authenticator app shows now, or a recovery code.",
        "Enter the code from your authenticator app, or a recovery code",
    )
