"""Forms for the activity programme: record a session, its register, the programme filter."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal

from flask_wtf import FlaskForm
from govuk_frontend_wtf.gov_form_base import GovFormBase
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovTextArea,
)
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from funds import clock
from funds.activities.queries import find_young_people, young_people_named
from funds.activities.services import (
    MAX_CAPACITY,
    MAX_CARERS,
    MAX_DURATION_MINUTES,
    NOTES_MAX,
    SUPPLIER_MAX,
)
from funds.disbursements.forms import (
    GovDateField,
    NoBareCarriageReturn,
    Required,
    notes_filter,
)
from funds.validators import (
    MoneyField,
    PlainText,
    WholeNumberField,
    new_form_token,
    optional_id,
    strip_text,
    valid_token,
)
from funds.widgets import GovSelect, GovTextInput

#: The most one session may cost (the same ceiling as one award).
MAX_SESSION_COST = Decimal("10000.00")
#: The most references the register's text box takes at once.
MAX_REFERENCES = 200

_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
_HOURS = re.compile(r"[0-9]{1,2}", re.ASCII)
_MINUTES = re.compile(r"[0-9]{1,4}", re.ASCII)
_SEPARATORS = re.compile(r"[\n,;]+")


class StartTimeField(StringField):
    """A time of day typed as HH:MM on the 24-hour clock (``9:30``, ``14:00``)."""

    widget = GovTextInput()

    def process_formdata(self, valuelist):
        self.data = None
        if not valuelist:
            return
        raw = valuelist[0].strip()
        if not raw:
            return
        match = _TIME.fullmatch(raw)
        if match is None:
            raise ValueError(
                "Enter a start time on the 24-hour clock, like 09:30 or 14:00"
            )
        self.data = time(int(match.group(1)), int(match.group(2)))

    def process_data(self, value):
        self.data = value

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return self.data.strftime("%H:%M") if isinstance(self.data, time) else ""


class GovDurationInput(GovFormBase):
    """Hours and minutes boxes in a fieldset (the GOV.UK date-input layout)."""

    template = "govuk_frontend_wtf/date.html"

    def __call__(self, field, **kwargs):
        # The first box carries the field's id, so the error summary's link lands in it.
        kwargs.setdefault("id", f"{field.id}-group")
        return super().__call__(field, **kwargs)

    def map_gov_params(self, field, **kwargs):
        params = super().map_gov_params(field, **kwargs)
        params.setdefault("fieldset", {"legend": {"text": field.label.text}})
        hours, minutes = field.parts()
        error = " govuk-input--error" if field.errors else ""
        params["items"] = [
            {
                "label": "Hours",
                "id": field.id,
                "name": field.name,
                "classes": "govuk-input--width-2" + error,
                "value": hours,
            },
            {
                "label": "Minutes",
                "id": f"{field.id}-minutes",
                "name": field.name,
                "classes": "govuk-input--width-3" + error,
                "value": minutes,
            },
        ]
        return params


class DurationField(Field):
    """How long a session lasted, typed as hours and minutes; ``data`` is whole minutes."""

    widget = GovDurationInput()
    MESSAGE = "Enter how long it lasted in hours and minutes using the digits 0 to 9, for example 2 hours 30 minutes"

    def process_formdata(self, valuelist):
        parts = [str(value).strip() for value in valuelist[:2]]
        parts += [""] * (2 - len(parts))
        self.raw_data = parts
        self.data = None
        hours, minutes = parts
        if len(valuelist) > 2:
            raise ValueError(self.MESSAGE)
        if not hours and not minutes:
            return
        if (hours and not _HOURS.fullmatch(hours)) or (
            minutes and not _MINUTES.fullmatch(minutes)
        ):
            raise ValueError(self.MESSAGE)
        if hours and int(minutes or 0) > 59:
            raise ValueError(
                "Enter minutes from 0 to 59, for example 2 hours 30 minutes"
            )
        total = int(hours or 0) * 60 + int(minutes or 0)
        if total < 1:
            raise ValueError("Enter a duration of at least 1 minute")
        if total > MAX_DURATION_MINUTES:
            raise ValueError("Enter a duration of 24 hours or less")
        self.data = total

    def process_data(self, value):
        self.data = value

    def parts(self) -> tuple[str, str]:
        """(hours, minutes) as the boxes show them: what was typed, or the stored value."""
        if self.raw_data:
            hours, minutes = (list(self.raw_data) + ["", ""])[:2]
            return hours, minutes
        if isinstance(self.data, int):
            hours, minutes = divmod(self.data, 60)
            return str(hours), str(minutes)
        return "", ""

    def _value(self):
        return " ".join(self.parts()).strip()


def _select(label, *, message, **kwargs):
    return SelectField(
        label,
        coerce=optional_id,
        widget=GovSelect(),
        invalid_choice_message=message,
        invalid_value_message=message,
        **kwargs,
    )


class OneTimeToken:
    """The form's one-time token, so a second copy of the same submission is recognised."""

    def check_token(self) -> bool:
        token = self.form_token.data
        if not valid_token(token):
            # Nothing was recorded: the clerk checks the details and sends it again.
            self.form_token.data = new_form_token()
            self.form_errors.append(
                "The form had expired. Check the details and send it again."
            )
            return False
        return True


class SessionForm(OneTimeToken, FlaskForm):
    """Record a group session; its cost becomes one ledger line."""

    item_type = _select(
        "Activity",
        message="Choose an activity from the list",
        validators=[Required("Choose the activity")],
    )
    held_on = GovDateField(
        "Date of the session",
        subject="the date of the session",
        default=clock.today,
        validators=[Required("Enter the date of the session")],
    )
    starts_at = StartTimeField(
        "Start time (optional)",
        description="On the 24-hour clock, for example 09:30 or 14:00.",
    )
    duration = DurationField(
        "How long was it?",
        description="For example, 2 hours 30 minutes.",
        validators=[Required("Enter how long the session lasted")],
    )
    grant = _select(
        "Paid from grant",
        message="Choose one of the open grants",
        validators=[Required("Choose the grant this is paid from")],
    )
    supplier = StringField(
        "Supplier (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        description="Who ran it or sold the tickets, for example an outdoor centre.",
        validators=[
            Length(
                max=SUPPLIER_MAX,
                message=f"Enter a supplier of {SUPPLIER_MAX} characters or fewer",
            ),
            PlainText(),
        ],
    )
    cost = MoneyField(
        "Total cost",
        maximum=MAX_SESSION_COST,
        description=f"What the whole session cost, up to £{MAX_SESSION_COST:,.2f}. It is recorded as one line of the grant's ledger.",
        validators=[Required("Enter the total cost")],
    )
    capacity = WholeNumberField(
        "Places available (optional)",
        low=1,
        high=MAX_CAPACITY,
        message=f"Enter a number of places from 1 to {MAX_CAPACITY} using the digits 0 to 9, or leave it empty",
        description="The register cannot have more young people than this.",
    )
    team = _select("Team (optional)", message="Choose a team from the list")
    notes = TextAreaField(
        "Notes (optional)",
        widget=GovTextArea(),
        filters=[notes_filter],
        validators=[
            Length(
                max=NOTES_MAX,
                message=f"Enter notes of {NOTES_MAX:,} characters or fewer",
            ),
            NoBareCarriageReturn(),
            PlainText(multiline=True),
        ],
    )
    confirm_overspend = BooleanField(
        "Confirm this overspend", widget=GovCheckboxInput()
    )
    form_token = HiddenField()

    def set_choices(self, activities, grants, teams) -> None:
        """Offer these activities, grants and teams (each SelectChoices; a placeholder first)."""
        self.item_type.choices = [SelectChoice("", "Choose an activity"), *activities]
        self.grant.choices = [SelectChoice("", "Choose a grant"), *grants]
        self.team.choices = [SelectChoice("", "No team"), *teams]

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        return self.check_token() and valid


def _person_id(value) -> int:
    """A submitted checkbox value: a database id in ASCII digits, nothing else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not re.fullmatch(r"[0-9]{1,18}", str(value), re.ASCII):
        raise ValueError("not an id")
    return int(value)


class AttendanceForm(FlaskForm):
    """The register: who attended, and how many parents or carers came along."""

    young_people = SelectMultipleField(
        "Young people who attended",
        coerce=_person_id,
        widget=GovCheckboxesInput(),
        invalid_choice_message="Choose young people from the list",
        invalid_value_message="Choose young people from the list",
    )
    add_references = TextAreaField(
        "Add young people by name or reference (optional)",
        widget=GovTextArea(),
        filters=[notes_filter],
        description="One per line: their whole name, a reference like YP-4M2X8C, or "
        "their case-system reference.",
        validators=[
            Length(max=4000, message="Enter 4,000 characters or fewer"),
            NoBareCarriageReturn(),
            PlainText(multiline=True),
        ],
    )
    carers = WholeNumberField(
        "Parents or carers who came along",
        low=0,
        high=MAX_CARERS,
        default=0,
        message=f"Enter a number of parents or carers from 0 to {MAX_CARERS} using the digits 0 to 9",
        description="A count only: carers are not named.",
    )

    def set_choices(self, people, *, with_names: bool) -> None:
        """One checkbox per young person: the reference, and the name for roles that see names."""
        self.find_by_name = with_names
        self.young_people.choices = [
            SelectChoice(
                str(person.id),
                f"{person.name} ({person.reference})"
                if with_names and person.name
                else person.reference,
            )
            for person in people
        ]

    def validate_add_references(self, field):
        self.added_ids: set[int] = set()
        if not field.data:
            return
        typed = [part.strip() for part in _SEPARATORS.split(field.data) if part.strip()]
        if len(typed) > MAX_REFERENCES:
            raise ValidationError(f"Enter {MAX_REFERENCES} references or fewer at once")
        for reference in typed:
            if len(reference) > 120:
                raise ValidationError(
                    f"“{reference[:40]}…” is too long to be a name or reference"
                )
            found = find_young_people(reference)
            if len(found) > 1:
                raise ValidationError(
                    f"More than one young person has the case-system reference {reference}: "
                    "use their YP- reference"
                )
            if not found and getattr(self, "find_by_name", False):
                found = young_people_named(reference)
                if len(found) > 1:
                    listed = ", ".join(person.reference for person in found)
                    raise ValidationError(
                        f"More than one young person is called {reference} "
                        f"({listed}): use their reference"
                    )
            if not found:
                by_name = getattr(self, "find_by_name", False)
                raise ValidationError(
                    f"There is no young person called {reference} or with that "
                    "reference: check the spelling, or use their reference"
                    if by_name and not reference.upper().startswith("YP-")
                    else f"There is no young person with the reference {reference}"
                )
            self.added_ids.add(found[0].id)

    def attendee_ids(self) -> set[int]:
        """Everyone ticked plus everyone added by name or reference."""
        return set(self.young_people.data or ()) | getattr(self, "added_ids", set())


class ProgrammeFilterForm(FlaskForm):
    """Narrow the programme to a period (a GET form: nothing is changed)."""

    class Meta:
        csrf = False

    date_from = GovDateField("From", subject="the start date", example="1 4 2024")
    date_to = GovDateField("To", subject="the end date", example="31 3 2025")

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date")

    @property
    def filtered(self) -> bool:
        return bool(self.date_from.data or self.date_to.data)
