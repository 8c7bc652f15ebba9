"""Reads for the admin pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from funds.admin.audit_trail import describe
from funds.extensions import db
from funds.models import AuditEvent, User

AUDIT_PAGE_SIZE = 50


def list_users() -> Select:
    """Every user, active first, then by name."""
    return select(User).order_by(User.disabled, User.name)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def list_audit_events(
    *,
    before_id: int | None = None,
    limit: int | None = AUDIT_PAGE_SIZE,
    actor_id: int | None = None,
    no_actor: bool = False,
    prefixes: tuple[str, ...] = (),
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """The newest audit events, a page at a time (keyset: ids below ``before_id``),
    narrowed to one person (or nobody signed in), kinds of action, and days (UTC).
    ``limit=None`` for every event that matches."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if no_actor:
        query = query.where(AuditEvent.actor_id.is_(None))
    if prefixes:
        # "_" in voucher_batch. is a LIKE wildcard: escaped, it is a letter.
        query = query.where(
            or_(*(AuditEvent.action.startswith(p, autoescape=True) for p in prefixes))
        )
    if date_from is not None:
        query = query.where(AuditEvent.at >= _start_of(date_from))
    if date_to is not None:
        query = query.where(AuditEvent.at < _start_of(date_to + timedelta(days=1)))
    return query


def audit_people() -> list[User]:
    """Everyone who may appear in the trail, by name (for the "who" filter)."""
    return list(db.session.scalars(select(User).order_by(User.name, User.id)))


#: Events described together: each batch looks up the names it mentions in a few queries.
_DOWNLOAD_BATCH = 1000


def audit_download_rows(**criteria) -> Iterator[tuple]:
    """Every event the trail's filter matches, newest first, as download rows: when (UTC),
    who, action, record, the sentence the page shows, where from. Read and described
    1,000 at a time (``criteria`` as list_audit_events takes them)."""
    query = (
        list_audit_events(limit=None, **criteria)
        .options(joinedload(AuditEvent.actor))
        .execution_options(yield_per=_DOWNLOAD_BATCH)
    )
    for events in db.session.scalars(query).partitions(_DOWNLOAD_BATCH):
        for entry in describe(list(events)):
            event = entry.event
            record = (
                f"{event.object_type.replace('_', ' ')} #{event.object_id}"
                if event.object_type
                else ""
            )
            yield (
                event.at.replace(tzinfo=None),
                entry.who or "",
                event.action,
                record,
                entry.text,
                event.ip or "",
            )
