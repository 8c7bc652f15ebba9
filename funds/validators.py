"""Field validators shared by every form: plain text, email, and the money field."""

from __future__ import annotations

import re
from decimal import Decimal

from govuk_frontend_wtf.wtforms_widgets import GovTextInput
from wtforms import StringField
from wtforms.validators import StopValidation, ValidationError

from funds.money import MAX_AMOUNT, PENNY, MoneyError, format_money, parse_money

# C0 controls (tab and newlines are handled separately), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional overrides and isolates, which can make text display as something else.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why a piece of typed text cannot be stored, or None."""
    if _CONTROL.search(value):
        return "Remove the hidden control characters from this text"
    if _BIDI.search(value):
        return "Remove the hidden text-direction characters from this text"
    if not multiline and re.search(r"[\t\r\n]", value):
        return "Enter this on a single line"
    if multiline and "\t" in value:
        return "Remove the tab characters from this text"
    return None


class PlainText:
    """Refuse control characters, bidi overrides and (unless multiline) line breaks."""

    def __init__(self, *, multiline: bool = False):
        self.multiline = multiline

    def __call__(self, form, field):
        if field.data:
            problem = text_problem(field.data, multiline=self.multiline)
            if problem:
                raise StopValidation(problem)


class Email:
    """A plausible email address (the log-in name); no network look-ups."""

    def __call__(self, form, field):
        if field.data and not _EMAIL.fullmatch(field.data.strip()):
            raise ValidationError(
                "Enter an email address in the correct format, like name@example.org"
            )


def strip_text(value):
    """Filter: trim surrounding spaces from single-line text (the field shows the result)."""
    return value.strip() if isinstance(value, str) else value


class MoneyField(StringField):
    """An amount in pounds, parsed strictly by funds.money.parse_money.

    ``data`` is a Decimal (or None); what the user typed is shown back unchanged when the
    form is re-displayed with an error.
    """

    widget = GovTextInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        minimum=PENNY,
        maximum=MAX_AMOUNT,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.parse_error: str | None = None

    def process_formdata(self, valuelist):
        self.parse_error = None
        if not valuelist:
            return
        raw = valuelist[0]
        if not raw.strip():
            self.data = None
            return
        try:
            self.data = parse_money(raw, minimum=self.minimum, maximum=self.maximum)
        except MoneyError as error:
            self.data = None
            self.parse_error = str(error)

    def pre_validate(self, form):
        if self.parse_error:
            raise StopValidation(self.parse_error)

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        if isinstance(self.data, Decimal):
            return f"{self.data:.2f}"
        return ""


def format_for_field(amount: Decimal | None) -> str:
    """An amount as it would be typed into a MoneyField (``1250.00``)."""
    return "" if amount is None else format_money(amount, symbol="").replace(",", "")
