"""Reads for the activity programme: sessions, places, unique people, age and gender. In SQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Select, and_, case, distinct, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from funds.extensions import db
from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    Gender,
    Grant,
    GrantStatus,
    ItemType,
    SpendCategory,
    YoungPerson,
)
from funds.money import PENNY, from_pence, pence_of
from funds.sql import age_in_years

#: Averages and hours are shown to two places, as the returns show them.
HUNDREDTH = Decimal("0.01")

AGE_BANDS = ("Under 11", "11 to 15", "16 to 17", "18 to 24", "25 and over", "Not known")


def _live_sessions():
    """Sessions whose cost has not been reversed (a reversed session is cancelled)."""
    reversed_costs = select(Disbursement.reverses_id).where(
        Disbursement.reverses_id.is_not(None)
    )
    return ActivitySession.disbursement_id.not_in(reversed_costs)


def per_head(amount: Decimal, people: int) -> Decimal | None:
    """An amount shared per person, to the penny (half up); None when nobody came."""
    if not people:
        return None
    return (amount / people).quantize(PENNY, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ActivityRow:
    """One activity's figures in a programme."""

    activity: str
    sessions: int
    cost: Decimal
    places: int
    young_people: int
    contact_hours: Decimal

    @property
    def cost_per_participant(self) -> Decimal | None:
        return per_head(self.cost, self.young_people)


@dataclass(frozen=True)
class Programme:
    """A grant's activity programme, as the funder asks for it."""

    rows: list[ActivityRow]
    sessions: int
    cost: Decimal
    places: int
    young_people: int
    carers: int
    contact_hours: Decimal
    age_bands: dict[str, int]
    genders: dict[str, int]
    not_attended: list[YoungPerson]

    @property
    def cost_per_participant(self) -> Decimal | None:
        return per_head(self.cost, self.young_people)

    @property
    def cost_per_place(self) -> Decimal | None:
        return per_head(self.cost, self.places)

    @property
    def average_sessions(self) -> Decimal | None:
        if not self.young_people:
            return None
        return (Decimal(self.places) / self.young_people).quantize(
            HUNDREDTH, rounding=ROUND_HALF_UP
        )


def _hours(minutes) -> Decimal:
    return (Decimal(int(minutes or 0)) / 60).quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def age_band_expression(age):
    """SQL CASE giving the age band label for an age in years (None → "Not known")."""
    return case(
        (age.is_(None), "Not known"),
        (age < 11, "Under 11"),
        (age <= 15, "11 to 15"),
        (age <= 17, "16 to 17"),
        (age <= 24, "18 to 24"),
        else_="25 and over",
    )


def programme(grant_id: int, *, date_from=None, date_to=None) -> Programme:
    """Everything the programme page and the activity return show, for one grant."""
    where = [ActivitySession.grant_id == grant_id, _live_sessions()]
    if date_from is not None:
        where.append(ActivitySession.held_on >= date_from)
    if date_to is not None:
        where.append(ActivitySession.held_on <= date_to)

    # Places filled per session, counted over this grant's sessions only.
    places = (
        select(Attendance.session_id, func.count().label("places"))
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(*where)
        .group_by(Attendance.session_id)
        .subquery()
    )
    filled = func.coalesce(places.c.places, 0)
    per_session = (
        func.count(ActivitySession.id),
        func.coalesce(func.sum(pence_of(ActivitySession.cost)), 0),
        func.coalesce(func.sum(filled), 0),
        func.coalesce(func.sum(ActivitySession.duration_minutes * filled), 0),
    )
    unique_by_activity = dict(
        db.session.execute(
            select(
                ActivitySession.item_type_id,
                func.count(distinct(Attendance.young_person_id)),
            )
            .select_from(Attendance)
            .join(ActivitySession, ActivitySession.id == Attendance.session_id)
            .where(*where)
            .group_by(ActivitySession.item_type_id)
        ).all()
    )
    rows = [
        ActivityRow(
            activity=name,
            sessions=sessions,
            cost=from_pence(cost),
            places=int(placed),
            young_people=unique_by_activity.get(item_id, 0),
            contact_hours=_hours(minutes),
        )
        for item_id, name, sessions, cost, placed, minutes in db.session.execute(
            select(ItemType.id, ItemType.name, *per_session)
            .join(ItemType, ItemType.id == ActivitySession.item_type_id)
            .outerjoin(places, places.c.session_id == ActivitySession.id)
            .where(*where)
            .group_by(ItemType.id, ItemType.name)
            .order_by(ItemType.name, ItemType.id)
        ).all()
    ]

    totals = db.session.execute(
        select(*per_session, func.coalesce(func.sum(ActivitySession.carers), 0))
        .outerjoin(places, places.c.session_id == ActivitySession.id)
        .where(*where)
    ).one()
    unique_people = db.session.scalar(
        select(func.count(distinct(Attendance.young_person_id)))
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(*where)
    )

    # Age at each person's first session in the period, banded; each person counted once.
    first_session = (
        select(
            Attendance.young_person_id.label("person_id"),
            func.min(ActivitySession.held_on).label("first_on"),
        )
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(*where)
        .group_by(Attendance.young_person_id)
        .subquery()
    )
    band = age_band_expression(
        case(
            (YoungPerson.date_of_birth.is_(None), None),
            else_=age_in_years(YoungPerson.date_of_birth, first_session.c.first_on),
        )
    )
    age_bands = dict.fromkeys(AGE_BANDS, 0)
    for label, number in db.session.execute(
        select(band, func.count())
        .select_from(first_session)
        .join(YoungPerson, YoungPerson.id == first_session.c.person_id)
        .group_by(band)
    ):
        age_bands[label] = number
    genders = {gender.label: 0 for gender in Gender}
    for gender, number in db.session.execute(
        select(YoungPerson.gender, func.count())
        .select_from(first_session)
        .join(YoungPerson, YoungPerson.id == first_session.c.person_id)
        .group_by(YoungPerson.gender)
    ):
        genders[Gender(gender).label] = number

    sessions, cost, placed, minutes, carers = totals
    return Programme(
        rows=rows,
        sessions=sessions,
        cost=from_pence(cost),
        places=int(placed),
        young_people=unique_people,
        carers=int(carers),
        contact_hours=_hours(minutes),
        age_bands=age_bands,
        genders=genders,
        not_attended=not_attended(grant_id),
    )


#: The most young people the "attended nothing yet" list shows (the count covers all).
NOT_ATTENDED_LIMIT = 500


def _not_attended_query(grant_id: int):
    grant = db.session.get(Grant, grant_id)
    attended = (
        select(Attendance.young_person_id)
        .join(ActivitySession, ActivitySession.id == Attendance.session_id)
        .where(ActivitySession.grant_id == grant_id, _live_sessions())
    )
    query = select(YoungPerson).where(
        YoungPerson.erased_at.is_(None), YoungPerson.id.not_in(attended)
    )
    if grant is not None and grant.team_id is not None:
        query = query.where(YoungPerson.team_id == grant.team_id)
    return query


def not_attended(grant_id: int) -> list[YoungPerson]:
    """Young people of the grant's team (all, if it has none) who attended none of its sessions.

    A cancelled session (its cost reversed) does not count as attending. At most
    NOT_ATTENDED_LIMIT people, by reference; not_attended_count counts them all.
    """
    query = _not_attended_query(grant_id)
    return list(
        db.session.scalars(
            query.order_by(YoungPerson.reference).limit(NOT_ATTENDED_LIMIT)
        )
    )


def not_attended_count(grant_id: int) -> int:
    """How many young people not_attended would list, without the limit."""
    query = _not_attended_query(grant_id).with_only_columns(YoungPerson.id)
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def sessions_for_grant(grant_id: int):
    """A grant's sessions, newest first, with places filled (cancelled ones included)."""
    places = func.count(Attendance.id)
    return db.session.execute(
        select(ActivitySession, places)
        .outerjoin(Attendance, Attendance.session_id == ActivitySession.id)
        .where(ActivitySession.grant_id == grant_id)
        .group_by(ActivitySession.id)
        .order_by(ActivitySession.held_on.desc(), ActivitySession.id.desc())
    ).all()


def session_is_cancelled(session: ActivitySession) -> bool:
    """True when the session's cost was reversed."""
    return (
        db.session.scalar(
            select(Disbursement.id).where(
                Disbursement.reverses_id == session.disbursement_id
            )
        )
        is not None
    )


# --- lists of sessions ---------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRow:
    """One session in a list: what it was, where the money came from, how full it was."""

    id: int
    held_on: date
    activity: str
    grant_id: int
    grant_reference: str
    places: int
    capacity: int | None
    cost: Decimal
    cancelled: bool
    duration_minutes: int

    @property
    def share(self) -> Decimal | None:
        """Each young person's share of the cost (None when cancelled or nobody came)."""
        return None if self.cancelled else per_head(self.cost, self.places)


@dataclass(frozen=True)
class SessionCursor:
    """Where a page of sessions (newest first) stopped: the last row's date and id."""

    held_on: date
    id: int

    def token(self) -> str:
        return f"{self.held_on.isoformat()}.{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> SessionCursor | None:
        """The cursor in a token from a link, or None for a missing or mangled one."""
        match = _CURSOR.fullmatch(token or "")
        if match is None:
            return None
        try:
            return cls(date.fromisoformat(match.group(1)), int(match.group(2)))
        except ValueError:
            return None


_CURSOR = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9]{1,18})", re.ASCII)


@dataclass(frozen=True)
class SessionPage:
    rows: list[SessionRow]
    next_cursor: SessionCursor | None


def _reversal():
    """The reversal line of a session's cost, if any (outer-joined: its id is the flag)."""
    return aliased(Disbursement, name="reversal")


def _session_query(*where) -> Select:
    """Sessions (newest first) with their places filled and whether they were cancelled.
    Places are counted per session listed (through the register's session index), so a
    page of 50 reads 50 registers, not every attendance."""
    places = (
        select(func.count())
        .where(Attendance.session_id == ActivitySession.id)
        .correlate(ActivitySession)
        .scalar_subquery()
    )
    reversal = _reversal()
    query = (
        select(
            ActivitySession.id,
            ActivitySession.held_on,
            ItemType.name,
            Grant.id,
            Grant.reference,
            places,
            ActivitySession.capacity,
            ActivitySession.cost,
            reversal.id,
            ActivitySession.duration_minutes,
        )
        .join(ItemType, ItemType.id == ActivitySession.item_type_id)
        .join(Grant, Grant.id == ActivitySession.grant_id)
        .outerjoin(reversal, reversal.reverses_id == ActivitySession.disbursement_id)
        .where(*where)
        .order_by(ActivitySession.held_on.desc(), ActivitySession.id.desc())
    )
    return query


def _session_row(row) -> SessionRow:
    ident, held_on, activity, grant_id, reference, filled, capacity, cost = row[:8]
    reversal_id, minutes = row[8:]
    return SessionRow(
        id=ident,
        held_on=held_on,
        activity=activity,
        grant_id=grant_id,
        grant_reference=reference,
        places=int(filled),
        capacity=capacity,
        cost=cost,
        cancelled=reversal_id is not None,
        duration_minutes=minutes,
    )


def _session_rows(*where, limit: int | None = None) -> list[SessionRow]:
    query = _session_query(*where)
    if limit is not None:
        query = query.limit(limit)
    return [_session_row(row) for row in db.session.execute(query)]


def session_download_rows(
    grant_id: int | None = None, *, date_from=None, date_to=None
) -> Iterator[tuple]:
    """Every session (of all grants, or of one grant in a period), newest first (the
    list's order, all pages), as download rows: date, activity, grant, places filled,
    capacity, duration (minutes), cost, cost per place, cancelled. Read 1,000 rows at a
    time."""
    where = [] if grant_id is None else [ActivitySession.grant_id == grant_id]
    if date_from is not None:
        where.append(ActivitySession.held_on >= date_from)
    if date_to is not None:
        where.append(ActivitySession.held_on <= date_to)
    query = _session_query(*where).execution_options(yield_per=1000)
    for row in db.session.execute(query):
        session = _session_row(row)
        yield (
            session.held_on,
            session.activity,
            session.grant_reference,
            session.places,
            session.capacity,
            session.duration_minutes,
            session.cost,
            session.share,
            session.cancelled,
        )


def session_page(after: SessionCursor | None = None, *, size: int = 50) -> SessionPage:
    """Sessions across every grant, newest first, a page at a time (keyset pagination)."""
    where = []
    if after is not None:
        where.append(
            or_(
                ActivitySession.held_on < after.held_on,
                and_(
                    ActivitySession.held_on == after.held_on,
                    ActivitySession.id < after.id,
                ),
            )
        )
    rows = _session_rows(*where, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    cursor = SessionCursor(rows[-1].held_on, rows[-1].id) if more else None
    return SessionPage(rows, cursor)


#: The most sessions the programme page lists (the download has them all).
PROGRAMME_SESSIONS_SHOWN = 200


@dataclass(frozen=True)
class ProgrammeSessions:
    """The newest of a grant's sessions in the period, and how many there are in all."""

    rows: list[SessionRow]
    total: int


def programme_sessions(
    grant_id: int,
    *,
    date_from=None,
    date_to=None,
    limit: int | None = None,
) -> ProgrammeSessions:
    """A grant's sessions in the period, newest first, cancelled ones included (and
    marked): the newest ``limit`` of them (``PROGRAMME_SESSIONS_SHOWN``), and the count
    of all."""
    limit = limit or PROGRAMME_SESSIONS_SHOWN
    where = [ActivitySession.grant_id == grant_id]
    if date_from is not None:
        where.append(ActivitySession.held_on >= date_from)
    if date_to is not None:
        where.append(ActivitySession.held_on <= date_to)
    rows = _session_rows(*where, limit=limit)
    total = (
        len(rows)
        if len(rows) < limit
        else db.session.scalar(select(func.count(ActivitySession.id)).where(*where))
    )
    return ProgrammeSessions(rows, total)


@dataclass(frozen=True)
class Attended:
    """The sessions one young person was on the register of, and what they add up to."""

    rows: list[SessionRow]

    @property
    def _held(self) -> list[SessionRow]:
        return [row for row in self.rows if not row.cancelled]

    @property
    def sessions(self) -> int:
        """Sessions attended (cancelled ones left out): the places they took."""
        return len(self._held)

    @property
    def cost_share(self) -> Decimal:
        """Their share of each session's cost, to the penny, added up."""
        return sum((row.share for row in self._held), Decimal("0.00"))

    @property
    def contact_hours(self) -> Decimal:
        return _hours(sum(row.duration_minutes for row in self._held))


def attended(young_person_id: int) -> Attended:
    """Every session a young person is on the register of, newest first."""
    registered = select(Attendance.session_id).where(
        Attendance.young_person_id == young_person_id
    )
    return Attended(_session_rows(ActivitySession.id.in_(registered)))


def programmes() -> list[tuple[Grant, int]]:
    """Grants that have sessions, with how many (cancelled ones left out), by reference.
    Each grant's sessions are counted through its own index range, never the whole table."""
    live = (
        select(func.count(ActivitySession.id))
        .where(ActivitySession.grant_id == Grant.id, _live_sessions())
        .correlate(Grant)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Grant, live).order_by(Grant.reference)).all()
    return [(grant, sessions) for grant, sessions in rows if sessions]


# --- one session ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSummary:
    """One session with its register and what happened to its cost."""

    session: ActivitySession
    attendees: list[YoungPerson]
    #: Places filled: how many young people are on the register.
    places: int
    #: The ledger line that reversed the session's cost (the session was cancelled).
    reversal: Disbursement | None

    @property
    def cancelled(self) -> bool:
        return self.reversal is not None

    @property
    def cost_per_participant(self) -> Decimal | None:
        return per_head(self.session.cost, self.places)

    @property
    def contact_hours(self) -> Decimal:
        """Person-hours: the session's length times the young people who came."""
        return _hours(self.session.duration_minutes * self.places)


def session_summary(session_id: int) -> SessionSummary | None:
    """A session with its activity, grant, team and register, or None when there is none."""
    session = db.session.scalar(
        select(ActivitySession)
        .options(
            joinedload(ActivitySession.item_type).joinedload(ItemType.category),
            joinedload(ActivitySession.grant),
            joinedload(ActivitySession.team),
            joinedload(ActivitySession.disbursement),
        )
        .where(ActivitySession.id == session_id)
    )
    if session is None:
        return None
    attendees = list(
        db.session.scalars(
            select(YoungPerson)
            .join(Attendance, Attendance.young_person_id == YoungPerson.id)
            .where(Attendance.session_id == session_id)
            .order_by(YoungPerson.reference)
        )
    )
    places = db.session.scalar(
        select(func.count(Attendance.id)).where(Attendance.session_id == session_id)
    )
    reversal = db.session.scalar(
        select(Disbursement).where(Disbursement.reverses_id == session.disbursement_id)
    )
    return SessionSummary(session, attendees, int(places), reversal)


def session_for_cost(disbursement_id: int) -> int | None:
    """The id of the session whose cost is this ledger line, if any."""
    return db.session.scalar(
        select(ActivitySession.id).where(
            ActivitySession.disbursement_id == disbursement_id
        )
    )


# --- what the forms offer ------------------------------------------------------------------


def activity_choices(*, include: int | None = None) -> list[tuple[int, str]]:
    """(item type id, label) of the active items in active activity categories, by name.

    An item whose name appears in two activity categories is labelled with its category.
    """
    rows = db.session.execute(
        select(ItemType.id, ItemType.name, SpendCategory.name)
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .where(
            SpendCategory.is_activity.is_(True),
            SpendCategory.active.is_(True),
            ItemType.active.is_(True),
        )
        .order_by(ItemType.name, SpendCategory.name)
    ).all()
    names = [name for _, name, _ in rows]
    return [
        (ident, f"{name} ({category})" if names.count(name) > 1 else name)
        for ident, name, category in rows
    ]


def grant_options() -> list[tuple[Grant, Decimal]]:
    """Open grants by reference, each with what is available to award from it."""
    from funds.balances import available_to_award

    grants = db.session.scalars(
        select(Grant).where(Grant.status == GrantStatus.OPEN).order_by(Grant.reference)
    )
    return [(grant, available_to_award(grant)) for grant in grants]


#: The most young people the register lists as checkboxes; the rest are added by name or
#: reference.
REGISTER_LIST_LIMIT = 200
#: "Usually comes": at least half of this many of the activity's latest sessions.
USUAL_RECENT = 4


@dataclass(frozen=True)
class RegisterChoices:
    """Who the register offers: everyone on it now, and others by reference."""

    people: list[YoungPerson]
    #: More young people exist than are listed (add them by name or reference).
    more: bool
    #: Ids of the young people who usually come to this activity.
    usual: set[int]


def usual_attendees(
    session: ActivitySession, *, recent: int = USUAL_RECENT
) -> set[int]:
    """Young people who came to at least half of the last ``recent`` sessions of the same
    activity on the same grant before this one (cancelled sessions left out)."""
    earlier = (
        select(ActivitySession.id)
        .where(
            ActivitySession.grant_id == session.grant_id,
            ActivitySession.item_type_id == session.item_type_id,
            or_(
                ActivitySession.held_on < session.held_on,
                and_(
                    ActivitySession.held_on == session.held_on,
                    ActivitySession.id < session.id,
                ),
            ),
            _live_sessions(),
        )
        .order_by(ActivitySession.held_on.desc(), ActivitySession.id.desc())
        .limit(recent)
    )
    held = list(db.session.scalars(earlier))
    if not held:
        return set()
    needed = (len(held) + 1) // 2
    return set(
        db.session.scalars(
            select(Attendance.young_person_id)
            .join(YoungPerson, YoungPerson.id == Attendance.young_person_id)
            .where(Attendance.session_id.in_(held), YoungPerson.erased_at.is_(None))
            .group_by(Attendance.young_person_id)
            .having(func.count() >= needed)
        )
    )


def register_choices(
    session: ActivitySession,
    *,
    with_names: bool,
    limit: int = REGISTER_LIST_LIMIT,
) -> RegisterChoices:
    """The register's checkboxes: its attendees, those who usually come, and young people
    by name (or by reference for roles that do not see names), up to a limit."""
    usual = usual_attendees(session)
    included = select(Attendance.young_person_id).where(
        Attendance.session_id == session.id
    )
    always = list(
        db.session.scalars(
            select(YoungPerson).where(
                or_(YoungPerson.id.in_(included), YoungPerson.id.in_(usual))
            )
        )
    )
    order = (
        [
            YoungPerson.name.is_(None),
            func.lower(YoungPerson.name),
            YoungPerson.reference,
        ]
        if with_names
        else [YoungPerson.reference]
    )
    others = list(
        db.session.scalars(
            select(YoungPerson)
            .where(YoungPerson.erased_at.is_(None))
            .order_by(*order)
            .limit(limit + 1)
        )
    )
    more = len(others) > limit
    people = {person.id: person for person in [*always, *others[:limit]]}

    def key(person: YoungPerson):
        if with_names:
            return (
                person.name is None,
                (person.name or "").casefold(),
                person.reference,
            )
        return (False, "", person.reference)

    return RegisterChoices(sorted(people.values(), key=key), more, usual)


def young_people_named(name: str, *, limit: int = 6) -> list[YoungPerson]:
    """Young people (not erased) whose whole name is this, ignoring case."""
    cleaned = name.strip()
    if not cleaned:
        return []
    return list(
        db.session.scalars(
            select(YoungPerson)
            .where(
                YoungPerson.erased_at.is_(None),
                or_(
                    YoungPerson.name == cleaned,
                    # SQLite's lower() folds ASCII only: the name as typed is tried too.
                    func.lower(YoungPerson.name) == cleaned.lower(),
                ),
            )
            .order_by(YoungPerson.reference)
            .limit(limit)
        )
    )


def find_young_people(text: str) -> list[YoungPerson]:
    """Young people (not erased) with this reference or case-system reference."""
    cleaned = text.strip()
    if not cleaned:
        return []
    return list(
        db.session.scalars(
            select(YoungPerson)
            .where(
                YoungPerson.erased_at.is_(None),
                or_(
                    YoungPerson.reference == cleaned.upper(),
                    # Exact, or ignoring case (SQLite's lower() folds ASCII only).
                    YoungPerson.case_reference == cleaned,
                    func.lower(YoungPerson.case_reference) == cleaned.lower(),
                ),
            )
            .order_by(YoungPerson.reference)
            .limit(5)
        )
    )
