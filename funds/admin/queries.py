"""Reads for the admin pages."""

from __future__ import annotations

from sqlalchemy import Select, select

from funds.models import AuditEvent, User

AUDIT_PAGE_SIZE = 50


def list_users() -> Select:
    """Every user, active first, then by name."""
    return select(User).order_by(User.disabled, User.name)


def list_audit_events(
    *, before_id: int | None = None, limit: int = AUDIT_PAGE_SIZE
) -> Select:
    """The newest audit events, a page at a time (keyset: ids below ``before_id``)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return query
