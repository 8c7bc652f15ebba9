"""GOV.UK form widgets drawn in Python: the same markup as the GOV.UK Frontend macros.

The macros (govuk-frontend-jinja) are correct but slow: a date input costs about 1.5 ms
(three nested input macros, the attributes macro, ``indent`` filters), and a page with
four dates and a few selects spends half its time drawing them. These widgets write the
markup the macros write, element for element, attribute for attribute (only the
whitespace between tags differs), for the parameters funds passes. Anything else (an
``html`` legend, a page heading, a prefix) goes to the macro as before, so the result is
never a different component. ``tests/test_widgets.py`` renders both ways over generated
fields and compares.
"""

from __future__ import annotations

from collections.abc import Mapping

from govuk_frontend_wtf.wtforms_widgets import GovDateInput as MacroDateInput
from govuk_frontend_wtf.wtforms_widgets import GovSelect as MacroSelect
from markupsafe import Markup

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
_ITEM_KEYS = {"label", "id", "name", "classes", "value"}
_OPTION_KEYS = {"text", "value", "selected"}


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


def _attributes(attributes: Mapping | None) -> Markup:
    return Markup("").join(
        Markup(' {}="{}"').format(name, value)
        for name, value in (attributes or {}).items()
    )


def _classes(base: str, extra) -> Markup:
    return Markup("{} {}").format(base, extra) if extra else Markup("{}").format(base)


def _optional(name: str, value) -> Markup:
    """`` name="value"``, or nothing when there is no value."""
    return Markup("") if value is None else Markup(' {}="{}"').format(name, value)


def _hint(hint_id: str, hint: Mapping) -> Markup:
    return Markup('<div id="{}" class="govuk-hint">{}</div>').format(
        hint_id, hint["text"]
    )


def _error(error_id: str, error: Mapping) -> Markup:
    return Markup(
        '<p id="{}" class="govuk-error-message">'
        '<span class="govuk-visually-hidden">Error:</span> {}</p>'
    ).format(error_id, error["text"])


def _label(for_id: str, label: Mapping, base: str = "govuk-label") -> Markup:
    return Markup('<label class="{}" for="{}">{}</label>').format(
        _classes(base, label.get("classes")), for_id, label.get("text")
    )


def _described_by(ids: list[str]) -> Markup:
    return _optional("aria-describedby", " ".join(ids) if ids else None)


def _group(params: Mapping, inner: Markup) -> Markup:
    error = " govuk-form-group--error" if params.get("errorMessage") else ""
    return Markup('<div class="govuk-form-group{}">{}</div>').format(error, inner)


def _hint_and_error(field_id: str, params: Mapping) -> tuple[list[str], list[Markup]]:
    """The hint and the error message, and the ids that describe the field."""
    described, parts = [], []
    if params.get("hint"):
        described.append(f"{field_id}-hint")
        parts.append(_hint(f"{field_id}-hint", params["hint"]))
    if params.get("errorMessage"):
        described.append(f"{field_id}-error")
        parts.append(_error(f"{field_id}-error", params["errorMessage"]))
    return described, parts


class GovDateInput(MacroDateInput):
    """Day, month and year boxes in a fieldset, as ``govukDateInput`` draws them."""

    def render(self, params):
        if not self._drawable(params):
            return super().render(params)
        return self._draw(params)

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
        described, inner = _hint_and_error(params.get("id"), params)
        boxes = Markup("").join(
            Markup(
                '<div class="govuk-date-input__item"><div class="govuk-form-group">{}'
                '<input class="{}" id="{}" name="{}" type="text"{} inputmode="numeric">'
                "</div></div>"
            ).format(
                _label(
                    item["id"],
                    {"text": item["label"]},
                    "govuk-label govuk-date-input__label",
                ),
                _classes("govuk-input govuk-date-input__input", item.get("classes")),
                item["id"],
                item.get("name"),
                _optional("value", item.get("value")),
            )
            for item in params["items"]
        )
        inner.append(
            Markup('<div class="govuk-date-input"{}{}>{}</div>').format(
                _attributes(params.get("attributes")),
                _optional("id", params.get("id") or None),
                boxes,
            )
        )
        legend = params["fieldset"]["legend"]
        return _group(
            params,
            Markup(
                '<fieldset class="govuk-fieldset" role="group"{}>'
                '<legend class="{}">{}</legend>{}</fieldset>'
            ).format(
                _described_by(described),
                _classes("govuk-fieldset__legend", legend.get("classes")),
                legend["text"],
                Markup("").join(inner),
            ),
        )


class GovSelect(MacroSelect):
    """A labelled select, as ``govukSelect`` draws it."""

    def render(self, params):
        if not self._drawable(params):
            return super().render(params)
        return self._draw(params)

    @staticmethod
    def _drawable(params: Mapping) -> bool:
        return bool(
            set(params) <= _SELECT_KEYS
            and _only(params.get("hint"), {"text"})
            and _only(params.get("errorMessage"), {"text"})
            and _only(params.get("label"), {"text", "classes"})
            and (params.get("label") or {}).get("text")
            and _plain_attributes(params.get("attributes"))
            and params.get("id")
            and all(_only(item, _OPTION_KEYS) for item in params.get("items") or [])
        )

    @staticmethod
    def _draw(params: Mapping) -> Markup:
        field_id = params["id"]
        described, parts = _hint_and_error(field_id, params)
        options = Markup("").join(
            Markup("<option{}{}>{}</option>").format(
                _optional("value", _option_value(item)),
                " selected" if item.get("selected") else "",
                item.get("text"),
            )
            for item in params.get("items") or []
        )
        classes = _classes("govuk-select", params.get("classes"))
        if params.get("errorMessage"):
            classes += " govuk-select--error"
        parts.append(
            Markup('<select class="{}" id="{}" name="{}"{}{}>{}</select>').format(
                classes,
                field_id,
                params.get("name"),
                _described_by(described),
                _attributes(params.get("attributes")),
                options,
            )
        )
        return _group(
            params, _label(field_id, params["label"]) + Markup("").join(parts)
        )


def _option_value(item: Mapping):
    """The option's value as the macro writes it: booleans in lower case, None as "None"."""
    if "value" not in item:
        return None
    value = item["value"]
    return str(value).lower() if isinstance(value, bool) else str(value)
