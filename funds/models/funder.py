"""Funders and the categories each funder's return is reported in."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint, false
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
#: The order returns list the groups in (DWP's columns a to d), then the lines that are not
#: for a household.
DISPLAY_GROUP_ORDER = ("children", "pensioner", "disabled", "other")
#: What returns call each household group unless the funder names it otherwise.
DEFAULT_GROUP_LABELS = {
    "children": "With children",
    "pensioner": "With a pensioner",
    "disabled": "With a disabled person",
    "other": "Other households",
    "young-person": "Young people (not a household)",
    "none": "No beneficiary (staff and running costs)",
}
#: How each of our delivery methods is reported unless the funder maps it otherwise
#: (DWP's delivery routes: vouchers, cash, direct provision, third party, in kind).
DEFAULT_DELIVERY_ROUTES = {
    "voucher": "Vouchers",
    "cash-out-voucher": "Cash",
    "bank-transfer": "Cash",
    "cash": "Cash",
    "direct-purchase": "In kind",
    "bill-payment": "Direct provision",
    "activity-place": "Third party",
}


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
    #: The funder's own names for the household groups (group -> label); others default.
    group_labels: Mapped[dict | None] = mapped_column(JSON)
    #: The funder's delivery route for each of our delivery methods (method -> route).
    delivery_routes: Mapped[dict | None] = mapped_column(JSON)
    #: Awards must be cash-first (bank transfer, cash, cash-out voucher) or give a reason,
    #: and record when the person asked (the Crisis and Resilience Fund).
    cash_first: Mapped[bool] = mapped_column(default=False, server_default=false())

    @property
    def group_labels_with_defaults(self) -> dict[str, str]:
        labels = dict(DEFAULT_GROUP_LABELS)
        labels.update({k: v for k, v in (self.group_labels or {}).items() if v})
        return labels

    @property
    def delivery_routes_with_defaults(self) -> dict[str, str]:
        """Method -> route for every delivery method ("" means not reported)."""
        routes = dict(DEFAULT_DELIVERY_ROUTES)
        if self.delivery_routes is not None:
            routes.update(self.delivery_routes)
        return routes

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
