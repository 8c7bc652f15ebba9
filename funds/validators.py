"""Field validators shared by every form: plain text, email, and the money field."""

from __future__ import annotations

import re
import secrets
from datetime import date
from decimal import Decimal

from wtforms import DateField, StringField
from wtforms.validators import StopValidation, ValidationError

from funds.money import MAX_AMOUNT, PENNY, MoneyError, format_money, parse_money
from funds.widgets import GovDateInput, GovTextInput

# C0 controls (tab and newlines are handled separately), DEL and C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidirectional overrides and isolates, which can make text display as something else.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
# Unicode non-characters (U+FDD0-U+FDEF and the last two code points of every plane) and
# lone surrogates: no file format can hold them (an .xlsx refuses U+FFFE and U+FFFF).
_NONCHARACTER = re.compile(
    "[\ufdd0-\ufdef\ud800-\udfff"
    + "".join(
        f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}"
        for plane in range(17)
    )
    + "]"
)


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why a piece of typed text cannot be stored, or None."""
    if value.isascii() and value.isprintable():
        return None  # no control, direction or special characters, no line breaks
    if _CONTROL.search(value):
        return "Remove the hidden control characters from this text"
    if _BIDI.search(value):
        return "Remove the hidden text-direction characters from this text"
    if _NONCHARACTER.search(value):
        return "Remove the hidden special characters from this text: a spreadsheet cannot hold them"
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


class AccountsCode:
    """A code another program keys on (an accounts code, a tax rate's name): one line of
    printable text that a spreadsheet will not take for a formula."""

    def __init__(self, what: str = "The code"):
        self.what = what

    def __call__(self, form, field):
        if not field.data:
            return
        problem = text_problem(field.data)
        if problem:
            raise StopValidation(problem)
        if not field.data.isprintable():
            raise StopValidation(
                "Remove the hidden or special spaces and characters from this text"
            )
        if field.data[0] in "=+-@":
            raise StopValidation(f"{self.what} cannot start with =, +, - or @")


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


_DAY_OR_MONTH = re.compile(r"[0-9]{1,2}", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
#: Years any date typed into funds may have (periods and birthdays are checked further).
YEARS = (1900, 2100)


class Present:
    """Required, for fields that parse their own input (dates, money): an empty field fails.

    A field that already failed to parse keeps its own, more precise, message.
    """

    field_flags = {"required": True}

    def __init__(self, message: str):
        self.message = message

    def __call__(self, form, field):
        if field.errors:
            raise StopValidation()
        if field.data is None or field.data == "":
            raise StopValidation(self.message)


class GovDateField(DateField):
    """A GOV.UK day/month/year date: ASCII digits only, a real date, a year in ``years``.

    All three boxes empty gives ``None`` (add ``Present`` to require a date). The widget
    always gets exactly three boxes back, whatever was sent. ``subject`` names the date in
    messages ("the date given"), so the error summary says which date is wrong.
    """

    widget = GovDateInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        example: str = "27 3 2024",
        subject: str = "the date",
        years: tuple[int, int] = YEARS,
        **kwargs,
    ):
        kwargs.setdefault("format", "%d %m %Y")
        super().__init__(label, validators, **kwargs)
        self.example = example
        self.subject = subject
        self.years = years
        # The error summary links date fields to their day box (funds.templating).
        self.type = "DateField"

    def _message(self, kind: str) -> str:
        subject, example = self.subject, self.example
        first, last = self.years
        plain = subject == "the date"
        return {
            "numbers": f"Enter {subject} as day, month and year in numbers, for example {example}",
            "real": f"Enter a real date, for example {example}"
            if plain
            else f"{subject[0].upper()}{subject[1:]} must be a real date, for example {example}",
            "year": f"Enter a year between {first} and {last}, for example {example}"
            if plain
            else f"Enter {subject} with a year between {first} and {last}, for example {example}",
        }[kind]

    def process_formdata(self, valuelist):
        parts = [str(value).strip() for value in valuelist[:3]]
        parts += [""] * (3 - len(parts))
        self.raw_data = parts
        self.data = None
        if not any(parts):
            if len(valuelist) > 3:
                raise ValueError(self._message("real"))
            return
        day, month, year = parts
        missing = [
            name
            for name, part in zip(("day", "month", "year"), parts, strict=True)
            if not part
        ]
        patterns = (_DAY_OR_MONTH, _DAY_OR_MONTH, _YEAR)
        typed_well = all(
            not part or pattern.fullmatch(part)
            for part, pattern in zip(parts, patterns, strict=True)
        )
        if missing and typed_well and len(valuelist) == 3:
            raise ValueError(f"The date must include a {' and a '.join(missing)}")
        if (
            len(valuelist) != 3
            or not _DAY_OR_MONTH.fullmatch(day)
            or not _DAY_OR_MONTH.fullmatch(month)
            or not _YEAR.fullmatch(year)
        ):
            raise ValueError(self._message("numbers"))
        try:
            value = date(int(year), int(month), int(day))
        except ValueError as exc:
            raise ValueError(self._message("real")) from exc
        if not self.years[0] <= value.year <= self.years[1]:
            raise ValueError(self._message("year"))
        self.data = value

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%d %m %Y") if self.data else ""


_ID = re.compile(r"[0-9]{1,18}", re.ASCII)
_WHOLE = re.compile(r"[0-9]{1,6}", re.ASCII)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}", re.ASCII)


def new_form_token() -> str:
    """A one-time token for a form; a second submission with it is recognised."""
    return secrets.token_urlsafe(32)


def valid_token(token: str | None) -> bool:
    """Whether ``token`` looks like one new_form_token made."""
    return bool(token) and bool(_TOKEN.fullmatch(token))


def optional_id(value) -> int | None:
    """Coerce a submitted choice to a database id; ``""`` means nothing chosen."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if not _ID.fullmatch(str(value)):
        raise ValueError("not an id")
    return int(value)


class WholeNumberField(StringField):
    """An optional whole number in a range, typed with the digits 0 to 9 only.

    (``int()`` would also take ``1_0``, full-width and Arabic-Indic digits.)
    """

    widget = GovTextInput()

    def __init__(
        self,
        label=None,
        validators=None,
        *,
        low: int,
        high: int,
        message: str,
        **kwargs,
    ):
        super().__init__(label, validators, **kwargs)
        self.low, self.high, self.message = low, high, message

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist:
            return
        raw = valuelist[0].strip()
        if not raw:
            return
        if not _WHOLE.fullmatch(raw) or not self.low <= int(raw) <= self.high:
            raise ValueError(self.message)
        self.data = int(raw)

    def process_data(self, value):
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return "" if self.data is None else str(self.data)
