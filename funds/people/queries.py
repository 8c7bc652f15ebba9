"""Reads about households and young people: lists, search, what each received."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.extensions import db
from funds.models import Disbursement, Household, Team, YoungPerson
from funds.money import from_pence, pence_sum

#: The most people a list shows at once; a search finds the rest.
LIST_LIMIT = 100


@dataclass(frozen=True)
class PeopleList:
    """One list page: the rows shown and whether more matched than are shown."""

    rows: list
    more: bool


def matching(model, q: str | None, *, with_names: bool):
    """Rows whose reference or case reference (or, if allowed, name) contains ``q``."""
    text = (q or "").strip()
    if not text:
        return None
    fields = [model.reference, model.case_reference]
    if with_names:
        # Only roles that may see names may find people by them: otherwise the search
        # box would tell finance whose name is on which reference.
        fields.append(model.name)
    # lower() on both sides ignores case; SQLite's lower() folds ASCII only, so the
    # text as typed is tried too (then "Zoë" finds "Zoë" on both engines).
    return or_(
        *(
            condition
            for field in fields
            for condition in (
                func.lower(field).contains(text.lower(), autoescape=True),
                field.contains(text, autoescape=True),
            )
        )
    )


def _list(query: Select, model, q, *, with_names, limit) -> PeopleList:
    condition = matching(model, q, with_names=with_names)
    if condition is not None:
        query = query.where(condition)
    query = query.order_by(model.created_at.desc(), model.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(query).unique())
    return PeopleList(rows[:limit], len(rows) > limit)


def list_households(
    q: str | None = None, *, with_names: bool, limit: int = LIST_LIMIT
) -> PeopleList:
    """The newest households (matching ``q`` when given), with their team loaded."""
    query = select(Household).options(joinedload(Household.team))
    return _list(query, Household, q, with_names=with_names, limit=limit)


def list_young_people(
    q: str | None = None, *, with_names: bool, limit: int = LIST_LIMIT
) -> PeopleList:
    """The newest young people (matching ``q`` when given), with team and household."""
    query = select(YoungPerson).options(
        joinedload(YoungPerson.team), joinedload(YoungPerson.household)
    )
    return _list(query, YoungPerson, q, with_names=with_names, limit=limit)


def young_people_in(household_id: int) -> list[YoungPerson]:
    """The young people linked to a household, oldest record first."""
    return list(
        db.session.scalars(
            select(YoungPerson)
            .where(YoungPerson.household_id == household_id)
            .order_by(YoungPerson.id)
        )
    )


def teams() -> list[Team]:
    """Every team, by name (for the team select)."""
    return list(db.session.scalars(select(Team).order_by(Team.name)))


@dataclass(frozen=True)
class Received:
    """What one beneficiary received across every grant."""

    #: Awards made, not counting reversals or awards that were later reversed.
    awards: int
    #: Awards less reversals.
    net: Decimal
    #: How many different grants paid for something.
    grants: int


def received(
    *, household_id: int | None = None, young_person_id: int | None = None
) -> Received:
    """Totals over a household's or a young person's ledger lines, summed in SQL."""
    reversal = aliased(Disbursement)
    standing_award = (Disbursement.reverses_id.is_(None)) & (reversal.id.is_(None))
    query = select(
        func.coalesce(func.sum(case((standing_award, 1), else_=0)), 0),
        pence_sum(Disbursement.amount),
        func.count(func.distinct(Disbursement.grant_id)),
        # At most one reversal per award (reverses_id is unique): no double counting.
    ).outerjoin(reversal, reversal.reverses_id == Disbursement.id)
    if household_id is not None:
        query = query.where(Disbursement.household_id == household_id)
    elif young_person_id is not None:
        query = query.where(Disbursement.young_person_id == young_person_id)
    else:
        raise ValueError("give a household_id or a young_person_id")
    awards, pence, grants = db.session.execute(query).one()
    return Received(int(awards), from_pence(int(pence)), int(grants))
