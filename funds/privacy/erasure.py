"""Erasure by anonymisation: a household's or young person's personal details go, the
ledger and every total stay.

What goes: the name, contact details, notes and case-system reference; the free text of
their awards (notes, why not cash-first, reversal reasons: the ledger's one allowed
redaction); the files attached to their awards (bytes deleted from disk, rows marked
removed for "erasure", their names replaced); the values in audit events about them, their
awards and those files (the audit trail's one allowed redaction keeps who, what, when, and
only the keys in AUDIT_KEPT_KEYS: ids, amounts, dates, flags); the stored file of any
import that created or changed them (cleared, and said so in the ``person.erase`` event),
the import problems on their rows or quoting their details, and undo reasons of those
imports' jobs. What stays: the reference, the postcode district, the counts and flags that
returns count, the gender, ethnicity and disability of a young person, and their year and
month of birth (the day becomes the smallest that leaves every counted age unchanged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select, update

from funds.audit import record_event
from funds.database import lock_for_update, writes
from funds.errors import NotAllowed, ValidationError
from funds.evidence import storage
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    Disbursement,
    ErasureLog,
    EvidenceFile,
    Household,
    ImportProblem,
    ImportRecord,
    ImportRun,
    Job,
    RetentionHold,
    User,
    YoungPerson,
)
from funds.models.base import utcnow
from funds.models.disbursement import CASH_FIRST_METHODS
from funds.people.queries import person_by_reference as find_person
from funds.privacy import erasure_file
from funds.privacy.birth_dates import anonymised_birth_date
from funds.privacy.holds import clean_reason, describe, holding

Person = Household | YoungPerson

#: The keys an audit event about an erased person keeps: nothing anyone typed about them.
AUDIT_KEPT_KEYS = frozenset(
    {
        "reference",
        "grant_id",
        "item_type_id",
        "household_id",
        "young_person_id",
        "disbursement_id",
        "reverses",
        "hold_id",
        "amount",
        "quantity",
        "awarded_on",
        "requested_on",
        "paid_on",
        "delivery_method",
        "access_route",
        "status",
        "adults",
        "children",
        "has_children",
        "has_pensioner",
        "has_disabled_person",
        "has_care_leaver",
        "postcode_district",
        "team_id",
        "gender",
        "ethnicity",
        "disability",
        "overspend_confirmed",
    }
)
#: Shorter strings are not searched for in import problems (they would match anything).
_SEARCHED_MIN = 3
_SUBJECT_TYPE = {Household: "household", YoungPerson: "young-person"}
_IMPORT_KIND = {Household: "households", YoungPerson: "young_people"}


@dataclass(frozen=True)
class Erasure:
    """What one erasure changed (counts and references only)."""

    subject_type: str
    reference: str
    awards: int
    files: int
    audit_events: int
    import_files: tuple[int, ...]


@dataclass(frozen=True)
class Preview:
    """What an erasure would touch, for the confirm page (counts only)."""

    awards: int
    files: int


def erasure_preview(person: Person) -> Preview:
    """How many awards would have their notes blanked, and files removed from disk."""
    award_ids = _award_ids(person)
    files = 0
    if award_ids:
        files = db.session.scalar(
            select(func.count()).where(
                EvidenceFile.disbursement_id.in_(award_ids),
                EvidenceFile.removed_at.is_(None),
            )
        )
    return Preview(awards=len(award_ids), files=files)


def check_erasable(person: Person) -> None:
    """Refuse an erasure that must not happen.

    :raises NotAllowed: the person is already erased, or held (on them or on a grant they
        received from).
    """
    if person.erased_at is not None:
        raise NotAllowed(f"{person.reference} was already erased", field="reason")
    hold = holding(person, lock_grants=True)
    if hold is not None:
        raise NotAllowed(
            f"{person.reference} cannot be erased: {describe(hold)} is held "
            "(release the hold first)",
            field="reason",
        )


def _award_ids(person: Person) -> list[int]:
    column = (
        Disbursement.household_id
        if isinstance(person, Household)
        else Disbursement.young_person_id
    )
    return list(db.session.scalars(select(Disbursement.id).where(column == person.id)))


def _session_ids(person: Person) -> list[int]:
    if not isinstance(person, YoungPerson):
        return []
    return list(
        db.session.scalars(
            select(Attendance.session_id).where(Attendance.young_person_id == person.id)
        )
    )


def _counted_dates(person: YoungPerson, award_ids: list[int]):
    """Every date funds counts the person's age on: awards and sessions attended."""
    awards = select(Disbursement.awarded_on).where(Disbursement.id.in_(award_ids))
    sessions = (
        select(ActivitySession.held_on)
        .join(Attendance, Attendance.session_id == ActivitySession.id)
        .where(Attendance.young_person_id == person.id)
    )
    return list(db.session.scalars(awards.union(sessions)))


def _redact_ledger(award_ids: list[int], now: datetime) -> None:
    if award_ids:
        db.session.execute(
            update(Disbursement)
            .where(Disbursement.id.in_(award_ids), Disbursement.redacted_at.is_(None))
            .values(
                notes=None,
                method_reason=None,
                reason=None,
                # Money paid to the person (cash, bank transfer, cash-out voucher): the
                # "supplier" box may hold their name as the payee.
                supplier=case(
                    (Disbursement.delivery_method.in_(CASH_FIRST_METHODS), None),
                    else_=Disbursement.supplier,
                ),
                redacted_at=now,
            )
            .execution_options(synchronize_session=False)
        )


def _remove_files(award_ids: list[int], actor: User | None, now: datetime) -> list[int]:
    """Delete the bytes of every file on these awards and mark the rows removed."""
    if not award_ids:
        return []
    files = list(
        db.session.scalars(
            select(EvidenceFile).where(EvidenceFile.disbursement_id.in_(award_ids))
        )
    )
    for record in files:
        # The name it was uploaded under may name the person; the kind and hash stay.
        record.original_name = f"erased-{record.id}"
        record.description = None
        if record.removed_at is None:
            record.removed_at = now
            record.removed_by_id = actor.id if actor is not None else None
        # A reason typed when it was removed earlier may name the person too.
        record.removed_reason = "erasure"
    db.session.flush()
    storage.delete_after_commit(
        storage.path_for(record.stored_name) for record in files
    )
    _forget_built_packs(award_ids)
    return [record.id for record in files]


def _forget_built_packs(award_ids: list[int]) -> None:
    """Evidence packs the job worker built for these awards' grants copied the files in:
    delete them too (their owners can build them again)."""
    from funds.evidence.pack import job_pack_path

    grant_ids = set(
        db.session.scalars(
            select(Disbursement.grant_id).where(Disbursement.id.in_(award_ids))
        )
    )
    packs = db.session.scalars(select(Job).where(Job.kind == "evidence.pack"))
    storage.delete_after_commit(
        job_pack_path(job) for job in packs if job.params.get("grant_id") in grant_ids
    )


def _kept(values: dict | None) -> dict:
    kept = {k: v for k, v in (values or {}).items() if k in AUDIT_KEPT_KEYS}
    return {**kept, "erased": True}


def _redact_audit(objects: dict[str, list[int]], now: datetime) -> int:
    conditions = [
        and_(AuditEvent.object_type == table, AuditEvent.object_id.in_(ids))
        for table, ids in objects.items()
        if ids
    ]
    events = list(
        db.session.scalars(
            select(AuditEvent).where(or_(*conditions), AuditEvent.redacted_at.is_(None))
        )
    )
    for event in events:
        event.before = _kept(event.before) if event.before is not None else None
        event.after = _kept(event.after) if event.after is not None else None
        event.redacted_at = now
    db.session.flush()
    return len(events)


def _private_text(person: Person) -> list[str]:
    values = [person.name, person.contact, person.case_reference]
    return [v for v in values if v and len(v.strip()) >= _SEARCHED_MIN]


def _clear_imports(
    person: Person, award_ids: list[int], session_ids: list[int]
) -> tuple[int, ...]:
    """Clear the stored files of imports that created or changed this person or their
    awards and attendances, and the problems that quote them."""
    wanted = [
        and_(
            ImportRecord.kind == _IMPORT_KIND[type(person)],
            ImportRecord.object_id == person.id,
        )
    ]
    if award_ids:
        wanted.append(
            and_(ImportRecord.kind == "awards", ImportRecord.object_id.in_(award_ids))
        )
    if session_ids:
        wanted.append(
            and_(
                ImportRecord.kind == "sessions", ImportRecord.object_id.in_(session_ids)
            )
        )
    records = db.session.execute(
        select(ImportRecord.import_id, ImportRecord.row).where(or_(*wanted))
    ).all()
    import_ids = sorted({import_id for import_id, _ in records})
    rows_of = [
        and_(ImportProblem.import_id == import_id, ImportProblem.row == row)
        for import_id, row in records
    ]
    quoting = [
        ImportProblem.value.contains(text, autoescape=True)
        for text in _private_text(person)
    ]
    if rows_of or quoting:
        db.session.execute(
            update(ImportProblem)
            .where(or_(*rows_of, *quoting))
            .values(value="")
            .execution_options(synchronize_session=False)
        )
    if import_ids:
        db.session.execute(
            update(ImportRun)
            .where(ImportRun.id.in_(import_ids))
            .values(data=b"")
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            update(ImportRun)
            .where(ImportRun.id.in_(import_ids), ImportRun.undo_reason.is_not(None))
            .values(undo_reason="(erased)")
            .execution_options(synchronize_session=False)
        )
        for job in db.session.scalars(select(Job).where(Job.kind.like("import.%"))):
            if job.params.get("import_id") in import_ids and job.params.get("reason"):
                job.params = {**job.params, "reason": ""}
    return tuple(import_ids)


def _blank_person(person: Person, award_ids: list[int], now: datetime) -> None:
    if isinstance(person, YoungPerson) and person.date_of_birth is not None:
        person.date_of_birth = anonymised_birth_date(
            person.date_of_birth, _counted_dates(person, award_ids)
        )
    person.name = None
    person.contact = None
    person.notes = None
    person.case_reference = None
    person.erased_at = now
    column = (
        RetentionHold.household_id
        if isinstance(person, Household)
        else RetentionHold.young_person_id
    )
    for hold in db.session.scalars(select(RetentionHold).where(column == person.id)):
        hold.reason = "(erased)"
        if hold.release_reason is not None:
            hold.release_reason = "(erased)"


@writes
def erase_person(
    person: Person,
    *,
    reason: str,
    actor: User | None,
    action: str = "person.erase",
    now: datetime | None = None,
) -> Erasure:
    """Erase one household or young person by anonymisation (see the module's docstring).
    Runs in the caller's transaction, which holds the write lock; the caller commits.

    :param actor: who erased; None for the schedule (``retention apply``) or a replay.
    :raises ValidationError: for a missing, too long or unprintable reason, or one that
        quotes the details being erased.
    :raises NotAllowed: for a held or already erased person.
    """
    text = clean_reason(reason)
    model = type(person)
    person = lock_for_update(model, person.id)
    check_erasable(person)
    if any(value.lower() in text.lower() for value in _private_text(person)):
        # The log keeps the reason for good: it must not keep what is being erased.
        raise ValidationError(
            "Leave their name, contact details and case reference out of the reason",
            field="reason",
        )
    now = now or utcnow()
    award_ids = _award_ids(person)
    session_ids = _session_ids(person)
    import_ids = _clear_imports(person, award_ids, session_ids)
    _blank_person(person, award_ids, now)
    _redact_ledger(award_ids, now)
    file_ids = _remove_files(award_ids, actor, now)
    events = _redact_audit(
        {
            person.__tablename__: [person.id],
            "disbursements": award_ids,
            "evidence_files": file_ids,
            # An import's undo reason is blanked above; its audit event held it too.
            "imports": list(import_ids),
        },
        now,
    )
    erasure = Erasure(
        subject_type=_SUBJECT_TYPE[model],
        reference=person.reference,
        awards=len(award_ids),
        files=len(file_ids),
        audit_events=events,
        import_files=import_ids,
    )
    db.session.add(
        ErasureLog(
            subject_type=erasure.subject_type,
            reference=person.reference,
            erased_at=now,
            erased_by_id=actor.id if actor is not None else None,
            reason=text,
        )
    )
    erasure_file.append(erasure.subject_type, person.reference, now, text)
    record_event(
        action,
        actor=actor,
        obj=person,
        after={
            "reference": person.reference,
            "awards": erasure.awards,
            "files_removed": erasure.files,
            "audit_events_redacted": erasure.audit_events,
            "import_files_cleared": list(import_ids),
        },
    )
    return erasure


def erase_household(household: Household, **kwargs) -> Erasure:
    """Erase a household (its young people are separate records, erased on their own)."""
    return erase_person(household, **kwargs)


def erase_young_person(person: YoungPerson, **kwargs) -> Erasure:
    """Erase a young person."""
    return erase_person(person, **kwargs)


def erase_by_reference(reference: str, *, reason: str, actor: User | None) -> Erasure:
    """Erase the person with this reference.

    :raises ValidationError: for an unknown reference or a bad reason.
    :raises NotAllowed: for a held or already erased person.
    """
    person = find_person(reference)
    if person is None:
        raise ValidationError(
            f"No household or young person has the reference {reference!r}",
            field="reference",
        )
    return erase_person(person, reason=reason, actor=actor)


def replay_erasures() -> tuple[list[Erasure], list[str]]:
    """Erase again everyone the erasure log names who is not erased (an older backup was
    restored), audited ``person.erase.replay``. A person held in the restored data is left
    (a hold always wins) and reported. Returns (erased again, references left held)."""
    done: list[Erasure] = []
    held: list[str] = []
    # The database's log, and the file a restore does not bring back to an older state.
    logged = [
        *db.session.execute(
            select(ErasureLog.reference, ErasureLog.reason).order_by(ErasureLog.id)
        ).all(),
        *erasure_file.entries(),
    ]
    seen: set[str] = set()
    for reference, reason in logged:
        if reference in seen:
            continue
        seen.add(reference)
        person = find_person(reference)
        if person is None or person.erased_at is not None:
            continue
        if holding(person) is not None:
            held.append(reference)
            continue
        done.append(
            erase_person(
                person,
                reason=f"Replayed after a restore: {reason}"[:500],
                actor=None,
                action="person.erase.replay",
            )
        )
    return done, held
