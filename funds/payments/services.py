"""Making a payment run: every chosen award paid under the one rule, or none of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from funds.audit import record_event
from funds.database import begin_writing, lock_for_update
from funds.disbursements.services import (
    PAYMENT_ROLES,
    payment_rules,
    payment_statuses,
)
from funds.errors import Conflict, FundsError, NotAllowed, ValidationError
from funds.extensions import db
from funds.models import (
    AuditEvent,
    Disbursement,
    DisbursementPayment,
    Grant,
    PaymentRun,
    User,
)

#: The most awards one run pays (the page lists at most this many to tick).
MAX_RUN_LINES = 2000
#: How many refused lines a message names before it says "and N more".
_NAMED = 20


class RunRefused(NotAllowed):
    """Some chosen awards cannot be paid, so nothing was paid."""

    field = "awards"

    def __init__(self, problems: list[tuple[int, str]]):
        named = "; ".join(
            f"award {ident}: {reason[:1].lower()}{reason[1:]}"
            for ident, reason in problems[:_NAMED]
        )
        more = len(problems) - _NAMED
        if more > 0:
            named += f"; and {more} more"
        super().__init__(
            "Nothing was paid: "
            + ("this award" if len(problems) == 1 else f"these {len(problems)} awards")
            + f" cannot be paid in this run ({named}). Untick them, or check the list "
            "again, and pay the rest."
        )
        self.problems = problems


class RunAlreadyMade(Conflict):
    """This form was already sent (double-click or browser retry): the run exists."""

    def __init__(self, run_id: int):
        super().__init__("This payment run was already made; it was not made twice.")
        self.run_id = run_id


def _run_made_by_token(ids: list[int], form_token: str) -> int | None:
    """The run an earlier copy of this form made, if it paid exactly these awards."""
    run_ids = set(
        db.session.scalars(
            select(DisbursementPayment.payment_run_id).where(
                DisbursementPayment.disbursement_id.in_(ids)
            )
        )
    )
    if len(run_ids) != 1 or None in run_ids:
        return None
    run_id = run_ids.pop()
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "payment_run.create",
            AuditEvent.object_type == PaymentRun.__tablename__,
            AuditEvent.object_id == run_id,
        )
    )
    if any((event.after or {}).get("form_token") == form_token for event in events):
        return run_id
    return None


def create_payment_run(
    disbursement_ids: Iterable[int],
    *,
    actor: User,
    paid_on: date,
    reference: str,
    today: date,
    form_token: str | None = None,
) -> PaymentRun:
    """Mark every chosen award paid on ``paid_on`` under ``reference``, as one run.

    Each award meets the same rules as one marked paid alone (``payment_rules``); if any
    does not, the whole run is refused and nothing is written. The grants involved are
    locked in id order (two runs over the same grants cannot deadlock), so an award paid
    or reversed meanwhile is seen here.

    :raises NotAllowed: for a role that may not pay.
    :raises ValidationError: for no awards, too many, a bad date or no reference.
    :raises RunRefused: naming each award that cannot be paid.
    :raises RunAlreadyMade: when this form (``form_token``) already made the run.
    """
    if actor.role not in PAYMENT_ROLES:
        raise NotAllowed("Only finance can pay awards")
    ids = sorted(set(disbursement_ids))
    if not ids:
        raise ValidationError("Tick at least one award to pay", field="awards")
    if len(ids) > MAX_RUN_LINES:
        raise ValidationError(
            f"A payment run pays at most {MAX_RUN_LINES:,} awards: untick some, or "
            "narrow the filter",
            field="awards",
        )
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError("Enter the payment reference", field="reference")
    if paid_on > today:
        raise ValidationError(
            "The payment date cannot be in the future", field="paid_on"
        )
    # A line's grant never changes, so it can be read before the locks are taken.
    grant_ids = sorted(
        set(
            db.session.scalars(
                select(Disbursement.grant_id).where(Disbursement.id.in_(ids))
            )
        )
    )
    for grant_id in grant_ids:
        lock_for_update(Grant, grant_id)
    if form_token:
        made = _run_made_by_token(ids, form_token)
        if made is not None:
            raise RunAlreadyMade(made)
    lines = list(
        db.session.scalars(
            select(Disbursement)
            .where(Disbursement.id.in_(ids))
            .order_by(Disbursement.id)
        )
    )
    statuses = payment_statuses(ids)
    found = {line.id for line in lines}
    problems = [
        (ident, "There is no such award") for ident in ids if ident not in found
    ]
    for line in lines:
        try:
            payment_rules(
                line,
                statuses[line.id],
                paid_on=paid_on,
                payment_reference=reference,
                today=today,
            )
        except FundsError as error:
            problems.append((line.id, error.message))
    if problems:
        raise RunRefused(sorted(problems))

    run = PaymentRun(
        paid_on=paid_on,
        reference=reference,
        lines=len(lines),
        total=sum((line.amount for line in lines), Decimal("0.00")),
        created_by_id=actor.id,
    )
    db.session.add(run)
    db.session.flush()
    db.session.add_all(
        DisbursementPayment(
            disbursement_id=line.id,
            paid_on=paid_on,
            payment_reference=reference,
            recorded_by_id=actor.id,
            payment_run_id=run.id,
        )
        for line in lines
    )
    db.session.flush()
    record_event(
        "payment_run.create",
        actor=actor,
        obj=run,
        after={
            "paid_on": paid_on,
            "reference": reference,
            "lines": run.lines,
            "total": run.total,
            "disbursement_ids": ids,
            "form_token": form_token,
        },
    )
    return run


def record_remittance_download(run: PaymentRun, *, actor: User, fmt: str) -> None:
    """Put a download of a run's remittance on record."""
    begin_writing()
    record_event("payment_run.remittance", actor=actor, obj=run, after={"format": fmt})
