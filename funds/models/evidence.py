"""Evidence files (receipts, invoices, the grant agreement) attached to ledger records."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.grant import Grant
from funds.models.user import User


class EvidenceKind(enum.StrEnum):
    """What the file is attached to (the grant is always set as well)."""

    AWARD = "award"
    VOUCHER_BATCH = "voucher-batch"
    SESSION = "session"
    AGREEMENT = "agreement"

    @property
    def label(self) -> str:
        return {
            "award": "Award",
            "voucher-batch": "Voucher batch",
            "session": "Activity session",
            "agreement": "Grant agreement",
        }[self]


class ScanStatus(enum.StrEnum):
    """What the virus scanner said about a file."""

    #: Scanning was not configured when the file was uploaded.
    NOT_REQUIRED = "not-required"
    #: Scanning is configured but has not run yet (the file cannot be downloaded).
    NOT_SCANNED = "not-scanned"
    CLEAN = "clean"
    INFECTED = "infected"
    #: Too large for the scanner, or the scanner failed: never reported clean.
    UNSCANNABLE = "unscannable"

    @property
    def label(self) -> str:
        return {
            "not-required": "Not scanned (scanning off)",
            "not-scanned": "Waiting to be scanned",
            "clean": "Scanned: clean",
            "infected": "Scanned: infected",
            "unscannable": "Could not be scanned",
        }[self]


class EvidenceFile(Base):
    """One uploaded file. The bytes live on disk under ``stored_name`` (random); this row
    keeps what it was, its SHA-256 and who uploaded it. Removing a file deletes the bytes
    and keeps the row (with why and by whom), so the evidence pack's history stays true."""

    __tablename__ = "evidence_files"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'award' AND disbursement_id IS NOT NULL) OR "
            "(kind = 'voucher-batch' AND voucher_batch_id IS NOT NULL) OR "
            "(kind = 'session' AND session_id IS NOT NULL) OR "
            "(kind = 'agreement' AND disbursement_id IS NULL AND voucher_batch_id IS NULL "
            "AND session_id IS NULL)",
            name="attached_to_one",
        ),
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random hex name on disk; never derived from the original name.
    stored_name: Mapped[str] = mapped_column(String(32), unique=True)
    #: The name it was uploaded under, cleaned; shown, never used as a path.
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(db_enum(EvidenceKind))
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    disbursement_id: Mapped[int | None] = mapped_column(
        ForeignKey("disbursements.id"), index=True
    )
    voucher_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("voucher_batches.id"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("activity_sessions.id"), index=True
    )
    description: Mapped[str | None] = mapped_column(String(200))
    scan_status: Mapped[ScanStatus] = mapped_column(
        db_enum(ScanStatus), default=ScanStatus.NOT_REQUIRED
    )
    scan_detail: Mapped[str | None] = mapped_column(String(200))
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the bytes were deleted (a mistaken upload, an erasure, retention).
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_reason: Mapped[str | None] = mapped_column(Text)

    grant: Mapped[Grant] = relationship()
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])

    @property
    def is_present(self) -> bool:
        return self.removed_at is None
