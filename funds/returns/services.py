"""Building returns, submitting them (which locks the period) and unlocking periods."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from funds.audit import record_event
from funds.database import lock_for_update
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    Disbursement,
    FunderReturn,
    Grant,
    PeriodLock,
    ReturnTemplate,
    Role,
    User,
)
from funds.models.base import utcnow
from funds.returns import queries
from funds.returns.workbooks import (
    ReturnContext,
    build_activities_workbook,
    build_budget_workbook,
    build_hsf_workbook,
)
from funds.returns.xlsx import workbook_bytes

MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)


def plain(value):
    """Figures as JSON-ready values: Decimals become strings, exactly."""
    if isinstance(value, Decimal):
        return str(value)
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


def figures_for(template: ReturnTemplate, scope: queries.Scope) -> dict:
    """The figures of one return, computed in SQL."""
    if template == ReturnTemplate.HSF:
        return queries.hsf_figures(scope)
    if template == ReturnTemplate.ACTIVITIES:
        return queries.activity_figures(scope)
    return queries.budget_figures(scope)


def return_figures(
    grant: Grant, *, template: ReturnTemplate, date_from: date, date_to: date
) -> tuple[dict, str]:
    """A return's figures and their checksum, without building the workbook."""
    check_period(grant, date_from, date_to)
    figures = figures_for(
        ReturnTemplate(template), queries.Scope(grant, date_from, date_to)
    )
    return figures, checksum(figures)


@dataclass(frozen=True)
class BuiltReturn:
    """A return built from the ledger: figures, their checksum, the workbook file."""

    figures: dict
    checksum: str
    workbook: bytes
    filename: str


def slug(text: str) -> str:
    """A filename-safe version of a reference: letters, digits, dot, dash, underscore only."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "grant"


def return_filename(
    grant: Grant, template: ReturnTemplate, date_from: date, date_to: date
) -> str:
    """``funder-return-C4C-HSF4-hsf-2023-04-01-to-2024-03-31.xlsx``."""
    return f"funder-return-{slug(grant.reference)}-{template.value}-{date_from.isoformat()}-to-{date_to.isoformat()}.xlsx"


def build_return(
    grant: Grant,
    *,
    template: ReturnTemplate,
    date_from: date,
    date_to: date,
    prepared_by: str,
    prepared_on: date,
    organisation: str,
) -> BuiltReturn:
    """Build a return's figures and workbook from the ledger (nothing is written)."""
    template = ReturnTemplate(template)
    check_period(grant, date_from, date_to)
    scope = queries.Scope(grant, date_from, date_to)
    figures = figures_for(template, scope)
    digest = checksum(figures)
    context = ReturnContext(
        organisation=organisation,
        funder=grant.funder.name,
        grant_reference=grant.reference,
        grant_title=grant.title,
        grant_total=grant.total,
        grant_starts_on=grant.starts_on,
        grant_ends_on=grant.ends_on,
        template_label=template.label,
        period_from=date_from,
        period_to=date_to,
        prepared_by=prepared_by,
        prepared_on=prepared_on,
        checksum=digest,
    )
    to_date = template == ReturnTemplate.BUDGET
    count = queries.transaction_count(scope, to_date=to_date)
    rows = queries.transactions(
        scope, to_date=to_date, households_only=template == ReturnTemplate.HSF
    )
    if template == ReturnTemplate.HSF:
        workbook = build_hsf_workbook(context, figures, rows, count)
    elif template == ReturnTemplate.ACTIVITIES:
        workbook = build_activities_workbook(
            context,
            figures,
            rows,
            count,
            queries.activity_sessions(scope),
            queries.activity_attendances(scope),
        )
    else:
        workbook = build_budget_workbook(context, figures, rows, count)
    return BuiltReturn(
        figures,
        digest,
        workbook_bytes(workbook),
        return_filename(grant, template, date_from, date_to),
    )


def submit_return(
    grant: Grant,
    *,
    actor: User,
    template: ReturnTemplate,
    date_from: date,
    date_to: date,
    organisation: str,
    today: date,
) -> FunderReturn:
    """Keep the return exactly as built and lock its period of the grant.

    :raises NotAllowed: for a role that may not submit returns.
    :raises ValidationError: for a bad period or one overlapping an active lock.
    """
    if actor.role not in MANAGER_ROLES:
        raise NotAllowed("Only a manager can submit a return")
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
        template=template,
        date_from=date_from,
        date_to=date_to,
        prepared_by=actor.name,
        prepared_on=today,
        organisation=organisation,
    )
    submitted = FunderReturn(
        grant_id=grant.id,
        template=ReturnTemplate(template),
        period_from=date_from,
        period_to=date_to,
        figures=plain(built.figures),
        checksum=built.checksum,
        workbook=built.workbook,
        filename=built.filename,
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
            "template": ReturnTemplate(template),
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


def compare_with_ledger(submitted: FunderReturn) -> Comparison:
    """Rebuild the submitted return's figures; list ledger lines in its period added since."""
    grant = submitted.grant
    scope = queries.Scope(grant, submitted.period_from, submitted.period_to)
    figures = figures_for(submitted.template, scope)
    current = checksum(figures)
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
