"""Building returns, submitting them (which locks the period) and unlocking periods."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import BinaryIO

from sqlalchemy import func, select

from funds.audit import record_event
from funds.database import lock_for_update, writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    Disbursement,
    FunderReturn,
    Grant,
    PeriodLock,
    Role,
    User,
)
from funds.models.base import utcnow
from funds.organisation import Organisation, current_organisation
from funds.returns.context import Context, Scope
from funds.returns.definition import Definition, definition_dict, parse_definition
from funds.returns.engine import Engine, TableFigures
from funds.returns.workbook import CoverFacts, build_workbook

MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
#: Finance locks periods by submitting returns; only a manager unlocks one.
SUBMIT_ROLES = (Role.FINANCE, Role.MANAGER, Role.ADMIN)


def plain(value):
    """Figures as JSON-ready values: Decimals become strings, exactly."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def checksum(figures: dict) -> str:
    """SHA-256 of the figures in a canonical JSON form."""
    canonical = json.dumps(plain(figures), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_period(grant: Grant, date_from: date, date_to: date) -> None:
    """A return covers part or all of the grant's period.

    :raises ValidationError: on ``date_from`` / ``date_to``.
    """
    if date_to < date_from:
        raise ValidationError(
            "The end of the period must be on or after its start", field="date_to"
        )
    if date_from < grant.starts_on or date_to > grant.ends_on:
        raise ValidationError(
            f"The period must be within the grant's period, {grant.starts_on:%-d %B %Y} to "
            f"{grant.ends_on:%-d %B %Y}",
            field="date_from" if date_from < grant.starts_on else "date_to",
        )


@dataclass(frozen=True)
class Figures:
    """A return's figures: the tables (for the page and the workbook) and their checksum."""

    definition: Definition
    engine: Engine
    tables: list[TableFigures]
    plain: dict
    checksum: str


def compute_figures(
    grant: Grant, *, definition: Definition, date_from: date, date_to: date
) -> Figures:
    """Every figure of a return, computed in SQL (nothing is written).

    :raises ValidationError: for a period outside the grant's.
    """
    check_period(grant, date_from, date_to)
    context = Context(Scope(grant, date_from, date_to), definition.value_labels)
    engine = Engine(definition, context)
    tables = engine.figures()
    figures = {
        "definition": {
            "key": definition.key,
            "version": definition.version,
            "title": definition.title,
        },
        "tables": [table.plain() for table in tables],
    }
    return Figures(definition, engine, tables, figures, checksum(figures))


@dataclass(frozen=True)
class WrittenReturn:
    """A return written to a file: its figures, their checksum, the file's name."""

    figures: Figures
    filename: str

    @property
    def checksum(self) -> str:
        return self.figures.checksum


@dataclass(frozen=True)
class BuiltReturn(WrittenReturn):
    """A return built in memory: also the workbook's bytes (for storing a submitted
    return; a download or the job worker writes to a file instead)."""

    workbook: bytes


def slug(text: str) -> str:
    """A filename-safe version of a reference: letters, digits, dot, dash, underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "grant"


def return_filename(grant: Grant, key: str, date_from: date, date_to: date) -> str:
    """``funder-return-C4C-HSF4-hsf-2023-04-01-to-2024-03-31.xlsx``."""
    return (
        f"funder-return-{slug(grant.reference)}-{slug(key)}-"
        f"{date_from.isoformat()}-to-{date_to.isoformat()}.xlsx"
    )


def write_return(
    grant: Grant,
    *,
    definition: Definition,
    date_from: date,
    date_to: date,
    prepared_by: str,
    prepared_on: date,
    target: BinaryIO,
    organisation: Organisation | None = None,
    signoff: dict | None = None,
) -> WrittenReturn:
    """Build a return's figures from the ledger and write its workbook to ``target`` (a
    seekable binary file); nothing is written to the database. The workbook streams to
    the file: at 1,000,000 lines it is never held whole in memory. The cover names the
    organisation from its details page unless another is given."""
    figures = compute_figures(
        grant, definition=definition, date_from=date_from, date_to=date_to
    )
    organisation = organisation or current_organisation()
    facts = CoverFacts(
        organisation=organisation.name,
        charity_number=organisation.charity_number,
        organisation_address=", ".join(
            line.strip() for line in organisation.address.splitlines() if line.strip()
        ),
        funder=grant.funder.name,
        grant_reference=grant.reference,
        grant_title=grant.title,
        grant_total=grant.total,
        grant_starts_on=grant.starts_on,
        grant_ends_on=grant.ends_on,
        period_from=date_from,
        period_to=date_to,
        prepared_by=prepared_by,
        prepared_on=prepared_on,
        checksum=figures.checksum,
        signoff=signoff or {},
    )
    build_workbook(figures.engine, figures.tables, facts).save(target)
    return WrittenReturn(
        figures, return_filename(grant, definition.key, date_from, date_to)
    )


def build_return(grant: Grant, **choices) -> BuiltReturn:
    """``write_return`` (the same keywords, no target), with the workbook's bytes."""
    with tempfile.TemporaryFile() as file:
        written = write_return(grant, target=file, **choices)
        file.seek(0)
        return BuiltReturn(written.figures, written.filename, file.read())


def submit_return(
    grant: Grant,
    *,
    actor: User,
    definition: Definition,
    date_from: date,
    date_to: date,
    today: date,
    organisation: Organisation | None = None,
    signoff: dict | None = None,
) -> FunderReturn:
    """Keep the return exactly as built and lock its period of the grant.

    :raises NotAllowed: for a role that may not submit returns.
    :raises ValidationError: for a bad period or one overlapping an active lock.
    """
    if actor.role not in SUBMIT_ROLES:
        raise NotAllowed("Only a manager or finance can submit a return")
    lock_for_update(Grant, grant.id)
    check_period(grant, date_from, date_to)
    overlapping = db.session.scalar(
        select(PeriodLock).where(
            PeriodLock.grant_id == grant.id,
            PeriodLock.unlocked_at.is_(None),
            PeriodLock.starts_on <= date_to,
            PeriodLock.ends_on >= date_from,
        )
    )
    if overlapping is not None:
        raise ValidationError(
            f"{overlapping.starts_on:%-d %b %Y} to {overlapping.ends_on:%-d %b %Y} is already locked by a "
            "submitted return: unlock it first or choose another period",
            field="date_from",
        )
    built = build_return(
        grant,
        definition=definition,
        date_from=date_from,
        date_to=date_to,
        prepared_by=actor.name,
        prepared_on=today,
        organisation=organisation,
        signoff=signoff,
    )
    submitted = FunderReturn(
        grant_id=grant.id,
        definition_key=definition.key,
        definition_version=definition.version,
        definition=definition_dict(definition),
        period_from=date_from,
        period_to=date_to,
        figures=built.figures.plain,
        checksum=built.checksum,
        workbook=built.workbook,
        filename=built.filename,
        signoff=plain(signoff) if signoff else None,
        submitted_by_id=actor.id,
    )
    db.session.add(submitted)
    db.session.flush()
    lock = PeriodLock(
        grant_id=grant.id,
        starts_on=date_from,
        ends_on=date_to,
        funder_return_id=submitted.id,
        locked_by_id=actor.id,
    )
    db.session.add(lock)
    db.session.flush()
    record_event(
        "funder_return.submit",
        actor=actor,
        obj=submitted,
        after={
            "grant": grant.reference,
            "definition": f"{definition.key} version {definition.version}",
            "period_from": date_from,
            "period_to": date_to,
            "checksum": built.checksum,
        },
    )
    record_event(
        "period.lock",
        actor=actor,
        obj=lock,
        after={"grant": grant.reference, "from": date_from, "to": date_to},
    )
    return submitted


@writes
def unlock_period(lock: PeriodLock, *, actor: User, reason: str) -> None:
    """Open a locked period again, with a reason (audited).

    :raises NotAllowed: for a role that may not, or a lock already undone.
    :raises ValidationError: without a reason.
    """
    if actor.role not in MANAGER_ROLES:
        raise NotAllowed("Only a manager can unlock a period")
    if not lock.active:
        raise NotAllowed("This period is already unlocked")
    if not reason or not reason.strip():
        raise ValidationError("Say why the period is being unlocked", field="reason")
    lock.unlocked_at = utcnow()
    lock.unlocked_by_id = actor.id
    lock.unlock_reason = reason.strip()
    db.session.flush()
    record_event(
        "period.unlock",
        actor=actor,
        obj=lock,
        before={"locked": True},
        after={"locked": False, "reason": lock.unlock_reason},
    )


@dataclass(frozen=True)
class Comparison:
    """A submitted return against the ledger now."""

    same: bool
    current_checksum: str
    later_entries: list[Disbursement]


def submitted_definition(submitted: FunderReturn) -> Definition:
    """The definition a return was built from, exactly as it was then."""
    return parse_definition(submitted.definition)


def rebuild_figures(submitted: FunderReturn) -> Figures:
    """A submitted return's figures recomputed from the ledger as it is now."""
    return compute_figures(
        submitted.grant,
        definition=submitted_definition(submitted),
        date_from=submitted.period_from,
        date_to=submitted.period_to,
    )


def compare_with_ledger(submitted: FunderReturn) -> Comparison | None:
    """Rebuild the submitted return's figures; list ledger lines in its period added since.

    None for a return submitted before definitions (its figures cannot be rebuilt).
    """
    if submitted.is_legacy:
        return None
    grant = submitted.grant
    current = rebuild_figures(submitted).checksum
    later = list(
        db.session.scalars(
            select(Disbursement)
            .where(
                Disbursement.grant_id == grant.id,
                Disbursement.awarded_on >= submitted.period_from,
                Disbursement.awarded_on <= submitted.period_to,
                Disbursement.created_at > submitted.submitted_at,
            )
            .order_by(Disbursement.awarded_on, Disbursement.id)
        )
    )
    return Comparison(current == submitted.checksum, current, later)


def returns_for_grant(grant_id: int) -> list[FunderReturn]:
    """A grant's submitted returns, newest first."""
    return list(
        db.session.scalars(
            select(FunderReturn)
            .where(FunderReturn.grant_id == grant_id)
            .order_by(FunderReturn.submitted_at.desc())
        )
    )


def locks_for_grant(grant_id: int) -> list[PeriodLock]:
    """A grant's period locks (active and undone), newest first."""
    return list(
        db.session.scalars(
            select(PeriodLock)
            .where(PeriodLock.grant_id == grant_id)
            .order_by(PeriodLock.locked_at.desc())
        )
    )


def submitted_count() -> int:
    """How many returns have been submitted (for the returns index)."""
    return db.session.scalar(select(func.count()).select_from(FunderReturn))
