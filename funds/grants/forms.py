"""Forms for grants: setting one up, editing it, its total, budget lines, ledger filters."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovRadioInput,
    GovTextArea,
)
from sqlalchemy import func, select
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, ValidationError

from funds.disbursements.queries import LedgerFilter
from funds.extensions import db
from funds.grants.queries import (
    beneficiary_by_reference,
    category_and_item_names,
    spend_categories,
)
from funds.models import BudgetControl, Funder, Grant, GrantStatus, Team
from funds.models.grant import DEFAULT_MAX_AWARD, DEFAULT_TOLERANCE
from funds.validators import (
    AccountsCode,
    GovDateField,
    MoneyField,
    PlainText,
    Present,
    WholeNumberField,
    strip_text,
)
from funds.widgets import GovSelect, GovTextInput

#: The years a grant's period may fall in (a typo such as 2204 is refused).
FIRST_YEAR, LAST_YEAR = 2000, 2100
NOTES_MAX = 2000
_ID = re.compile(r"[0-9]{1,18}", re.ASCII)
_REFERENCE = re.compile(r"(H|YP)-[A-Z0-9]{1,14}", re.ASCII)


def optional_int(value) -> int | None:
    """Coerce a select's value: ``""`` means nothing chosen; anything else must be an int."""
    if value is None or value == "":
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError("not an id")
    return int(value)


class InYears:
    """A date within FIRST_YEAR..LAST_YEAR (a grant period; a typo like 2204 is refused)."""

    def __call__(self, form, field):
        if field.data and not FIRST_YEAR <= field.data.year <= LAST_YEAR:
            raise ValidationError(f"Enter a year between {FIRST_YEAR} and {LAST_YEAR}")


def _text(label: str, *, required: str | None, max_length: int, **kwargs):
    validators = [Present(required)] if required else []
    validators += [Length(max=max_length), PlainText()]
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=validators,
        **kwargs,
    )


def _notes(label: str = "Notes (optional)"):
    return TextAreaField(
        label,
        widget=GovTextArea(),
        filters=[strip_text],
        validators=[
            Length(
                max=NOTES_MAX, message=f"Notes must be {NOTES_MAX} characters or fewer"
            ),
            PlainText(multiline=True),
        ],
    )


def control_choices() -> list[SelectChoice]:
    return [SelectChoice(control.value, control.label) for control in BudgetControl]


def _control_field(label: str = "Budget control"):
    return RadioField(
        label,
        widget=GovRadioInput(),
        choices=control_choices(),
        default=BudgetControl.BLOCK.value,
        validators=[InputRequired("Choose what happens when money runs out")],
        invalid_choice_message="Choose what happens when money runs out",
    )


def _team_choices() -> list[SelectChoice]:
    teams = db.session.scalars(select(Team).order_by(Team.name))
    return [SelectChoice("", "No team"), *(SelectChoice(t.id, t.name) for t in teams)]


def _team_field():
    return SelectField(
        "Team (optional)",
        widget=GovSelect(),
        coerce=optional_int,
        invalid_value_message="Choose a team from the list",
        invalid_choice_message="Choose a team from the list",
    )


class _PeriodMixin:
    """The end date cannot be before the start date."""

    def validate_ends_on(self, field):
        starts_on = self.starts_on.data
        if field.data and starts_on and field.data < starts_on:
            raise ValidationError("The end date must be on or after the start date")


def _max_award_field():
    return MoneyField(
        "Largest single award",
        default=DEFAULT_MAX_AWARD,
        validators=[Present("Enter the largest single award")],
        description="An award above this is refused, to catch a slip of the keyboard. "
        "£10,000.00 unless you set another: more for a grant that pays salaries.",
    )


#: The longest accounts code (the column's size).
ACCOUNTS_CODE_MAX = 60
TOLERANCE_MESSAGE = "Enter the forecast tolerance as a whole number from 0 to 100"


class _AccountsMixin:
    """What the accounts and the dashboard know a grant by: its code, the next return's
    due date, and how far the forecast may fall short."""

    accounts_code = StringField(
        "Accounts code (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Length(
                max=ACCOUNTS_CODE_MAX,
                message=f"The accounts code must be {ACCOUNTS_CODE_MAX} characters "
                "or fewer",
            ),
            AccountsCode("The accounts code"),
        ],
        description="The code your accounts know this grant by: a Xero tracking "
        "option, a QuickBooks class or a Sage analysis type.",
    )
    return_due_on = GovDateField(
        "Next return due (optional)",
        validators=[InYears()],
        description="When the funder expects the next return, for example, 30 4 2025",
        subject="the date the next return is due",
        example="30 4 2025",
    )
    forecast_tolerance = WholeNumberField(
        "Forecast tolerance (percent)",
        low=0,
        high=100,
        message=TOLERANCE_MESSAGE,
        default=DEFAULT_TOLERANCE,
        description="How far the forecast may fall short of the total before the grant "
        "shows as underspending: a whole number from 0 to 100. Left empty, a new grant "
        "takes 10 and a grant keeps what it had.",
    )


class GrantForm(_PeriodMixin, _AccountsMixin, FlaskForm):
    """Set up a new grant."""

    reference = _text(
        "Reference",
        required="Enter the grant's reference",
        max_length=40,
        description="The funder's reference or your own, like C4C-HSF4-2023. "
        "No two grants can share one.",
    )
    title = _text("Title", required="Enter a title for the grant", max_length=200)
    funder = SelectField(
        "Funder",
        widget=GovSelect(),
        coerce=optional_int,
        validators=[Present("Choose a funder")],
        invalid_value_message="Choose a funder from the list",
        invalid_choice_message="Choose a funder from the list",
    )
    team = _team_field()
    total = MoneyField(
        "Total awarded",
        validators=[Present("Enter the total awarded")],
        description="In pounds, like 22000 or 22000.00",
    )
    starts_on = GovDateField(
        "Start date",
        validators=[Present("Enter the start date"), InYears()],
        description="For example, 1 4 2024",
        example="1 4 2024",
    )
    ends_on = GovDateField(
        "End date",
        validators=[Present("Enter the end date"), InYears()],
        description="The last day money can be spent, for example, 31 3 2025",
        example="31 3 2025",
    )
    control = _control_field()
    max_award = _max_award_field()
    notes = _notes()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        funders = db.session.scalars(select(Funder).order_by(Funder.name))
        self.funder.choices = [
            SelectChoice("", "Choose a funder"),
            *(SelectChoice(f.id, f.name) for f in funders),
        ]
        self.team.choices = _team_choices()

    def validate_reference(self, field):
        # The service checks again under its transaction; this shows it with the rest.
        taken = db.session.scalar(
            select(Grant.id).where(func.lower(Grant.reference) == field.data.lower())
        )
        if taken is not None:
            raise ValidationError("A grant with this reference already exists")


class EditGrantForm(_PeriodMixin, _AccountsMixin, FlaskForm):
    """Change a grant's details (not its reference, funder or total)."""

    title = _text("Title", required="Enter a title for the grant", max_length=200)
    team = _team_field()
    starts_on = GovDateField(
        "Start date",
        validators=[Present("Enter the start date"), InYears()],
        example="1 4 2024",
    )
    ends_on = GovDateField(
        "End date",
        validators=[Present("Enter the end date"), InYears()],
        example="31 3 2025",
    )
    control = _control_field()
    status = RadioField(
        "Status",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(GrantStatus.OPEN.value, "Open: awards can be recorded"),
            SelectChoice(GrantStatus.CLOSED.value, "Closed: no new awards"),
        ],
        validators=[InputRequired("Choose whether the grant is open or closed")],
        invalid_choice_message="Choose whether the grant is open or closed",
    )
    max_award = _max_award_field()
    evidence_required_above = MoneyField(
        "Receipts needed for awards above (optional)",
        minimum=Decimal("0"),
        description="Awards above this amount are listed as missing evidence until a "
        "receipt or invoice is attached. Enter 0 for every award; leave it empty for "
        "no rule.",
    )
    notes = _notes()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.team.choices = _team_choices()


class TotalForm(FlaskForm):
    """Change what a grant is worth."""

    new_total = MoneyField("New total", validators=[Present("Enter the new total")])
    reason = TextAreaField(
        "Why is the total changing?",
        widget=GovTextArea(),
        filters=[strip_text],
        description="For example, the funder's letter of 4 March 2025 adding £2,000.",
        validators=[
            Present("Say why the total is changing"),
            Length(max=NOTES_MAX),
            PlainText(multiline=True),
        ],
    )


class BudgetLineForm(FlaskForm):
    """Set aside part of a grant for one spend category."""

    category = SelectField(
        "Spend category",
        widget=GovSelect(),
        coerce=optional_int,
        validators=[Present("Choose a spend category")],
        invalid_value_message="Choose a spend category from the list",
        invalid_choice_message="Choose a spend category from the list",
    )
    amount = MoneyField(
        "Amount set aside",
        minimum=0,
        validators=[Present("Enter the amount set aside")],
        description="In pounds. Enter 0 to keep the line with nothing set aside.",
    )
    control = _control_field("When this line runs out")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [
            SelectChoice("", "Choose a category"),
            *(SelectChoice(c.id, c.name) for c in spend_categories()),
        ]


class LedgerFilterForm(FlaskForm):
    """Narrow a grant's ledger (a GET form: the filters live in the URL)."""

    class Meta:
        csrf = False

    #: The query-string names of the filters (kept when paging).
    FIELDS = ("date_from", "date_to", "category", "item_type", "beneficiary")

    date_from = GovDateField("Date from")
    date_to = GovDateField("Date to")
    category = SelectField(
        "Spend category",
        widget=GovSelect(),
        coerce=optional_int,
        invalid_value_message="Choose a spend category from the list",
        invalid_choice_message="Choose a spend category from the list",
    )
    item_type = SelectField(
        "Item",
        widget=GovSelect(),
        coerce=optional_int,
        invalid_value_message="Choose an item from the list",
        invalid_choice_message="Choose an item from the list",
    )
    beneficiary = _text(
        "Household or young person reference",
        required=None,
        max_length=20,
        description="Like H-7K3Q9M or YP-4T8W2X",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        categories, items = category_and_item_names()
        self.category.choices = [
            SelectChoice("", "All categories"),
            *(SelectChoice(ident, name) for ident, name in categories),
        ]
        self.item_type.choices = [
            SelectChoice("", "All items"),
            *(
                SelectChoice(ident, f"{name} ({category})")
                for ident, name, category in items
            ),
        ]
        self.match: tuple[str, int] | None = None

    def validate_date_to(self, field):
        start = self.date_from.data
        if field.data and start and field.data < start:
            raise ValidationError("Date to must be the same as or after date from")

    def validate_beneficiary(self, field):
        if not field.data:
            return
        reference = field.data.upper()
        if not _REFERENCE.fullmatch(reference):
            raise ValidationError("Enter a reference like H-7K3Q9M or YP-4T8W2X")
        self.match = beneficiary_by_reference(reference)
        if self.match is None:
            raise ValidationError(
                f"No household or young person has the reference {reference}"
            )

    @property
    def filtered(self) -> bool:
        return any(
            field.data not in (None, "")
            for field in (
                self.date_from,
                self.date_to,
                self.category,
                self.item_type,
                self.beneficiary,
            )
        )

    def ledger_filter(self, grant_id: int) -> LedgerFilter:
        """The LedgerFilter for these (validated) filters."""
        kind, ident = self.match or (None, None)
        return LedgerFilter(
            grant_id=grant_id,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            category_id=self.category.data,
            item_type_id=self.item_type.data,
            household_id=ident if kind == "household" else None,
            young_person_id=ident if kind == "young_person" else None,
        )
