"""Submitted funder returns and the period locks they create."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.append_only import make_append_only
from funds.models.base import Base, UTCDateTime, utcnow
from funds.models.grant import Grant
from funds.models.user import User


class ReturnDefinition(Base):
    """One saved version of a manager's own return definition (never changed once saved).

    The built-in definitions live as files in ``funds/returns/definitions``; these are the
    copies managers made and changed, each save a new version.
    """

    __tablename__ = "return_definitions"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(120))
    #: The whole definition as plain data (funds.returns.definition.definition_dict).
    body: Mapped[dict] = mapped_column(JSON)
    #: ``key@version`` of the definition it was copied from.
    based_on: Mapped[str | None] = mapped_column(String(60))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by: Mapped[User] = relationship()


make_append_only(ReturnDefinition.__table__)


class DefinitionDraft(Base):
    """A definition a manager is changing; saving it makes a new ReturnDefinition version."""

    __tablename__ = "definition_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[dict] = mapped_column(JSON)
    based_on: Mapped[str | None] = mapped_column(String(60))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow
    )

    created_by: Mapped[User] = relationship()


class FunderReturn(Base):
    """A return as submitted: the workbook and its figures are kept exactly as sent."""

    __tablename__ = "funder_returns"
    __table_args__ = (
        CheckConstraint("period_to >= period_from", name="period_order"),
        Index("ix_funder_returns_grant", "grant_id", "period_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    #: The definition the return was built from: its key, version and whole text, so that
    #: it rebuilds the same way later whatever happens to the definition.
    definition_key: Mapped[str] = mapped_column(String(40))
    definition_version: Mapped[int]
    definition: Mapped[dict] = mapped_column(JSON)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    #: The summary figures as computed from the ledger when submitted.
    figures: Mapped[dict] = mapped_column(JSON)
    #: SHA-256 of the figures, shown on the workbook's cover sheet.
    checksum: Mapped[str] = mapped_column(String(64))
    workbook: Mapped[bytes] = mapped_column(LargeBinary)
    filename: Mapped[str] = mapped_column(String(120))
    #: Who signed the return off and the funder's point of contact, as typed.
    signoff: Mapped[dict | None] = mapped_column(JSON)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    grant: Mapped[Grant] = relationship()
    submitted_by: Mapped[User] = relationship()

    @property
    def title(self) -> str:
        return (self.definition or {}).get("title") or self.definition_key

    @property
    def is_legacy(self) -> bool:
        """Submitted before return definitions: kept as sent, not rebuilt."""
        return bool((self.definition or {}).get("legacy"))


make_append_only(FunderReturn.__table__)


class PeriodLock(Base):
    """No ledger change may be dated inside a locked period of a grant until it is unlocked."""

    __tablename__ = "period_locks"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="period_order"),
        Index("ix_period_locks_grant", "grant_id", "starts_on", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    funder_return_id: Mapped[int | None] = mapped_column(
        ForeignKey("funder_returns.id")
    )
    locked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    unlocked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unlock_reason: Mapped[str | None] = mapped_column(Text)

    grant: Mapped[Grant] = relationship()
    funder_return: Mapped[FunderReturn | None] = relationship()
    locked_by: Mapped[User] = relationship(foreign_keys=[locked_by_id])
    unlocked_by: Mapped[User | None] = relationship(foreign_keys=[unlocked_by_id])

    @property
    def active(self) -> bool:
        return self.unlocked_at is None
