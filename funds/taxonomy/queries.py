"""Reads about funders, their categories, our taxonomy and teams. Counts in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from funds.extensions import db
from funds.models import (
    Funder,
    FunderCategory,
    Grant,
    ItemType,
    ItemTypeMapping,
    SpendCategory,
    Team,
)


@dataclass(frozen=True)
class FunderRow:
    """A funder with how many return categories, grants and mapped items it has."""

    funder: Funder
    categories: int
    grants: int
    mapped: int


def funders_with_counts() -> list[FunderRow]:
    """Every funder by name, with its counts (one query, grouped subqueries)."""
    categories = (
        select(FunderCategory.funder_id, func.count().label("n"))
        .group_by(FunderCategory.funder_id)
        .subquery()
    )
    grants = (
        select(Grant.funder_id, func.count().label("n"))
        .group_by(Grant.funder_id)
        .subquery()
    )
    mapped = (
        select(ItemTypeMapping.funder_id, func.count().label("n"))
        .group_by(ItemTypeMapping.funder_id)
        .subquery()
    )
    query = (
        select(
            Funder,
            func.coalesce(categories.c.n, 0),
            func.coalesce(grants.c.n, 0),
            func.coalesce(mapped.c.n, 0),
        )
        .outerjoin(categories, categories.c.funder_id == Funder.id)
        .outerjoin(grants, grants.c.funder_id == Funder.id)
        .outerjoin(mapped, mapped.c.funder_id == Funder.id)
        .order_by(Funder.name)
    )
    return [FunderRow(*row) for row in db.session.execute(query)]


@dataclass(frozen=True)
class MappingRow:
    """One item type and the funder category it is reported under (None: not reported)."""

    item: ItemType
    category_name: str
    funder_category_id: int | None
    funder_category_name: str | None


def mapping_rows(funder_id: int) -> list[MappingRow]:
    """Every item type (retired ones too) with its mapping for one funder."""
    mapping = (
        select(
            ItemTypeMapping.item_type_id,
            ItemTypeMapping.funder_category_id,
            FunderCategory.name,
        )
        .join(FunderCategory, FunderCategory.id == ItemTypeMapping.funder_category_id)
        .where(ItemTypeMapping.funder_id == funder_id)
        .subquery()
    )
    query = (
        select(
            ItemType,
            SpendCategory.name,
            mapping.c.funder_category_id,
            mapping.c.name,
        )
        .join(SpendCategory, SpendCategory.id == ItemType.category_id)
        .outerjoin(mapping, mapping.c.item_type_id == ItemType.id)
        .order_by(SpendCategory.name, ItemType.name)
    )
    return [MappingRow(*row) for row in db.session.execute(query)]


def categories_with_items() -> list[SpendCategory]:
    """Every spend category by name, its item types loaded (one extra query)."""
    return list(
        db.session.scalars(
            select(SpendCategory)
            .options(selectinload(SpendCategory.item_types))
            .order_by(SpendCategory.name)
        )
    )


def teams_with_counts() -> list[tuple[Team, int]]:
    """Every team by name, with how many grants it owns."""
    grants = (
        select(Grant.team_id, func.count().label("n"))
        .where(Grant.team_id.is_not(None))
        .group_by(Grant.team_id)
        .subquery()
    )
    query = (
        select(Team, func.coalesce(grants.c.n, 0))
        .outerjoin(grants, grants.c.team_id == Team.id)
        .order_by(Team.name)
    )
    return [(team, n) for team, n in db.session.execute(query)]
