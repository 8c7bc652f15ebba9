"""Our own taxonomy: spend categories and item types, mapped to each funder's categories."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from funds.models.base import Base
from funds.models.funder import Funder, FunderCategory


class SpendCategory(Base):
    """A kind of spending, e.g. "White goods"; budget lines are set per category."""

    __tablename__ = "spend_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    #: Activities are group sessions (the activity programme); others are given to people.
    is_activity: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    #: The accounts' nominal (account) code this spending is posted to, e.g. ``5000``.
    nominal_code: Mapped[str | None] = mapped_column(String(20))
    #: The accounts' tax rate name, exactly as the accounting system spells it, e.g.
    #: "No VAT" or "20% (VAT on Expenses)".
    tax_rate: Mapped[str | None] = mapped_column(String(60))

    item_types: Mapped[list[ItemType]] = relationship(
        back_populates="category", order_by="ItemType.name"
    )


class ItemType(Base):
    """A thing given, e.g. "Fridge" in "White goods"."""

    __tablename__ = "item_types"
    __table_args__ = (UniqueConstraint("category_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("spend_categories.id"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)

    category: Mapped[SpendCategory] = relationship(back_populates="item_types")


class ItemTypeMapping(Base):
    """Which of a funder's return categories an item type is reported under."""

    __tablename__ = "item_type_mappings"
    __table_args__ = (UniqueConstraint("item_type_id", "funder_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_type_id: Mapped[int] = mapped_column(ForeignKey("item_types.id"), index=True)
    funder_id: Mapped[int] = mapped_column(ForeignKey("funders.id"), index=True)
    funder_category_id: Mapped[int] = mapped_column(ForeignKey("funder_categories.id"))

    item_type: Mapped[ItemType] = relationship()
    funder: Mapped[Funder] = relationship()
    funder_category: Mapped[FunderCategory] = relationship()
