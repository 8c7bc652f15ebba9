"""Forms for funders, their categories and mapping, spend categories, items and teams."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovTextArea,
)
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, ValidationError

from funds.grants.forms import NOTES_MAX, optional_int
from funds.grants.queries import spend_categories
from funds.models import HSF_CATEGORIES, FunderCategory
from funds.validators import (
    AccountsCode,
    PlainText,
    Present,
    strip_text,
    text_problem,
)
from funds.widgets import GovSelect, GovTextInput

#: Longest name of a funder's category (the column's size).
CATEGORY_MAX = 120
#: More categories than a funder's return could sensibly have in one go.
CATEGORIES_MAX = 50


def _name(label: str, message: str, *, max_length: int = 120, **kwargs):
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[Present(message), Length(max=max_length), PlainText()],
        **kwargs,
    )


class CategoryLines(TextAreaField):
    """A list typed one a line; ``lines`` holds the non-blank lines, trimmed."""

    widget = GovTextArea()

    @property
    def lines(self) -> list[str]:
        # Only real line breaks separate lines (str.splitlines would also split on
        # vertical tabs and other control characters, which are refused instead).
        lines = re.split(r"\r\n|\r|\n", self.data or "")
        return [line.strip() for line in lines if line.strip()]

    def pre_validate(self, form):
        problem = text_problem(self.data or "", multiline=True)
        if problem:
            raise ValidationError(problem)
        lines = self.lines
        if len(lines) > CATEGORIES_MAX:
            raise ValidationError(f"Enter {CATEGORIES_MAX} categories or fewer")
        for line in lines:
            if len(line) > CATEGORY_MAX:
                raise ValidationError(
                    f"Each category must be {CATEGORY_MAX} characters or fewer"
                )


def _category_lines(label: str, description: str):
    return CategoryLines(
        label,
        description=description,
        validators=[Length(max=CATEGORIES_MAX * (CATEGORY_MAX + 2))],
    )


class FunderForm(FlaskForm):
    """Add a funder and the categories its return uses."""

    name = _name("Funder's name", "Enter the funder's name")
    use_hsf = BooleanField(
        "Use the Household Support Fund categories",
        widget=GovCheckboxInput(),
        description="Adds " + "; ".join(HSF_CATEGORIES) + ", and maps our items to "
        "them the usual way (you can change the mapping afterwards).",
    )
    categories = _category_lines(
        "Return categories",
        "The lines of the funder's return, one on each line, in the return's order. "
        "With the Household Support Fund categories, anything here is added after them.",
    )
    notes = TextAreaField(
        "Notes (optional)",
        widget=GovTextArea(),
        filters=[strip_text],
        validators=[Length(max=NOTES_MAX), PlainText(multiline=True)],
    )

    def validate_categories(self, field):
        if not self.use_hsf.data and not field.lines:
            raise ValidationError(
                "Enter at least one return category, or use the Household Support "
                "Fund categories"
            )

    def category_list(self) -> list[str]:
        """The categories to create, in order."""
        base = list(HSF_CATEGORIES) if self.use_hsf.data else []
        return base + self.categories.lines


class CategoriesForm(FlaskForm):
    """Add return categories to a funder."""

    categories = _category_lines(
        "Add return categories", "One on each line. Existing categories are kept."
    )

    def validate_categories(self, field):
        if not field.lines:
            raise ValidationError("Enter at least one category, one on each line")


def mapping_form(rows, categories: list[FunderCategory], formdata=None) -> FlaskForm:
    """A form with one select per item type (``item_<id>``), set to its current mapping."""

    class MappingForm(FlaskForm):
        pass

    choices = [
        SelectChoice("", "Not reported"),
        *(SelectChoice(category.id, category.name) for category in categories),
    ]
    data = {}
    for row in rows:
        name = f"item_{row.item.id}"
        setattr(
            MappingForm,
            name,
            SelectField(
                row.item.name,
                widget=GovSelect(),
                coerce=optional_int,
                choices=choices,
                invalid_value_message="Choose one of this funder's categories",
                invalid_choice_message="Choose one of this funder's categories",
            ),
        )
        data[name] = row.funder_category_id
    return MappingForm(formdata=formdata, data=data)


def submitted_mapping(form) -> dict[int, int | None]:
    """Item id -> chosen category for the selects that were actually posted."""
    return {
        int(field.name.removeprefix("item_")): field.data
        for field in form
        if field.name.startswith("item_") and field.raw_data
    }


GROUP_NAMES = {
    "children": "Households with children",
    "pensioner": "Households with a pensioner",
    "disabled": "Households with a disabled person",
}


def _group_select(label: str):
    return SelectField(
        label,
        widget=GovSelect(),
        choices=[SelectChoice(k, v) for k, v in GROUP_NAMES.items()],
        invalid_choice_message="Choose a household group from the list",
        invalid_value_message="Choose a household group from the list",
    )


def _label_field(label: str, *, max_length: int = 120):
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[Length(max=max_length), PlainText()],
    )


class ReportingForm(FlaskForm):
    """How a funder's returns report households and delivery, and cash-first."""

    group_first = _group_select("First")
    group_second = _group_select("Second")
    group_third = _group_select("Third")
    cash_first = BooleanField(
        "Awards must be cash-first",
        widget=GovCheckboxInput(),
        description="As the Crisis and Resilience Fund asks: an award paid any other "
        "way than by bank transfer, cash or a cash-out voucher needs a reason, and the "
        "date the person asked is recorded so that days to payment can be reported.",
    )

    def validate_group_third(self, field):
        chosen = [self.group_first.data, self.group_second.data, field.data]
        if len(set(chosen)) != 3:
            raise ValidationError("Choose each household group once")

    def group_order(self) -> list[str]:
        return [self.group_first.data, self.group_second.data, self.group_third.data]

    def group_labels(self) -> dict[str, str]:
        return {
            name.removeprefix("label_").replace("_", "-"): field.data or ""
            for name, field in self._fields.items()
            if name.startswith("label_")
        }

    def delivery_routes(self) -> dict[str, str]:
        return {
            name.removeprefix("route_").replace("_", "-"): field.data or ""
            for name, field in self._fields.items()
            if name.startswith("route_")
        }


def reporting_form(funder, formdata=None) -> ReportingForm:
    """The reporting form with a label per household group and a route per method."""
    from funds.models import DeliveryMethod
    from funds.models.funder import DEFAULT_GROUP_LABELS

    class _Reporting(ReportingForm):
        pass

    group_names = {
        **GROUP_NAMES,
        "other": "Households in none of these groups",
        "young-person": "Young people (awards not to a household)",
        "none": "Lines with no beneficiary (staff and running costs)",
    }
    for code in DEFAULT_GROUP_LABELS:
        setattr(
            _Reporting,
            f"label_{code.replace('-', '_')}",
            _label_field(group_names[code]),
        )
    for method in DeliveryMethod:
        setattr(
            _Reporting,
            f"route_{method.value.replace('-', '_')}",
            _label_field(method.label),
        )
    order = list(funder.household_group_order)
    labels = funder.group_labels_with_defaults
    data = {
        "group_first": order[0],
        "group_second": order[1],
        "group_third": order[2],
        "cash_first": funder.cash_first,
        **{f"label_{k.replace('-', '_')}": v for k, v in labels.items()},
        **{
            f"route_{k.replace('-', '_')}": v
            for k, v in funder.delivery_routes_with_defaults.items()
        },
    }
    return _Reporting(formdata=formdata, data=data)


class SpendCategoryForm(FlaskForm):
    """Add one of our spend categories."""

    name = _name("Category name", "Enter the category's name")
    is_activity = BooleanField(
        "This is an activity category",
        widget=GovCheckboxInput(),
        description="Activity sessions (kayaking, theatre trips) are recorded as group "
        "sessions with attendees rather than given to one person.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name.id = "category-name"  # the items page also has an item's name


def _accounts_text(label: str, what: str, max_length: int, description: str):
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_text],
        validators=[
            Length(
                max=max_length,
                message=f"{what} must be {max_length} characters or fewer",
            ),
            AccountsCode(what),
        ],
        description=description,
    )


class CategoryAccountsForm(FlaskForm):
    """Where the accounts post a spend category's spending: nominal code and tax rate."""

    nominal_code = _accounts_text(
        "Nominal code (optional)",
        "The nominal code",
        20,
        "The account in your chart of accounts this spending is posted to, like 5000.",
    )
    tax_rate = _accounts_text(
        "Tax rate (optional)",
        "The tax rate",
        60,
        "The tax rate's name exactly as your accounting system spells it, like "
        "No VAT or 20% (VAT on Expenses).",
    )


class ItemForm(FlaskForm):
    """Add an item type to a category."""

    category = SelectField(
        "Spend category",
        widget=GovSelect(),
        coerce=optional_int,
        validators=[Present("Choose a spend category")],
        invalid_value_message="Choose a spend category from the list",
        invalid_choice_message="Choose a spend category from the list",
    )
    name = _name("Item name", "Enter the item's name")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [
            SelectChoice("", "Choose a category"),
            *(SelectChoice(c.id, c.name) for c in spend_categories()),
        ]
        self.name.id = "item-name"  # the items page also has a category's name


class ItemActiveForm(FlaskForm):
    """Retire an item type or bring it back: ``active`` is "1" or "0"."""

    active = HiddenField(
        validators=[AnyOf(["1", "0"], message="Choose retire or restore")]
    )


class TeamForm(FlaskForm):
    """Add a team."""

    name = _name("Team name", "Enter the team's name")
