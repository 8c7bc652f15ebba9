"""Funders, grants, budget lines, teams and the item taxonomy: the writes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from funds.audit import record_event
from funds.database import lock_for_update, writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.grants.queries import allocated_to_lines, spent_in_category, spent_on_grant
from funds.models import (
    BudgetControl,
    BudgetLine,
    Disbursement,
    Funder,
    FunderCategory,
    Grant,
    GrantStatus,
    GrantTotalChange,
    ItemType,
    ItemTypeMapping,
    Role,
    SpendCategory,
    Team,
    User,
)
from funds.models.grant import DEFAULT_TOLERANCE
from funds.money import format_money

MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
#: An update_grant argument left out: that detail keeps its value.
_KEEP: object = object()
#: How far the forecast may fall short before a grant shows as underspending (percent).
TOLERANCE_RANGE = (0, 100)


def _require_manager(actor: User) -> None:
    if actor.role not in MANAGER_ROLES:
        raise NotAllowed("Only a manager can do this")


def _unique(
    model, column, value, *, field: str, message: str, exclude_id: int | None = None
):
    query = select(model.id).where(func.lower(column) == value.lower())
    if exclude_id is not None:
        query = query.where(model.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise ValidationError(message, field=field)


# --- funders ---------------------------------------------------------------------------


@writes
def create_funder(
    *,
    actor: User,
    name: str,
    categories: list[str],
    notes: str | None = None,
    default_hsf_mapping: bool = False,
) -> Funder:
    """Add a funder with the categories its return uses, in order.

    :param default_hsf_mapping: also map our item types to the funder's Household
        Support Fund categories (funds.taxonomy.defaults.DEFAULT_HSF_MAPPING).
    :raises ValidationError: for a duplicate name or no categories.
    """
    _require_manager(actor)
    name = name.strip()
    _unique(
        Funder,
        Funder.name,
        name,
        field="name",
        message="A funder with this name already exists",
    )
    cleaned = _clean_categories(categories)
    funder = Funder(name=name, notes=notes or None)
    db.session.add(funder)
    db.session.flush()
    for position, category in enumerate(cleaned):
        db.session.add(
            FunderCategory(funder_id=funder.id, name=category, position=position)
        )
    db.session.flush()
    mapped = 0
    if default_hsf_mapping:
        from funds.taxonomy.defaults import apply_default_hsf_mapping

        db.session.refresh(funder)  # its categories were added after it was loaded
        mapped = apply_default_hsf_mapping(funder)
    record_event(
        "funder.create",
        actor=actor,
        obj=funder,
        after={
            "name": name,
            "categories": cleaned,
            **({"default_hsf_mapping": mapped} if default_hsf_mapping else {}),
        },
    )
    return funder


def _clean_categories(categories: list[str]) -> list[str]:
    cleaned: list[str] = []
    for category in categories:
        category = category.strip()
        if category and category.lower() not in {c.lower() for c in cleaned}:
            cleaned.append(category)
    if not cleaned:
        raise ValidationError("Enter at least one return category", field="categories")
    return cleaned


@writes
def add_funder_categories(
    funder: Funder, *, actor: User, categories: list[str]
) -> list[FunderCategory]:
    """Add return categories to a funder (existing ones are kept, never renamed away)."""
    _require_manager(actor)
    existing = {c.name.lower() for c in funder.categories}
    position = len(funder.categories)
    added = []
    for name in _clean_categories(categories):
        if name.lower() in existing:
            continue
        category = FunderCategory(funder_id=funder.id, name=name, position=position)
        position += 1
        db.session.add(category)
        added.append(category)
    if not added:
        raise ValidationError("These categories already exist", field="categories")
    db.session.flush()
    record_event(
        "funder.add_categories",
        actor=actor,
        obj=funder,
        after={"added": [c.name for c in added]},
    )
    return added


# --- teams and taxonomy ------------------------------------------------------------------


@writes
def create_team(*, actor: User, name: str) -> Team:
    """Add a team."""
    _require_manager(actor)
    name = name.strip()
    _unique(
        Team,
        Team.name,
        name,
        field="name",
        message="A team with this name already exists",
    )
    team = Team(name=name)
    db.session.add(team)
    db.session.flush()
    record_event("team.create", actor=actor, obj=team, after={"name": name})
    return team


@writes
def create_spend_category(
    *, actor: User, name: str, is_activity: bool = False
) -> SpendCategory:
    """Add a spend category."""
    _require_manager(actor)
    name = name.strip()
    _unique(
        SpendCategory,
        SpendCategory.name,
        name,
        field="name",
        message="This category already exists",
    )
    category = SpendCategory(name=name, is_activity=is_activity)
    db.session.add(category)
    db.session.flush()
    record_event(
        "spend_category.create",
        actor=actor,
        obj=category,
        after={"name": name, "is_activity": is_activity},
    )
    return category


@writes
def update_spend_category_accounts(
    category: SpendCategory,
    *,
    actor: User,
    nominal_code: str | None,
    tax_rate: str | None,
) -> None:
    """Set the nominal code and tax rate the accounts post this category's spending to."""
    _require_manager(actor)
    lock_for_update(SpendCategory, category.id)
    before = {"nominal_code": category.nominal_code, "tax_rate": category.tax_rate}
    category.nominal_code = (nominal_code or "").strip() or None
    category.tax_rate = (tax_rate or "").strip() or None
    after = {"nominal_code": category.nominal_code, "tax_rate": category.tax_rate}
    changed = {key: value for key, value in after.items() if before[key] != value}
    db.session.flush()
    if changed:
        record_event(
            "spend_category.update",
            actor=actor,
            obj=category,
            before={key: before[key] for key in changed},
            after=changed,
        )


@writes
def create_item_type(*, actor: User, category_id: int, name: str) -> ItemType:
    """Add an item type to a category."""
    _require_manager(actor)
    category = db.session.get(SpendCategory, category_id)
    if category is None:
        raise ValidationError("Choose a category", field="category")
    name = name.strip()
    if db.session.scalar(
        select(ItemType.id).where(
            ItemType.category_id == category_id,
            func.lower(ItemType.name) == name.lower(),
        )
    ):
        raise ValidationError("This item already exists in the category", field="name")
    item = ItemType(category_id=category_id, name=name)
    db.session.add(item)
    db.session.flush()
    record_event(
        "item_type.create",
        actor=actor,
        obj=item,
        after={"name": name, "category": category.name},
    )
    return item


@writes
def set_item_active(item: ItemType, *, actor: User, active: bool) -> None:
    """Retire an item type (it stays on past awards) or bring it back."""
    _require_manager(actor)
    if item.active == active:
        return
    item.active = active
    record_event(
        "item_type.set_active",
        actor=actor,
        obj=item,
        before={"active": not active},
        after={"active": active},
    )
    db.session.flush()


@writes
def map_item_type(
    item: ItemType, *, actor: User, funder: Funder, category_id: int | None
) -> None:
    """Say which of a funder's return categories an item is reported under (None: unmapped)."""
    _require_manager(actor)
    mapping = db.session.scalar(
        select(ItemTypeMapping).where(
            ItemTypeMapping.item_type_id == item.id,
            ItemTypeMapping.funder_id == funder.id,
        )
    )
    before = mapping.funder_category.name if mapping else None
    if category_id is None:
        if mapping is not None:
            db.session.delete(mapping)
    else:
        category = db.session.get(FunderCategory, category_id)
        if category is None or category.funder_id != funder.id:
            raise ValidationError(
                f"Choose one of {funder.name}'s categories", field=f"item_{item.id}"
            )
        if mapping is None:
            mapping = ItemTypeMapping(item_type_id=item.id, funder_id=funder.id)
            db.session.add(mapping)
        mapping.funder_category_id = category.id
    after = db.session.get(FunderCategory, category_id).name if category_id else None
    if before != after:
        record_event(
            "item_type.map",
            actor=actor,
            obj=item,
            before={"funder": funder.name, "category": before},
            after={"funder": funder.name, "category": after},
        )
    db.session.flush()


def set_funder_mapping(
    funder: Funder, *, actor: User, choices: dict[int, int | None]
) -> int:
    """Map several item types at once (item id -> funder category id or None).

    Only items whose mapping changes are touched (each audited by map_item_type).
    Returns how many changed.

    :raises ValidationError: for an unknown item or another funder's category.
    """
    _require_manager(actor)
    current = dict(
        db.session.execute(
            select(
                ItemTypeMapping.item_type_id, ItemTypeMapping.funder_category_id
            ).where(ItemTypeMapping.funder_id == funder.id)
        ).all()
    )
    changed = 0
    for item_id, category_id in choices.items():
        if current.get(item_id) == category_id:
            continue
        item = db.session.get(ItemType, item_id)
        if item is None:
            raise ValidationError("Choose an item type", field=f"item_{item_id}")
        map_item_type(item, actor=actor, funder=funder, category_id=category_id)
        changed += 1
    return changed


@writes
def set_funder_reporting(
    funder: Funder,
    *,
    actor: User,
    group_order: list[str],
    group_labels: dict[str, str],
    delivery_routes: dict[str, str],
    cash_first: bool,
) -> None:
    """How a funder's returns are laid out: which household group wins when a household is
    in several, what each group is called, the funder's delivery route for each of our
    delivery methods ("" = not reported), and whether awards must be cash-first.

    :raises ValidationError: for a group order that is not each group once, or two groups
        or values with the same name.
    """
    from funds.models import DeliveryMethod
    from funds.models.funder import DEFAULT_GROUP_LABELS, HOUSEHOLD_GROUPS

    _require_manager(actor)
    if sorted(group_order) != sorted(HOUSEHOLD_GROUPS):
        raise ValidationError(
            "Put each household group in the order once", field="group_first"
        )
    labels = {
        k: v.strip() for k, v in group_labels.items() if k in DEFAULT_GROUP_LABELS
    }
    chosen = [labels.get(k) or DEFAULT_GROUP_LABELS[k] for k in DEFAULT_GROUP_LABELS]
    if len({c.casefold() for c in chosen}) != len(chosen):
        raise ValidationError(
            "Give each household group a different name", field="label_children"
        )
    methods = {m.value for m in DeliveryMethod}
    routes = {k: v.strip() for k, v in delivery_routes.items() if k in methods}
    before = {
        "group_order": funder.group_order,
        "group_labels": funder.group_labels,
        "delivery_routes": funder.delivery_routes,
        "cash_first": funder.cash_first,
    }
    funder.group_order = ",".join(group_order)
    funder.group_labels = {
        k: v for k, v in labels.items() if v and v != DEFAULT_GROUP_LABELS[k]
    } or None
    funder.delivery_routes = routes
    funder.cash_first = cash_first
    db.session.flush()
    record_event(
        "funder.reporting",
        actor=actor,
        obj=funder,
        before=before,
        after={
            "group_order": funder.group_order,
            "group_labels": funder.group_labels,
            "delivery_routes": funder.delivery_routes,
            "cash_first": funder.cash_first,
        },
    )


# --- grants ---------------------------------------------------------------------------


@writes
def create_grant(
    *,
    actor: User,
    reference: str,
    title: str,
    funder_id: int,
    total: Decimal,
    starts_on: date,
    ends_on: date,
    control: BudgetControl = BudgetControl.BLOCK,
    team_id: int | None = None,
    notes: str | None = None,
    max_award: Decimal | None = None,
    accounts_code: str | None = None,
    return_due_on: date | None = None,
    forecast_tolerance: int | None = None,
) -> Grant:
    """Set up a grant.

    :raises ValidationError: for a duplicate reference, an unknown funder, a bad period.
    """
    _require_manager(actor)
    reference = reference.strip()
    _unique(
        Grant,
        Grant.reference,
        reference,
        field="reference",
        message="A grant with this reference already exists",
    )
    if db.session.get(Funder, funder_id) is None:
        raise ValidationError("Choose a funder", field="funder")
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ValidationError("Choose a team", field="team")
    if ends_on < starts_on:
        raise ValidationError(
            "The end date must be on or after the start date", field="ends_on"
        )
    if total <= 0:
        raise ValidationError("Enter a total of £0.01 or more", field="total")
    max_award = _max_award(max_award)
    if forecast_tolerance is None:
        forecast_tolerance = DEFAULT_TOLERANCE
    _check_tolerance(forecast_tolerance)
    grant = Grant(
        reference=reference,
        title=title.strip(),
        funder_id=funder_id,
        team_id=team_id,
        total=total,
        starts_on=starts_on,
        ends_on=ends_on,
        control=BudgetControl(control),
        notes=notes or None,
        max_award=max_award,
        accounts_code=(accounts_code or "").strip() or None,
        return_due_on=return_due_on,
        forecast_tolerance=forecast_tolerance,
    )
    db.session.add(grant)
    db.session.flush()
    record_event("grant.create", actor=actor, obj=grant, after=_grant_values(grant))
    return grant


def update_grant(
    grant: Grant,
    *,
    actor: User,
    title: str,
    team_id: int | None,
    starts_on: date,
    ends_on: date,
    control: BudgetControl,
    status: GrantStatus,
    notes: str | None,
    max_award: Decimal | None = None,
    accounts_code=_KEEP,
    return_due_on=_KEEP,
    forecast_tolerance=_KEEP,
    evidence_required_above=_KEEP,
) -> None:
    """Change a grant's details (not its total: see change_grant_total). The accounts
    code, return due date, forecast tolerance and evidence rule keep their values unless
    given (``evidence_required_above=None``: no rule).

    :raises ValidationError: when the new period would leave recorded spend outside it.
    """
    _require_manager(actor)
    lock_for_update(Grant, grant.id)
    if ends_on < starts_on:
        raise ValidationError(
            "The end date must be on or after the start date", field="ends_on"
        )
    if team_id is not None and db.session.get(Team, team_id) is None:
        raise ValidationError("Choose a team", field="team")
    if forecast_tolerance is None:
        forecast_tolerance = _KEEP  # an empty box keeps the grant's tolerance
    if forecast_tolerance is not _KEEP:
        _check_tolerance(forecast_tolerance)
    first, last = db.session.execute(
        select(
            func.min(Disbursement.awarded_on), func.max(Disbursement.awarded_on)
        ).where(Disbursement.grant_id == grant.id)
    ).one()
    if first is not None and (starts_on > first or ends_on < last):
        raise ValidationError(
            f"Awards are recorded from {first:%-d %B %Y} to {last:%-d %B %Y}: "
            "the period must include them",
            field="starts_on" if starts_on > first else "ends_on",
        )
    before = _grant_values(grant)
    grant.title = title.strip()
    grant.team_id = team_id
    grant.starts_on = starts_on
    grant.ends_on = ends_on
    grant.control = BudgetControl(control)
    grant.status = GrantStatus(status)
    grant.notes = notes or None
    if max_award is not None:
        grant.max_award = _max_award(max_award)
    if accounts_code is not _KEEP:
        grant.accounts_code = (accounts_code or "").strip() or None
    if return_due_on is not _KEEP:
        grant.return_due_on = return_due_on
    if forecast_tolerance is not _KEEP:
        grant.forecast_tolerance = forecast_tolerance
    if evidence_required_above is not _KEEP:
        if evidence_required_above is not None and evidence_required_above < 0:
            raise ValidationError(
                "Enter an amount of £0.00 or more", field="evidence_required_above"
            )
        grant.evidence_required_above = evidence_required_above
    db.session.flush()
    after = _grant_values(grant)
    changed = {k: v for k, v in after.items() if before.get(k) != v}
    if changed:
        record_event(
            "grant.update",
            actor=actor,
            obj=grant,
            before={k: before[k] for k in changed},
            after=changed,
        )


def change_grant_total(
    grant: Grant, *, actor: User, new_total: Decimal, reason: str
) -> GrantTotalChange:
    """Change what a grant is worth; never below what is spent and held in unissued
    vouchers (so "available to award" never goes below zero), nor below its budget lines.

    :raises ValidationError: on ``new_total`` or ``reason``.
    """
    _require_manager(actor)
    lock_for_update(Grant, grant.id)
    if not reason or not reason.strip():
        raise ValidationError("Say why the total is changing", field="reason")
    if new_total <= 0:
        raise ValidationError("Enter a total of £0.01 or more", field="new_total")
    if new_total == grant.total:
        raise ValidationError("This is already the grant's total", field="new_total")
    from funds.balances import voucher_stock

    spent = spent_on_grant(grant.id)
    held = voucher_stock(grant.id)
    if new_total < spent + held:
        held_words = f" and held in vouchers not yet given out ({format_money(held)})"
        raise ValidationError(
            f"The total cannot be less than is already spent ({format_money(spent)})"
            + (held_words if held else ""),
            field="new_total",
        )
    allocated = allocated_to_lines(grant.id)
    if new_total < allocated:
        raise ValidationError(
            f"The budget lines add up to {format_money(allocated)}: reduce them first",
            field="new_total",
        )
    change = GrantTotalChange(
        grant_id=grant.id,
        old_total=grant.total,
        new_total=new_total,
        reason=reason.strip(),
        changed_by_id=actor.id,
    )
    db.session.add(change)
    old = grant.total
    grant.total = new_total
    db.session.flush()
    record_event(
        "grant.change_total",
        actor=actor,
        obj=grant,
        before={"total": old},
        after={"total": new_total, "reason": change.reason},
    )
    return change


def set_budget_line(
    grant: Grant,
    *,
    actor: User,
    category_id: int,
    amount: Decimal,
    control: BudgetControl,
) -> BudgetLine:
    """Create or change a budget line; all lines together never exceed the grant's total.

    :raises ValidationError: on ``amount`` or ``category``.
    """
    _require_manager(actor)
    lock_for_update(Grant, grant.id)
    category = db.session.get(SpendCategory, category_id)
    if category is None:
        raise ValidationError("Choose a spend category", field="category")
    if amount < 0:
        raise ValidationError("Enter an amount of £0.00 or more", field="amount")
    others = allocated_to_lines(grant.id, excluding_category=category_id)
    if others + amount > grant.total:
        room = grant.total - others
        raise ValidationError(
            f"Budget lines cannot add up to more than the grant's total: "
            f"{format_money(room)} is unallocated",
            field="amount",
        )
    spent = spent_in_category(grant.id, category_id)
    if amount < spent:
        raise ValidationError(
            f"{format_money(spent)} is already spent on {category.name}: the line cannot be less",
            field="amount",
        )
    line = db.session.scalar(
        select(BudgetLine).where(
            BudgetLine.grant_id == grant.id, BudgetLine.category_id == category_id
        )
    )
    before = None
    if line is None:
        line = BudgetLine(
            grant_id=grant.id,
            category_id=category_id,
            amount=amount,
            control=BudgetControl(control),
        )
        db.session.add(line)
    else:
        before = {"amount": line.amount, "control": line.control}
        line.amount = amount
        line.control = BudgetControl(control)
    db.session.flush()
    record_event(
        "budget_line.set",
        actor=actor,
        obj=grant,
        before=before,
        after={
            "category": category.name,
            "amount": amount,
            "control": BudgetControl(control),
        },
    )
    return line


def _max_award(value: Decimal | None) -> Decimal:
    from funds.models.grant import DEFAULT_MAX_AWARD

    if value is None:
        return DEFAULT_MAX_AWARD
    if value <= 0:
        raise ValidationError(
            "Enter the largest single award, £0.01 or more", field="max_award"
        )
    return value


def _check_tolerance(value) -> None:
    low, high = TOLERANCE_RANGE
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not low <= value <= high
    ):
        raise ValidationError(
            f"Enter the forecast tolerance as a whole number from {low} to {high}",
            field="forecast_tolerance",
        )


def _grant_values(grant: Grant) -> dict:
    return {
        "reference": grant.reference,
        "title": grant.title,
        "funder_id": grant.funder_id,
        "team_id": grant.team_id,
        "total": grant.total,
        "starts_on": grant.starts_on,
        "ends_on": grant.ends_on,
        "control": grant.control,
        "status": grant.status,
        "notes": grant.notes,
        "max_award": grant.max_award,
        "evidence_required_above": grant.evidence_required_above,
        "accounts_code": grant.accounts_code,
        "return_due_on": grant.return_due_on,
        "forecast_tolerance": grant.forecast_tolerance,
    }
