"""Who opened a person's page with names on it: one audit event per view
(``person.view``, the record's type and id only), and the latest for admins to see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from funds.audit import record_event
from funds.database import begin_writing
from funds.extensions import db
from funds.models import AuditEvent, Household, User, YoungPerson

VIEW_ACTION = "person.view"
#: How many views a person's page lists.
SHOWN_VIEWS = 20


@dataclass(frozen=True)
class View:
    at: datetime
    who: str


def record_view(person: Household | YoungPerson, *, actor: User) -> None:
    """Put one view of ``person``'s page on record (one INSERT; no names)."""
    begin_writing()
    record_event(VIEW_ACTION, actor=actor, obj=person)


def recent_views(
    person: Household | YoungPerson, *, limit: int = SHOWN_VIEWS
) -> list[View]:
    """The latest views of ``person``'s page, newest first."""
    events = db.session.scalars(
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .where(
            AuditEvent.action == VIEW_ACTION,
            AuditEvent.object_type == person.__tablename__,
            AuditEvent.object_id == person.id,
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        View(event.at, event.actor.name if event.actor else "The system")
        for event in events
    ]
