"""The permission table: which roles may reach each endpoint. Deny by default."""

from __future__ import annotations

import logging

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user

from funds.models import Role

log = logging.getLogger("funds.security")

#: Anyone, signed in or not.
PUBLIC = "public"
#: Any signed-in user, whatever the role.
SIGNED_IN = "signed-in"

ALL_ROLES = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})

#: endpoint -> PUBLIC, SIGNED_IN or the set of roles allowed. An endpoint missing from
#: this table is refused to everyone (and a test fails until it is added).
PERMISSIONS: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.setup": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.confirm": SIGNED_IN,
    "main.index": SIGNED_IN,
    "admin.users": ADMINS,
    "admin.new_user": ADMINS,
    "admin.user": ADMINS,
    "admin.change_role": ADMINS,
    "admin.disable_user": ADMINS,
    "admin.enable_user": ADMINS,
    "admin.reset_password": ADMINS,
    "admin.audit": ADMINS,
}


def rule_for(endpoint: str | None) -> str | frozenset[Role] | None:
    """The permission entry for an endpoint, or None when it has none (denied)."""
    if endpoint is None:
        return None
    return PERMISSIONS.get(endpoint)


def allowed(endpoint: str, user=None) -> bool:
    """Whether ``user`` (default: the current user) may reach ``endpoint``."""
    user = current_user if user is None else user
    rule = rule_for(endpoint)
    if rule is None:
        return False
    if rule == PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    return rule == SIGNED_IN or user.role in rule


def enforce_permissions() -> object | None:
    """``before_request`` hook: redirect anonymous visitors to log in, else 403."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    rule = rule_for(endpoint)
    if rule == PUBLIC:
        return None
    if rule is not None and not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if rule is None or not allowed(endpoint):
        log.warning(
            "access denied endpoint=%s user=%s",
            endpoint,
            getattr(current_user, "id", None),
        )
        abort(403)
    return None


def register_permissions(app: Flask) -> None:
    """Install the check on every request and expose ``can()`` to templates."""
    app.before_request(enforce_permissions)
    app.jinja_env.globals["can"] = allowed
