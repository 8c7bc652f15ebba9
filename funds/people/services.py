"""Households and young people: create, update, find likely duplicates."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select

from funds.audit import record_event
from funds.database import writes
from funds.errors import Conflict, NotAllowed, ValidationError
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
from funds.validators import text_problem

#: Letters and digits that cannot be mistaken for each other (no 0/O, 1/I/L).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 6
#: What a generated reference looks like (``H-7K3Q9M``, ``YP-4XW2PD``).
HOUSEHOLD_REFERENCE = re.compile(rf"H-[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")
YOUNG_PERSON_REFERENCE = re.compile(rf"YP-[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}")
#: The oldest age the service supports (young people up to and including 30).
MAX_AGE = 30
#: The most adults or children a household can be recorded with (a database check too).
MAX_PEOPLE = 20
# The outward code of a UK postcode: SO14, SW1A, M1, B33, EC1A...
_DISTRICT = re.compile(r"[A-Z]{1,2}[0-9][0-9A-Z]?")
_FULL_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][0-9A-Z]?) ?[0-9][A-Z]{2}")
CHILDREN_NOT_TICKED = "Tick ‘Children’ when the household has children"
CHILDREN_NOT_COUNTED = "Enter how many children there are"
# Column sizes (the models' String lengths).
_LENGTHS = {"case_reference": 40, "name": 120, "contact": 200, "notes": 2000}


class LikelyDuplicate(Conflict):
    """Someone already recorded looks like the one being added.

    ``matches`` are the existing records; the user confirms before a new one is made.
    """

    def __init__(self, message: str, matches: list):
        super().__init__(message)
        self.matches = matches


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
    # 31^6 is about 887 million references: this never happens in practice.
    raise RuntimeError("could not find a free reference")


def normalise_district(value: str | None) -> str | None:
    """``so14`` or ``SO14 0AB`` → ``SO14``; only the district is kept.

    :raises ValidationError: on ``postcode_district`` when it is not a UK postcode district.
    """
    if value is None or not value.strip():
        return None
    # ASCII only, checked before upper-casing: "ß1".upper() is the district "SS1".
    if value.isascii():
        cleaned = " ".join(value.split()).upper()
        full = _FULL_POSTCODE.fullmatch(cleaned)
        if full:
            return full.group(1)
        if _DISTRICT.fullmatch(cleaned):
            return cleaned
    raise ValidationError(
        "Enter the first part of a UK postcode, like SO14 (or the whole postcode)",
        field="postcode_district",
    )


def normalise_reference(value: str | None) -> str | None:
    """A typed reference as stored: trimmed and upper case (``h-7k3q9m`` → ``H-7K3Q9M``)."""
    if value is None or not value.strip():
        return None
    return value.strip().upper()


def age_on(born: date, day: date) -> int:
    """Age in whole years on ``day`` (a 29 February birthday counts from 1 March)."""
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


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
    """The facts a form gives about a young person.

    The household is given by id, or by the reference a user typed (``H-7K3Q9M``).
    """

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
    household_reference: str | None = None


def _check_team(team_id: int | None) -> None:
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ValidationError("Choose a team from the list", field="team")


def _text(value: str | None, field: str, *, multiline: bool = False) -> str | None:
    """Trimmed text or None, refused when it cannot be stored safely.

    The forms check the same; this keeps a service caller from storing control
    characters or overflowing a column.
    """
    if value is None:
        return None
    cleaned = value if multiline else value.strip()
    if not cleaned.strip():
        return None
    problem = text_problem(cleaned, multiline=multiline)
    if problem:
        raise ValidationError(problem, field=field)
    if len(cleaned) > _LENGTHS[field]:
        raise ValidationError(
            f"Enter {_LENGTHS[field]:,} characters or fewer", field=field
        )
    return cleaned


def _count(value: int, field: str) -> int:
    if not 0 <= value <= MAX_PEOPLE:
        raise ValidationError(f"Enter a number from 0 to {MAX_PEOPLE}", field=field)
    return value


def _household_values(data: HouseholdInput) -> dict:
    adults = _count(data.adults, "adults")
    children = _count(data.children, "children")
    if children > 0 and not data.has_children:
        raise ValidationError(CHILDREN_NOT_TICKED, field="has_children")
    if data.has_children and children == 0:
        raise ValidationError(CHILDREN_NOT_COUNTED, field="children")
    if adults + children < 1:
        raise ValidationError("A household has at least one person", field="adults")
    _check_team(data.team_id)
    return {
        "adults": adults,
        "children": children,
        "has_children": data.has_children,
        "has_pensioner": data.has_pensioner,
        "has_disabled_person": data.has_disabled_person,
        "has_care_leaver": data.has_care_leaver,
        "postcode_district": normalise_district(data.postcode_district),
        "case_reference": _text(data.case_reference, "case_reference"),
        "team_id": data.team_id,
        "name": _text(data.name, "name"),
        "contact": _text(data.contact, "contact"),
        "notes": _text(data.notes, "notes", multiline=True),
    }


# Personal details are audited as "changed", never copied into the audit trail.
_PRIVATE = {"name", "contact", "notes", "date_of_birth"}


def _audit_values(values: dict) -> dict:
    return {
        k: ("(recorded)" if v else None) if k in _PRIVATE else v
        for k, v in values.items()
    }


def _same_text(column, value: str):
    """Equal ignoring case. SQLite's lower() only folds ASCII, so an exact match is
    tried too: "Zoë" finds "Zoë" everywhere, and "ZOË" on PostgreSQL."""
    return or_(column == value, func.lower(column) == value.lower())


def _same_case_reference(column, value: str | None):
    value = (value or "").strip()
    return _same_text(column, value) if value else None


def household_duplicates(
    data: HouseholdInput, *, exclude_id: int | None = None
) -> list[Household]:
    """Households that look like this one: the same case reference, or the same name."""
    conditions = []
    same_case = _same_case_reference(Household.case_reference, data.case_reference)
    if same_case is not None:
        conditions.append(same_case)
    if data.name and data.name.strip():
        conditions.append(_same_text(Household.name, data.name.strip()))
    if not conditions:
        return []
    query = select(Household).where(or_(*conditions), Household.erased_at.is_(None))
    if exclude_id is not None:
        query = query.where(Household.id != exclude_id)
    return list(db.session.scalars(query.order_by(Household.id).limit(5)))


def young_person_duplicates(
    data: YoungPersonInput, *, exclude_id: int | None = None
) -> list[YoungPerson]:
    """Young people who look like this one: the same case reference, or name and birth date."""
    conditions = []
    same_case = _same_case_reference(YoungPerson.case_reference, data.case_reference)
    if same_case is not None:
        conditions.append(same_case)
    if data.name and data.name.strip() and data.date_of_birth:
        conditions.append(
            _same_text(YoungPerson.name, data.name.strip())
            & (YoungPerson.date_of_birth == data.date_of_birth)
        )
    if not conditions:
        return []
    query = select(YoungPerson).where(or_(*conditions), YoungPerson.erased_at.is_(None))
    if exclude_id is not None:
        query = query.where(YoungPerson.id != exclude_id)
    return list(db.session.scalars(query.order_by(YoungPerson.id).limit(5)))


@writes
def create_household(
    data: HouseholdInput, *, actor: User, check_duplicates: bool = False
) -> Household:
    """Add a household with a fresh random reference.

    :param check_duplicates: refuse (with the matches) when it looks like one already
        recorded; the user then confirms and the view calls again without the check.
    :raises ValidationError: for facts that break a rule.
    :raises LikelyDuplicate: when ``check_duplicates`` and a likely match exists.
    """
    values = _household_values(data)
    if check_duplicates:
        matches = household_duplicates(data)
        if matches:
            raise LikelyDuplicate(
                "This household may already be recorded", matches=matches
            )
    household = Household(reference=new_reference("H-", Household), **values)
    db.session.add(household)
    db.session.flush()
    record_event(
        "household.create", actor=actor, obj=household, after=_audit_values(values)
    )
    return household


def _refuse_erased(record, what: str) -> None:
    if record.erased_at is not None:
        raise NotAllowed(
            f"This {what}'s personal details were erased: it cannot be changed"
        )


@writes
def update_household(
    household: Household, data: HouseholdInput, *, actor: User
) -> None:
    """Change a household's facts (its reference never changes).

    :raises NotAllowed: when the household's details were erased.
    :raises ValidationError: for facts that break a rule.
    """
    _refuse_erased(household, "household")
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


def _household_id(data: YoungPersonInput) -> int | None:
    reference = normalise_reference(data.household_reference)
    if reference is not None:
        household = db.session.scalar(
            select(Household).where(Household.reference == reference)
        )
        if household is None or household.erased_at is not None:
            raise ValidationError(
                f"No household has the reference {reference}: check it and try again",
                field="household",
            )
        return household.id
    if data.household_id is not None:
        household = db.session.get(Household, data.household_id)
        if household is None or household.erased_at is not None:
            raise ValidationError("Choose a household that exists", field="household")
    return data.household_id


def _young_person_values(data: YoungPersonInput, *, today: date) -> dict:
    if data.date_of_birth is not None:
        if data.date_of_birth > today:
            raise ValidationError(
                "The date of birth must be today or in the past", field="date_of_birth"
            )
        if age_on(data.date_of_birth, today) > MAX_AGE:
            raise ValidationError(
                f"Check the date of birth: young people supported are {MAX_AGE} or under",
                field="date_of_birth",
            )
    _check_team(data.team_id)
    return {
        "date_of_birth": data.date_of_birth,
        "gender": Gender(data.gender),
        "ethnicity": Ethnicity(data.ethnicity),
        "disability": Disability(data.disability),
        "case_reference": _text(data.case_reference, "case_reference"),
        "team_id": data.team_id,
        "household_id": _household_id(data),
        "name": _text(data.name, "name"),
        "contact": _text(data.contact, "contact"),
        "notes": _text(data.notes, "notes", multiline=True),
    }


@writes
def create_young_person(
    data: YoungPersonInput,
    *,
    actor: User,
    today: date,
    check_duplicates: bool = False,
) -> YoungPerson:
    """Add a young person with a fresh random reference.

    :param check_duplicates: refuse (with the matches) when they look like someone
        already recorded; the user then confirms and the view calls again without it.
    :raises ValidationError: for facts that break a rule (a birth date in the future...).
    :raises LikelyDuplicate: when ``check_duplicates`` and a likely match exists.
    """
    values = _young_person_values(data, today=today)
    if check_duplicates:
        matches = young_person_duplicates(data)
        if matches:
            raise LikelyDuplicate(
                "This young person may already be recorded", matches=matches
            )
    person = YoungPerson(reference=new_reference("YP-", YoungPerson), **values)
    db.session.add(person)
    db.session.flush()
    record_event(
        "young_person.create", actor=actor, obj=person, after=_audit_values(values)
    )
    return person


@writes
def update_young_person(
    person: YoungPerson, data: YoungPersonInput, *, actor: User, today: date
) -> None:
    """Change a young person's facts (the reference never changes).

    :raises NotAllowed: when the young person's details were erased.
    :raises ValidationError: for facts that break a rule.
    """
    _refuse_erased(person, "young person")
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
