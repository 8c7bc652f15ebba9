"""The service navigation: each role sees the sections its permissions allow."""

from __future__ import annotations

from flask import Flask, request, url_for
from flask_login import current_user

from funds.permissions import allowed

#: (endpoint, label, endpoint prefixes for which the item is the current section)
NAV_ITEMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("main.index", "Home", ("main.",)),
    ("grants.index", "Grants", ("grants.",)),
    ("disbursements.index", "Awards", ("disbursements.",)),
    ("payments.index", "Payment runs", ("payments.",)),
    ("activities.index", "Activities", ("activities.",)),
    ("vouchers.index", "Vouchers", ("vouchers.",)),
    ("returns.index", "Returns", ("returns.", "definitions.")),
    ("income.movements", "Fund movements", ("income.",)),
    ("exports.index", "Accounts", ("exports.",)),
    (
        "people.households",
        "Households",
        ("people.household", "people.new_household", "people.edit_household"),
    ),
    (
        "people.young_people",
        "Young people",
        ("people.young_", "people.new_young", "people.edit_young"),
    ),
    ("taxonomy.funders", "Funders and items", ("taxonomy.",)),
    ("imports.index", "Imports", ("imports.",)),
    (
        "admin.users",
        "Users",
        (
            "admin.user",
            "admin.new_user",
            "admin.change_role",
            "admin.disable_user",
            "admin.enable_user",
            "admin.reset_password",
        ),
    ),
    ("admin.audit", "Audit trail", ("admin.audit",)),
    (
        "privacy.review",
        "Retention",
        ("privacy.review", "privacy.retention"),
    ),
]


def navigation() -> list[dict]:
    """The items for the current user, with the current section marked."""
    user = current_user._get_current_object()  # once, not once per item
    if not user.is_authenticated:
        return []
    endpoint = request.endpoint or ""
    items = []
    for target, label, prefixes in NAV_ITEMS:
        if allowed(target, user):
            active = endpoint.startswith(prefixes)
            items.append({"href": url_for(target), "text": label, "active": active})
    return items


def register_navigation(app: Flask) -> None:
    """Make ``navigation()`` available to templates."""
    app.jinja_env.globals["navigation"] = navigation
