"""Importing activity sessions with who attended: each row is recorded by the same
services as the session and register forms (its cost is a ledger line under every rule)."""

from __future__ import annotations

import re
from datetime import date, time

from sqlalchemy import select

from funds.activities.queries import find_young_people, young_people_named
from funds.activities.services import SessionInput, record_session, set_attendance
from funds.disbursements.services import reverse_disbursement
from funds.errors import FundsError, NotAllowed
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
from funds.locks import active_lock
from funds.models import (
    ActivitySession,
    Disbursement,
    Grant,
    ImportRecord,
    ItemType,
    SpendCategory,
    Team,
    User,
    YoungPerson,
)

_FORM_FIELDS = {
    "grant": "grant",
    "grant_id": "grant",
    "item_type": "activity",
    "item_type_id": "activity",
    "held_on": "held_on",
    "awarded_on": "held_on",
    "cost": "cost",
    "amount": "cost",
    "duration_minutes": "minutes",
    "capacity": "capacity",
    "carers": "carers",
    "young_people": "attendees",
}
_TIME = re.compile(r"([01]?[0-9]|2[0-3])[:.]([0-5][0-9])", re.ASCII)
_SEPARATORS = re.compile(r"[;,\n]+")


def _text(length: int, *, multiline: bool = False):
    return lambda cell: cells.text(cell, max_length=length, multiline=multiline)


def _start(cell) -> time | None:
    if cells.blank(cell):
        return None
    if isinstance(cell, time):
        return cell.replace(second=0, microsecond=0)
    if isinstance(cell, float) and 0 <= cell < 1:  # a time typed into a number cell
        minutes = round(cell * 24 * 60)
        return time(minutes // 60, minutes % 60)
    match = _TIME.fullmatch(cells.shown(cell).strip())
    if match is None:
        raise cells.CellError("Enter a start time on the 24-hour clock, like 14:30")
    return time(int(match[1]), int(match[2]))


class Sessions(Kind):
    key = "sessions"
    label = "Activity sessions"
    noun = "sessions"
    fields = (
        source_key_field("session"),
        Field(
            "activity",
            "Activity",
            _text(120),
            required=True,
            rule="An activity item in funds (Kayaking, Theatre trip...).",
            aliases=("activity type", "item"),
        ),
        Field(
            "held_on",
            "Date",
            cells.day,
            required=True,
            rule="Within the grant's period, not in the future: 27/03/2024.",
            aliases=("held on", "session date"),
        ),
        Field(
            "grant",
            "Grant reference",
            _text(40),
            required=True,
            rule="The grant paying for it.",
            aliases=("grant",),
        ),
        Field(
            "cost",
            "Cost",
            cells.money,
            required=True,
            rule="The whole session's cost, in pounds and pence.",
            aliases=("total cost", "amount"),
        ),
        Field("starts_at", "Start time", _start, rule="Optional: 10:00."),
        Field(
            "minutes",
            "Length in minutes",
            lambda cell: cells.whole(cell, low=1, high=1440),
            rule="Optional: 120 when empty.",
            aliases=("minutes", "duration", "duration (minutes)"),
        ),
        Field("supplier", "Supplier", _text(120), rule="Optional."),
        Field(
            "capacity",
            "Places",
            lambda cell: cells.whole(cell, low=1, high=10_000),
            rule="Optional: how many places there were.",
            aliases=("capacity",),
        ),
        Field(
            "carers",
            "Parents or carers",
            lambda cell: cells.whole(cell, low=0, high=200),
            rule="Optional: how many came along (counted, not named).",
            aliases=("carers",),
        ),
        Field(
            "attendees",
            "Who attended",
            _text(20_000, multiline=True),
            rule="Optional: young people separated by semicolons: a reference "
            "(YP-4M2X8C), a case-system reference, an id from a young people file "
            "imported before, or a whole name that only one young person has.",
            aliases=("attendees", "attendance", "register"),
        ),
        Field("team", "Team", _text(120), rule="Optional: a team's name in funds."),
        Field("notes", "Notes", _text(4000, multiline=True), rule="Optional."),
    )

    def prepare(self, ctx: Context, rows: int) -> None:
        ctx.state["grants"] = {
            grant.reference.upper(): grant.id
            for grant in db.session.scalars(select(Grant))
        }
        ctx.state["activities"] = {
            item.name.casefold(): item.id
            for item in db.session.scalars(
                select(ItemType)
                .join(SpendCategory, SpendCategory.id == ItemType.category_id)
                .where(SpendCategory.is_activity.is_(True))
            )
        }
        ctx.state["teams"] = {
            team.name.casefold(): team.id for team in db.session.scalars(select(Team))
        }

    def _attendee(self, typed: str) -> int:
        found = find_young_people(typed)
        if not found:
            ident = db.session.scalar(
                select(YoungPerson.id)
                .join(ImportRecord, ImportRecord.object_id == YoungPerson.id)
                .where(
                    ImportRecord.kind == "young_people",
                    ImportRecord.source_key == typed,
                    YoungPerson.erased_at.is_(None),
                )
            )
            if ident is not None:
                return ident
            found = young_people_named(typed)
        if len(found) != 1:
            raise RowProblem(
                f"{'More than one young person matches' if found else 'No young person matches'} "
                f"“{typed}”: use their reference",
                "attendees",
            )
        return found[0].id

    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        grant_id = ctx.state["grants"].get(values["grant"].upper())
        if grant_id is None:
            raise RowProblem(
                f"There is no grant with the reference {values['grant']}", "grant"
            )
        activity_id = ctx.state["activities"].get(values["activity"].casefold())
        if activity_id is None:
            raise RowProblem(
                f"There is no activity called {values['activity']} in funds", "activity"
            )
        team_id = None
        if values["team"]:
            team_id = ctx.state["teams"].get(values["team"].casefold())
            if team_id is None:
                raise RowProblem(f"There is no team called {values['team']}", "team")
        attendees = {
            self._attendee(part.strip())
            for part in _SEPARATORS.split(values["attendees"] or "")
            if part.strip()
        }
        try:
            session = record_session(
                SessionInput(
                    grant_id=grant_id,
                    item_type_id=activity_id,
                    held_on=values["held_on"],
                    cost=values["cost"],
                    duration_minutes=values["minutes"] or 120,
                    starts_at=values["starts_at"],
                    supplier=values["supplier"],
                    capacity=values["capacity"],
                    team_id=team_id,
                    notes=values["notes"],
                ),
                actor=ctx.actor,
                today=ctx.today,
            )
            if attendees or values["carers"]:
                set_attendance(
                    session,
                    actor=ctx.actor,
                    young_person_ids=attendees,
                    carers=values["carers"] or 0,
                )
        except FundsError as error:
            raise problem_from(error, _FORM_FIELDS) from error
        ctx.created.append((number, source_key, session.id))

    def undo(self, import_run, actor: User, today: date) -> dict:
        """Cancel the import's sessions: each cost is reversed on the session's date, as
        finance cancels a session (its register stays, but counts for nothing)."""
        sessions = list(
            db.session.scalars(
                select(ActivitySession)
                .join(ImportRecord, ImportRecord.object_id == ActivitySession.id)
                .where(
                    ImportRecord.import_id == import_run.id,
                    ImportRecord.kind == self.key,
                )
            )
        )
        cancelled_already = set(
            db.session.scalars(
                select(Disbursement.reverses_id).where(
                    Disbursement.reverses_id.in_([s.disbursement_id for s in sessions])
                )
            )
        )
        cancelled = 0
        for session in sessions:
            if session.disbursement_id in cancelled_already:
                continue
            if active_lock(session.grant_id, session.held_on) is not None:
                raise NotAllowed(
                    f"The session on {session.held_on:%-d %b %Y} is in a locked period: "
                    "this import can no longer be undone as a whole"
                )
            reverse_disbursement(
                session.disbursement,
                actor=actor,
                reason=f"Import #{import_run.id} undone",
                reversed_on=session.held_on,
                today=today,
            )
            cancelled += 1
        return {"cancelled": cancelled, "already cancelled": len(cancelled_already)}


SESSIONS = register(Sessions())
