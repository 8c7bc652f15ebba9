"""The taxonomy a new installation starts with, and the default Household Support Fund mapping."""

from __future__ import annotations

#: (category, is an activity category, item types), as the service gives them today.
DEFAULT_TAXONOMY: tuple[tuple[str, bool, tuple[str, ...]], ...] = (
    ("Food", False, ("Food voucher",)),
    ("White goods", False, ("Washing machine", "Fridge", "Cooker")),
    ("Utility bills", False, ("Gas bill", "Electricity bill", "Water bill")),
    ("Clothing", False, ("School uniform voucher", "Winter coat", "Shoes")),
    (
        "Activities",
        True,
        (
            "Kayaking",
            "Abseiling",
            "Raft building",
            "Bush crafts",
            "Doughnutting",
            "High ropes",
            "Theatre trip",
            "Restaurant visit",
            "Cinema voucher",
            "Steam train trip",
        ),
    ),
    ("Staff costs", False, ("Salary", "Employer on-costs", "Training")),
)

#: Item type -> HSF return category (DWP definitions; see the README's mapping notes).
DEFAULT_HSF_MAPPING: dict[str, str] = {
    "Food voucher": "Food",
    "Gas bill": "Energy and water",
    "Electricity bill": "Energy and water",
    "Water bill": "Energy and water",
    "Washing machine": "Essentials linked to energy and water",
    "Fridge": "Essentials linked to energy and water",
    "Cooker": "Essentials linked to energy and water",
    "Winter coat": "Essentials linked to energy and water",
    "School uniform voucher": "Wider essentials",
    "Shoes": "Wider essentials",
}


def ensure_default_taxonomy() -> None:
    """Add any default category or item type that is missing (the migration's data)."""
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import ItemType, SpendCategory

    for name, is_activity, items in DEFAULT_TAXONOMY:
        category = db.session.scalar(
            select(SpendCategory).where(SpendCategory.name == name)
        )
        if category is None:
            category = SpendCategory(name=name, is_activity=is_activity)
            db.session.add(category)
            db.session.flush()
        existing = {item.name for item in category.item_types}
        for item in items:
            if item not in existing:
                db.session.add(ItemType(category_id=category.id, name=item))
    db.session.flush()


def apply_default_hsf_mapping(funder) -> int:
    """Map every item named in DEFAULT_HSF_MAPPING to the funder's category of that name.

    Returns how many items were mapped. Items or categories that do not exist are skipped.
    """
    from sqlalchemy import select

    from funds.extensions import db
    from funds.models import ItemType, ItemTypeMapping

    categories = {category.name: category for category in funder.categories}
    mapped = 0
    for item_name, category_name in DEFAULT_HSF_MAPPING.items():
        category = categories.get(category_name)
        item = db.session.scalar(select(ItemType).where(ItemType.name == item_name))
        if category is None or item is None:
            continue
        mapping = db.session.scalar(
            select(ItemTypeMapping).where(
                ItemTypeMapping.item_type_id == item.id,
                ItemTypeMapping.funder_id == funder.id,
            )
        )
        if mapping is None:
            db.session.add(
                ItemTypeMapping(
                    item_type_id=item.id,
                    funder_id=funder.id,
                    funder_category_id=category.id,
                )
            )
            mapped += 1
    db.session.flush()
    return mapped
