"""Imports of spreadsheets: the file as uploaded, how its columns map, what checking found,
what it created (by source key, so a second import of the same rows adds nothing), and the
column mappings saved for next time."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.user import User


class ImportStatus(enum.StrEnum):
    #: Uploaded; the columns are being matched.
    UPLOADED = "uploaded"
    #: Checked: every row validated; counts and problems known.
    CHECKED = "checked"
    #: Everything went in, in one transaction.
    IMPORTED = "imported"
    #: Taken back as a whole.
    UNDONE = "undone"


class ImportRun(Base):
    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: households, young_people, grants, awards, sessions
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    status: Mapped[ImportStatus] = mapped_column(
        db_enum(ImportStatus), default=ImportStatus.UPLOADED
    )
    #: The file's headings, and {field key: column index} as chosen.
    header: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    #: Columns (0 for the first) that hold formulas, found when the file was checked at
    #: upload (the stored file is not scanned again).
    formula_columns: Mapped[list] = mapped_column(JSON, default=list)
    #: rows, new, existing, errors (and what was created, once imported).
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The mapping is "mapped" once someone confirmed it.
    mapped: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    undone_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    undo_reason: Mapped[str | None] = mapped_column(Text)
    #: The job now working on it (checking, importing or undoing), if any.
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"))

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    imported_by: Mapped[User | None] = relationship(foreign_keys=[imported_by_id])
    undone_by: Mapped[User | None] = relationship(foreign_keys=[undone_by_id])


class ImportProblem(Base):
    """One thing wrong with one row, found when checking (replaced at each check)."""

    __tablename__ = "import_problems"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"), index=True)
    #: The row number in the spreadsheet (1 is usually the headings).
    row: Mapped[int]
    #: The column's heading in the file, or "" for the row as a whole.
    column: Mapped[str] = mapped_column(String(200))
    value: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)


class ImportRecord(Base):
    """What one row of an import created, found again by its source key."""

    __tablename__ = "import_records"
    __table_args__ = (
        UniqueConstraint("kind", "source_key"),
        Index("ix_import_records_import", "import_id", "object_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("imports.id"))
    kind: Mapped[str] = mapped_column(String(20))
    #: The row's id in the old spreadsheet, or a fingerprint of the row when it has none.
    source_key: Mapped[str] = mapped_column(String(120))
    row: Mapped[int]
    object_id: Mapped[int]


class ImportMapping(Base):
    """A column mapping saved by name, offered for the next file of the same kind."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    #: {field key: the heading it was found under}
    columns: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
