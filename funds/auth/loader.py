"""Flask-Login's user loader: the session carries a revocable token, not the user id."""

from __future__ import annotations

from sqlalchemy import select

from funds.extensions import db
from funds.models import User


def load_user(token: str) -> User | None:
    """The active user whose current session token this is, or None (signed out)."""
    if not token:
        return None
    user = db.session.scalar(select(User).where(User.session_token == token))
    if user is None or user.disabled:
        return None
    return user


def register_user_loader(login_manager) -> None:
    """Tell Flask-Login how to turn a session token into a user."""
    login_manager.user_loader(load_user)
