"""Template helpers: the error summary list for any form, how a return's figure reads, and
paths for many rows."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from flask import Flask, url_for

from funds.money import format_money


def _leaves(form):
    """Every field of a form, nested forms and lists of forms included."""
    for field in form:
        if field.type == "FormField":
            yield from _leaves(field.form)
        elif field.type == "FieldList":
            for entry in field.entries:
                if entry.type == "FormField":
                    yield from _leaves(entry.form)
                else:
                    yield entry
        else:
            yield field


def figure(value, kind: str = "count") -> str:
    """A return's figure as the page shows it (stored figures are strings)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, str) and value.startswith("<"):
        return value
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if kind == "money":
        return format_money(number.quantize(Decimal("0.01")))
    if kind == "share":
        return f"{(number * 100).quantize(Decimal('0.01'))}%"
    if kind == "decimal":
        return f"{number.quantize(Decimal('0.01')):,}"
    return f"{int(number):,}"


def error_list(form) -> list[dict]:
    """Items for govukErrorSummary: each field's first error, then form-wide errors."""
    items = []
    first_field_id = None
    for field in _leaves(form):
        if field.type in ("CSRFTokenField", "HiddenField"):
            continue
        first_field_id = first_field_id or field.id
        if field.errors:
            href = f"#{field.id}-day" if field.type == "DateField" else f"#{field.id}"
            items.append({"text": field.errors[0], "href": href})
    for message in getattr(form, "form_errors", []):
        items.append(
            {
                "text": message,
                "href": f"#{first_field_id}" if first_field_id else "#main-content",
            }
        )
    csrf = getattr(form, "csrf_token", None)
    if csrf is not None and csrf.errors:
        items.append(
            {"text": "The form had expired. Try again.", "href": "#main-content"}
        )
    return items


#: Stands for the id while a path is built once (digits no route has of its own).
_PLACEHOLDER = "9876543210123"


def id_path(endpoint: str, name: str) -> Callable[[int], str]:
    """``url_for(endpoint, name=id)`` for many ids: the path is built once, and each
    id is put in its place. A list of 50 rows links each row two or three times, and
    building each path anew cost more than the rest of the row."""
    head, found, tail = url_for(endpoint, **{name: int(_PLACEHOLDER)}).partition(
        _PLACEHOLDER
    )
    if not found or _PLACEHOLDER in tail:
        raise ValueError(f"{endpoint}'s path does not hold {name} once")
    return lambda value: f"{head}{int(value)}{tail}"


def register_templating(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals["error_list"] = error_list
    app.jinja_env.globals["id_path"] = id_path
    app.jinja_env.filters["figure"] = figure
