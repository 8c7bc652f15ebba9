"""Template helpers: the error summary list for any form, and how a return's figure reads."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask import Flask

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


def register_templating(app: Flask) -> None:
    """Expose the helpers to templates."""
    app.jinja_env.globals["error_list"] = error_list
    app.jinja_env.filters["figure"] = figure
