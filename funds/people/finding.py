"""Finding a household or young person by what a clerk remembers: a name, a reference or
the case system's reference. One home for the type-ahead, the search step the award and
voucher forms take without JavaScript, and the names typed into a register."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, or_, select

from funds import clock
from funds.extensions import db
from funds.models import Household, YoungPerson
from funds.people.queries import matching

HOUSEHOLD = "household"
YOUNG_PERSON = "young_person"
KINDS = (HOUSEHOLD, YOUNG_PERSON)
_MODELS = {HOUSEHOLD: Household, YOUNG_PERSON: YoungPerson}

#: The most matches a search offers; a longer name or the reference narrows it.
FIND_LIMIT = 10
#: Shorter text matches too much to be a useful search.
MIN_LENGTH = 2


@dataclass(frozen=True)
class Match:
    """One household or young person a search found."""

    kind: str
    id: int
    reference: str
    #: Only for roles that may see names.
    name: str | None
    #: What tells two people of the same name apart (area, household size, age).
    detail: str
    rank: int

    @property
    def label(self) -> str:
        if self.name:
            return f"{self.name} ({self.reference})"
        return self.reference

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "reference": self.reference,
            "label": self.label,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class Found:
    matches: list[Match]
    #: More matched than are offered.
    more: bool


def _rank(model, text: str, *, with_names: bool):
    """0 for the reference or case reference itself, 1 for a name with a word that starts
    with the text (a first name or a surname), 2 for anything else that contains it."""
    whens = [
        (model.reference == text.upper(), 0),
        (func.lower(model.case_reference) == text.lower(), 0),
    ]
    if with_names:
        name = func.lower(model.name)
        whens.append(
            (
                or_(
                    name.startswith(text.lower(), autoescape=True),
                    name.contains(" " + text.lower(), autoescape=True),
                ),
                1,
            )
        )
    return case(*whens, else_=2)


def _household_detail(household: Household) -> str:
    people = household.adults + household.children
    parts = [f"Household of {people}"]
    if household.postcode_district:
        parts.append(household.postcode_district)
    return ", ".join(parts)


def _young_person_detail(person: YoungPerson, today: date) -> str:
    age = person.age_on(today)
    return "Young person" + (f", age {age}" if age is not None else "")


def find_people(
    text: str | None,
    *,
    with_names: bool,
    kinds: tuple[str, ...] = KINDS,
    today: date | None = None,
    limit: int = FIND_LIMIT,
) -> Found:
    """Households and young people (not erased) whose reference, case reference or (for
    roles that may see names) name contains ``text``: exact references first, then names
    that start with it, then the rest, by name."""
    cleaned = (text or "").strip()
    if len(cleaned) < MIN_LENGTH:
        return Found([], False)
    today = today or clock.today()
    matches: list[Match] = []
    for kind in kinds:
        model = _MODELS[kind]
        rank = _rank(model, cleaned, with_names=with_names)
        order = [rank, model.reference]
        if with_names:
            order[1:1] = [model.name.is_(None), func.lower(model.name)]
        rows = db.session.execute(
            select(model, rank)
            .where(
                model.erased_at.is_(None),
                matching(model, cleaned, with_names=with_names),
            )
            .order_by(*order)
            .limit(limit + 1)
        ).all()
        for record, position in rows:
            detail = (
                _household_detail(record)
                if kind == HOUSEHOLD
                else _young_person_detail(record, today)
            )
            matches.append(
                Match(
                    kind,
                    record.id,
                    record.reference,
                    record.name if with_names else None,
                    detail,
                    int(position),
                )
            )
    matches.sort(
        key=lambda match: (match.rank, (match.name or "").casefold(), match.reference)
    )
    return Found(matches[:limit], len(matches) > limit)


def record_of(match: Match) -> Household | YoungPerson:
    return db.session.get(_MODELS[match.kind], match.id)


@dataclass(frozen=True)
class Choice:
    """What a name typed into a form comes to: the record chosen, or what to choose from."""

    record: Household | YoungPerson | None
    candidates: list[Match]
    problem: str | None


def choose(
    text: str,
    picked: str | None,
    *,
    kinds: tuple[str, ...] = KINDS,
    what: str = "household or young person",
) -> Choice:
    """The search step of a form without JavaScript: a name (or case reference) finds
    candidates; the one the clerk picked from them is the record. Nothing is chosen for
    them, even when only one matches."""
    found = find_people(text, with_names=True, kinds=kinds)
    picked = (picked or "").strip().upper()
    for match in found.matches:
        if match.reference == picked:
            return Choice(record_of(match), found.matches, None)
    if not found.matches:
        if len(text.strip()) < MIN_LENGTH:
            return Choice(
                None,
                [],
                f"Enter at least {MIN_LENGTH} letters of a name, or the reference",
            )
        return Choice(
            None,
            [],
            f"No {what} matches “{text}”: check the spelling, or enter the reference",
        )
    more = (
        " (the closest matches are listed: type more of the name to narrow it)"
        if found.more
        else ""
    )
    return Choice(None, found.matches, f"Choose which {what} “{text}” is{more}")
