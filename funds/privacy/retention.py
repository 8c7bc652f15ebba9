"""Retention rules: how long each kind of record is kept, and which records are past it.

Defaults (used until an admin saves a rule, and shown as defaults):

- households and their awards: 72 months (six years) after the last award;
- young people and their registers: to the 25th birthday (0 months after it), and never
  sooner than 72 months after their last award or attendance (the ledger's six years);
  without a date of birth, 72 months after the last award or attendance;
- evidence files: 72 months after the end of the financial year of their line (the award,
  the session, the voucher batch's purchase; a grant agreement: the grant's end);
- audit trail: 72 months after the end of the financial year (a policy shown here; the
  trail itself is append-only and erasure blanks what it holds about a person).

A person with no award or attendance is counted from the day they were added. An active
hold on a person, or on any grant they received from, keeps them off the list; a hold on
a grant keeps its files too.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, or_, select, union_all

from funds.audit import record_event
from funds.database import writes
from funds.errors import ValidationError
from funds.evidence import storage
from funds.extensions import db
from funds.income.queries import FinancialYear
from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    EvidenceFile,
    Grant,
    Household,
    RecordKind,
    RetentionEvent,
    RetentionHold,
    RetentionRule,
    User,
    VoucherBatch,
    YoungPerson,
)
from funds.models.base import utcnow
from funds.privacy.holds import held_condition

#: The ledger's minimum: accounting records are kept six years (Charities Act 2011 s.131).
LEDGER_MONTHS = 72
MONTHS_MAX = 1200

DEFAULTS: dict[RecordKind, tuple[int, RetentionEvent]] = {
    RecordKind.HOUSEHOLDS: (72, RetentionEvent.LAST_AWARD),
    RecordKind.YOUNG_PEOPLE: (0, RetentionEvent.BIRTHDAY_25),
    RecordKind.EVIDENCE: (72, RetentionEvent.YEAR_END),
    RecordKind.AUDIT: (72, RetentionEvent.YEAR_END),
}
#: The events each kind may count from (a birthday only means something for a person).
EVENTS: dict[RecordKind, tuple[RetentionEvent, ...]] = {
    RecordKind.HOUSEHOLDS: (RetentionEvent.LAST_AWARD, RetentionEvent.YEAR_END),
    RecordKind.YOUNG_PEOPLE: tuple(RetentionEvent),
    RecordKind.EVIDENCE: (RetentionEvent.YEAR_END, RetentionEvent.LAST_AWARD),
    RecordKind.AUDIT: (RetentionEvent.YEAR_END,),
}


@dataclass(frozen=True)
class Rule:
    """A retention rule as it applies (saved, or the default)."""

    kind: RecordKind
    months: int
    event: RetentionEvent
    is_default: bool
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def text(self) -> str:
        if self.months == 0:
            return f"until {self.event.label}"
        return f"{self.months} months after {self.event.label}"


def rules() -> dict[RecordKind, Rule]:
    """Every kind's rule: the saved one, else the default."""
    saved = {r.kind: r for r in db.session.scalars(select(RetentionRule))}
    found = {}
    for kind in RecordKind:
        row = saved.get(kind)
        if row is None:
            months, event = DEFAULTS[kind]
            found[kind] = Rule(kind, months, event, True)
        else:
            found[kind] = Rule(
                kind,
                row.months,
                row.event,
                False,
                row.updated_by.name if row.updated_by else None,
                row.updated_at,
            )
    return found


@writes
def set_rule(
    kind: RecordKind, *, months: int, event: RetentionEvent, actor: User
) -> RetentionRule:
    """Save the rule for one kind of record (audited ``retention.rule``).

    :raises ValidationError: months outside 0 to 1200, or an event the kind cannot use.
    """
    if not isinstance(months, int) or not 0 <= months <= MONTHS_MAX:
        raise ValidationError(
            f"Enter a whole number of months from 0 to {MONTHS_MAX}", field="months"
        )
    if event not in EVENTS[kind]:
        raise ValidationError(
            f"{kind.label} cannot be kept from {event.label}", field="event"
        )
    row = db.session.scalars(
        select(RetentionRule).where(RetentionRule.kind == kind)
    ).first()
    before = None if row is None else {"months": row.months, "event": row.event}
    if row is None:
        row = RetentionRule(kind=kind)
        db.session.add(row)
    row.months, row.event = months, event
    row.updated_by_id, row.updated_at = actor.id, utcnow()
    db.session.flush()
    record_event(
        "retention.rule",
        actor=actor,
        before=before,
        after={"kind": kind, "months": months, "event": event},
    )
    return row


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months (the 31st becomes the month's last day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _from_event(event: RetentionEvent, last: date, born: date | None) -> date:
    if event is RetentionEvent.YEAR_END:
        return FinancialYear.containing(last).ends_on
    if event is RetentionEvent.BIRTHDAY_25 and born is not None:
        return add_months(born, 25 * 12)
    return last


def person_due_on(rule: Rule, *, last: date, born: date | None = None) -> date:
    """When a person falls due for review under ``rule``.

    :param last: their last award or attendance (or the day they were added).
    """
    due = add_months(_from_event(rule.event, last, born), rule.months)
    if (
        rule.kind is RecordKind.YOUNG_PEOPLE
        and rule.event is RetentionEvent.BIRTHDAY_25
    ):
        due = max(due, add_months(last, LEDGER_MONTHS))
    return due


def file_due_on(rule: Rule, line_on: date) -> date:
    """When an evidence file falls due under ``rule``, from its line's date."""
    return add_months(_from_event(rule.event, line_on, None), rule.months)


@dataclass(frozen=True)
class DuePerson:
    """A person past their retention period (references only, never names)."""

    subject_type: str
    id: int
    reference: str
    rule: Rule
    due_on: date


@dataclass(frozen=True)
class DueFile:
    """An evidence file past its retention period."""

    id: int
    grant_reference: str
    kind: str
    line_on: date
    rule: Rule
    due_on: date


def _last_activity():
    """(household id, young person id, day) for each award and attendance, as rows."""
    return union_all(
        select(
            Disbursement.household_id.label("household_id"),
            Disbursement.young_person_id.label("young_person_id"),
            Disbursement.awarded_on.label("day"),
        ),
        select(
            func.cast(None, Disbursement.household_id.type).label("household_id"),
            Attendance.young_person_id,
            ActivitySession.held_on,
        ).join(ActivitySession, ActivitySession.id == Attendance.session_id),
    ).subquery()


def _due_people(model, kind: RecordKind, rule: Rule, today: date) -> list[DuePerson]:
    activity = _last_activity()
    key = activity.c.household_id if model is Household else activity.c.young_person_id
    last = (
        select(key.label("person_id"), func.max(activity.c.day).label("last_on"))
        .where(key.is_not(None))
        .group_by(key)
        .subquery()
    )
    born = model.date_of_birth if model is YoungPerson else None
    columns = [model.id, model.reference, model.created_at, last.c.last_on]
    rows = db.session.execute(
        select(*columns, *([born] if born is not None else []))
        .outerjoin(last, last.c.person_id == model.id)
        .where(model.erased_at.is_(None), ~held_condition(model))
        .order_by(model.reference)
    ).all()
    subject = "household" if model is Household else "young-person"
    due = []
    for row in rows:
        last_on = row.last_on or row.created_at.date()
        on = person_due_on(
            rule, last=last_on, born=row.date_of_birth if born is not None else None
        )
        if on <= today:
            due.append(DuePerson(subject, row.id, row.reference, rule, on))
    return due


def due_people(today: date) -> list[DuePerson]:
    """Households and young people past their period: not erased, not held."""
    current = rules()
    return _due_people(
        Household, RecordKind.HOUSEHOLDS, current[RecordKind.HOUSEHOLDS], today
    ) + _due_people(
        YoungPerson, RecordKind.YOUNG_PEOPLE, current[RecordKind.YOUNG_PEOPLE], today
    )


def _file_held():
    active = RetentionHold.released_at.is_(None)
    return or_(
        exists().where(active, RetentionHold.grant_id == EvidenceFile.grant_id),
        exists().where(
            active,
            Disbursement.id == EvidenceFile.disbursement_id,
            or_(
                RetentionHold.household_id == Disbursement.household_id,
                RetentionHold.young_person_id == Disbursement.young_person_id,
            ),
        ),
    )


def due_files(today: date) -> list[DueFile]:
    """Evidence files (still on disk) past their period, whose grant and person are not
    held."""
    rule = rules()[RecordKind.EVIDENCE]
    line_on = func.coalesce(
        Disbursement.awarded_on,
        ActivitySession.held_on,
        VoucherBatch.purchased_on,
        Grant.ends_on,
    )
    rows = db.session.execute(
        select(EvidenceFile.id, EvidenceFile.kind, Grant.reference, line_on)
        .join(Grant, Grant.id == EvidenceFile.grant_id)
        .outerjoin(Disbursement, Disbursement.id == EvidenceFile.disbursement_id)
        .outerjoin(ActivitySession, ActivitySession.id == EvidenceFile.session_id)
        .outerjoin(VoucherBatch, VoucherBatch.id == EvidenceFile.voucher_batch_id)
        .where(EvidenceFile.removed_at.is_(None), ~_file_held())
        .order_by(EvidenceFile.id)
    ).all()
    due = []
    for file_id, kind, reference, on in rows:
        due_on = file_due_on(rule, on)
        if due_on <= today:
            due.append(DueFile(file_id, reference, kind.label, on, rule, due_on))
    return due


@writes
def remove_file(file_id: int, *, reason: str, actor: User | None) -> EvidenceFile:
    """Delete an evidence file's bytes and mark its row removed (audited
    ``retention.remove_file``; no actor when the schedule removes it)."""
    record = db.session.get(EvidenceFile, file_id)
    if record is None or record.removed_at is not None:
        raise ValidationError("That file is not held any more", field="files")
    record.removed_at = utcnow()
    record.removed_by_id = actor.id if actor is not None else None
    record.removed_reason = reason
    db.session.flush()
    storage.delete_after_commit([storage.path_for(record.stored_name)])
    record_event(
        "retention.remove_file",
        actor=actor,
        obj=record,
        after={"grant_id": record.grant_id, "reason": reason},
    )
    return record
