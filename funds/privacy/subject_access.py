"""Subject access: everything funds holds about one household or young person, gathered
once and shown two ways (a printable page and a JSON file). Nobody else's data: other
people appear by reference only, and never through a session register."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from funds.audit import record_event
from funds.database import begin_writing
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    EvidenceFile,
    Household,
    RetentionHold,
    User,
    Voucher,
    YoungPerson,
)
from funds.payment_status import PaymentStatus

HOUSEHOLD = "household"
YOUNG_PERSON = "young_person"

Person = Household | YoungPerson


@dataclass
class SubjectAccess:
    """What is held about one person, section by section (plain Python values)."""

    kind: str
    reference: str
    generated_at: datetime
    #: (label, key, value) in the order the page shows them.
    record: list[tuple[str, str, object]]
    awards: list[dict] = field(default_factory=list)
    attendances: list[dict] = field(default_factory=list)
    evidence: list[dict] = field(default_factory=list)
    holds: list[dict] = field(default_factory=list)
    audit: list[dict] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return "Household" if self.kind == HOUSEHOLD else "Young person"

    @property
    def net_amount(self) -> Decimal:
        return sum((award["amount"] for award in self.awards), Decimal("0.00"))


def kind_of(person: Person) -> str:
    return HOUSEHOLD if isinstance(person, Household) else YOUNG_PERSON


def _record(person: Person) -> list[tuple[str, str, object]]:
    common_head = [
        ("Reference", "reference", person.reference),
        ("Name", "name", person.name),
        ("Contact details", "contact", person.contact),
        ("Case-system reference", "case_reference", person.case_reference),
    ]
    if isinstance(person, Household):
        facts = [
            ("Adults", "adults", person.adults),
            ("Children", "children", person.children),
            ("Has children", "has_children", person.has_children),
            ("Has a pensioner", "has_pensioner", person.has_pensioner),
            (
                "Has a disabled person",
                "has_disabled_person",
                person.has_disabled_person,
            ),
            ("Has a care leaver", "has_care_leaver", person.has_care_leaver),
            ("Postcode district", "postcode_district", person.postcode_district),
            ("Team", "team", person.team.name if person.team else None),
            (
                "Young people linked (references only)",
                "young_people",
                sorted(p.reference for p in person.young_people),
            ),
        ]
    else:
        facts = [
            ("Date of birth", "date_of_birth", person.date_of_birth),
            ("Gender", "gender", person.gender.label),
            ("Ethnic group", "ethnicity", person.ethnicity.label),
            ("Disability", "disability", person.disability.label),
            ("Team", "team", person.team.name if person.team else None),
            (
                "Household (reference only)",
                "household",
                person.household.reference if person.household else None,
            ),
        ]
    tail = [
        ("Notes", "notes", person.notes),
        ("Added", "created_at", person.created_at),
        ("Personal details erased", "erased_at", person.erased_at),
    ]
    return common_head + facts + tail


def _beneficiary(person: Person):
    if isinstance(person, Household):
        return Disbursement.household_id == person.id
    return Disbursement.young_person_id == person.id


def _awards(person: Person) -> list[dict]:
    lines = list(
        db.session.scalars(
            select(Disbursement)
            .options(
                joinedload(Disbursement.grant),
                joinedload(Disbursement.item_type),
                joinedload(Disbursement.created_by),
            )
            .where(_beneficiary(person))
            .order_by(Disbursement.awarded_on, Disbursement.id)
        )
    )
    ids = [line.id for line in lines]
    payments: dict[int, DisbursementPayment] = {}
    serials: dict[int, list[str]] = {}
    if ids:
        for payment in db.session.scalars(
            select(DisbursementPayment).where(
                DisbursementPayment.disbursement_id.in_(ids)
            )
        ):
            payments[payment.disbursement_id] = payment
        for line_id, serial in db.session.execute(
            select(Voucher.disbursement_id, Voucher.serial)
            .where(Voucher.disbursement_id.in_(ids))
            .order_by(Voucher.serial)
        ):
            serials.setdefault(line_id, []).append(serial)
    reversed_by = {line.reverses_id: line for line in lines if line.reverses_id}
    awards = []
    for line in lines:
        payment = payments.get(line.id)
        if line.reverses_id is not None:
            status = PaymentStatus.REVERSAL
        elif line.id in reversed_by:
            status = PaymentStatus.REVERSED
        elif payment is not None:
            status = PaymentStatus.PAID
        elif line.id in serials:
            status = PaymentStatus.VOUCHER_STOCK
        else:
            status = PaymentStatus.UNPAID
        reversal = reversed_by.get(line.id)
        awards.append(
            {
                "id": line.id,
                "awarded_on": line.awarded_on,
                "grant": line.grant.reference,
                "item": line.item_type.name,
                "quantity": line.quantity,
                "amount": line.amount,
                "delivery_method": line.delivery_method.value,
                "access_route": line.access_route.value if line.access_route else None,
                "requested_on": line.requested_on,
                "supplier": line.supplier,
                "evidence_reference": line.evidence_reference,
                "method_reason": line.method_reason,
                "notes": line.notes,
                "payment_status": status.label,
                "paid_on": payment.paid_on if payment else None,
                "payment_reference": payment.payment_reference if payment else None,
                "reverses_award": line.reverses_id,
                "reversal_reason": line.reason,
                "reversed_by_award": reversal.id if reversal else None,
                "voucher_serials": serials.get(line.id, []),
                "recorded_by": line.created_by.name,
                "recorded_at": line.created_at,
            }
        )
    return awards


def _attendances(person: Person) -> list[dict]:
    """The sessions this young person was on the register of: never who else was."""
    if not isinstance(person, YoungPerson):
        return []
    rows = db.session.scalars(
        select(ActivitySession)
        .join(Attendance, Attendance.session_id == ActivitySession.id)
        .options(
            joinedload(ActivitySession.item_type), joinedload(ActivitySession.grant)
        )
        .where(Attendance.young_person_id == person.id)
        .order_by(ActivitySession.held_on, ActivitySession.id)
    )
    return [
        {
            "session": session.id,
            "held_on": session.held_on,
            "activity": session.item_type.name,
            "grant": session.grant.reference,
        }
        for session in rows
    ]


def _evidence(award_ids: list[int]) -> list[dict]:
    if not award_ids:
        return []
    files = db.session.scalars(
        select(EvidenceFile)
        .where(EvidenceFile.disbursement_id.in_(award_ids))
        .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)
    )
    return [
        {
            "award": file.disbursement_id,
            "name": file.original_name,
            "content_type": file.content_type,
            "size_bytes": file.size_bytes,
            "uploaded_at": file.uploaded_at,
            "removed_at": file.removed_at,
        }
        for file in files
    ]


def _holds(person: Person) -> list[dict]:
    column = (
        RetentionHold.household_id
        if isinstance(person, Household)
        else RetentionHold.young_person_id
    )
    holds = db.session.scalars(
        select(RetentionHold)
        .where(column == person.id)
        .order_by(RetentionHold.placed_at, RetentionHold.id)
    )
    return [
        {
            "reason": hold.reason,
            "placed_at": hold.placed_at,
            "released_at": hold.released_at,
            "release_reason": hold.release_reason,
        }
        for hold in holds
    ]


def _audit(person: Person, award_ids: list[int]) -> list[dict]:
    """Audit entries whose object is this person or one of their awards."""
    about = and_(
        AuditEvent.object_type == person.__tablename__,
        AuditEvent.object_id == person.id,
    )
    if award_ids:
        about = or_(
            about,
            and_(
                AuditEvent.object_type == Disbursement.__tablename__,
                AuditEvent.object_id.in_(award_ids),
            ),
        )
    events = db.session.scalars(
        select(AuditEvent)
        .options(joinedload(AuditEvent.actor))
        .where(about)
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    entries = []
    for event in events:
        redacted = event.redacted_at is not None
        entries.append(
            {
                "at": event.at,
                "who": event.actor.name if event.actor else "The system",
                "action": event.action,
                "object": (
                    f"award #{event.object_id}"
                    if event.object_type == Disbursement.__tablename__
                    else person.reference
                ),
                "before": None if redacted else event.before,
                "after": None if redacted else event.after,
                "redacted_at": event.redacted_at,
            }
        )
    return entries


def gather(person: Person, *, now: datetime) -> SubjectAccess:
    """Everything held about ``person`` (one read; nothing written)."""
    awards = _awards(person)
    award_ids = [award["id"] for award in awards]
    return SubjectAccess(
        kind=kind_of(person),
        reference=person.reference,
        generated_at=now,
        record=_record(person),
        awards=awards,
        attendances=_attendances(person),
        evidence=_evidence(award_ids),
        holds=_holds(person),
        audit=_audit(person, award_ids),
    )


def _plain(value):
    """A value as JSON holds it: ISO dates, money as pounds in a string ("12.50")."""
    if isinstance(value, Decimal):
        return format(value, ".2f")
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def as_json(export: SubjectAccess) -> dict:
    """The export as a JSON-ready dict."""
    return {
        "subject": {"type": export.kind, "reference": export.reference},
        "generated_at": _plain(export.generated_at),
        "record": {key: _plain(value) for _, key, value in export.record},
        "awards": _plain(export.awards),
        "net_amount": _plain(export.net_amount),
        "attendances": _plain(export.attendances),
        "evidence_files": _plain(export.evidence),
        "holds": _plain(export.holds),
        "audit": _plain(export.audit),
    }


def record_export(person: Person, *, actor: User | None, fmt: str) -> None:
    """Put the export on record (``person.export``): the reference only, never a name."""
    begin_writing()
    record_event(
        "person.export",
        actor=actor,
        obj=person,
        after={"reference": person.reference, "format": fmt},
    )
