"""Attaching evidence files to records, removing them, and scanning the ones waiting.

Every file of an upload is checked before anything is written; the bytes are written to
disk, then the rows in one short transaction. If the rows cannot be written, the bytes
are deleted again (``attach`` itself while flushing; the view with ``forget`` if the
commit fails). Removing a file keeps its row and deletes its bytes once that commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from funds.audit import record_event
from funds.database import begin_writing, lock_for_update
from funds.errors import NotAllowed, ValidationError
from funds.evidence import scanning, storage
from funds.evidence.files import CheckedFile, check_files
from funds.extensions import db
from funds.models import (
    ActivitySession,
    Disbursement,
    EvidenceFile,
    EvidenceKind,
    Grant,
    ScanStatus,
    User,
    VoucherBatch,
)
from funds.models.base import utcnow

#: The longest reason for removing a file.
MAX_REASON = 500


@dataclass(frozen=True)
class Target:
    """What files are attached to: its kind, the record and the record's grant."""

    kind: EvidenceKind
    record: object
    grant_id: int

    def columns(self) -> dict:
        ids = {
            EvidenceKind.AWARD: "disbursement_id",
            EvidenceKind.VOUCHER_BATCH: "voucher_batch_id",
            EvidenceKind.SESSION: "session_id",
        }
        column = ids.get(self.kind)
        return {column: self.record.id} if column else {}


_MODELS = {
    EvidenceKind.AWARD: Disbursement,
    EvidenceKind.VOUCHER_BATCH: VoucherBatch,
    EvidenceKind.SESSION: ActivitySession,
    EvidenceKind.AGREEMENT: Grant,
}


def target_for(kind: EvidenceKind, record_id: int) -> Target | None:
    """The record files of ``kind`` attach to, or None when there is no such record.

    :raises NotAllowed: for a reversal (evidence belongs on the award it reverses).
    """
    record = db.session.get(_MODELS[kind], record_id)
    if record is None:
        return None
    if kind is EvidenceKind.AWARD and record.is_reversal:
        raise NotAllowed(
            "A reversal has no evidence of its own: attach files to the award it reverses",
            field="files",
        )
    grant_id = record.id if kind is EvidenceKind.AGREEMENT else record.grant_id
    return Target(kind, record, grant_id)


def forget(stored_names: list[str]) -> None:
    """Delete bytes written for rows that were never committed."""
    for name in stored_names:
        storage.delete(name)


def attach(
    target: Target,
    uploads: list[tuple[str | None, bytes]],
    *,
    actor: User,
    description: str | None = None,
) -> list[EvidenceFile]:
    """Check every file, write the bytes, scan them, then add one row per file.

    :raises ValidationError: on ``files`` if any file is refused; nothing is written.
    """
    max_bytes = int(current_app.config["EVIDENCE_MAX_BYTES"])
    checked: list[CheckedFile] = check_files(uploads, max_bytes=max_bytes)
    description = (description or "").strip()[:200] or None
    saved: list[tuple[CheckedFile, str, str, scanning.ScanResult]] = []
    try:
        for item in checked:
            stored_name, digest = storage.save(item.data)
            saved.append((item, stored_name, digest, None))
        # Scanning talks to another process: done before the write transaction begins.
        saved = [
            (item, name, digest, scanning.scan_or_wait(item.data))
            for item, name, digest, _ in saved
        ]
        begin_writing()
        files = []
        now = utcnow()
        for item, stored_name, digest, result in saved:
            evidence = EvidenceFile(
                stored_name=stored_name,
                original_name=item.name,
                content_type=item.content_type,
                size_bytes=len(item.data),
                sha256=digest,
                kind=target.kind,
                grant_id=target.grant_id,
                description=description,
                scan_status=result.status,
                scan_detail=result.detail,
                scanned_at=now
                if result.status
                in (ScanStatus.CLEAN, ScanStatus.INFECTED, ScanStatus.UNSCANNABLE)
                else None,
                uploaded_by_id=actor.id,
                uploaded_at=now,
                **target.columns(),
            )
            db.session.add(evidence)
            db.session.flush()
            record_event(
                "evidence.upload",
                actor=actor,
                obj=evidence,
                after={
                    "kind": target.kind.value,
                    "record_id": target.record.id,
                    "grant_id": target.grant_id,
                    "content_type": item.content_type,
                    "size_bytes": len(item.data),
                    "sha256": digest,
                    "scan_status": result.status.value,
                },
            )
            files.append(evidence)
        return files
    except BaseException:
        forget([name for _, name, _, _ in saved])
        raise


def remove(evidence: EvidenceFile, *, actor: User, reason: str) -> EvidenceFile:
    """Mark a file's row removed (the row stays, with why and by whom); its bytes are
    deleted when the caller commits.

    :raises ValidationError: on ``reason`` when no reason is given.
    :raises NotAllowed: when the file was removed already.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the file is being removed", field="reason")
    if len(reason) > MAX_REASON:
        raise ValidationError(
            f"Reason must be {MAX_REASON} characters or fewer", field="reason"
        )
    evidence = lock_for_update(EvidenceFile, evidence.id)
    if evidence.removed_at is not None:
        raise NotAllowed("This file was removed already", field="reason")
    evidence.removed_at = utcnow()
    evidence.removed_by_id = actor.id
    evidence.removed_reason = reason
    db.session.flush()
    record_event(
        "evidence.remove",
        actor=actor,
        obj=evidence,
        before={"sha256": evidence.sha256, "size_bytes": evidence.size_bytes},
        after={"removed": True, "grant_id": evidence.grant_id},
    )
    # Only once the caller's commit succeeds: a failed commit leaves the bytes in place.
    storage.delete_after_commit([storage.path_for(evidence.stored_name)])
    return evidence


def record_download(evidence: EvidenceFile, *, actor: User) -> None:
    """Note that someone downloaded a file."""
    begin_writing()
    record_event(
        "evidence.download",
        actor=actor,
        obj=evidence,
        after={"grant_id": evidence.grant_id},
    )


def scan_one(evidence_id: int, *, actor: User | None = None) -> ScanStatus:
    """Scan one file waiting for the scanner and store the verdict.

    :raises scanning.ScannerUnavailable: when clamd cannot be reached (nothing changes).
    """
    evidence = db.session.get(EvidenceFile, evidence_id)
    try:
        data = storage.read(evidence.stored_name)
    except OSError as error:
        result = scanning.ScanResult(
            ScanStatus.UNSCANNABLE, f"file missing: {error.strerror}"[:200]
        )
    else:
        result = scanning.scan_bytes(data)
    begin_writing()
    evidence = db.session.get(EvidenceFile, evidence_id)
    evidence.scan_status = result.status
    evidence.scan_detail = result.detail
    evidence.scanned_at = utcnow()
    record_event(
        "evidence.scan",
        actor=actor,
        obj=evidence,
        after={"scan_status": result.status.value, "scan_detail": result.detail},
    )
    return result.status
