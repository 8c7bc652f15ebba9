"""Reads about households and young people: lists, search, what each received."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.extensions import db
from funds.models import (
    Disability,
    Disbursement,
    Ethnicity,
    Gender,
    Household,
    Team,
    YoungPerson,
)
from funds.money import from_pence, pence_sum

#: The most people a list shows at once; a search finds the rest.
LIST_LIMIT = 100


@dataclass(frozen=True)
class PeopleList:
    """One list page: the rows shown and whether more matched than are shown."""

    rows: list
    more: bool
    #: Which page of the list this is (1 for the first).
    page: int = 1


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


def _list(query: Select, model, q, *, with_names, limit, page) -> PeopleList:
    condition = matching(model, q, with_names=with_names)
    if condition is not None:
        query = query.where(condition)
    query = (
        query.order_by(model.created_at.desc(), model.id.desc())
        .offset((page - 1) * limit)
        .limit(limit + 1)
    )
    rows = list(db.session.scalars(query).unique())
    return PeopleList(rows[:limit], len(rows) > limit, page)


def list_households(
    q: str | None = None,
    *,
    with_names: bool,
    limit: int = LIST_LIMIT,
    page: int = 1,
) -> PeopleList:
    """The newest households (matching ``q`` when given), with their team loaded; one
    page of ``limit``. ``with_names``: ``q`` may match a name too."""
    query = select(Household).options(joinedload(Household.team))
    return _list(query, Household, q, with_names=with_names, limit=limit, page=page)


def list_young_people(
    q: str | None = None,
    *,
    with_names: bool,
    limit: int = LIST_LIMIT,
    page: int = 1,
) -> PeopleList:
    """The newest young people (matching ``q`` when given), with team and household;
    one page of ``limit``. ``with_names``: ``q`` may match a name too."""
    query = select(YoungPerson).options(
        joinedload(YoungPerson.team), joinedload(YoungPerson.household)
    )
    return _list(query, YoungPerson, q, with_names=with_names, limit=limit, page=page)


def _download_query(query: Select, model, q, *, with_names: bool) -> Select:
    condition = matching(model, q, with_names=with_names)
    if condition is not None:
        query = query.where(condition)
    return query.order_by(model.created_at.desc(), model.id.desc()).execution_options(
        yield_per=1000
    )


def household_download_rows(
    q: str | None, *, with_names: bool, by_name: bool | None = None
) -> Iterator[tuple]:
    """Every household the list (and its search) finds, newest first, as download rows:
    reference, [name, contact,] case reference, team, adults, children, the four group
    flags, postcode district, date added. Names and contact details only ``with_names``;
    ``q`` matches names only ``by_name`` (default: ``with_names``)."""
    team = aliased(Team)
    columns = [Household.reference]
    if with_names:
        columns += [Household.name, Household.contact]
    columns += [
        Household.case_reference,
        team.name,
        Household.adults,
        Household.children,
        Household.has_children,
        Household.has_pensioner,
        Household.has_disabled_person,
        Household.has_care_leaver,
        Household.postcode_district,
        Household.created_at,
    ]
    query = select(*columns).outerjoin(team, team.id == Household.team_id)
    for row in db.session.execute(
        _download_query(
            query,
            Household,
            q,
            with_names=with_names if by_name is None else by_name,
        )
    ):
        *facts, created_at = row
        yield (*facts, created_at.date())


def young_people_download_rows(
    q: str | None, *, with_names: bool, today: date, by_name: bool | None = None
) -> Iterator[tuple]:
    """Every young person the list (and its search) finds, newest first, as download
    rows: reference, [name, contact,] case reference, age today, gender, ethnic group,
    disability, team, household reference, date added. Names and contact details only
    ``with_names``; the date of birth never (the list shows the age)."""
    team = aliased(Team)
    household = aliased(Household)
    columns = [YoungPerson.reference]
    if with_names:
        columns += [YoungPerson.name, YoungPerson.contact]
    columns += [
        YoungPerson.case_reference,
        YoungPerson.date_of_birth,
        YoungPerson.gender,
        YoungPerson.ethnicity,
        YoungPerson.disability,
        team.name,
        household.reference,
        YoungPerson.created_at,
    ]
    query = (
        select(*columns)
        .outerjoin(team, team.id == YoungPerson.team_id)
        .outerjoin(household, household.id == YoungPerson.household_id)
    )
    named = 3 if with_names else 1
    for row in db.session.execute(
        _download_query(
            query,
            YoungPerson,
            q,
            with_names=with_names if by_name is None else by_name,
        )
    ):
        (
            case_reference,
            born,
            gender,
            ethnicity,
            disability,
            team_name,
            household_reference,
            created_at,
        ) = row[named:]
        age = None
        if born is not None:
            age = (
                today.year
                - born.year
                - ((today.month, today.day) < (born.month, born.day))
            )
        yield (
            *row[:named],
            case_reference,
            age,
            Gender(gender).label,
            Ethnicity(ethnicity).label,
            Disability(disability).label,
            team_name,
            household_reference,
            created_at.date(),
        )


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


def person_by_reference(reference: str | None) -> Household | YoungPerson | None:
    """The household or young person with this reference (any case), erased or not, or
    None: the one lookup by reference for erasure, subject access and their commands."""
    cleaned = (reference or "").strip().upper()
    if not cleaned:
        return None
    for model in (Household, YoungPerson):
        found = db.session.scalar(select(model).where(model.reference == cleaned))
        if found is not None:
            return found
    return None
