"""Forms for voucher stock: buying a batch, issuing vouchers, returning unused ones."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovTextArea,
)
from wtforms import (
    BooleanField,
    Field,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from funds import clock
from funds.disbursements.forms import BENEFICIARY_TEXT_MAX
from funds.errors import ValidationError as FundsValidationError
from funds.models import AccessRoute, Household
from funds.people.finding import HOUSEHOLD, choose
from funds.spreadsheets import read_first_column
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
from funds.vouchers.serials import (
    MAX_BATCH,
    serials_from_range,
    serials_from_text,
    without_header,
)
from funds.widgets import GovSelect, GovTextInput

#: The most one voucher may be worth.
MAX_FACE_VALUE = Decimal("10000.00")
NOTES_MAX = 2000
#: Years a date may have at all (the grant's period is checked by the service).
YEARS = (2000, 2100)
#: A pasted list of 10,000 serials of up to 20 characters fits comfortably.
SERIAL_TEXT_MAX = 250_000

_DAY_OR_MONTH = re.compile(r"[0-9]{1,2}", re.ASCII)
_YEAR = re.compile(r"[0-9]{4}", re.ASCII)
_QUANTITY = re.compile(r"[0-9]{1,5}", re.ASCII)
_HOUSEHOLD = re.compile(r"H-[A-Z0-9]{1,14}", re.ASCII)

#: How the serial numbers of a new batch are given.
SERIALS_BY_RANGE, SERIALS_BY_LIST, SERIALS_BY_FILE = "range", "list", "file"


class GovDateField(SharedDateField):
    """A GOV.UK date input whose year lies in this form's range."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("years", YEARS)
        super().__init__(label, validators, **kwargs)


class IdListField(Field):
    """Ticked checkboxes that each send a database id (rendered by the template)."""

    def process_formdata(self, valuelist):
        self.data = []
        for value in valuelist:
            try:
                ident = optional_id(value)
            except ValueError:
                ident = None
            if ident is None:
                raise ValueError("Choose vouchers from the list")
            self.data.append(ident)

    def process_data(self, value):
        self.data = list(value or [])


def _text(label, *, required=None, max_length, **kwargs):
    validators = [Required(required)] if required else []
    validators += [
        Length(max=max_length, message=f"Enter {max_length:,} characters or fewer"),
        PlainText(),
    ]
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=validators,
        **kwargs,
    )


def _notes_filter(value):
    """Browsers send CRLF line ends: keep LF only; trim the ends."""
    if not isinstance(value, str):
        return value
    return re.sub(r"\r\n?", "\n", value).strip()


def _notes(label, *, required=None, **kwargs):
    validators = [Required(required)] if required else []
    validators += [
        Length(max=NOTES_MAX, message=f"Enter {NOTES_MAX:,} characters or fewer"),
        PlainText(multiline=True),
    ]
    return TextAreaField(
        label,
        widget=GovTextArea(),
        filters=[_notes_filter],
        validators=validators,
        **kwargs,
    )


def _serial_text(label, **kwargs):
    return TextAreaField(
        label,
        widget=GovTextArea(),
        validators=[
            Length(
                max=SERIAL_TEXT_MAX,
                message="That is too many serial numbers for one batch",
            )
        ],
        **kwargs,
    )


def _select(label, *, message, **kwargs):
    return SelectField(
        label,
        coerce=optional_id,
        widget=GovSelect(),
        invalid_choice_message=message,
        invalid_value_message=message,
        **kwargs,
    )


class BatchForm(FlaskForm):
    """Buy a batch of vouchers with a grant's money."""

    grant = _select(
        "Grant",
        message="Choose one of the open grants",
        validators=[Required("Choose the grant that paid for the vouchers")],
    )
    supplier = _text(
        "Supplier",
        required="Enter the supplier",
        max_length=120,
        description="Who the vouchers are spent with, like Tesco or Hampshire School Wear.",
    )
    item_type = _select(
        "What are they for?",
        message="Choose what the vouchers are for from the list",
        validators=[Required("Choose what the vouchers are for")],
        description="Each voucher given out is recorded as an award of this item.",
    )
    face_value = MoneyField(
        "Face value of each voucher",
        maximum=MAX_FACE_VALUE,
        validators=[Required("Enter the face value of each voucher")],
        description="In pounds, like 20 or 20.00.",
    )
    quantity = WholeNumberField(
        "Number of vouchers",
        low=1,
        high=MAX_BATCH,
        message=f"Enter a quantity from 1 to {MAX_BATCH:,} using the digits 0 to 9",
        validators=[Required("Enter the number of vouchers")],
        description=f"Up to {MAX_BATCH:,} in one batch.",
    )
    purchase_cost = MoneyField(
        "Purchase cost",
        minimum=Decimal("0"),
        validators=[Required("Enter what the batch cost")],
        description="What was paid for the whole batch, after any discount.",
    )
    purchased_on = GovDateField(
        "Date bought",
        validators=[Required("Enter the date the vouchers were bought")],
    )
    expires_on = GovDateField(
        "Expiry date",
        example="31 3 2026",
        validators=[Required("Enter the date the vouchers expire")],
    )
    sale_or_return = BooleanField(
        "Sale or return: unused vouchers can be sent back for a refund",
        widget=GovCheckboxInput(),
    )
    terms = _notes(
        "Terms (optional)",
        description="For example: unused vouchers returned by 31 March are refunded in full.",
    )
    reference = _text(
        "Supplier’s reference (optional)",
        max_length=80,
        description="Their invoice or order number.",
    )
    serials_from = RadioField(
        "How will you give the serial numbers?",
        widget=GovRadioInput(),
        choices=[
            SelectChoice(SERIALS_BY_RANGE, "A range, from the first to the last"),
            SelectChoice(SERIALS_BY_LIST, "Paste a list"),
            SelectChoice(SERIALS_BY_FILE, "Upload the supplier’s CSV or Excel file"),
        ],
        validators=[Required("Choose how you will give the serial numbers")],
        invalid_choice_message="Choose how you will give the serial numbers",
    )
    first_serial = _text("First serial number", max_length=64)
    last_serial = _text("Last serial number", max_length=64)
    serial_list = _serial_text(
        "Serial numbers",
        description="One per line, as copied from the supplier’s list.",
    )
    serial_file = FileField(
        "The supplier’s file",
        widget=GovFileInput(),
        description="A .csv or .xlsx file with the serial numbers in the first column. "
        "A heading row is skipped.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serials: list[str] = []

    def set_choices(
        self, grants: list[SelectChoice], items: list[SelectChoice]
    ) -> None:
        """Offer these grants and items (a placeholder comes first in each)."""
        self.grant.choices = [SelectChoice("", "Choose a grant"), *grants]
        self.item_type.choices = [SelectChoice("", "Choose an item"), *items]

    def serials_field(self) -> Field:
        """The field the serial numbers were given in (for the service's errors)."""
        return {
            SERIALS_BY_RANGE: self.first_serial,
            SERIALS_BY_LIST: self.serial_list,
            SERIALS_BY_FILE: self.serial_file,
        }.get(self.serials_from.data, self.serials_from)

    def validate_expires_on(self, field):
        bought = self.purchased_on.data
        if field.data and bought and field.data < bought:
            raise ValidationError("The expiry date must be on or after the date bought")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.serials_from.errors:
            return False
        try:
            self.serials = self._read_serials()
        except FundsValidationError as error:
            target = getattr(self, error.field or "", None) or self.serials_field()
            target.errors = [*target.errors, error.message]
            return False
        return valid

    def _read_serials(self) -> list[str]:
        how = self.serials_from.data
        if how == SERIALS_BY_RANGE:
            if self.first_serial.errors or self.last_serial.errors:
                return []
            if not self.first_serial.data:
                raise FundsValidationError(
                    "Enter the first serial number", field="first_serial"
                )
            if not self.last_serial.data:
                raise FundsValidationError(
                    "Enter the last serial number", field="last_serial"
                )
            return serials_from_range(self.first_serial.data, self.last_serial.data)
        if how == SERIALS_BY_LIST:
            if self.serial_list.errors:
                return []
            serials = serials_from_text(self.serial_list.data or "")
            if not serials:
                raise FundsValidationError(
                    "Paste the serial numbers, one per line", field="serial_list"
                )
            return serials
        upload = self.serial_file.data
        if upload is None or not getattr(upload, "filename", None):
            raise FundsValidationError(
                "Choose the supplier’s file of serial numbers", field="serial_file"
            )
        values = read_first_column(upload.filename, upload.read(), field="serial_file")
        serials = without_header(values)
        if not serials:
            raise FundsValidationError(
                "The file has no serial numbers in its first column",
                field="serial_file",
            )
        return serials


class IssueForm(FlaskForm):
    """Give vouchers from stock to a household."""

    household = StringField(
        "Household",
        widget=GovTextInput(),
        filters=[strip_text],
        description="Type the name or the reference (like H-7K3Q9M) and choose the "
        "household from the list.",
        validators=[
            Required("Enter the household’s name or reference"),
            Length(
                max=BENEFICIARY_TEXT_MAX,
                message=f"Enter a name or reference of {BENEFICIARY_TEXT_MAX} "
                "characters or fewer",
            ),
            PlainText(),
        ],
    )
    #: Which of the households a name found is meant (the search step without JavaScript).
    household_pick = StringField(filters=[strip_text])
    awarded_on = GovDateField(
        "Date given",
        default=clock.today,
        validators=[Required("Enter the date the vouchers were given")],
    )
    access_route = RadioField(
        "How did they come to be helped?",
        choices=[SelectChoice(route.value, route.label) for route in AccessRoute],
        widget=GovRadioInput(),
        validators=[Required("Choose how they came to be helped")],
        invalid_choice_message="Choose how they came to be helped",
    )
    vouchers = IdListField("Vouchers in stock")
    serials = _serial_text(
        "Type or scan serial numbers (optional)",
        description="One per line, for vouchers you have not ticked above.",
    )
    form_token = HiddenField()

    #: Set by the view for roles that may find people by name.
    find_by_name = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: The households a name typed in the household field found, to choose from.
        self.household_candidates = []

    def validate_household(self, field):
        self.household_record = None
        if not field.data:
            return
        reference = field.data.upper()
        if not _HOUSEHOLD.fullmatch(reference) and self.find_by_name:
            choice = choose(
                field.data,
                self.household_pick.data,
                kinds=(HOUSEHOLD,),
                what="household",
            )
            self.household_candidates = choice.candidates
            if choice.record is None:
                raise ValidationError(choice.problem)
            self.household_record = choice.record
            return
        if not _HOUSEHOLD.fullmatch(reference):
            raise ValidationError("Enter a household reference like H-7K3Q9M")
        from sqlalchemy import select

        from funds.extensions import db

        household = db.session.scalar(
            select(Household).where(Household.reference == reference)
        )
        if household is None:
            raise ValidationError(
                f"There is no household with the reference {reference}"
            )
        if household.erased_at is not None:
            raise ValidationError(
                f"Household {reference} was erased: vouchers cannot be given to it"
            )
        self.household_record = household

    def typed_serials(self) -> list[str]:
        """The serials typed or scanned (one per line)."""
        return serials_from_text(self.serials.data or "")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid_token(self.form_token.data):
            # A page without a valid one-time token gets a fresh one; nothing was
            # recorded, so the clerk checks the details and sends it again.
            self.form_token.data = new_form_token()
            self.form_errors.append(
                "The form had expired. Check the details and send it again."
            )
            return False
        if not self.vouchers.errors and not self.serials.errors:
            if not self.vouchers.data and not self.typed_serials():
                self.vouchers.errors = [
                    *self.vouchers.errors,
                    "Tick at least one voucher, or type its serial number",
                ]
                return False
        return valid


class ReturnForm(FlaskForm):
    """Send unused vouchers of a batch back to the supplier."""

    serials = _serial_text(
        "Serial numbers to return",
        description="One per line. Or give a range below.",
    )
    first_serial = _text("First serial number", max_length=64)
    last_serial = _text("Last serial number", max_length=64)
    reason = _notes(
        "Why are they going back?",
        required="Say why the vouchers are being returned",
        description="For example: the supplier takes unused vouchers back at the end of term.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.serial_numbers: list[str] = []

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.serials.errors or self.first_serial.errors or self.last_serial.errors:
            return False
        listed = (self.serials.data or "").strip()
        ranged = self.first_serial.data or self.last_serial.data
        try:
            if listed and ranged:
                raise FundsValidationError(
                    "Give a list of serial numbers or a range, not both",
                    field="serials",
                )
            if ranged:
                self.serial_numbers = serials_from_range(
                    self.first_serial.data or "", self.last_serial.data or ""
                )
            elif listed:
                self.serial_numbers = serials_from_text(listed)
            else:
                raise FundsValidationError(
                    "Enter the serial numbers of the vouchers going back",
                    field="serials",
                )
        except FundsValidationError as error:
            target = getattr(self, error.field or "serials", None) or self.serials
            target.errors = [*target.errors, error.message]
            return False
        return valid


class ConfirmForm(FlaskForm):
    """A button that changes something (only the CSRF token)."""


class StockFilterForm(FlaskForm):
    """Which grant's vouchers to list on the issue page (a GET form)."""

    class Meta:
        csrf = False

    grant = _select("Show vouchers bought with", message="Choose a grant from the list")

    def set_choices(self, grants: list[SelectChoice]) -> None:
        self.grant.choices = [SelectChoice("", "Any grant"), *grants]
