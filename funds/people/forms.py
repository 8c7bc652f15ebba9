"""Forms for households and young people, and the search box on their lists."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, StopValidation

from funds.errors import ValidationError
from funds.models import Disability, Ethnicity, Gender, Team
from funds.models.people import ETHNICITY_LABELS, GENDER_LABELS
from funds.people.services import (
    CHILDREN_NOT_COUNTED,
    CHILDREN_NOT_TICKED,
    HOUSEHOLD_REFERENCE,
    MAX_PEOPLE,
    normalise_district,
    normalise_reference,
)
from funds.validators import PlainText, strip_text
from funds.widgets import GovDateInput, GovSelect, GovTextInput

#: The fields only roles that may see names get (finance works from references).
PRIVATE_FIELDS = ("name", "contact", "notes")

#: Household groups: checkbox value → (label, HouseholdInput flag).
GROUPS = {
    "children": ("Children", "has_children"),
    "pensioner": ("Pensioner", "has_pensioner"),
    "disabled": ("Disabled person", "has_disabled_person"),
    "care-leaver": ("Care leaver", "has_care_leaver"),
}

_DIGITS = re.compile(r"[0-9]{1,4}")


def _number(value) -> int | None:
    """A count as typed, or None when it is not a plain number."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,2}", value.strip()):
        return int(value)
    return None


class CountField(StringField):
    """A whole number of people, 0 to 20, typed in ASCII digits only.

    WTForms' IntegerField uses ``int()``, which also takes ``1_0``, ``１０`` and ``٣``.
    """

    widget = GovTextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, filters=[strip_text], **kwargs)

    def process_formdata(self, valuelist):
        # A posted form without the box counts as empty, not as the default.
        self.data = valuelist[0] if valuelist else ""

    def pre_validate(self, form):
        if not (self.data or "").strip():
            raise StopValidation(f"Enter the {self.label.text.lower()}")
        number = _number(self.data)
        if number is None or number > MAX_PEOPLE:
            raise StopValidation(
                f"{self.label.text} must be a whole number from 0 to {MAX_PEOPLE}"
            )

    @property
    def number(self) -> int:
        """The validated value as an int."""
        return _number(self.data)


class DateOfBirthField(DateField):
    """Day, month and year boxes (GOV.UK date input) with GOV.UK error messages.

    All three boxes empty means no date; anything else must be a real date with a
    four-digit year. The widget always gets three values back to show.
    """

    widget = GovDateInput()

    def __init__(self, label=None, *, required: bool = True, **kwargs):
        super().__init__(label, format="%d %m %Y", **kwargs)
        self.required = required
        # The error summary links a "DateField" error to its day box.
        self.type = "DateField"

    def process_formdata(self, valuelist):
        # The widget unpacks exactly three values: never hand it more or fewer.
        parts = [str(value).strip() for value in valuelist]
        self.raw_data = (parts + ["", "", ""])[:3]
        self.data = None
        if not any(parts):
            return
        what = self.label.text
        if len(parts) != 3:
            raise ValueError(f"{what} must be a real date")
        day, month, year = parts
        missing = [
            name
            for name, part in zip(("a day", "a month", "a year"), parts, strict=True)
            if not part
        ]
        if missing:
            raise ValueError(f"{what} must include {' and '.join(missing)}")
        if not all(_DIGITS.fullmatch(part) for part in parts):
            raise ValueError(f"{what} must be a real date, in numbers, like 27 3 2007")
        if len(year) != 4:
            raise ValueError("Year must include 4 numbers")
        try:
            self.data = date(int(year), int(month), int(day))
        except ValueError:
            raise ValueError(f"{what} must be a real date") from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if self.data is None and self.required:
            raise StopValidation(f"Enter the {self.label.text.lower()}")


def _normalised_postcode(form, field):
    try:
        field.data = normalise_district(field.data)
    except ValidationError as error:
        raise StopValidation(error.message) from None


def _household_reference(form, field):
    reference = normalise_reference(field.data)
    if reference is not None and not HOUSEHOLD_REFERENCE.fullmatch(reference):
        raise StopValidation("Enter a household reference like H-7K3Q9M")
    field.data = reference


def _text(label, max_length, *, hint=None, multiline=False):
    """An optional text field: trimmed, length-capped, no control characters."""
    if multiline:
        return TextAreaField(
            label,
            widget=GovTextArea(),
            description=hint,
            validators=[
                Optional(),
                Length(
                    max=max_length,
                    message=f"{label} must be {max_length:,} characters or fewer",
                ),
                PlainText(multiline=True),
            ],
        )
    return StringField(
        label,
        widget=GovTextInput(),
        description=hint,
        filters=[strip_text],
        validators=[
            Optional(),
            Length(
                max=max_length,
                message=f"{label} must be {max_length} characters or fewer",
            ),
            PlainText(),
        ],
    )


def team_choices(teams: list[Team]) -> list[SelectChoice]:
    """The team select: no team, then each team."""
    return [
        SelectChoice("", "No team"),
        *(SelectChoice(str(t.id), t.name) for t in teams),
    ]


def _name_field():
    return _text(
        "Name",
        120,
        hint="Optional. Finance and funders see only the reference, never the name.",
    )


def _contact_field():
    return _text(
        "Contact details", 200, hint="Optional. A phone number or an email address."
    )


def _case_reference_field():
    return _text(
        "Case-system reference",
        40,
        hint="Optional. The reference in your case-management system, if there is one.",
    )


def _team_field():
    return SelectField(
        "Team",
        widget=GovSelect(),
        choices=[SelectChoice("", "No team")],
        default="",
        invalid_choice_message="Choose a team from the list",
    )


def _notes_field():
    return _text("Notes", 2000, multiline=True, hint="Optional.")


class _PersonForm(FlaskForm):
    """What the household and young person forms share (fields are declared in each
    form, in page order, so the error summary lists them in that order)."""

    def setup(self, *, teams: list[Team], show_names: bool) -> None:
        """Fill the team list; take out the private fields for roles that cannot see them."""
        self.team.choices = team_choices(teams)
        if not show_names:
            for name in PRIVATE_FIELDS:
                delattr(self, name)

    def private_values(self, record=None) -> dict:
        """Name, contact and notes as typed, or as stored when this form does not have them.

        A role that cannot see them never gets the fields, so an edit must keep what is
        stored rather than wipe it.
        """
        return {
            name: self[name].data if name in self else getattr(record, name, None)
            for name in PRIVATE_FIELDS
        }

    @property
    def team_id(self) -> int | None:
        return int(self.team.data) if self.team.data else None


class HouseholdForm(_PersonForm):
    """Add or change a household."""

    name = _name_field()
    contact = _contact_field()
    case_reference = _case_reference_field()
    adults = CountField("Number of adults")
    children = CountField("Number of children")
    groups = SelectMultipleField(
        "Household groups",
        widget=GovCheckboxesInput(),
        choices=[SelectChoice(value, label) for value, (label, _) in GROUPS.items()],
        description="Select all that apply.",
        invalid_choice_message="Choose household groups from the list",
    )
    postcode_district = StringField(
        "Postcode district",
        widget=GovTextInput(),
        description="Optional. The first part of the postcode, like SO14. "
        "If you type the whole postcode, only the first part is kept.",
        filters=[strip_text],
        validators=[
            Optional(),
            PlainText(),
            Length(max=20, message="Enter a postcode district like SO14"),
            _normalised_postcode,
        ],
    )
    team = _team_field()
    notes = _notes_field()
    confirm_duplicate = BooleanField(
        "This is a different household: add it anyway",
        widget=GovCheckboxInput(),
        description="Tick this only after checking the records listed above.",
    )

    def validate_groups(self, field):
        """Children counted and the 'children' group ticked go together (the service
        checks it too; here it shows with the other errors at once)."""
        children = _number(self.children.data)
        if children and "children" not in (field.data or []):
            raise StopValidation(CHILDREN_NOT_TICKED)

    def validate_children(self, field):
        if _number(field.data) == 0 and "children" in (self.groups.data or []):
            raise StopValidation(CHILDREN_NOT_COUNTED)

    def flags(self) -> dict[str, bool]:
        """The HouseholdInput flags ticked in ``groups``."""
        ticked = set(self.groups.data or [])
        return {flag: value in ticked for value, (_, flag) in GROUPS.items()}

    @staticmethod
    def initial(household) -> dict:
        """Form data for editing a stored household."""
        return {
            "name": household.name,
            "contact": household.contact,
            "case_reference": household.case_reference,
            "adults": str(household.adults),
            "children": str(household.children),
            "groups": [
                value for value, (_, flag) in GROUPS.items() if getattr(household, flag)
            ],
            "postcode_district": household.postcode_district,
            "team": str(household.team_id) if household.team_id else "",
            "notes": household.notes,
        }


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(member.value, label) for member, label in labels.items()]


class YoungPersonForm(_PersonForm):
    """Add or change a young person."""

    name = _name_field()
    contact = _contact_field()
    case_reference = _case_reference_field()
    date_of_birth = DateOfBirthField(
        "Date of birth", description="For example, 27 3 2007"
    )
    gender = RadioField(
        "Gender",
        widget=GovRadioInput(),
        choices=_choices(GENDER_LABELS),
        validators=[InputRequired("Select a gender, or ‘Prefer not to say’")],
        invalid_choice_message="Select a gender from the list",
    )
    ethnicity = RadioField(
        "Ethnic group",
        widget=GovRadioInput(),
        choices=_choices(ETHNICITY_LABELS),
        description="The ethnic groups of the 2021 census.",
        validators=[InputRequired("Select an ethnic group, or ‘Prefer not to say’")],
        invalid_choice_message="Select an ethnic group from the list",
    )
    disability = RadioField(
        "Do they consider themselves disabled?",
        widget=GovRadioInput(),
        choices=[SelectChoice(d.value, d.label) for d in Disability],
        validators=[InputRequired("Select yes, no or ‘Prefer not to say’")],
        invalid_choice_message="Select yes, no or ‘Prefer not to say’",
    )
    household = StringField(
        "Household reference",
        widget=GovTextInput(),
        description="Optional. The household they live in, like H-7K3Q9M.",
        filters=[strip_text],
        validators=[Optional(), Length(max=16), PlainText(), _household_reference],
    )
    team = _team_field()
    notes = _notes_field()
    confirm_duplicate = BooleanField(
        "This is a different young person: add them anyway",
        widget=GovCheckboxInput(),
        description="Tick this only after checking the records listed above.",
    )

    @staticmethod
    def initial(person) -> dict:
        """Form data for editing a stored young person."""
        return {
            "name": person.name,
            "contact": person.contact,
            "case_reference": person.case_reference,
            "date_of_birth": person.date_of_birth,
            "gender": Gender(person.gender).value,
            "ethnicity": Ethnicity(person.ethnicity).value,
            "disability": Disability(person.disability).value,
            "team": str(person.team_id) if person.team_id else "",
            "household": person.household.reference if person.household else "",
            "notes": person.notes,
        }


#: The most pages a search walks through (100 people a page).
MAX_PAGE = 1000


def _is_page(text: str) -> bool:
    return text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAGE


def _page_in_range(form, field) -> None:
    if not _is_page(field.data or ""):
        raise StopValidation(f"Choose a page from 1 to {MAX_PAGE}")


class _SearchFields:
    """The search text and the page of results (the page rides in the form's body)."""

    q = StringField(
        "Search",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Optional(),
            Length(max=100, message="Search for 100 characters or fewer"),
            PlainText(),
        ],
    )
    page = HiddenField(
        filters=[strip_text],
        validators=[Optional(), _page_in_range],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # A hidden field's error is said for the whole form (the summary lists it).
        self.form_errors.extend(self.page.errors)
        return valid

    @property
    def page_number(self) -> int:
        """The page asked for (1 when none was, or it was not a page number)."""
        text = self.page.data or ""
        return int(text) if _is_page(text) else 1


class SearchForm(_SearchFields, FlaskForm):
    """The list's search by query string (a GET: no CSRF token). It finds references and
    case references only: a name never goes in a URL (see NameSearchForm)."""

    class Meta:
        csrf = False


class NameSearchForm(_SearchFields, FlaskForm):
    """The search box as posted (with its CSRF token): names are searched only this way,
    so that they never appear in a URL, the browser's history or an access log."""
