"""Forms for the ledger: record an award, reverse it, mark it paid, filter the list."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, StopValidation, ValidationError

from funds import clock
from funds.disbursements.queries import (
    BENEFICIARY_REFERENCE,
    LedgerFilter,
    budget_line_choices,
    category_choices,
    find_beneficiary,
    grant_choices,
    item_choices,
    recorder_choices,
)
from funds.models import AccessRoute, DeliveryMethod, Household
from funds.payment_status import PaymentStatus
from funds.people.finding import choose
from funds.validators import GovDateField as SharedDateField
from funds.validators import (  # noqa: F401 - used by the views
    MoneyField,
    PlainText,
    WholeNumberField,
    new_form_token,
    optional_id,
    strip_text,
    valid_token,
)
from funds.validators import Present as Required
from funds.widgets import GovSelect, GovTextInput

#: The most any award field accepts; each grant sets its own largest single award.
MAX_AWARD = Decimal("999999999.99")
MAX_QUANTITY = 999
NOTES_MAX = 2000
#: Years a ledger date may have at all (the grant's period is checked by the service).
YEARS = (2000, 2100)

_DAY_OR_MONTH = re.compile(r"[0-9]{1,2}", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_QUANTITY = re.compile(r"[0-9]{1,3}", re.ASCII)


class GovDateField(SharedDateField):
    """A GOV.UK date input whose year lies in this form's range."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("years", YEARS)
        super().__init__(label, validators, **kwargs)


class NoBareCarriageReturn:
    """Refuse a carriage return that does not end a line (a hidden character)."""

    def __call__(self, form, field):
        if field.data and re.search(r"\r(?!\n)", field.data):
            raise StopValidation("Remove the hidden control characters from this text")


def notes_filter(value):
    """Browsers send CRLF line ends: keep LF only; trim trailing space, not leading."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\r\n", "\n", value).rstrip()


def _choice_field(label, *, message, **kwargs):
    return SelectField(
        label,
        coerce=optional_id,
        widget=GovSelect(),
        invalid_choice_message=message,
        invalid_value_message=message,
        **kwargs,
    )


def _radios(label, enum_class, message, **kwargs):
    return RadioField(
        label,
        choices=[SelectChoice(member.value, member.label) for member in enum_class],
        widget=GovRadioInput(),
        invalid_choice_message=message,
        invalid_value_message=message,
        **kwargs,
    )


#: The longest name or reference the beneficiary field takes (names are up to 120).
BENEFICIARY_TEXT_MAX = 120


class AwardForm(FlaskForm):
    """Record one award against a grant."""

    grant = _choice_field(
        "Grant",
        message="Choose one of the open grants",
        validators=[Required("Choose the grant this is paid from")],
    )
    beneficiary = StringField(
        "Household or young person (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        description=(
            "Type their name or reference (like H-7K3Q9M or YP-4M2X8C) and choose them "
            "from the list. Leave this empty for spending that is not for one person, "
            "such as staff costs."
        ),
        validators=[
            Length(
                max=BENEFICIARY_TEXT_MAX,
                message=f"Enter a name or reference of {BENEFICIARY_TEXT_MAX} "
                "characters or fewer",
            ),
            PlainText(),
        ],
    )
    #: Which of the people a name found is meant (the search step without JavaScript).
    beneficiary_pick = StringField(filters=[strip_text])
    item_type = _choice_field(
        "Item",
        message="Choose an item from the list",
        validators=[Required("Choose what was given")],
    )
    quantity = WholeNumberField(
        "Quantity",
        low=1,
        high=MAX_QUANTITY,
        message=f"Enter a quantity from 1 to {MAX_QUANTITY} using the digits 0 to 9",
        default=1,
        validators=[Required("Enter the quantity")],
    )
    amount = MoneyField(
        "Amount",
        maximum=MAX_AWARD,
        description="The total for this award (each grant sets its largest single award).",
        validators=[Required("Enter the amount")],
    )
    awarded_on = GovDateField(
        "Date given",
        subject="the date given",
        default=clock.today,
        validators=[Required("Enter the date the support was given")],
    )
    supplier = StringField(
        "Supplier (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Length(max=120, message="Enter a supplier of 120 characters or fewer"),
            PlainText(),
        ],
    )
    delivery_method = _radios(
        "How was it given?", DeliveryMethod, "Choose how it was given"
    )
    access_route = _radios(
        "How did they come to be helped?", AccessRoute, "Choose how they came to us"
    )
    requested_on = GovDateField(
        "Date the person asked for help (optional)",
        subject="the date the person asked for help",
        description="Needed on cash-first grants (the Crisis and Resilience Fund) to "
        "report how many days the money took to reach them.",
    )
    method_reason = StringField(
        "Why it was not paid cash-first (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        description="On a cash-first grant, anything other than a bank transfer, cash or "
        "a cash-out voucher needs a reason, for example “the person asked for a food "
        "parcel”.",
        validators=[
            Length(max=200, message="Enter a reason of 200 characters or fewer"),
            PlainText(),
        ],
    )
    evidence_reference = StringField(
        "Invoice or receipt reference (optional)",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Length(max=80, message="Enter a reference of 80 characters or fewer"),
            PlainText(),
        ],
    )
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

    def set_choices(
        self, grants: list[SelectChoice], items: list[SelectChoice]
    ) -> None:
        """Offer these grants and items (a placeholder comes first in each)."""
        self.grant.choices = [SelectChoice("", "Choose a grant"), *grants]
        self.item_type.choices = [SelectChoice("", "Choose an item"), *items]

    #: Set by the view for roles that may find people by name.
    find_by_name = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: The people a name typed in the beneficiary field found, to choose from.
        self.beneficiary_candidates = []

    def validate_beneficiary(self, field):
        self.beneficiary_record = None
        self.beneficiary_candidates = []
        if not field.data:
            return
        if not BENEFICIARY_REFERENCE.fullmatch(field.data) and getattr(
            self, "find_by_name", False
        ):
            pick = getattr(self, "beneficiary_pick", None)
            choice = choose(field.data, pick.data if pick else None)
            self.beneficiary_candidates = choice.candidates
            if choice.record is None:
                raise ValidationError(choice.problem)
            self.beneficiary_record = choice.record
            return
        if not BENEFICIARY_REFERENCE.fullmatch(field.data):
            raise ValidationError(
                "Enter a household reference like H-7K3Q9M or a young person "
                "reference like YP-4M2X8C"
            )
        record = find_beneficiary(field.data)
        if record is None:
            raise ValidationError(
                f"There is no household or young person with the reference {field.data.upper()}"
            )
        self.beneficiary_record = record

    def validate_access_route(self, field):
        not_applicable = field.data == AccessRoute.NOT_APPLICABLE.value
        if self.beneficiary.data and not_applicable:
            raise ValidationError(
                "Choose how they came to be helped: “Not applicable” is for spending "
                "with no beneficiary"
            )
        if not self.beneficiary.data and field.data and not not_applicable:
            raise ValidationError(
                "With no household or young person, choose “Not applicable (no "
                "beneficiary)”"
            )

    def validate_requested_on(self, field):
        if field.data and self.awarded_on.data and field.data > self.awarded_on.data:
            raise ValidationError(
                "The date they asked for help must be on or before the date given"
            )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        token = self.form_token.data
        if not valid_token(token):
            # A page without a valid one-time token gets a fresh one; nothing was
            # recorded, so the clerk checks the details and sends it again.
            self.form_token.data = new_form_token()
            self.form_errors.append(
                "The form had expired. Check the details and send it again."
            )
            return False
        return valid

    def beneficiary_ids(self) -> tuple[int | None, int | None]:
        """(household id, young person id) for the reference typed, if any."""
        record = getattr(self, "beneficiary_record", None)
        if record is None:
            return None, None
        if isinstance(record, Household):
            return record.id, None
        return None, record.id


class ReverseForm(FlaskForm):
    """Cancel an award with a reversal line."""

    reason = TextAreaField(
        "Why is this award being reversed?",
        widget=GovTextArea(),
        filters=[notes_filter],
        description="For example: entered twice, wrong grant, voucher returned unused.",
        validators=[
            Required("Say why this award is being reversed"),
            Length(
                max=NOTES_MAX,
                message=f"Enter a reason of {NOTES_MAX:,} characters or fewer",
            ),
            NoBareCarriageReturn(),
            PlainText(multiline=True),
        ],
    )
    reversed_on = GovDateField(
        "Date of the reversal",
        subject="the date of the reversal",
        validators=[Required("Enter the date of the reversal")],
    )


class PaidForm(FlaskForm):
    """Record that an award was paid."""

    paid_on = GovDateField(
        "Date paid",
        subject="the date paid",
        validators=[Required("Enter the date it was paid")],
    )
    payment_reference = StringField(
        "Payment reference",
        widget=GovTextInput(),
        filters=[strip_text],
        description="The bank, card or purchase-order reference finance reconciles against.",
        validators=[
            Required("Enter the payment reference"),
            Length(max=80, message="Enter a reference of 80 characters or fewer"),
            PlainText(),
        ],
    )


class LedgerFilterForm(FlaskForm):
    """Narrow the ledger list (a GET form: no CSRF token, nothing is changed)."""

    class Meta:
        csrf = False

    grant = _choice_field("Grant", message="Choose a grant from the list")
    category = _choice_field("Category", message="Choose a category from the list")
    item_type = _choice_field("Item", message="Choose an item from the list")
    date_from = GovDateField("From", subject="the start date", example="1 4 2024")
    date_to = GovDateField("To", subject="the end date", example="31 3 2025")
    beneficiary = StringField(
        "Household or young person",
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[Length(max=20, message="Enter a reference like H-7K3Q9M")],
    )
    payment_status = SelectField(
        "Payment",
        default="",
        choices=[
            SelectChoice("", "Any"),
            *(SelectChoice(status.value, status.label) for status in PaymentStatus),
        ],
        widget=GovSelect(),
        invalid_choice_message="Choose a payment status from the list",
        invalid_value_message="Choose a payment status from the list",
    )
    supplier = StringField(
        "Supplier",
        widget=GovTextInput(),
        filters=[strip_text],
        description="The whole name; capitals do not matter.",
        validators=[
            Length(max=120, message="Enter a supplier of 120 characters or fewer"),
            PlainText(),
        ],
    )
    delivery_method = SelectField(
        "How it was given",
        default="",
        choices=[
            SelectChoice("", "Any way"),
            *(SelectChoice(method.value, method.label) for method in DeliveryMethod),
        ],
        widget=GovSelect(),
        invalid_choice_message="Choose how it was given from the list",
        invalid_value_message="Choose how it was given from the list",
    )
    budget_line = _choice_field(
        "Budget line", message="Choose a budget line from the list"
    )
    recorded_by = _choice_field("Recorded by", message="Choose a person from the list")
    evidence = SelectField(
        "Evidence",
        default="",
        choices=[
            SelectChoice("", "Any"),
            SelectChoice(
                "missing", "Missing: a receipt is needed and none is attached"
            ),
        ],
        widget=GovSelect(),
        invalid_choice_message="Choose an evidence option from the list",
        invalid_value_message="Choose an evidence option from the list",
    )

    def set_choices(
        self, grants, categories, items, budget_lines=(), recorders=()
    ) -> None:
        self.grant.choices = [SelectChoice("", "All grants"), *grants]
        self.category.choices = [SelectChoice("", "All categories"), *categories]
        self.item_type.choices = [SelectChoice("", "All items"), *items]
        self.budget_line.choices = [SelectChoice("", "All budget lines"), *budget_lines]
        self.recorded_by.choices = [SelectChoice("", "Anyone"), *recorders]

    validate_beneficiary = AwardForm.validate_beneficiary
    beneficiary_ids = AwardForm.beneficiary_ids

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date must be on or after the start date")


def read_filter(args) -> tuple[LedgerFilterForm, LedgerFilter | None]:
    """The list's filter form read from ``args``, and the filter it gives (None when a
    value is bad: each bad value is a message on its field)."""
    form = LedgerFilterForm(formdata=args)
    form.set_choices(
        [
            SelectChoice(str(g.id), f"{g.reference} – {g.title}")
            for g in grant_choices(open_only=False)
        ],
        [SelectChoice(str(i), name) for i, name in category_choices()],
        [SelectChoice(str(i), label) for i, label in item_choices(active_only=False)],
        [SelectChoice(str(i), label) for i, label in budget_line_choices()],
        [SelectChoice(str(i), name) for i, name in recorder_choices()],
    )
    if not form.validate():
        return form, None
    household_id, young_person_id = form.beneficiary_ids()
    filters = LedgerFilter(
        grant_id=form.grant.data,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        category_id=form.category.data,
        item_type_id=form.item_type.data,
        household_id=household_id,
        young_person_id=young_person_id,
        payment_status=PaymentStatus(form.payment_status.data)
        if form.payment_status.data
        else None,
        supplier=form.supplier.data or None,
        delivery_method=DeliveryMethod(form.delivery_method.data)
        if form.delivery_method.data
        else None,
        budget_line_id=form.budget_line.data,
        created_by_id=form.recorded_by.data,
        evidence_missing=True if form.evidence.data == "missing" else None,
    )
    return form, filters
