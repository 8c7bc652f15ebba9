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


class Funder(Base):
    """Who gives the money."""

    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    notes: Mapped[str | None] = mapped_column(Text)

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
