"""Holds: a pause on retention and erasure (a complaint, litigation) for a household, a
young person or a grant. A hold on a grant holds everyone who received from it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select

from funds.audit import record_event
from funds.database import lock_for_update, writes
from funds.errors import Conflict, ValidationError
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    Grant,
    Household,
    RetentionHold,
    User,
    YoungPerson,
)
from funds.models.base import utcnow
from funds.validators import text_problem

#: The longest reason kept (a reason says why, it is not a case file).
REASON_MAX = 500

Subject = Household | YoungPerson | Grant

_COLUMN = {
    "households": RetentionHold.household_id,
    "young_people": RetentionHold.young_person_id,
    "grants": RetentionHold.grant_id,
}


def clean_reason(value: str | None, *, field: str = "reason") -> str:
    """A reason as kept: trimmed, required, at most REASON_MAX characters, and text a
    spreadsheet can hold (no control, direction or special characters; new lines allowed).

    :raises ValidationError: on ``field``.
    """
    text = (value or "").strip()
    if not text:
        raise ValidationError("Give a reason", field=field)
    if len(text) > REASON_MAX:
        raise ValidationError(
            f"Keep the reason to {REASON_MAX} characters or fewer", field=field
        )
    problem = text_problem(text, multiline=True)
    if problem:
        raise ValidationError(problem, field=field)
    return text


def active_hold(subject: Subject) -> RetentionHold | None:
    """The active hold placed on this record itself, if any."""
    column = _COLUMN[subject.__tablename__]
    return db.session.scalars(
        select(RetentionHold)
        .where(column == subject.id, RetentionHold.released_at.is_(None))
        .order_by(RetentionHold.id)
        .limit(1)
    ).first()


def _grants_of(subject: Household | YoungPerson):
    """The ids of the grants a person received from (awards, and sessions attended)."""
    if isinstance(subject, Household):
        return select(Disbursement.grant_id).where(
            Disbursement.household_id == subject.id
        )
    return (
        select(Disbursement.grant_id)
        .where(Disbursement.young_person_id == subject.id)
        .union(
            select(ActivitySession.grant_id)
            .join(Attendance, Attendance.session_id == ActivitySession.id)
            .where(Attendance.young_person_id == subject.id)
        )
    )


def holding(
    subject: Household | YoungPerson, *, lock_grants: bool = False
) -> RetentionHold | None:
    """The active hold that stops this person's retention and erasure: one on the person,
    or on any grant they received from.

    :param lock_grants: share-lock those grants' rows first (an erasure does), so a hold
        being placed on one of them now (which locks the grant) is seen or waits.
    """
    if lock_grants:
        grant_ids = _grants_of(subject).subquery()
        db.session.execute(
            select(Grant.id)
            .where(Grant.id.in_(select(grant_ids.c[0])))
            .with_for_update(read=True)
        ).all()
    own = active_hold(subject)
    if own is not None:
        return own
    grants = _grants_of(subject).subquery()
    return db.session.scalars(
        select(RetentionHold)
        .where(
            RetentionHold.released_at.is_(None),
            RetentionHold.grant_id.in_(select(grants.c[0])),
        )
        .order_by(RetentionHold.id)
        .limit(1)
    ).first()


def held_condition(model):
    """A SQL condition true for the rows of ``model`` (Household or YoungPerson) that an
    active hold covers (for lists of people due for review)."""
    active = RetentionHold.released_at.is_(None)
    if model is Household:
        on_grant = exists().where(
            active,
            RetentionHold.grant_id == Disbursement.grant_id,
            Disbursement.household_id == Household.id,
        )
        return or_(
            exists().where(active, RetentionHold.household_id == Household.id),
            on_grant,
        )
    return or_(
        exists().where(active, RetentionHold.young_person_id == YoungPerson.id),
        exists().where(
            active,
            RetentionHold.grant_id == Disbursement.grant_id,
            Disbursement.young_person_id == YoungPerson.id,
        ),
        exists().where(
            active,
            RetentionHold.grant_id == ActivitySession.grant_id,
            Attendance.session_id == ActivitySession.id,
            Attendance.young_person_id == YoungPerson.id,
        ),
    )


def describe(hold: RetentionHold) -> str:
    """What a hold is on, by reference (for messages; never a name)."""
    if hold.household_id is not None:
        return f"household {db.session.get(Household, hold.household_id).reference}"
    if hold.young_person_id is not None:
        person = db.session.get(YoungPerson, hold.young_person_id)
        return f"young person {person.reference}"
    return f"grant {db.session.get(Grant, hold.grant_id).reference}"


@writes
def place_hold(subject: Subject, *, reason: str, actor: User) -> RetentionHold:
    """Hold a record (pausing retention and refusing erasure) until released.

    :raises ValidationError: for a missing, too long or unprintable reason.
    :raises Conflict: when the record is already held.
    """
    text = clean_reason(reason)
    # Lock the record: an erasure of it (or of someone who received from this grant)
    # running now either finishes first or sees the hold.
    subject = lock_for_update(type(subject), subject.id)
    if active_hold(subject) is not None:
        raise Conflict("This record is already held", field="reason")
    hold = RetentionHold(reason=text, placed_by_id=actor.id)
    setattr(hold, _COLUMN[subject.__tablename__].key, subject.id)
    db.session.add(hold)
    db.session.flush()
    record_event(
        "hold.place",
        actor=actor,
        obj=subject,
        after={"hold_id": hold.id, "reason": text},
    )
    return hold


@writes
def release_hold(
    subject: Subject, *, reason: str, actor: User, now: datetime | None = None
) -> RetentionHold:
    """Release the record's active hold, saying why.

    :raises ValidationError: for a bad reason.
    :raises Conflict: when the record is not held.
    """
    text = clean_reason(reason)
    hold = active_hold(subject)
    if hold is None:
        raise Conflict("This record is not held", field="reason")
    hold.released_at = now or utcnow()
    hold.released_by_id = actor.id
    hold.release_reason = text
    db.session.flush()
    record_event(
        "hold.release",
        actor=actor,
        obj=subject,
        before={"hold_id": hold.id},
        after={"reason": text},
    )
    return hold
