"""GOV.UK form widgets drawn in Python: the same markup as the GOV.UK Frontend macros.

The macros (govuk-frontend-jinja) are correct but slow: a date input costs about 1.5 ms
(three nested input macros, the attributes macro, ``indent`` filters), and a page with
four dates and a few selects spends half its time drawing them. These widgets write the
markup the macros write, element for element, attribute for attribute (only
whitespace differs), for the parameters funds passes. Anything else (an
``html`` legend, a page heading, a prefix) goes to the macro as before, so the result is
never a different component. ``tests/test_widgets.py`` renders both ways over generated
fields and compares.

Every value is escaped (``_e``) where it enters the markup; each widget returns its
markup once, as ``Markup``. (``Markup.format`` would escape too, but costs as much as
the macro saved.)
"""

from __future__ import annotations

from collections.abc import Mapping

from govuk_frontend_wtf.wtforms_widgets import GovDateInput as MacroDateInput
from govuk_frontend_wtf.wtforms_widgets import GovSelect as MacroSelect
from govuk_frontend_wtf.wtforms_widgets import GovTextInput as MacroTextInput
from markupsafe import Markup, escape

_DATE_KEYS = {
    "id",
    "name",
    "label",
    "attributes",
    "hint",
    "value",
    "errorMessage",
    "fieldset",
    "items",
}
_SELECT_KEYS = {
    "id",
    "name",
    "label",
    "attributes",
    "hint",
    "errorMessage",
    "items",
    "classes",
}
_INPUT_KEYS = {
    "id",
    "name",
    "label",
    "attributes",
    "hint",
    "value",
    "errorMessage",
    "type",
    "classes",
    "spellcheck",
    "autocomplete",
    "inputmode",
    "prefix",
    "suffix",
}
_ITEM_KEYS = {"label", "id", "name", "classes", "value"}
_OPTION_KEYS = {"text", "value", "selected"}


def _e(value) -> str:
    """A value escaped for HTML text or a double-quoted attribute, as Jinja escapes it."""
    return str(escape(value))


def _only(value, keys: set[str]) -> bool:
    """``value`` is empty, or a mapping of plain text under the given keys only."""
    if not value:
        return True
    return isinstance(value, Mapping) and set(value) <= keys


def _plain_attributes(attributes) -> bool:
    return attributes is None or (
        isinstance(attributes, Mapping)
        and all(isinstance(value, str) for value in attributes.values())
    )


def _attributes(attributes: Mapping | None) -> str:
    return "".join(
        f' {_e(name)}="{_e(value)}"' for name, value in (attributes or {}).items()
    )


def _classes(base: str, extra) -> str:
    return f"{base} {_e(extra)}" if extra else base


def _optional(name: str, value) -> str:
    """`` name="value"``, or nothing when there is no value (None or False)."""
    if value is None or value is False:
        return ""
    return f' {name}="{_e(value)}"'


def _label(for_id: str, text, classes=None, base: str = "govuk-label") -> str:
    return f'<label class="{_classes(base, classes)}" for="{_e(for_id)}">{_e(text)}</label>'


def _group(params: Mapping, inner: str) -> Markup:
    error = " govuk-form-group--error" if params.get("errorMessage") else ""
    # Every value in ``inner`` was escaped where it entered (_e).
    return Markup(f'<div class="govuk-form-group{error}">{inner}</div>')  # noqa: S704


def _hint_and_error(field_id: str, params: Mapping) -> tuple[str, str]:
    """The hint and the error message, and `` aria-describedby`` naming them."""
    described, parts = [], []
    if params.get("hint"):
        described.append(f"{field_id}-hint")
        parts.append(
            f'<div id="{_e(field_id)}-hint" class="govuk-hint">'
            f"{_e(params['hint']['text'])}</div>"
        )
    if params.get("errorMessage"):
        described.append(f"{field_id}-error")
        parts.append(
            f'<p id="{_e(field_id)}-error" class="govuk-error-message">'
            '<span class="govuk-visually-hidden">Error:</span> '
            f"{_e(params['errorMessage']['text'])}</p>"
        )
    return _optional("aria-describedby", " ".join(described) or None), "".join(parts)


class _DrawnInPython:
    """Draws the markup in Python when ``_drawable(params)``, else the macro does."""

    def render(self, params):
        if not self._drawable(params):
            return super().render(params)
        return self._draw(params)


def _labelled(params: Mapping, keys: set[str]) -> bool:
    """A labelled field funds draws: known keys, plain-text label, hint and error."""
    return bool(
        set(params) <= keys
        and _only(params.get("hint"), {"text"})
        and _only(params.get("errorMessage"), {"text"})
        and _only(params.get("label"), {"text", "classes"})
        and (params.get("label") or {}).get("text")
        and _plain_attributes(params.get("attributes"))
        and params.get("id")
    )


class GovDateInput(_DrawnInPython, MacroDateInput):
    """Day, month and year boxes in a fieldset, as ``govukDateInput`` draws them."""

    @staticmethod
    def _drawable(params: Mapping) -> bool:
        fieldset = params.get("fieldset")
        return (
            set(params) <= _DATE_KEYS
            and _only(params.get("hint"), {"text"})
            and _only(params.get("errorMessage"), {"text"})
            and _plain_attributes(params.get("attributes"))
            and isinstance(fieldset, Mapping)
            and set(fieldset) <= {"legend"}
            and _only(fieldset.get("legend"), {"text", "classes"})
            and bool((fieldset.get("legend") or {}).get("text"))
            and bool(params.get("items"))
            and all(_only(item, _ITEM_KEYS) for item in params["items"])
            and all(item.get("label") and item.get("id") for item in params["items"])
        )

    @staticmethod
    def _draw(params: Mapping) -> Markup:
        described_by, hint_and_error = _hint_and_error(params.get("id"), params)
        boxes = "".join(
            '<div class="govuk-date-input__item"><div class="govuk-form-group">'
            + _label(
                item["id"], item["label"], base="govuk-label govuk-date-input__label"
            )
            + f'<input class="{_classes("govuk-input govuk-date-input__input", item.get("classes"))}"'
            f' id="{_e(item["id"])}" name="{_e(item.get("name"))}" type="text"'
            f'{_optional("value", item.get("value"))} inputmode="numeric"></div></div>'
            for item in params["items"]
        )
        legend = params["fieldset"]["legend"]
        return _group(
            params,
            f'<fieldset class="govuk-fieldset" role="group"{described_by}>'
            f'<legend class="{_classes("govuk-fieldset__legend", legend.get("classes"))}">'
            f"{_e(legend['text'])}</legend>{hint_and_error}"
            f'<div class="govuk-date-input"{_attributes(params.get("attributes"))}'
            f"{_optional('id', params.get('id') or None)}>{boxes}</div></fieldset>",
        )


class GovSelect(_DrawnInPython, MacroSelect):
    """A labelled select, as ``govukSelect`` draws it."""

    @staticmethod
    def _drawable(params: Mapping) -> bool:
        return _labelled(params, _SELECT_KEYS) and all(
            item and _only(item, _OPTION_KEYS) and "text" in item
            for item in params.get("items") or []
        )

    @staticmethod
    def _draw(params: Mapping) -> Markup:
        field_id = params["id"]
        described_by, hint_and_error = _hint_and_error(field_id, params)
        options = "".join(
            f"<option{_optional('value', _option_value(item))}"
            f"{' selected' if item.get('selected') else ''}>{_e(item.get('text'))}</option>"
            for item in params.get("items") or []
        )
        classes = _classes("govuk-select", params.get("classes"))
        if params.get("errorMessage"):
            classes += " govuk-select--error"
        label = params["label"]
        return _group(
            params,
            _label(field_id, label["text"], label.get("classes"))
            + hint_and_error
            + f'<select class="{classes}" id="{_e(field_id)}" name="{_e(params.get("name"))}"'
            f"{described_by}{_attributes(params.get('attributes'))}>{options}</select>",
        )


def _option_value(item: Mapping):
    """The option's value as the macro writes it: booleans in lower case, None as "None"."""
    if "value" not in item:
        return None
    value = item["value"]
    return str(value).lower() if isinstance(value, bool) else str(value)


class GovTextInput(_DrawnInPython, MacroTextInput):
    """A labelled text input, with a prefix or suffix, as ``govukInput`` draws it."""

    @staticmethod
    def _drawable(params: Mapping) -> bool:
        return _labelled(params, _INPUT_KEYS) and bool(
            _only(params.get("prefix"), {"text"})
            and _only(params.get("suffix"), {"text"})
            and params.get("spellcheck") in (None, True, False)
            and all(
                isinstance(params.get(name), str | None)
                for name in ("autocomplete", "inputmode", "type")
            )
            and not isinstance(params.get("value"), bool)
        )

    @staticmethod
    def _draw(params: Mapping) -> Markup:
        field_id = params["id"]
        described_by, hint_and_error = _hint_and_error(field_id, params)
        classes = _classes("govuk-input", params.get("classes"))
        if params.get("errorMessage"):
            classes += " govuk-input--error"
        spellcheck = params.get("spellcheck")
        element = (
            f'<input class="{classes}" id="{_e(field_id)}" name="{_e(params.get("name"))}"'
            f' type="{_e(params.get("type") or "text")}"'
            f"{_optional('spellcheck', None if spellcheck is None else str(spellcheck).lower())}"
            f"{_optional('value', params.get('value'))}{described_by}"
            f"{_optional('autocomplete', params.get('autocomplete'))}"
            f"{_optional('inputmode', params.get('inputmode'))}"
            f"{_attributes(params.get('attributes'))}>"
        )
        prefix, suffix = params.get("prefix"), params.get("suffix")
        if (prefix and prefix.get("text")) or (suffix and suffix.get("text")):
            element = (
                f'<div class="govuk-input__wrapper">{_affix(prefix, "prefix")}'
                f"{element}{_affix(suffix, 'suffix')}</div>"
            )
        label = params["label"]
        return _group(
            params,
            _label(field_id, label["text"], label.get("classes"))
            + hint_and_error
            + element,
        )


def _affix(affix: Mapping | None, kind: str) -> str:
    if not affix or not affix.get("text"):
        return ""
    return (
        f'<div class="govuk-input__{kind}" aria-hidden="true">{_e(affix["text"])}</div>'
    )
