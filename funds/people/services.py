"""Households and young people: create, update, find likely duplicates."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from funds.audit import record_event
from funds.errors import ValidationError
from funds.extensions import db
from funds.models import (
    Disability,
    Ethnicity,
    Gender,
    Household,
    Team,
    User,
    YoungPerson,
)

#: Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
# The outward code of a UK postcode: SO14, SW1A, M1, B33, EC1A...
_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?")
_FULL_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][0-9A-Z]?)\s*[0-9][A-Z]{2}")


def new_reference(prefix: str, model) -> str:
    """A random reference such as ``H-7K3Q9M``, never derived from anything about the person."""
    for _ in range(20):
        reference = prefix + "".join(
            secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH)
        )
        if (
            db.session.scalar(select(model.id).where(model.reference == reference))
            is None
        ):
            return reference
    raise RuntimeError(
        "could not find a free reference"
    )  # 31^6 ≈ 887 million: never in practice


def normalise_district(value: str | None) -> str | None:
    """``so14`` or ``SO14 0AB`` → ``SO14``; only the district is kept.

    :raises ValidationError: on ``postcode_district`` when it is not a UK postcode district.
    """
    if value is None or not value.strip():
        return None
    cleaned = value.strip().upper()
    full = _FULL_POSTCODE.fullmatch(cleaned)
    if full:
        return full.group(1)
    if _DISTRICT.fullmatch(cleaned):
        return cleaned
    raise ValidationError(
        "Enter the first part of a UK postcode, like SO14 (or the whole postcode)",
        field="postcode_district",
    )


@dataclass(frozen=True)
class HouseholdInput:
    """The facts a form gives about a household."""

    adults: int = 1
    children: int = 0
    has_children: bool = False
    has_pensioner: bool = False
    has_disabled_person: bool = False
    has_care_leaver: bool = False
    postcode_district: str | None = None
    case_reference: str | None = None
    team_id: int | None = None
    name: str | None = None
    contact: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class YoungPersonInput:
    """The facts a form gives about a young person."""

    date_of_birth: date | None = None
    gender: Gender = Gender.NOT_SAID
    ethnicity: Ethnicity = Ethnicity.NOT_SAID
    disability: Disability = Disability.NOT_SAID
    case_reference: str | None = None
    team_id: int | None = None
    household_id: int | None = None
    name: str | None = None
    contact: str | None = None
    notes: str | None = None


def _check_team(team_id: int | None) -> None:
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ValidationError("Choose a team", field="team")


def _household_values(data: HouseholdInput) -> dict:
    if data.children > 0 and not data.has_children:
        raise ValidationError(
            "Tick 'children' when the household has children", field="has_children"
        )
    if data.has_children and data.children == 0:
        raise ValidationError("Enter how many children there are", field="children")
    if data.adults + data.children < 1:
        raise ValidationError("A household has at least one person", field="adults")
    _check_team(data.team_id)
    return {
        "adults": data.adults,
        "children": data.children,
        "has_children": data.has_children,
        "has_pensioner": data.has_pensioner,
        "has_disabled_person": data.has_disabled_person,
        "has_care_leaver": data.has_care_leaver,
        "postcode_district": normalise_district(data.postcode_district),
        "case_reference": (data.case_reference or "").strip() or None,
        "team_id": data.team_id,
        "name": (data.name or "").strip() or None,
        "contact": (data.contact or "").strip() or None,
        "notes": data.notes or None,
    }


# Personal details are audited as "changed", never copied into the audit trail.
_PRIVATE = {"name", "contact", "notes", "date_of_birth"}


def _audit_values(values: dict) -> dict:
    return {
        k: ("(recorded)" if v else None) if k in _PRIVATE else v
        for k, v in values.items()
    }


def household_duplicates(
    data: HouseholdInput, *, exclude_id: int | None = None
) -> list[Household]:
    """Households that look like this one: the same case reference, or the same name."""
    conditions = []
    if data.case_reference and data.case_reference.strip():
        conditions.append(Household.case_reference == data.case_reference.strip())
    if data.name and data.name.strip():
        conditions.append(func.lower(Household.name) == data.name.strip().lower())
    if not conditions:
        return []
    query = select(Household).where(or_(*conditions), Household.erased_at.is_(None))
    if exclude_id is not None:
        query = query.where(Household.id != exclude_id)
    return list(db.session.scalars(query.limit(5)))


def young_person_duplicates(
    data: YoungPersonInput, *, exclude_id: int | None = None
) -> list[YoungPerson]:
    """Young people who look like this one: the same case reference, or name and birth date."""
    conditions = []
    if data.case_reference and data.case_reference.strip():
        conditions.append(YoungPerson.case_reference == data.case_reference.strip())
    if data.name and data.name.strip() and data.date_of_birth:
        conditions.append(
            (func.lower(YoungPerson.name) == data.name.strip().lower())
            & (YoungPerson.date_of_birth == data.date_of_birth)
        )
    if not conditions:
        return []
    query = select(YoungPerson).where(or_(*conditions), YoungPerson.erased_at.is_(None))
    if exclude_id is not None:
        query = query.where(YoungPerson.id != exclude_id)
    return list(db.session.scalars(query.limit(5)))


def create_household(data: HouseholdInput, *, actor: User) -> Household:
    """Add a household with a fresh random reference."""
    values = _household_values(data)
    household = Household(reference=new_reference("H-", Household), **values)
    db.session.add(household)
    db.session.flush()
    record_event(
        "household.create", actor=actor, obj=household, after=_audit_values(values)
    )
    return household


def update_household(
    household: Household, data: HouseholdInput, *, actor: User
) -> None:
    """Change a household's facts (its reference never changes)."""
    values = _household_values(data)
    before = {k: getattr(household, k) for k in values}
    for key, value in values.items():
        setattr(household, key, value)
    db.session.flush()
    changed = {k for k in values if before[k] != values[k]}
    if changed:
        record_event(
            "household.update",
            actor=actor,
            obj=household,
            before=_audit_values({k: before[k] for k in changed}),
            after=_audit_values({k: values[k] for k in changed}),
        )


def _young_person_values(data: YoungPersonInput, *, today: date) -> dict:
    if data.date_of_birth is not None:
        if data.date_of_birth > today:
            raise ValidationError(
                "The date of birth cannot be in the future", field="date_of_birth"
            )
        if today.year - data.date_of_birth.year > 30:
            raise ValidationError(
                "Check the date of birth: young people supported are under 30",
                field="date_of_birth",
            )
    _check_team(data.team_id)
    if data.household_id is not None:
        household = db.session.get(Household, data.household_id)
        if household is None or household.erased_at is not None:
            raise ValidationError("Choose a household that exists", field="household")
    return {
        "date_of_birth": data.date_of_birth,
        "gender": Gender(data.gender),
        "ethnicity": Ethnicity(data.ethnicity),
        "disability": Disability(data.disability),
        "case_reference": (data.case_reference or "").strip() or None,
        "team_id": data.team_id,
        "household_id": data.household_id,
        "name": (data.name or "").strip() or None,
        "contact": (data.contact or "").strip() or None,
        "notes": data.notes or None,
    }


def create_young_person(
    data: YoungPersonInput, *, actor: User, today: date
) -> YoungPerson:
    """Add a young person with a fresh random reference."""
    values = _young_person_values(data, today=today)
    person = YoungPerson(reference=new_reference("YP-", YoungPerson), **values)
    db.session.add(person)
    db.session.flush()
    record_event(
        "young_person.create", actor=actor, obj=person, after=_audit_values(values)
    )
    return person


def update_young_person(
    person: YoungPerson, data: YoungPersonInput, *, actor: User, today: date
) -> None:
    """Change a young person's facts (the reference never changes)."""
    values = _young_person_values(data, today=today)
    before = {k: getattr(person, k) for k in values}
    for key, value in values.items():
        setattr(person, key, value)
    db.session.flush()
    changed = {k for k in values if before[k] != values[k]}
    if changed:
        record_event(
            "young_person.update",
            actor=actor,
            obj=person,
            before=_audit_values({k: before[k] for k in changed}),
            after=_audit_values({k: values[k] for k in changed}),
        )
