"""The people funds helps: households and young people, known by pseudonymous references."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base, UTCDateTime, db_enum, utcnow
from funds.models.team import Team


class Gender(enum.StrEnum):
    """Gender as the young person describes it."""

    FEMALE = "female"
    MALE = "male"
    NON_BINARY = "non-binary"
    OTHER = "other"
    NOT_SAID = "not-said"

    @property
    def label(self) -> str:
        return GENDER_LABELS[self]


GENDER_LABELS = {
    Gender.FEMALE: "Female",
    Gender.MALE: "Male",
    Gender.NON_BINARY: "Non-binary",
    Gender.OTHER: "Another gender",
    Gender.NOT_SAID: "Prefer not to say",
}


class Ethnicity(enum.StrEnum):
    """The ONS 2021 census high-level ethnic groups (England and Wales)."""

    ASIAN = "asian"
    BLACK = "black"
    MIXED = "mixed"
    WHITE = "white"
    OTHER = "other"
    NOT_SAID = "not-said"

    @property
    def label(self) -> str:
        return ETHNICITY_LABELS[self]


ETHNICITY_LABELS = {
    Ethnicity.ASIAN: "Asian, Asian British or Asian Welsh",
    Ethnicity.BLACK: "Black, Black British, Black Welsh, Caribbean or African",
    Ethnicity.MIXED: "Mixed or Multiple ethnic groups",
    Ethnicity.WHITE: "White",
    Ethnicity.OTHER: "Other ethnic group",
    Ethnicity.NOT_SAID: "Prefer not to say",
}


class Disability(enum.StrEnum):
    """Whether the young person considers themselves disabled."""

    YES = "yes"
    NO = "no"
    NOT_SAID = "not-said"

    @property
    def label(self) -> str:
        return {"yes": "Yes", "no": "No", "not-said": "Prefer not to say"}[self]


class Household(Base):
    """A household supported (food vouchers, white goods, bills...)."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint("adults >= 0 AND adults <= 20", name="adults_range"),
        CheckConstraint("children >= 0 AND children <= 20", name="children_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``H-`` and random characters; never derived from a name. What returns show.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    #: The reference in the service's case-management system, if it keeps one.
    case_reference: Mapped[str | None] = mapped_column(String(40), index=True)
    adults: Mapped[int] = mapped_column(default=1)
    children: Mapped[int] = mapped_column(default=0)
    has_children: Mapped[bool] = mapped_column(default=False)
    has_pensioner: Mapped[bool] = mapped_column(default=False)
    has_disabled_person: Mapped[bool] = mapped_column(default=False)
    has_care_leaver: Mapped[bool] = mapped_column(default=False)
    #: The outward part of the postcode only (e.g. ``SO14``).
    postcode_district: Mapped[str | None] = mapped_column(String(4))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    #: Optional; shown only to roles allowed to see names; never in a return.
    name: Mapped[str | None] = mapped_column(String(120))
    contact: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Set when the household's personal details were erased (anonymised).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team | None] = relationship()
    young_people: Mapped[list[YoungPerson]] = relationship(back_populates="household")

    @property
    def groups(self) -> list[str]:
        """The household groups that apply, for display."""
        flags = [
            (self.has_children, "Children"),
            (self.has_pensioner, "Pensioner"),
            (self.has_disabled_person, "Disabled person"),
            (self.has_care_leaver, "Care leaver"),
        ]
        return [label for flag, label in flags if flag]


class YoungPerson(Base):
    """A young person supported (activity programme, vouchers...)."""

    __tablename__ = "young_people"
    __table_args__ = (Index("ix_young_people_name_dob", "name", "date_of_birth"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``YP-`` and random characters; never derived from a name.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    case_reference: Mapped[str | None] = mapped_column(String(40), index=True)
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[Gender] = mapped_column(db_enum(Gender), default=Gender.NOT_SAID)
    ethnicity: Mapped[Ethnicity] = mapped_column(
        db_enum(Ethnicity), default=Ethnicity.NOT_SAID
    )
    disability: Mapped[Disability] = mapped_column(
        db_enum(Disability), default=Disability.NOT_SAID
    )
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(120))
    contact: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    team: Mapped[Team | None] = relationship()
    household: Mapped[Household | None] = relationship(back_populates="young_people")

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day`` (never stored)."""
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
