"""Reads for the evidence pack: a grant's ledger lines, voucher batches, sessions, evidence
files and audit events in a period. References only, never a name of a person helped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    AuditEvent,
    BudgetLine,
    Disbursement,
    DisbursementPayment,
    EvidenceFile,
    EvidenceKind,
    FunderReturn,
    Grant,
    Household,
    ItemType,
    SpendCategory,
    User,
    Voucher,
    VoucherBatch,
    YoungPerson,
)
from funds.money import from_pence, pence_sum
from funds.payment_status import status_of
from funds.suppliers import supplier_for_sharing

#: Rows read from the database at a time while the pack is written.
BATCH = 500


def grant_by_reference(reference: str) -> Grant | None:
    return db.session.scalar(select(Grant).where(Grant.reference == reference))


def _in_period(grant_id: int, date_from: date, date_to: date) -> list:
    return [
        Disbursement.grant_id == grant_id,
        Disbursement.awarded_on.between(date_from, date_to),
    ]


def count_lines(grant_id: int, date_from: date, date_to: date) -> int:
    """Ledger lines of the grant dated in the period (reversals included)."""
    return db.session.scalar(
        select(func.count(Disbursement.id)).where(
            *_in_period(grant_id, date_from, date_to)
        )
    )


def period_total(grant_id: int, date_from: date, date_to: date) -> Decimal:
    """Σ amount of the grant's ledger lines dated in the period, summed in SQL."""
    return from_pence(
        db.session.scalar(
            select(pence_sum(Disbursement.amount)).where(
                *_in_period(grant_id, date_from, date_to)
            )
        )
    )


def ledger_rows(grant_id: int, date_from: date, date_to: date) -> Iterator[tuple]:
    """The period's ledger lines, oldest first: id, date, amount, reverses id, budget
    line (its category, when the grant has a line for it), category, item, quantity,
    supplier (none for money paid to the person), delivery method, payment status, paid on, payment reference, beneficiary
    reference, voucher serials, evidence reference, recorded by."""
    payment = aliased(DisbursementPayment)
    recorder = aliased(User)
    serials = (
        select(func.aggregate_strings(Voucher.serial, ", "))
        .where(Voucher.disbursement_id == Disbursement.id)
        .scalar_subquery()
    )
    query = (
        select(
            Disbursement.id,
            Disbursement.awarded_on,
            Disbursement.amount,
            Disbursement.reverses_id,
            BudgetLine.id,
            SpendCategory.name,
            ItemType.name,
            Disbursement.quantity,
            supplier_for_sharing(),
            Disbursement.delivery_method,
            status_of(),
            payment.paid_on,
            payment.payment_reference,
            func.coalesce(Household.reference, YoungPerson.reference),
            serials,
            Disbursement.evidence_reference,
            recorder.name,
        )
        .join(ItemType, ItemType.id == Disbursement.item_type_id)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .join(recorder, recorder.id == Disbursement.created_by_id)
        .outerjoin(
            BudgetLine,
            and_(
                BudgetLine.grant_id == Disbursement.grant_id,
                BudgetLine.category_id == ItemType.category_id,
            ),
        )
        .outerjoin(Household, Household.id == Disbursement.household_id)
        .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
        .outerjoin(payment, payment.disbursement_id == Disbursement.id)
        .where(*_in_period(grant_id, date_from, date_to))
        .order_by(Disbursement.awarded_on, Disbursement.id)
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def batch_rows(grant_id: int, date_from: date, date_to: date) -> Iterator[tuple]:
    """Voucher batches of the grant bought in the period: id, bought on, supplier,
    reference, item, face value, quantity, cost, expires on, first and last serial."""
    first = (
        select(func.min(Voucher.serial))
        .where(Voucher.batch_id == VoucherBatch.id)
        .scalar_subquery()
    )
    last = (
        select(func.max(Voucher.serial))
        .where(Voucher.batch_id == VoucherBatch.id)
        .scalar_subquery()
    )
    query = (
        select(
            VoucherBatch.id,
            VoucherBatch.purchased_on,
            VoucherBatch.supplier,
            VoucherBatch.reference,
            ItemType.name,
            VoucherBatch.face_value,
            VoucherBatch.quantity,
            VoucherBatch.purchase_cost,
            VoucherBatch.expires_on,
            first,
            last,
        )
        .join(ItemType, ItemType.id == VoucherBatch.item_type_id)
        .where(
            VoucherBatch.grant_id == grant_id,
            VoucherBatch.purchased_on.between(date_from, date_to),
        )
        .order_by(VoucherBatch.purchased_on, VoucherBatch.id)
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def session_rows(grant_id: int, date_from: date, date_to: date) -> Iterator[tuple]:
    """Activity sessions of the grant held in the period: id, held on, activity,
    supplier, cost, ledger line, attendees (a count), carers (a count)."""
    attendees = (
        select(func.count(Attendance.id))
        .where(Attendance.session_id == ActivitySession.id)
        .scalar_subquery()
    )
    query = (
        select(
            ActivitySession.id,
            ActivitySession.held_on,
            ItemType.name,
            ActivitySession.supplier,
            ActivitySession.cost,
            ActivitySession.disbursement_id,
            attendees,
            ActivitySession.carers,
        )
        .join(ItemType, ItemType.id == ActivitySession.item_type_id)
        .where(
            ActivitySession.grant_id == grant_id,
            ActivitySession.held_on.between(date_from, date_to),
        )
        .order_by(ActivitySession.held_on, ActivitySession.id)
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def _records_in_scope(grant_id: int, date_from: date, date_to: date):
    """SQL: the evidence files of the pack (the period's lines, batches and sessions,
    and the grant's agreement)."""
    lines = select(Disbursement.id).where(*_in_period(grant_id, date_from, date_to))
    batches = select(VoucherBatch.id).where(
        VoucherBatch.grant_id == grant_id,
        VoucherBatch.purchased_on.between(date_from, date_to),
    )
    sessions = select(ActivitySession.id).where(
        ActivitySession.grant_id == grant_id,
        ActivitySession.held_on.between(date_from, date_to),
    )
    return and_(
        EvidenceFile.grant_id == grant_id,
        or_(
            and_(
                EvidenceFile.kind == EvidenceKind.AWARD,
                EvidenceFile.disbursement_id.in_(lines),
            ),
            and_(
                EvidenceFile.kind == EvidenceKind.VOUCHER_BATCH,
                EvidenceFile.voucher_batch_id.in_(batches),
            ),
            and_(
                EvidenceFile.kind == EvidenceKind.SESSION,
                EvidenceFile.session_id.in_(sessions),
            ),
            EvidenceFile.kind == EvidenceKind.AGREEMENT,
        ),
    )


def evidence_files(grant_id: int, date_from: date, date_to: date):
    """The pack's evidence file rows with who uploaded and who removed each (names of
    staff, never of people helped), grouped by record, in upload order."""
    uploader = aliased(User)
    remover = aliased(User)
    query = (
        select(EvidenceFile, uploader.name, remover.name)
        .join(uploader, uploader.id == EvidenceFile.uploaded_by_id)
        .outerjoin(remover, remover.id == EvidenceFile.removed_by_id)
        .where(_records_in_scope(grant_id, date_from, date_to))
        .order_by(
            EvidenceFile.kind,
            EvidenceFile.disbursement_id,
            EvidenceFile.voucher_batch_id,
            EvidenceFile.session_id,
            EvidenceFile.id,
        )
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def included_bytes(grant_id: int, date_from: date, date_to: date) -> tuple[int, int]:
    """(files, bytes) of the pack's evidence files still held (for choosing between a
    download now and a background job)."""
    files, size = db.session.execute(
        select(
            func.count(EvidenceFile.id),
            func.coalesce(func.sum(EvidenceFile.size_bytes), 0),
        ).where(
            _records_in_scope(grant_id, date_from, date_to),
            EvidenceFile.removed_at.is_(None),
        )
    ).one()
    return int(files), int(size)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def audit_rows(grant_id: int, date_from: date, date_to: date) -> Iterator[tuple]:
    """Audit events in the period about the grant, its ledger lines, voucher batches,
    sessions and evidence files: when, who, action, object type, object id. Never the
    before/after values."""
    about = or_(
        and_(AuditEvent.object_type == "grants", AuditEvent.object_id == grant_id),
        and_(
            AuditEvent.object_type == "disbursements",
            AuditEvent.object_id.in_(
                select(Disbursement.id).where(Disbursement.grant_id == grant_id)
            ),
        ),
        and_(
            AuditEvent.object_type == "voucher_batches",
            AuditEvent.object_id.in_(
                select(VoucherBatch.id).where(VoucherBatch.grant_id == grant_id)
            ),
        ),
        and_(
            AuditEvent.object_type == "activity_sessions",
            AuditEvent.object_id.in_(
                select(ActivitySession.id).where(ActivitySession.grant_id == grant_id)
            ),
        ),
        and_(
            AuditEvent.object_type == "evidence_files",
            AuditEvent.object_id.in_(
                select(EvidenceFile.id).where(EvidenceFile.grant_id == grant_id)
            ),
        ),
    )
    query = (
        select(
            AuditEvent.at,
            User.name,
            AuditEvent.action,
            AuditEvent.object_type,
            AuditEvent.object_id,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(
            about,
            AuditEvent.at >= _start_of(date_from),
            AuditEvent.at < _start_of(date_to + timedelta(days=1)),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
        .execution_options(yield_per=BATCH)
    )
    yield from db.session.execute(query)


def latest_return(grant_id: int) -> FunderReturn | None:
    """The grant's most recently submitted return (its definition is the grant's return)."""
    return db.session.scalar(
        select(FunderReturn)
        .where(FunderReturn.grant_id == grant_id)
        .order_by(FunderReturn.submitted_at.desc(), FunderReturn.id.desc())
        .limit(1)
    )
