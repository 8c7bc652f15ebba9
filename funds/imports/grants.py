"""Importing grants with their budget lines: one row per budget line (or one row for a
grant with none); rows with the same reference make one grant. Grants and lines are made
by the same services as the grant pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, exists, func, or_, select

from funds.audit import record_event
from funds.errors import FundsError
from funds.extensions import db
from funds.grants.services import create_grant, set_budget_line
from funds.imports import cells
from funds.imports.kinds import (
    Context,
    Field,
    Kind,
    RowProblem,
    problem_from,
    register,
    source_key_field,
)
from funds.models import (
    ActivitySession,
    BudgetControl,
    BudgetLine,
    Disbursement,
    Funder,
    FunderReturn,
    Grant,
    GrantTotalChange,
    ImportRecord,
    PeriodLock,
    SpendCategory,
    Team,
    User,
    VoucherBatch,
)

_CONTROL = cells.enum_options(BudgetControl)
_CONTROL.update({"block": BudgetControl.BLOCK, "warn": BudgetControl.WARN})
_FORM_FIELDS = {
    "reference": "reference",
    "title": "title",
    "funder_id": "funder",
    "total": "total",
    "starts_on": "starts_on",
    "ends_on": "ends_on",
    "max_award": "max_award",
    "category": "line_category",
    "category_id": "line_category",
    "amount": "line_amount",
}


def _text(length: int, *, multiline: bool = False):
    return lambda cell: cells.text(cell, max_length=length, multiline=multiline)


def _control(cell):
    return cells.choice(cell, _CONTROL, what="Block or Warn")


class Grants(Kind):
    key = "grants"
    label = "Grants and budget lines"
    kept_model = Grant
    noun = "grant rows"
    fields = (
        source_key_field("row"),
        Field(
            "reference",
            "Grant reference",
            _text(40),
            required=True,
            rule="A reference no other grant in funds has, like C4C-HSF4-2023. Several "
            "rows with one reference make one grant with several budget lines.",
            aliases=("reference", "grant"),
        ),
        Field(
            "title", "Title", _text(200), required=True, rule="What the grant is for."
        ),
        Field(
            "funder",
            "Funder",
            _text(200),
            required=True,
            rule="The funder's name as it is in funds (add new funders there first).",
        ),
        Field(
            "total",
            "Total",
            cells.money,
            required=True,
            rule="What the grant is worth, in pounds and pence.",
            aliases=("amount", "grant total"),
        ),
        Field("starts_on", "Start date", cells.day, required=True, rule="27/03/2024."),
        Field("ends_on", "End date", cells.day, required=True, rule="31/03/2025."),
        Field(
            "control",
            "Budget control",
            _control,
            rule="Block (awards over what is available are refused) or Warn (a "
            "manager may confirm them); Block when empty.",
            aliases=("control",),
        ),
        Field(
            "max_award",
            "Largest single award",
            cells.money,
            rule="Optional: £10,000.00 when empty.",
            aliases=("max award",),
        ),
        Field("team", "Team", _text(120), rule="Optional: a team's name in funds."),
        Field(
            "line_category",
            "Budget line",
            _text(120),
            rule="Optional: a spend category in funds (Food, Energy and water...).",
            aliases=("category", "spend category", "budget line category"),
        ),
        Field(
            "line_amount",
            "Budget line amount",
            cells.money,
            rule="With a budget line: its amount. All lines together are at most the "
            "total.",
            aliases=("line amount",),
        ),
        Field(
            "line_control",
            "Budget line control",
            _control,
            rule="Optional: Block or Warn; Block when empty.",
        ),
        Field("notes", "Notes", _text(4000, multiline=True), rule="Optional."),
    )

    def prepare(self, ctx: Context, rows: int) -> None:
        ctx.state["made"] = {}
        ctx.state["funders"] = {
            funder.name.casefold(): funder.id
            for funder in db.session.scalars(select(Funder))
        }
        ctx.state["categories"] = {
            category.name.casefold(): category.id
            for category in db.session.scalars(select(SpendCategory))
        }
        ctx.state["teams"] = {
            team.name.casefold(): team.id for team in db.session.scalars(select(Team))
        }

    def _grant(self, ctx: Context, values: dict) -> Grant:
        reference = values["reference"]
        made = ctx.state["made"].get(reference.upper())
        if made is not None:
            grant, first = made
            for key in ("title", "funder", "total", "starts_on", "ends_on"):
                if values[key] != first[key]:
                    raise RowProblem(
                        f"Another row of {reference} gives a different "
                        f"{self.field(key).label.lower()}",
                        key,
                    )
            return grant
        funder_id = ctx.state["funders"].get(values["funder"].casefold())
        if funder_id is None:
            raise RowProblem(
                f"There is no funder called {values['funder']}: add it in funds first",
                "funder",
            )
        team_id = None
        if values["team"]:
            team_id = ctx.state["teams"].get(values["team"].casefold())
            if team_id is None:
                raise RowProblem(f"There is no team called {values['team']}", "team")
        try:
            grant = create_grant(
                actor=ctx.actor,
                reference=reference,
                title=values["title"],
                funder_id=funder_id,
                total=values["total"],
                starts_on=values["starts_on"],
                ends_on=values["ends_on"],
                control=values["control"] or BudgetControl.BLOCK,
                team_id=team_id,
                notes=values["notes"],
                max_award=values["max_award"],
            )
        except FundsError as error:
            raise problem_from(error, _FORM_FIELDS) from error
        ctx.state["made"][reference.upper()] = (grant, values)
        return grant

    def row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        reference = values["reference"].upper()
        made_here = reference not in ctx.state["made"]
        try:
            self._row(ctx, number, values, source_key)
        except Exception:
            if made_here:
                # The row's savepoint takes the grant back: later rows make it afresh.
                ctx.state["made"].pop(reference, None)
            raise

    def _row(self, ctx: Context, number: int, values: dict, source_key: str) -> None:
        grant = self._grant(ctx, values)
        if values["line_category"]:
            category_id = ctx.state["categories"].get(
                values["line_category"].casefold()
            )
            if category_id is None:
                raise RowProblem(
                    f"There is no spend category called {values['line_category']}",
                    "line_category",
                )
            if values["line_amount"] is None:
                raise RowProblem("Enter the budget line's amount", "line_amount")
            try:
                set_budget_line(
                    grant,
                    actor=ctx.actor,
                    category_id=category_id,
                    amount=values["line_amount"],
                    control=values["line_control"] or BudgetControl.BLOCK,
                )
            except FundsError as error:
                raise problem_from(error, _FORM_FIELDS) from error
        elif values["line_amount"] is not None:
            raise RowProblem("Name the budget line's spend category", "line_category")
        ctx.created.append((number, source_key, grant.id))

    def undo(self, import_run, actor: User, today: date) -> dict:
        """Remove the import's grants that nothing has been recorded against."""
        ids = select(ImportRecord.object_id).where(
            ImportRecord.import_id == import_run.id, ImportRecord.kind == self.key
        )
        used = or_(
            *(
                exists().where(model.grant_id == Grant.id)
                for model in (
                    Disbursement,
                    ActivitySession,
                    VoucherBatch,
                    FunderReturn,
                    PeriodLock,
                )
            )
        )
        kept = db.session.scalar(
            select(func.count()).select_from(Grant).where(Grant.id.in_(ids), used)
        )
        removable = list(
            db.session.scalars(select(Grant.id).where(Grant.id.in_(ids), ~used))
        )
        if removable:
            for model in (BudgetLine, GrantTotalChange):
                db.session.execute(delete(model).where(model.grant_id.in_(removable)))
            db.session.execute(delete(Grant).where(Grant.id.in_(removable)))
        record_event(
            "grant.remove",
            actor=actor,
            obj=import_run,
            after={"removed": len(removable), "kept": kept, "import": import_run.id},
        )
        return {"removed": len(removable), "kept because in use": kept}


GRANTS = register(Grants())
