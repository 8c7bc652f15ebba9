"""What a return is built over: one grant, one period, the ledger joined for every dimension."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property

from sqlalchemy import and_, select
from sqlalchemy.orm import aliased

from funds.models import (
    ActivitySession,
    Attendance,
    Disbursement,
    FunderCategory,
    Grant,
    Household,
    ItemType,
    ItemTypeMapping,
    SpendCategory,
    YoungPerson,
)

#: The two sources a table can count: ledger lines, or activity sessions and their registers.
LEDGER = "ledger"
ACTIVITIES = "activities"


@dataclass(frozen=True)
class Scope:
    """One grant and one period."""

    grant: Grant
    date_from: date
    date_to: date

    @property
    def funder_id(self) -> int:
        return self.grant.funder_id


@dataclass
class Context:
    """A scope plus the SQL aliases every query of one build shares.

    ``value_labels`` are the definition's own names for dimension values (code -> label).
    """

    scope: Scope
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.mapping = aliased(ItemTypeMapping, name="funder_mapping")
        self.category = aliased(FunderCategory, name="funder_category")
        self.activity = aliased(ItemType, name="activity")

    @property
    def grant(self) -> Grant:
        return self.scope.grant

    @cached_property
    def funder(self):
        return self.scope.grant.funder

    # --- the ledger ---------------------------------------------------------------------

    def ledger(self, *columns):
        """``select(columns)`` over ledger lines joined to item, categories and people."""
        return (
            select(*columns)
            .select_from(Disbursement)
            .join(ItemType, ItemType.id == Disbursement.item_type_id)
            .join(SpendCategory, SpendCategory.id == ItemType.category_id)
            .outerjoin(Household, Household.id == Disbursement.household_id)
            .outerjoin(YoungPerson, YoungPerson.id == Disbursement.young_person_id)
            .outerjoin(
                self.mapping,
                and_(
                    self.mapping.item_type_id == Disbursement.item_type_id,
                    self.mapping.funder_id == self.scope.funder_id,
                ),
            )
            .outerjoin(
                self.category, self.category.id == self.mapping.funder_category_id
            )
        )

    def in_period(self):
        """A ledger line dated inside the period."""
        return and_(
            Disbursement.awarded_on >= self.scope.date_from,
            Disbursement.awarded_on <= self.scope.date_to,
        )

    def ledger_where(self, *, to_date: bool = False) -> list:
        """The grant's lines in the period, or (``to_date``) from its start to the period's end."""
        where = [
            Disbursement.grant_id == self.grant.id,
            Disbursement.awarded_on <= self.scope.date_to,
        ]
        if not to_date:
            where.append(Disbursement.awarded_on >= self.scope.date_from)
        return where

    # --- activity sessions ----------------------------------------------------------------

    def live_sessions_where(self) -> list:
        """The grant's sessions in the period whose cost was not reversed (not cancelled)."""
        reversed_costs = select(Disbursement.reverses_id).where(
            Disbursement.reverses_id.is_not(None)
        )
        return [
            ActivitySession.grant_id == self.grant.id,
            ActivitySession.held_on >= self.scope.date_from,
            ActivitySession.held_on <= self.scope.date_to,
            ActivitySession.disbursement_id.not_in(reversed_costs),
        ]

    def sessions(self, *columns):
        """``select(columns)`` over sessions joined to their activity."""
        return (
            select(*columns)
            .select_from(ActivitySession)
            .join(self.activity, self.activity.id == ActivitySession.item_type_id)
        )

    def attendances(self, *columns):
        """``select(columns)`` over register entries joined to session, activity and person."""
        return (
            select(*columns)
            .select_from(Attendance)
            .join(ActivitySession, ActivitySession.id == Attendance.session_id)
            .join(self.activity, self.activity.id == ActivitySession.item_type_id)
            .join(YoungPerson, YoungPerson.id == Attendance.young_person_id)
        )
