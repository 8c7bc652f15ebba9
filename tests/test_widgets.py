"""funds' date, select and text widgets draw what the GOV.UK Frontend macros draw.

Each generated field is rendered twice, by funds.widgets and by the govuk-frontend-wtf
widget it replaces (the Jinja macros), and the two must be the same markup once the
whitespace between tags is set aside: same elements, attributes, order and text.
"""

from __future__ import annotations

import copy
import re
from datetime import date

import pytest
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput as MacroDateInput
from govuk_frontend_wtf.wtforms_widgets import GovSelect as MacroSelect
from govuk_frontend_wtf.wtforms_widgets import GovTextInput as MacroTextInput
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from funds.validators import GovDateField, Present
from funds.widgets import GovDateInput, GovSelect, GovTextInput

HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("<>&\"'*?~= \n\t\ufffeAbc19")),
        st.characters(exclude_categories=("Cs",)),
    ),
    max_size=12,
)
WORDS = HOSTILE.filter(lambda text: text.strip())
CLASSES = st.sampled_from(["", "govuk-fieldset__legend--s", "a<b"])


def _examples(count: int):
    """Hypothesis settings for these tests: ``count`` fields, the app's request context."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )


def _same_markup(html: str) -> str:
    """The markup with the whitespace between and around tags set aside."""
    html = re.sub(r"\s+", " ", str(html))
    return re.sub(r"\s*([<>])\s*", r"\1", html).strip()


def _both(field, widget, macro, kwargs: dict) -> tuple[str, str]:
    ours = widget(field, **copy.deepcopy(kwargs))
    theirs = macro(field, **copy.deepcopy(kwargs))
    return _same_markup(ours), _same_markup(theirs)


@pytest.fixture
def request_context(app):
    with app.test_request_context("/"):
        yield


def _date_form(label: str, hint: str, required: bool):
    class DateForm(FlaskForm):
        when = GovDateField(
            label,
            description=hint,
            validators=[Present("Enter the date") if required else Optional()],
        )

    return DateForm(formdata=None, meta={"csrf": False})


@_examples(150)
@given(
    label=WORDS,
    hint=st.one_of(st.just(""), HOSTILE),
    required=st.booleans(),
    typed=st.one_of(
        st.none(),
        st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
        st.lists(HOSTILE, min_size=3, max_size=3),
    ),
    error=st.one_of(st.none(), WORDS),
    legend=st.one_of(
        st.none(), st.fixed_dictionaries({"text": WORDS, "classes": CLASSES})
    ),
    param_hint=st.one_of(st.none(), WORDS),
)
def test_a_date_is_drawn_as_the_macro_draws_it(
    request_context, label, hint, required, typed, error, legend, param_hint
):
    form = _date_form(label, hint, required)
    field = form.when
    if isinstance(typed, list):
        field.raw_data = typed
    elif typed is not None:
        field.data = typed
    if error:
        field.errors = [error]
    params = {}
    if legend:
        params["fieldset"] = {"legend": legend}
    if param_hint:
        params["hint"] = {"text": param_hint}
    ours, theirs = _both(field, GovDateInput(), MacroDateInput(), {"params": params})
    assert ours == theirs


def test_a_date_the_widget_does_not_draw_goes_to_the_macro(request_context):
    field = _date_form("When", "", True).when
    params = {
        "fieldset": {"legend": {"text": "When", "isPageHeading": True}},
        "hint": {"html": "<b>bold</b> hint"},
    }
    ours, theirs = _both(field, GovDateInput(), MacroDateInput(), {"params": params})
    assert ours == theirs
    assert '<h1 class="govuk-fieldset__heading">' in ours
    assert "<b>bold</b>hint" in ours


def test_a_date_is_a_fieldset_of_three_labelled_boxes(request_context):
    form = _date_form("Date given", "For example, 27 3 2024", True)
    form.when.raw_data = ["31", "2", "<2024>"]
    form.when.errors = ["Enter a real date"]
    drawn = GovDateInput()(form.when)
    assert "Error:</span> Enter a real date</p>" in drawn
    html = _same_markup(drawn)
    assert html.startswith('<div class="govuk-form-group govuk-form-group--error">')
    assert 'aria-describedby="when-hint when-error"' in html
    assert 'id="when-year" name="when" type="text" value="&lt;2024&gt;"' in html
    assert (
        '<label class="govuk-label govuk-date-input__label" for="when-day">Day' in html
    )
    assert 'required="required" id="when"' in html


def _select_form(label: str, hint: str, choices, required: bool):
    class SelectForm(FlaskForm):
        pick = SelectField(
            label,
            description=hint,
            choices=[SelectChoice(value, text) for value, text in choices],
            validators=[Present("Choose one") if required else Optional()],
            widget=GovSelect(),
        )

    return SelectForm(formdata=None, meta={"csrf": False})


@_examples(150)
@given(
    label=WORDS,
    hint=st.one_of(st.just(""), HOSTILE),
    choices=st.lists(st.tuples(HOSTILE, HOSTILE), max_size=6),
    pick=st.integers(min_value=0, max_value=6),
    required=st.booleans(),
    error=st.one_of(st.none(), WORDS),
    label_classes=CLASSES,
    classes=st.sampled_from(["", "govuk-!-width-full", "x<y"]),
)
def test_a_select_is_drawn_as_the_macro_draws_it(
    request_context, label, hint, choices, pick, required, error, label_classes, classes
):
    form = _select_form(label, hint, choices, required)
    field = form.pick
    if choices:
        field.data = choices[pick % len(choices)][0]
    if error:
        field.errors = [error]
    params = {"label": {"classes": label_classes}} if label_classes else {}
    if classes:
        params["classes"] = classes
    ours, theirs = _both(field, GovSelect(), MacroSelect(), {"params": params})
    assert ours == theirs


def test_a_select_of_numbers_and_a_chosen_option(request_context):
    form = _select_form("Grant", "", [(1, "HSF & co"), (2, "OHID")], False)
    form.pick.data = "2"
    html = _same_markup(GovSelect()(form.pick))
    assert '<option value="1">HSF &amp; co</option>' in html
    assert '<option value="2" selected>OHID</option>' in html
    ours, theirs = _both(form.pick, GovSelect(), MacroSelect(), {})
    assert ours == theirs


def _text_form(label: str, hint: str, required: bool):
    class TextForm(FlaskForm):
        words = StringField(
            label,
            description=hint,
            validators=[Present("Enter it") if required else Optional()],
            widget=GovTextInput(),
        )

    return TextForm(formdata=None, meta={"csrf": False})


OPTIONAL_WORD = st.one_of(st.none(), st.sampled_from(["off", "name", 'a"b']))


@_examples(200)
@given(
    label=WORDS,
    hint=st.one_of(st.just(""), HOSTILE),
    value=st.one_of(st.none(), HOSTILE),
    required=st.booleans(),
    error=st.one_of(st.none(), WORDS),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "classes": st.sampled_from(["", "govuk-input--width-10", "x<y"]),
            "spellcheck": st.booleans(),
            "autocomplete": OPTIONAL_WORD,
            "inputmode": st.sampled_from(["numeric", "decimal"]),
            "prefix": st.fixed_dictionaries({"text": HOSTILE}),
            "suffix": st.fixed_dictionaries({"text": HOSTILE}),
            "label": st.fixed_dictionaries({"classes": CLASSES}),
            "attributes": st.dictionaries(
                st.sampled_from(["data-module", "maxlength", "lang"]),
                HOSTILE,
                max_size=2,
            ),
        },
    ),
)
def test_a_text_input_is_drawn_as_the_macro_draws_it(
    request_context, label, hint, value, required, error, extra
):
    field = _text_form(label, hint, required).words
    field.data = value
    if error:
        field.errors = [error]
    ours, theirs = _both(field, GovTextInput(), MacroTextInput(), {"params": extra})
    assert ours == theirs


def test_a_money_input_has_its_pound_sign_beside_the_box(request_context):
    field = _text_form("Amount", "In pounds", True).words
    field.data = "12.50"
    drawn = GovTextInput()(field, params={"prefix": {"text": "£"}, "spellcheck": False})
    html = _same_markup(drawn)
    assert (
        '<div class="govuk-input__wrapper"><div class="govuk-input__prefix"'
        ' aria-hidden="true">£</div><input class="govuk-input" id="words" name="words"'
        ' type="text" spellcheck="false" value="12.50" aria-describedby="words-hint"'
        ' required="required"></div>'
    ) in html
