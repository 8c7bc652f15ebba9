"""Decorators for views that need a recent sign-in."""

from __future__ import annotations

import functools

from flask import flash, redirect, request, url_for

from funds.security import login_is_recent


def recent_login_required(return_to: str | None = None):
    """Ask for the password again unless the user signed in within the fresh window.

    :param return_to: for POST-only views, the endpoint (taking the same URL arguments)
        to come back to after confirming; GET views return to themselves.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            if login_is_recent():
                return view(*args, **kwargs)
            if request.method == "GET":
                target = request.full_path.rstrip("?")
            else:
                target = url_for(return_to or "main.index", **(request.view_args or {}))
            flash("Enter your password again to continue", "info")
            return redirect(url_for("auth.confirm", next=target))

        return wrapped

    return decorator
