"""Template helpers: the error summary list for any form."""

from __future__ import annotations

from flask import Flask


def error_list(form) -> list[dict]:
    """Items for govukErrorSummary: each field's first error, then form-wide errors."""
    items = []
    first_field_id = None
    for field in form:
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
