"""Period locks: once a return is submitted, nothing may be dated inside its period."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from funds.errors import ValidationError
from funds.extensions import db
from funds.models import PeriodLock


def active_lock(grant_id: int, day: date) -> PeriodLock | None:
    """The active lock of a grant that covers ``day``, if any."""
    return db.session.scalar(
        select(PeriodLock)
        .where(
            PeriodLock.grant_id == grant_id,
            PeriodLock.unlocked_at.is_(None),
            PeriodLock.starts_on <= day,
            PeriodLock.ends_on >= day,
        )
        .limit(1)
    )


def check_not_locked(grant_id: int, day: date, *, field: str = "awarded_on") -> None:
    """Refuse any ledger or attendance change dated inside a locked period.

    :raises ValidationError: on ``field``, naming the locked period.
    """
    lock = active_lock(grant_id, day)
    if lock is not None:
        raise lock_problem(lock, day, field=field)


def lock_problem(
    lock: PeriodLock, day: date, *, field: str = "awarded_on"
) -> ValidationError:
    """What is said of a date inside a locked period (the lock covers ``day``)."""
    return ValidationError(
        f"{day:%-d %B %Y} is in a locked period ({lock.starts_on:%-d %b %Y} to "
        f"{lock.ends_on:%-d %b %Y}): a return for it was submitted. A manager can unlock it.",
        field=field,
    )


def active_locks(grant_ids) -> dict[int, list[PeriodLock]]:
    """Every active lock of these grants, by grant (for checking many dates at once)."""
    found: dict[int, list[PeriodLock]] = {grant_id: [] for grant_id in grant_ids}
    if not found:
        return found
    for lock in db.session.scalars(
        select(PeriodLock).where(
            PeriodLock.grant_id.in_(list(found)), PeriodLock.unlocked_at.is_(None)
        )
    ):
        found[lock.grant_id].append(lock)
    return found


def covering(locks: list[PeriodLock], day: date) -> PeriodLock | None:
    """The lock among ``locks`` that covers ``day``, if any."""
    return next((lock for lock in locks if lock.starts_on <= day <= lock.ends_on), None)
