"""The append-only audit trail: who did what to which record, when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_redactable
from funds.models.base import Base, UTCDateTime, utcnow
from funds.models.user import User


class AuditEvent(Base):
    """One audited action. Rows are never updated or deleted (database triggers refuse it)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: Who acted; None for the system or an anonymous visitor (a failed log-in).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: Dotted verb, e.g. ``user.create``, ``auth.login``, ``disbursement.reverse``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    #: Address of the request, where there was one.
    ip: Mapped[str | None] = mapped_column(String(45))
    #: Set when an erasure blanked a person's values in ``before``/``after`` (the only
    #: change the database allows to an audit event).
    redacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return (
            f"<AuditEvent {self.id} {self.action} {self.object_type}:{self.object_id}>"
        )


#: What an erasure may blank; who acted, what, on which record and when always stay.
AUDIT_REDACTABLE = ["before", "after"]
make_redactable(AuditEvent.__table__, AUDIT_REDACTABLE)
