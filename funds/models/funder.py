"""Funders and the categories each funder's return is reported in."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base

#: The Household Support Fund's spend categories (DWP wording), in the return's order.
HSF_CATEGORIES = (
    "Food",
    "Energy and water",
    "Essentials linked to energy and water",
    "Wider essentials",
    "Housing costs",
    "Advice",
    "Administration",
)


#: Household groups for returns, and the default order used when a household is in several.
HOUSEHOLD_GROUPS = ("children", "disabled", "pensioner")
DEFAULT_GROUP_ORDER = ",".join(HOUSEHOLD_GROUPS)


class Funder(Base):
    """Who gives the money."""

    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)
    #: Which household group wins when a household is in several (comma-separated, first
    #: wins; a household in none of them is "other").
    group_order: Mapped[str] = mapped_column(
        String(60), default=DEFAULT_GROUP_ORDER, server_default=DEFAULT_GROUP_ORDER
    )

    @property
    def household_group_order(self) -> tuple[str, ...]:
        order = tuple(
            g for g in (self.group_order or "").split(",") if g in HOUSEHOLD_GROUPS
        )
        return order + tuple(g for g in HOUSEHOLD_GROUPS if g not in order)

    categories: Mapped[list[FunderCategory]] = relationship(
        back_populates="funder", order_by="FunderCategory.position"
    )

    def __repr__(self) -> str:
        return f"<Funder {self.name}>"


class FunderCategory(Base):
    """One line of a funder's return (e.g. HSF "Food")."""

    __tablename__ = "funder_categories"
    __table_args__ = (UniqueConstraint("funder_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)

    funder: Mapped[Funder] = relationship(back_populates="categories")
