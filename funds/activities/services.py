"""Recording activity sessions (cost through the ledger) and correcting attendance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from sqlalchemy import select

from funds.audit import record_event
from funds.database import writes
from funds.disbursements.services import AwardInput, record_disbursement
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.locks import check_not_locked
from funds.models import (
    ActivitySession,
    Attendance,
    DeliveryMethod,
    Disbursement,
    ItemType,
    Team,
    User,
    YoungPerson,
)
from funds.validators import text_problem

MAX_CARERS = 200
#: The most places a session may offer (a database check keeps it positive).
MAX_CAPACITY = 999
#: The longest session: a whole day.
MAX_DURATION_MINUTES = 24 * 60
SUPPLIER_MAX = 120
NOTES_MAX = 2000

#: The ledger service names its fields after an award; a session's form calls them this.
_SESSION_FIELD = {"amount": "cost", "awarded_on": "held_on", "beneficiary": None}


def _session_field(error: ValidationError) -> ValidationError:
    """Point a ledger error at the session form's field (the error keeps its type)."""
    if error.field in _SESSION_FIELD:
        error.field = _SESSION_FIELD[error.field]
    return error


def _text(value: str | None, field: str, limit: int, *, multiline=False) -> str | None:
    """Trimmed text or None; refused when it cannot be stored safely."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValidationError(problem, field=field)
    if len(value) > limit:
        raise ValidationError(f"Enter {limit:,} characters or fewer", field=field)
    return value


@dataclass(frozen=True)
class SessionInput:
    """What a form gives about one session."""

    grant_id: int
    item_type_id: int
    held_on: date
    cost: Decimal
    duration_minutes: int = 120
    starts_at: time | None = None
    supplier: str | None = None
    capacity: int | None = None
    team_id: int | None = None
    notes: str | None = None


@writes
def record_session(
    data: SessionInput,
    *,
    actor: User,
    today: date,
    idempotency_key: str | None = None,
    confirm_overspend: bool = False,
) -> ActivitySession:
    """Record a session; its cost becomes one ledger line under every ledger rule.

    :raises ValidationError: for an item that is not an activity, a bad duration or capacity,
        a date in a locked period, and anything record_disbursement refuses (period, closed
        grant, overspend...), on the session form's field names (``cost``, ``held_on``).
    :raises AlreadyRecorded: when this idempotency key was used before.
    """
    item = db.session.get(ItemType, data.item_type_id)
    if (
        item is None
        or not item.active
        or not item.category.active
        or not item.category.is_activity
    ):
        raise ValidationError("Choose an activity from the list", field="item_type")
    if (
        isinstance(data.duration_minutes, bool)
        or not isinstance(data.duration_minutes, int)
        or not 0 < data.duration_minutes <= MAX_DURATION_MINUTES
    ):
        raise ValidationError(
            "Enter a duration from 1 minute to 24 hours", field="duration"
        )
    if data.capacity is not None and (
        isinstance(data.capacity, bool)
        or not isinstance(data.capacity, int)
        or not 1 <= data.capacity <= MAX_CAPACITY
    ):
        raise ValidationError(
            f"Enter a number of places from 1 to {MAX_CAPACITY}, or leave it empty",
            field="capacity",
        )
    if data.team_id is not None and db.session.get(Team, data.team_id) is None:
        raise ValidationError("Choose a team from the list", field="team")
    supplier = _text(data.supplier, "supplier", SUPPLIER_MAX)
    notes = _text(data.notes, "notes", NOTES_MAX, multiline=True)
    # The ledger service checks the period and the budget; a submitted return's lock is
    # checked here too, so neither the cost nor the register lands in a locked period.
    check_not_locked(data.grant_id, data.held_on, field="held_on")
    try:
        cost = record_disbursement(
            AwardInput(
                grant_id=data.grant_id,
                item_type_id=item.id,
                amount=data.cost,
                awarded_on=data.held_on,
                delivery_method=DeliveryMethod.ACTIVITY_PLACE,
                supplier=supplier,
                notes=f"Activity session: {item.name}",
            ),
            actor=actor,
            today=today,
            idempotency_key=idempotency_key,
            confirm_overspend=confirm_overspend,
        )
    except ValidationError as error:
        raise _session_field(error) from None
    session = ActivitySession(
        item_type_id=item.id,
        grant_id=data.grant_id,
        held_on=data.held_on,
        starts_at=data.starts_at,
        duration_minutes=data.duration_minutes,
        supplier=supplier,
        cost=data.cost,
        capacity=data.capacity,
        team_id=data.team_id,
        notes=notes,
        disbursement_id=cost.id,
        created_by_id=actor.id,
    )
    db.session.add(session)
    db.session.flush()
    record_event(
        "activity_session.create",
        actor=actor,
        obj=session,
        after={
            "activity": item.name,
            "held_on": data.held_on,
            "cost": data.cost,
            "grant_id": data.grant_id,
            "disbursement_id": cost.id,
        },
    )
    return session


@writes
def set_attendance(
    session: ActivitySession,
    *,
    actor: User,
    young_person_ids: set[int],
    carers: int,
) -> tuple[set[int], set[int]]:
    """Make the register say exactly who attended (money is untouched). Returns (added, removed).

    Someone already on the register whose details were later erased may stay on it (the
    totals must not change); only people who exist and are not erased can be added.

    :raises ValidationError: for unknown or erased young people, a register over capacity,
        a carer count out of range, or a session in a locked period.
    :raises NotAllowed: for a cancelled session (its cost was reversed).
    """
    # One register change at a time per session (row lock on PostgreSQL; SQLite's write
    # transaction is already exclusive), so two clerks cannot both add the same person.
    # A plain SELECT ... FOR UPDATE (the caller may have loaded the session with outer
    # joins, which PostgreSQL cannot lock), then the register is read afresh under the lock.
    db.session.execute(
        select(ActivitySession)
        .where(ActivitySession.id == session.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    db.session.expire(session, ["attendances"])
    check_not_locked(session.grant_id, session.held_on, field="young_people")
    if db.session.scalar(
        select(Disbursement.id).where(
            Disbursement.reverses_id == session.disbursement_id
        )
    ):
        raise NotAllowed(
            "This session was cancelled (its cost was reversed): its register cannot change"
        )
    young_person_ids = set(young_person_ids)
    if isinstance(carers, bool) or not 0 <= carers <= MAX_CARERS:
        raise ValidationError(
            f"Enter a number of carers from 0 to {MAX_CARERS}", field="carers"
        )
    current = {a.young_person_id: a for a in session.attendances}
    newcomers = young_person_ids - current.keys()
    if newcomers:
        found = set(
            db.session.scalars(
                select(YoungPerson.id).where(
                    YoungPerson.id.in_(newcomers),
                    YoungPerson.erased_at.is_(None),
                )
            )
        )
        if found != newcomers:
            raise ValidationError("Choose young people who exist", field="young_people")
    if session.capacity is not None and len(young_person_ids) > session.capacity:
        raise ValidationError(
            f"This session has {session.capacity} places but the register has "
            f"{len(young_person_ids)} young people: remove some",
            field="young_people",
        )
    added = newcomers
    removed = current.keys() - young_person_ids
    for person_id in removed:
        db.session.delete(current[person_id])
    for person_id in added:
        db.session.add(
            Attendance(
                session_id=session.id,
                young_person_id=person_id,
                recorded_by_id=actor.id,
            )
        )
    before_carers = session.carers
    session.carers = carers
    db.session.flush()
    if added or removed or before_carers != carers:
        references = dict(
            db.session.execute(
                select(YoungPerson.id, YoungPerson.reference).where(
                    YoungPerson.id.in_(added | removed)
                )
            ).all()
        )
        record_event(
            "activity_session.attendance",
            actor=actor,
            obj=session,
            before={
                "removed": sorted(references[i] for i in removed),
                "carers": before_carers,
            },
            after={"added": sorted(references[i] for i in added), "carers": carers},
        )
    db.session.expire(session, ["attendances"])
    return added, removed
