"""Background jobs: long work (imports, large returns) run by the job worker while the
page shows its progress. The row says what was asked and how it ended; progress while it
runs is kept in the queue's own store (see funds.jobs)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.user import User


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What runs (a key of funds.jobs.HANDLERS), e.g. "import.check".
    kind: Mapped[str] = mapped_column(String(40))
    #: A short description for people ("Checking awards.xlsx").
    title: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        db_enum(JobStatus), default=JobStatus.QUEUED
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it failed, in words for the person who asked.
    error: Mapped[str | None] = mapped_column(Text)
    #: Where the result is shown (a path in the app), or a file to download.
    result_url: Mapped[str | None] = mapped_column(String(200))
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_data: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    created_by: Mapped[User] = relationship()
