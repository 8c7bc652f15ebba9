"""The demo's Crisis and Resilience Fund quarter (April to June 2026), from seed_crf.toml,
recorded through the same services as everything else."""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from funds.disbursements.services import (
    AwardInput,
    record_disbursement,
    reverse_disbursement,
)
from funds.extensions import db
from funds.grants.services import (
    create_funder,
    create_grant,
    create_item_type,
    create_spend_category,
    map_item_type,
    set_funder_reporting,
)
from funds.models import (
    AccessRoute,
    DeliveryMethod,
    Grant,
    ItemType,
    SpendCategory,
    Team,
    User,
)
from funds.models.disbursement import CASH_FIRST_METHODS
from funds.models.funder import DEFAULT_GROUP_ORDER

PLAN = Path(__file__).with_name("seed_crf.toml")
ROUTES = (AccessRoute.APPLICATION, AccessRoute.REFERRAL, AccessRoute.PROACTIVE)


@dataclass(frozen=True)
class CrfResult:
    grant: Grant
    awards: int
    households: int
    reversals: int


def _plan() -> dict:
    return tomllib.loads(PLAN.read_text("utf-8"))


def _taxonomy(plan: dict, manager: User) -> dict[str, ItemType]:
    categories = dict(
        db.session.execute(select(SpendCategory.name, SpendCategory.id)).all()
    )
    items = {item.name: item for item in db.session.scalars(select(ItemType))}
    for category, names in plan["taxonomy"].items():
        if category not in categories:
            categories[category] = create_spend_category(
                actor=manager, name=category
            ).id
        for name in names:
            if name not in items:
                items[name] = create_item_type(
                    actor=manager, category_id=categories[category], name=name
                )
    return items


def _days(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def load_crf(
    *,
    manager: User,
    staff: User,
    finance: User,
    household_ids: list[int],
    today: date,
) -> CrfResult:
    """Record the CRF funder, grant and a quarter of awards (flushes; the caller commits)."""
    plan = _plan()
    rng = random.Random(plan["seed"])  # noqa: S311 - repeatable demo data, not secrets
    items = _taxonomy(plan, manager)
    spec = plan["funder"]
    funder = create_funder(
        actor=manager,
        name=spec["name"],
        categories=list(spec["categories"]),
        notes=spec["notes"],
    )
    set_funder_reporting(
        funder,
        actor=manager,
        group_order=DEFAULT_GROUP_ORDER.split(","),
        group_labels={},
        delivery_routes=dict(spec["delivery_routes"]),
        cash_first=spec["cash_first"],
    )
    by_name = {category.name: category.id for category in funder.categories}
    for category, names in plan["mapping"].items():
        for name in names:
            map_item_type(
                items[name], actor=manager, funder=funder, category_id=by_name[category]
            )
    team = db.session.scalar(select(Team.id).where(Team.name == plan["team"]))
    grant = create_grant(
        actor=manager,
        reference=plan["reference"],
        title=plan["title"],
        funder_id=funder.id,
        total=Decimal(plan["total"]),
        starts_on=plan["starts_on"],
        ends_on=plan["ends_on"],
        team_id=team,
        notes=spec["notes"],
    )
    first, last = plan["quarter_from"], plan["quarter_to"]
    kinds = plan["kinds"]
    weights = [kind["weight"] for kind in kinds]
    people = rng.sample(household_ids, min(len(household_ids), plan["awards"] * 2 // 3))
    lines = []
    for _ in range(plan["awards"]):
        kind = rng.choices(kinds, weights)[0]
        method = rng.choices(list(kind["methods"]), list(kind["methods"].values()))[0]
        awarded_on = _days(rng, first, last)
        requested_on = max(
            first - timedelta(days=3),
            awarded_on - timedelta(days=rng.choice(kind["days"])),
        )
        lines.append(
            AwardInput(
                grant_id=grant.id,
                item_type_id=items[kind["item"]].id,
                amount=Decimal(rng.choice(kind["amounts"])),
                awarded_on=awarded_on,
                delivery_method=DeliveryMethod(method),
                access_route=rng.choice(ROUTES),
                household_id=rng.choice(people),
                requested_on=requested_on,
                method_reason=None
                if DeliveryMethod(method) in CASH_FIRST_METHODS
                else kind["reason"],
                evidence_reference=f"CRF-{awarded_on:%m%d}-{rng.randrange(1000):03d}",
            )
        )
    month = first
    while month <= last:
        for running in plan["running"]:
            lines.append(
                AwardInput(
                    grant_id=grant.id,
                    item_type_id=items[running["item"]].id,
                    amount=Decimal(running["amount"]),
                    awarded_on=month.replace(day=25),
                    delivery_method=DeliveryMethod(running["method"]),
                    access_route=AccessRoute.NOT_APPLICABLE,
                    supplier=running["supplier"],
                    evidence_reference=f"INV-{month:%Y%m}",
                )
            )
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    for once in plan["once"]:
        lines.append(
            AwardInput(
                grant_id=grant.id,
                item_type_id=items[once["item"]].id,
                amount=Decimal(once["amount"]),
                awarded_on=once["on"],
                delivery_method=DeliveryMethod(once["method"]),
                access_route=AccessRoute.NOT_APPLICABLE,
                supplier=once["supplier"],
                method_reason="An invoice from the evaluator, paid to them",
            )
        )
    lines.sort(key=lambda line: line.awarded_on)
    recorded = [
        record_disbursement(
            line,
            actor=staff if line.household_id else finance,
            today=today,
        )
        for line in lines
    ]
    awards = [line for line in recorded if line.household_id is not None]
    for line in rng.sample(awards, plan["reversed"]):
        reverse_disbursement(
            line,
            actor=finance,
            reason="Recorded twice by mistake",
            reversed_on=min(line.awarded_on + timedelta(days=2), last),
            today=today,
        )
    return CrfResult(
        grant=grant,
        awards=len(awards),
        households=len({line.household_id for line in awards}),
        reversals=plan["reversed"],
    )
