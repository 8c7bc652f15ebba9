"""Importing households and young people: each row is added by the same service as the
form (so every rule, the random reference and the audit event are the form's)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, exists, func, or_, select

from funds.audit import record_event
from funds.errors import ValidationError
from funds.extensions import db
from funds.imports import cells
from funds.imports.kinds import (
    Context,
    Field,
    Kind,
    RowProblem,
    problem_from,
    register,
    source_key_field,
)
from funds.models import (
    Attendance,
    Disability,
    Disbursement,
    Ethnicity,
    Gender,
    Household,
    ImportRecord,
    Team,
    User,
    YoungPerson,
)
from funds.people.services import (
    MAX_PEOPLE,
    HouseholdInput,
    LikelyDuplicate,
    YoungPersonInput,
    create_household,
    create_young_person,
)


def _text(length: int, *, multiline: bool = False):
    return lambda cell: cells.text(cell, max_length=length, multiline=multiline)


def _flag(key: str, label: str, rule: str) -> Field:
    return Field(key, label, cells.yes_no, rule=f"Yes or No (No when empty): {rule}")


def _teams(ctx: Context) -> dict[str, int]:
    if "teams" not in ctx.state:
        ctx.state["teams"] = {
            team.name.casefold(): team.id for team in db.session.scalars(select(Team))
        }
    return ctx.state["teams"]


def _team(ctx: Context, name: str | None) -> int | None:
    if not name:
        return None
    team_id = _teams(ctx).get(name.casefold())
    if team_id is None:
        raise RowProblem(f"There is no team called {name} in funds", "team")
    return team_id


TEAM = Field(
    "team",
    "Team",
    _text(120),
    rule="Optional: a team's name as it is in funds.",
)
NAME = Field(
    "name",
    "Name",
    _text(120),
    rule="Optional. Only staff, managers and administrators ever see it.",
    aliases=("full name", "lead contact", "contact name"),
    examples=("Jo Example", "Sam Example"),
)
CONTACT = Field(
    "contact",
    "Contact details",
    _text(200),
    rule="Optional: a phone number or email address.",
    aliases=("contact", "phone", "email"),
)
CASE = Field(
    "case_reference",
    "Case-system reference",
    _text(40),
    rule="Optional: the reference in your case-management system.",
    aliases=("case reference", "case ref"),
)
NOTES = Field("notes", "Notes", _text(4000, multiline=True), rule="Optional.")


# --- households ---------------------------------------------------------------------------


class Households(Kind):
    key = "households"
    label = "Households"
    kept_model = Household
    noun = "households"
    clean_template = True
    fields = (
        source_key_field("household"),
        NAME,
        CONTACT,
        CASE,
        Field(
            "adults",
            "Adults",
            lambda cell: cells.whole(cell, low=0, high=MAX_PEOPLE),
            rule=f"A whole number from 0 to {MAX_PEOPLE}; 1 when empty.",
            examples=("1", "2"),
        ),
        Field(
            "children",
            "Children",
            lambda cell: cells.whole(cell, low=0, high=MAX_PEOPLE),
            rule=f"A whole number from 0 to {MAX_PEOPLE}; 0 when empty.",
            examples=("2", "0"),
        ),
        _flag("has_pensioner", "Pensioner", "someone of pension age lives there."),
        _flag("has_disabled_person", "Disabled person", "someone is disabled."),
        _flag("has_care_leaver", "Care leaver", "someone left care."),
        Field(
            "postcode_district",
            "Postcode district",
            _text(8),
            rule="Optional: the first half of the postcode (SO14). From a whole "
            "postcode only the first half is kept, as on the household form.",
            aliases=("postcode", "district"),
            examples=("SO14", "SO16"),
        ),
        TEAM,
        NOTES,
    )
    form_fields = {"has_children": "children"}

    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        children = values["children"] or 0
        data = HouseholdInput(
            adults=1 if values["adults"] is None else values["adults"],
            children=children,
            has_children=children > 0,
            has_pensioner=bool(values["has_pensioner"]),
            has_disabled_person=bool(values["has_disabled_person"]),
            has_care_leaver=bool(values["has_care_leaver"]),
            postcode_district=values["postcode_district"],
            case_reference=values["case_reference"],
            team_id=_team(ctx, values["team"]),
            name=values["name"],
            contact=values["contact"],
            notes=values["notes"],
        )
        if data.case_reference:
            match = db.session.scalar(
                select(Household.reference).where(
                    Household.erased_at.is_(None),
                    or_(
                        Household.case_reference == data.case_reference,
                        func.lower(Household.case_reference)
                        == data.case_reference.lower(),
                    ),
                )
            )
            if match:
                raise RowProblem(
                    f"Household {match} already has this case-system reference",
                    "case_reference",
                )
        try:
            household = create_household(data, actor=ctx.actor)
        except ValidationError as error:
            raise problem_from(error, {"has_children": "children", **_same}) from error
        ctx.created.append((number, source_key, household.id))

    def undo(self, import_run, actor: User, today: date) -> dict:
        return _remove_unused(
            import_run, Household, self.key, actor, action="household.remove"
        )


# --- young people -----------------------------------------------------------------------


_GENDER = cells.enum_options(Gender)
_ETHNICITY = cells.enum_options(Ethnicity)
_DISABILITY = cells.enum_options(Disability)


class YoungPeople(Kind):
    key = "young_people"
    label = "Young people"
    kept_model = YoungPerson
    noun = "young people"
    clean_template = True
    fields = (
        source_key_field("young person"),
        NAME,
        CONTACT,
        CASE,
        Field(
            "date_of_birth",
            "Date of birth",
            cells.day,
            rule="Optional: 27/03/2010 or a date cell. Returns count ages from it.",
            aliases=("dob", "birth date", "born"),
            examples=("14/02/2010", "03/09/2008"),
        ),
        Field(
            "gender",
            "Gender",
            lambda cell: cells.choice(cell, _GENDER, what="a gender"),
            rule="Optional: "
            + ", ".join(member.label for member in Gender)
            + " (Prefer not to say when empty).",
            examples=("Female", "Non-binary"),
        ),
        Field(
            "ethnicity",
            "Ethnic group",
            lambda cell: cells.choice(cell, _ETHNICITY, what="an ethnic group"),
            rule="Optional: "
            + "; ".join(member.label for member in Ethnicity)
            + " (Prefer not to say when empty).",
            aliases=("ethnicity",),
            examples=("White", "Prefer not to say"),
        ),
        Field(
            "disability",
            "Considers themselves disabled",
            lambda cell: cells.choice(
                cell, _DISABILITY, what="Yes, No or Prefer not to say"
            ),
            rule="Optional: Yes, No or Prefer not to say.",
            aliases=("disabled", "disability"),
            examples=("No", "Yes"),
        ),
        Field(
            "household",
            "Household",
            _text(120),
            rule="Optional: the household's reference in funds (H-7K3Q9M) or its id in "
            "a household file imported before.",
            aliases=("household reference",),
        ),
        TEAM,
        NOTES,
    )

    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        household_id = _household(values["household"])
        data = YoungPersonInput(
            date_of_birth=values["date_of_birth"],
            gender=values["gender"] or Gender.NOT_SAID,
            ethnicity=values["ethnicity"] or Ethnicity.NOT_SAID,
            disability=values["disability"] or Disability.NOT_SAID,
            case_reference=values["case_reference"],
            team_id=_team(ctx, values["team"]),
            household_id=household_id,
            name=values["name"],
            contact=values["contact"],
            notes=values["notes"],
        )
        try:
            person = create_young_person(
                data, actor=ctx.actor, today=ctx.today, check_duplicates=True
            )
        except LikelyDuplicate as duplicate:
            listed = ", ".join(match.reference for match in duplicate.matches)
            raise RowProblem(
                f"Looks like {listed}, already in funds (the same case-system "
                "reference, or name and date of birth)",
                "name",
            ) from duplicate
        except ValidationError as error:
            raise problem_from(
                error, {"household_reference": "household", **_same}
            ) from error
        ctx.created.append((number, source_key, person.id))

    def undo(self, import_run, actor: User, today: date) -> dict:
        return _remove_unused(
            import_run, YoungPerson, self.key, actor, action="young_person.remove"
        )


_same = {
    key: key
    for key in (
        "name",
        "contact",
        "case_reference",
        "adults",
        "children",
        "team",
        "notes",
        "postcode_district",
        "date_of_birth",
        "gender",
        "ethnicity",
        "disability",
    )
}


def _household(typed: str | None) -> int | None:
    """A household by its funds reference or its id in an earlier household import."""
    if not typed:
        return None
    ident = db.session.scalar(
        select(Household.id).where(
            Household.reference == typed.upper(), Household.erased_at.is_(None)
        )
    )
    if ident is None:
        ident = db.session.scalar(
            select(Household.id)
            .join(ImportRecord, ImportRecord.object_id == Household.id)
            .where(
                ImportRecord.kind == "households",
                ImportRecord.source_key == typed,
                Household.erased_at.is_(None),
            )
        )
    if ident is None:
        raise RowProblem(
            f"There is no household {typed} (a reference, or an id from an earlier "
            "household import)",
            "household",
        )
    return ident


def _remove_unused(import_run, model, kind: str, actor: User, *, action: str) -> dict:
    """Remove the import's people that nothing else refers to (no award, register or
    young person); keep the others and say how many."""
    ids = select(ImportRecord.object_id).where(
        ImportRecord.import_id == import_run.id, ImportRecord.kind == kind
    )
    if model is Household:
        used = or_(
            exists().where(Disbursement.household_id == Household.id),
            exists().where(YoungPerson.household_id == Household.id),
        )
    else:
        used = or_(
            exists().where(Disbursement.young_person_id == YoungPerson.id),
            exists().where(Attendance.young_person_id == YoungPerson.id),
        )
    kept = db.session.scalar(
        select(func.count()).select_from(model).where(model.id.in_(ids), used)
    )
    removable = list(
        db.session.scalars(select(model.id).where(model.id.in_(ids), ~used))
    )
    if removable:
        db.session.execute(delete(model).where(model.id.in_(removable)))
    record_event(
        action,
        actor=actor,
        obj=import_run,
        after={"removed": len(removable), "kept": kept, "import": import_run.id},
    )
    return {"removed": len(removable), "kept because in use": kept}


HOUSEHOLDS = register(Households())
YOUNG_PEOPLE = register(YoungPeople())
