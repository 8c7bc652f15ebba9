"""Reading evidence: the files of a record, whether one may be downloaded, and the one
definition of "missing evidence" (used by the awards list's filter and the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import joinedload

from funds.evidence.files import ACCEPT, MAX_FILES
from funds.evidence.scanning import scanning_on
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Disbursement,
    EvidenceFile,
    EvidenceKind,
    Grant,
    ScanStatus,
)
from funds.payment_status import is_reversed

#: The page each kind of record is shown on: whoever may see it may see its files.
RECORD_PAGES = {
    EvidenceKind.AWARD: "disbursements.detail",
    EvidenceKind.VOUCHER_BATCH: "vouchers.batch",
    EvidenceKind.SESSION: "activities.session",
    EvidenceKind.AGREEMENT: "grants.detail",
}
#: Where each kind of file is uploaded (the endpoint decides who may).
UPLOAD_ENDPOINTS = {
    EvidenceKind.AWARD: "evidence.upload_award",
    EvidenceKind.VOUCHER_BATCH: "evidence.upload_batch",
    EvidenceKind.SESSION: "evidence.upload_session",
    EvidenceKind.AGREEMENT: "evidence.upload_agreement",
}
#: The name each kind's id takes in URLs (the record's page and the upload route).
ID_ARGUMENTS = {
    EvidenceKind.AWARD: "disbursement_id",
    EvidenceKind.VOUCHER_BATCH: "batch_id",
    EvidenceKind.SESSION: "session_id",
    EvidenceKind.AGREEMENT: "grant_id",
}
_COLUMNS = {
    EvidenceKind.AWARD: EvidenceFile.disbursement_id,
    EvidenceKind.VOUCHER_BATCH: EvidenceFile.voucher_batch_id,
    EvidenceKind.SESSION: EvidenceFile.session_id,
    EvidenceKind.AGREEMENT: EvidenceFile.grant_id,
}


def files_of(kind: EvidenceKind, record_id: int) -> list[EvidenceFile]:
    """Every file attached to one record (removed ones too), oldest first."""
    return list(
        db.session.scalars(
            select(EvidenceFile)
            .options(
                joinedload(EvidenceFile.uploaded_by),
                joinedload(EvidenceFile.removed_by),
            )
            .where(EvidenceFile.kind == kind, _COLUMNS[kind] == record_id)
            .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)
        )
    )


def why_not_downloadable(evidence: EvidenceFile) -> str | None:
    """None when the file may be downloaded; otherwise why not, said plainly."""
    if evidence.removed_at is not None:
        return "This file was removed."
    status = evidence.scan_status
    if status is ScanStatus.CLEAN:
        return None
    if status is ScanStatus.NOT_REQUIRED:
        if scanning_on():
            return (
                "This file was uploaded before virus scanning was switched on and has "
                "not been scanned."
            )
        return None
    if status is ScanStatus.INFECTED:
        return f"The virus scanner found {evidence.scan_detail or 'a threat'} in this file."
    if status is ScanStatus.NOT_SCANNED:
        return "This file is waiting to be scanned for viruses."
    return "The virus scanner could not check this file, so it cannot be downloaded."


@dataclass
class EvidencePanel:
    """What a record's page shows about its files (templates/evidence/_files.html)."""

    kind: EvidenceKind
    record_id: int
    files: list[EvidenceFile]
    blocked: dict[int, str]
    upload_endpoint: str
    upload_url: str
    accept: str = ACCEPT
    max_files: int = MAX_FILES


def panel(kind: EvidenceKind, record_id: int) -> EvidencePanel:
    files = files_of(kind, record_id)
    return EvidencePanel(
        kind=kind,
        record_id=record_id,
        files=files,
        blocked={
            f.id: reason
            for f in files
            if (reason := why_not_downloadable(f)) is not None
        },
        upload_endpoint=UPLOAD_ENDPOINTS[kind],
        upload_url=url_for(UPLOAD_ENDPOINTS[kind], **{ID_ARGUMENTS[kind]: record_id}),
    )


def waiting_for_scan() -> list[int]:
    """Present files the scanner has not checked yet, oldest first."""
    return list(
        db.session.scalars(
            select(EvidenceFile.id)
            .where(
                EvidenceFile.scan_status == ScanStatus.NOT_SCANNED,
                EvidenceFile.removed_at.is_(None),
            )
            .order_by(EvidenceFile.id)
        )
    )


# --- missing evidence ---------------------------------------------------------------------


def has_present_evidence(line=Disbursement):
    """SQL: a file not removed is attached to this line, or to the session it paid for."""
    return exists(
        select(EvidenceFile.id).where(
            EvidenceFile.removed_at.is_(None),
            or_(
                EvidenceFile.disbursement_id == line.id,
                EvidenceFile.session_id.in_(
                    select(ActivitySession.id).where(
                        ActivitySession.disbursement_id == line.id
                    )
                ),
            ),
        )
    )


def missing_evidence(line=Disbursement):
    """SQL: this line is an award (not a reversal, not reversed) above its grant's
    "evidence required above" amount, with no file present. The one definition."""
    return and_(
        line.reverses_id.is_(None),
        ~is_reversed(line),
        exists(
            select(Grant.id).where(
                Grant.id == line.grant_id,
                Grant.evidence_required_above.is_not(None),
                line.amount > Grant.evidence_required_above,
            )
        ),
        ~has_present_evidence(line),
    )


def missing_evidence_count(grant_ids=None) -> int:
    """How many awards miss their evidence (of these grants, or of all).

    Counted per grant that has the rule, over its awards above the rule's amount only
    (the index on grant and amount): a grant without the rule costs nothing."""
    rules = select(Grant.id, Grant.evidence_required_above).where(
        Grant.evidence_required_above.is_not(None)
    )
    if grant_ids is not None:
        rules = rules.where(Grant.id.in_(list(grant_ids)))
    total = 0
    for grant_id, above in db.session.execute(rules).all():
        total += db.session.scalar(
            select(func.count(Disbursement.id)).where(
                Disbursement.grant_id == grant_id,
                Disbursement.amount > above,
                missing_evidence(),
            )
        )
    return total
