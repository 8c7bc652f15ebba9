"""Forms for funders, their categories and mapping, spend categories, items and teams."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovSelect,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, ValidationError

from funds.grants.forms import NOTES_MAX, optional_int
from funds.grants.queries import spend_categories
from funds.models import HSF_CATEGORIES, FunderCategory
from funds.validators import PlainText, Present, strip_text, text_problem

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
