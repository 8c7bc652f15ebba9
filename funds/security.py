"""Response headers (CSP with a nonce, no-store, ...) and session lifetime rules."""

from __future__ import annotations

import secrets
import time

from flask import Flask, current_app, g, redirect, request, session, url_for
from flask_login import current_user, logout_user

CSP = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self'; "
    "img-src 'self' data:; "
    "font-src 'self'; "
    "connect-src 'self'; "
    "object-src 'none'; "
    "base-uri 'none'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)

#: Endpoints a user who must change their password may still reach.
_PASSWORD_CHANGE_EXEMPT = {"auth.change_password", "auth.logout", "static"}


def csp_nonce() -> str:
    """The nonce for this response's one inline script (the GOV.UK js-enabled class)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def set_security_headers(response):
    """``after_request``: the headers every response carries."""
    headers = response.headers
    # An uploaded file sent back (funds.evidence) keeps its stricter "sandbox" policy.
    if not headers.get("Content-Security-Policy", "").startswith("sandbox"):
        headers["Content-Security-Policy"] = CSP.format(nonce=csp_nonce())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if current_app.config["HTTPS"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        # Pages show people's details and money: never keep them in a cache.
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    headers.pop("Server", None)
    return response


def enforce_session_rules():
    """``before_request``: end sessions past their absolute lifetime; force password changes."""
    if not current_user.is_authenticated:
        return None
    started = session.get("auth_at")
    limit = current_app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
    if not isinstance(started, (int, float)) or time.time() - started > limit:
        logout_user()
        session.clear()
        return None
    if (
        current_user.must_change_password
        and request.endpoint not in _PASSWORD_CHANGE_EXEMPT
    ):
        return redirect(url_for("auth.change_password"))
    return None


def login_is_recent() -> bool:
    """True when the user signed in (or re-entered the password) within the fresh window."""
    started = session.get("reauth_at") or session.get("auth_at")
    window = current_app.config["FRESH_LOGIN_WINDOW"].total_seconds()
    return isinstance(started, (int, float)) and time.time() - started <= window


def register_security(app: Flask) -> None:
    """Install the header and session hooks and the nonce template global."""
    app.before_request(enforce_session_rules)
    app.after_request(set_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
