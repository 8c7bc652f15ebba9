"""Importing awards (the ledger). Each row meets exactly the award form's rules
(funds.disbursements.services.award_rules: period, locks, the grant's largest award,
cash-first, what is available to award on the grant and its budget line), with everything
those rules need looked up once for the whole file and kept up to date row by row. Rows
are written in batches in the import's one transaction."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, insert, or_, select

from funds.balances import available_to_award
from funds.database import bulk_insert, lock_for_update
from funds.disbursements.services import (
    AwardInput,
    Overspend,
    award_rules,
    reversal_of,
)
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.grants.queries import spent_in_category
from funds.imports import cells
from funds.imports.kinds import (
    Context,
    Field,
    Kind,
    RowProblem,
    register,
    source_key_field,
)
from funds.locks import active_locks, covering
from funds.models import (
    AccessRoute,
    BudgetLine,
    DeliveryMethod,
    Disbursement,
    Grant,
    Household,
    ImportRecord,
    ItemType,
    SpendCategory,
    User,
    YoungPerson,
)
from funds.money import MAX_AMOUNT

#: Rows written to the database at a time.
BATCH = 2_000
#: The award form's field -> this import's column.
FORM_FIELDS = {
    "grant": "grant",
    "item_type": "item",
    "amount": "amount",
    "quantity": "quantity",
    "awarded_on": "awarded_on",
    "beneficiary": "beneficiary",
    "access_route": "access_route",
    "requested_on": "requested_on",
    "method_reason": "method_reason",
    "delivery_method": "delivery_method",
}
_DELIVERY = cells.enum_options(DeliveryMethod)
_ACCESS = cells.enum_options(AccessRoute)


def _text(length: int, *, multiline: bool = False):
    return lambda cell: cells.text(cell, max_length=length, multiline=multiline)


class Awards(Kind):
    key = "awards"
    label = "Awards"
    noun = "awards"
    per_row_savepoint = False
    fields = (
        source_key_field("award"),
        Field(
            "grant",
            "Grant reference",
            _text(40),
            required=True,
            rule="The grant's reference in funds, like C4C-HSF4-2023. The grant must be "
            "open.",
            aliases=("grant",),
        ),
        Field(
            "beneficiary",
            "Household or young person",
            _text(120),
            rule="Optional: a reference in funds (H-7K3Q9M, YP-4M2X8C), their "
            "case-system reference, or their id in a household or young people file "
            "imported before. Leave it empty for spending with no beneficiary.",
            aliases=("household", "young person", "beneficiary", "household reference"),
        ),
        Field(
            "item",
            "Item",
            _text(240),
            required=True,
            rule="What was given, as named in funds (Food voucher, Fridge, Gas bill...); "
            "“Category: Item” when two categories hold an item of that name.",
            aliases=("item type", "what was given"),
        ),
        Field(
            "quantity",
            "Quantity",
            lambda cell: cells.whole(cell, low=1, high=10_000),
            rule="Optional: a whole number from 1; 1 when empty.",
            aliases=("qty",),
        ),
        Field(
            "amount",
            "Amount",
            cells.money,
            required=True,
            rule="In pounds and pence: 12.50 or £1,234.50 (no minus signs, at most two "
            "decimal places).",
            aliases=("amount (£)", "value", "cost"),
        ),
        Field(
            "awarded_on",
            "Date given",
            cells.day,
            required=True,
            rule="A date within the grant's period, not in the future: 27/03/2024 or a "
            "date cell.",
            aliases=("date", "awarded on", "date awarded"),
        ),
        Field(
            "delivery_method",
            "How it was given",
            lambda cell: cells.choice(cell, _DELIVERY, what="how it was given"),
            required=True,
            rule="One of: "
            + ", ".join(method.label for method in DeliveryMethod)
            + ".",
            aliases=("delivery method", "method"),
        ),
        Field(
            "access_route",
            "How they came to be helped",
            lambda cell: cells.choice(cell, _ACCESS, what="how they came to be helped"),
            required=True,
            rule="Application, Proactive or Referral; Not applicable for spending with "
            "no beneficiary.",
            aliases=("access route", "how they came to us"),
        ),
        Field(
            "supplier",
            "Supplier",
            _text(120),
            rule="Optional.",
        ),
        Field(
            "evidence_reference",
            "Invoice or receipt reference",
            _text(80),
            rule="Optional.",
            aliases=("evidence reference", "invoice", "receipt"),
        ),
        Field(
            "requested_on",
            "Date they asked for help",
            cells.day,
            rule="Optional, but needed on cash-first grants.",
            aliases=("requested on", "date requested"),
        ),
        Field(
            "method_reason",
            "Why not paid cash-first",
            _text(200),
            rule="Needed on cash-first grants when not paid by bank transfer, cash or "
            "a cash-out voucher.",
            aliases=("method reason",),
        ),
        Field(
            "notes",
            "Notes",
            _text(4000, multiline=True),
            rule="Optional.",
        ),
    )

    # --- looking things up once ---------------------------------------------------------

    def prepare(self, ctx: Context, rows: int) -> None:
        state = ctx.state
        state["grants"] = {
            grant.reference.upper(): grant
            for grant in db.session.scalars(select(Grant))
        }
        items: dict[str, list[ItemType]] = {}
        for item in db.session.scalars(
            select(ItemType).join(
                SpendCategory, SpendCategory.id == ItemType.category_id
            )
        ):
            for name in (item.name, f"{item.category.name}: {item.name}"):
                found = items.setdefault(name.casefold(), [])
                if item not in found:
                    found.append(item)
        state["items"] = items
        # Everyone's reference, in two queries (ids from earlier imports and case-system
        # references are looked up as they come).
        people: dict[str, tuple[int | None, int | None]] = {}
        for reference, ident in db.session.execute(
            select(Household.reference, Household.id).where(
                Household.erased_at.is_(None)
            )
        ):
            people[reference] = (ident, None)
        for reference, ident in db.session.execute(
            select(YoungPerson.reference, YoungPerson.id).where(
                YoungPerson.erased_at.is_(None)
            )
        ):
            people[reference] = (None, ident)
        state["people"] = people
        state["available"] = {}
        state["lines"] = {}
        state["locks"] = {}
        state["batch"] = []

    def _grant(self, ctx: Context, reference: str) -> Grant:
        grant = ctx.state["grants"].get(reference.upper())
        if grant is None:
            raise RowProblem(
                f"There is no grant with the reference {reference}", "grant"
            )
        if grant.id not in ctx.state["available"]:
            # Importing, the first row on a grant locks it (FOR UPDATE on PostgreSQL; the
            # import already holds SQLite's write lock); its balances are read once.
            if ctx.write:
                lock_for_update(Grant, grant.id)
            ctx.state["available"][grant.id] = available_to_award(grant)
            ctx.state["locks"][grant.id] = active_locks([grant.id])[grant.id]
            ctx.state["lines"][grant.id] = {
                line.category_id: [line, spent_in_category(grant.id, line.category_id)]
                for line in db.session.scalars(
                    select(BudgetLine).where(BudgetLine.grant_id == grant.id)
                )
            }
        return grant

    def _item(self, ctx: Context, name: str) -> ItemType:
        found = ctx.state["items"].get(" ".join(name.split()).casefold(), [])
        if not found:
            raise RowProblem(f"There is no item called {name} in funds", "item")
        if len(found) > 1:
            raise RowProblem(
                f"Two categories have an item called {name}: write “Category: {name}”",
                "item",
            )
        return found[0]

    def _beneficiary(self, ctx: Context, typed: str | None):
        if not typed:
            return None, None
        cache = ctx.state.setdefault("people", {})
        if typed not in cache:
            cache[typed] = _find_beneficiary(typed)
        found = cache[typed]
        if found is None:
            raise RowProblem(
                f"There is no household or young person {typed} (a reference, a "
                "case-system reference or an id from an earlier import)",
                "beneficiary",
            )
        return found

    # --- one row --------------------------------------------------------------------------

    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        grant = self._grant(ctx, values["grant"])
        item = self._item(ctx, values["item"])
        household_id, young_person_id = self._beneficiary(ctx, values["beneficiary"])
        data = AwardInput(
            grant_id=grant.id,
            item_type_id=item.id,
            amount=values["amount"],
            awarded_on=values["awarded_on"],
            delivery_method=values["delivery_method"],
            access_route=values["access_route"],
            quantity=values["quantity"] or 1,
            household_id=household_id,
            young_person_id=young_person_id,
            supplier=values["supplier"],
            evidence_reference=values["evidence_reference"],
            notes=values["notes"],
            requested_on=values["requested_on"],
            method_reason=values["method_reason"],
        )
        if data.amount > MAX_AMOUNT:
            raise RowProblem("Enter a smaller amount", "amount")
        line = ctx.state["lines"][grant.id].get(item.category_id)
        try:
            award_rules(
                data,
                grant=grant,
                item=item,
                today=ctx.today,
                lock=covering(ctx.state["locks"][grant.id], data.awarded_on),
                available=ctx.state["available"][grant.id],
                line=line[0] if line else None,
                line_spent=line[1] if line else None,
                actor=ctx.actor,
            )
        except Overspend as error:
            raise RowProblem(
                error.message.replace(" Tick the box to confirm the overspend.", "")
                + " (rows are taken in the file's order)",
                "amount",
            ) from error
        except ValidationError as error:
            raise RowProblem(
                error.message, FORM_FIELDS.get(error.field or "")
            ) from error
        ctx.state["available"][grant.id] -= data.amount
        if line:
            line[1] += data.amount
        ctx.state["batch"].append((number, source_key, _row_values(data, ctx.actor)))
        if ctx.write and len(ctx.state["batch"]) >= BATCH:
            self._write(ctx)

    def _write(self, ctx: Context) -> None:
        batch = ctx.state["batch"]
        ctx.state["batch"] = []
        if not ctx.write or not batch:
            return
        ids = bulk_insert(Disbursement, [values for _, _, values in batch], ids=True)
        ctx.created.extend(
            (number, key, ident)
            for (number, key, _), ident in zip(batch, ids, strict=True)
        )

    def finish(self, ctx: Context) -> None:
        self._write(ctx)

    # --- undo ---------------------------------------------------------------------------

    def undo(self, import_run, actor: User, today: date) -> dict:
        """Reverse every award of the import that still stands, dated as the award (so
        each period's totals come back exactly). Refused when any is in a locked period."""
        lines = list(
            db.session.scalars(
                select(Disbursement)
                .join(ImportRecord, ImportRecord.object_id == Disbursement.id)
                .where(
                    ImportRecord.import_id == import_run.id,
                    ImportRecord.kind == self.key,
                )
                .order_by(Disbursement.id)
            )
        )
        reversed_already = set(
            db.session.scalars(
                select(Disbursement.reverses_id).where(
                    Disbursement.reverses_id.in_([line.id for line in lines])
                )
            )
        )
        locks = active_locks({line.grant_id for line in lines})
        for line in lines:
            lock = covering(locks[line.grant_id], line.awarded_on)
            if lock is not None and line.id not in reversed_already:
                raise NotAllowed(
                    f"Award #{line.id} is dated in a locked period: this import can no "
                    "longer be undone as a whole"
                )
        standing = [line for line in lines if line.id not in reversed_already]
        reason = f"Import #{import_run.id} undone"
        for start in range(0, len(standing), BATCH):
            db.session.execute(
                insert(Disbursement),
                [
                    reversal_of(
                        line, reason=reason, reversed_on=line.awarded_on, actor=actor
                    )
                    for line in standing[start : start + BATCH]
                ],
            )
        return {"reversed": len(standing), "already reversed": len(reversed_already)}


def _row_values(data: AwardInput, actor: User) -> dict:
    """An award's fields for a batch insert (the ORM converts money and choices)."""
    return {
        "grant_id": data.grant_id,
        "item_type_id": data.item_type_id,
        "household_id": data.household_id,
        "young_person_id": data.young_person_id,
        "quantity": data.quantity,
        "amount": data.amount,
        "awarded_on": data.awarded_on,
        "supplier": data.supplier,
        "delivery_method": data.delivery_method,
        "access_route": data.access_route,
        "evidence_reference": data.evidence_reference,
        "notes": data.notes,
        "requested_on": data.requested_on,
        "method_reason": data.method_reason,
        "overspend_confirmed": False,
        "created_by_id": actor.id,
    }


def _find_beneficiary(typed: str) -> tuple[int | None, int | None] | None:
    """(household id, young person id) for a reference, an id from an earlier import, or
    a case-system reference that only one person has; None when nobody matches."""
    cleaned = typed.strip()
    upper = cleaned.upper()
    for model, position in ((YoungPerson, 1), (Household, 0)):
        prefix = "YP-" if model is YoungPerson else "H-"
        if upper.startswith(prefix):
            ident = db.session.scalar(
                select(model.id).where(
                    model.reference == upper, model.erased_at.is_(None)
                )
            )
            if ident is not None:
                return (ident, None) if position == 0 else (None, ident)
    for kind, model, position in (
        ("households", Household, 0),
        ("young_people", YoungPerson, 1),
    ):
        ident = db.session.scalar(
            select(model.id)
            .join(ImportRecord, ImportRecord.object_id == model.id)
            .where(
                ImportRecord.kind == kind,
                ImportRecord.source_key == cleaned,
                model.erased_at.is_(None),
            )
        )
        if ident is not None:
            return (ident, None) if position == 0 else (None, ident)
    matches = []
    for model, position in ((Household, 0), (YoungPerson, 1)):
        for ident in db.session.scalars(
            select(model.id)
            .where(
                model.erased_at.is_(None),
                or_(
                    model.case_reference == cleaned,
                    func.lower(model.case_reference) == cleaned.lower(),
                ),
            )
            .limit(2)
        ):
            matches.append((ident, None) if position == 0 else (None, ident))
    return matches[0] if len(matches) == 1 else None


AWARDS = register(Awards())
