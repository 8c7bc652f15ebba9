"""A Hypothesis state machine over the ledger's services, checking DESIGN.md §4 after each step.

The machine creates grants, records awards (amounts over the balance, dates outside the
period, staff and managers, overspend confirmed or not), reverses awards (again, and
reversals too), pays awards in runs, changes grant totals and sets budget lines, all through the real services
on the test database, committing or rolling back as a view would. A model kept in Python
(with ``Decimal``) predicts whether each action is accepted and what every balance is; after
every step the invariants are checked against the database with SQL.

``FUNDS_HYPOTHESIS_FULL=1`` runs the long version (200 examples of 50 steps).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session, aliased

from funds import create_app
from funds.admin.services import create_user
from funds.disbursements.services import (
    AwardInput,
    Overspend,
    record_disbursement,
    reverse_disbursement,
)
from funds.errors import FundsError, NotAllowed, ValidationError
from funds.extensions import db
from funds.grants.queries import grants_overview, spent_on_grant
from funds.grants.services import (
    change_grant_total,
    create_funder,
    create_grant,
    set_budget_line,
)
from funds.ledger.verify import verify_rollups
from funds.models import (
    AuditEvent,
    BudgetControl,
    BudgetLine,
    DeliveryMethod,
    Disbursement,
    Grant,
    GrantTotalChange,
    ItemType,
    Role,
    SpendCategory,
    User,
)
from funds.money import from_pence, pence_sum
from funds.payments.services import RunRefused, create_payment_run
from funds.taxonomy.defaults import ensure_default_taxonomy
from tests.conftest import ON_POSTGRES, PASSWORD, TODAY, make_config

FULL = os.environ.get("FUNDS_HYPOTHESIS_FULL") == "1"
MAX_EXAMPLES = 200 if FULL else 40
STEPS = 50 if FULL else 30

SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

ZERO = Decimal("0.00")
PENNY = Decimal("0.01")
#: Items from three spend categories, so that budget lines matter.
ITEMS = ("Food voucher", "Fridge", "Gas bill", "Electricity bill")
CATEGORIES = ("Food", "White goods", "Utility bills")
#: Grant periods: two in the past, one that runs past "today" (later dates are refused).
PERIODS = (
    (date(2024, 4, 1), date(2025, 3, 31)),
    (date(2025, 1, 1), date(2025, 12, 31)),
    (date(2026, 4, 1), date(2027, 3, 31)),
)
MAX_GRANTS = 4

money = st.integers(min_value=1, max_value=300_000).map(lambda p: Decimal(p).scaleb(-2))


@dataclass
class GrantModel:
    """What the model knows about one grant."""

    id: int
    total: Decimal
    control: BudgetControl
    starts_on: date
    ends_on: date
    #: category id -> (amount, control)
    lines: dict[int, tuple[Decimal, BudgetControl]] = field(default_factory=dict)

    def covers(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


@dataclass
class LineModel:
    """One ledger row the model created."""

    id: int
    grant_id: int
    category_id: int
    amount: Decimal
    awarded_on: date
    reverses_id: int | None


#: (rule, outcome) -> how often, over the whole run (printed, and checked for variety).
OUTCOMES: Counter = Counter()


def _expect_outcome(
    rule_name: str, action, expected: type[Exception] | None
) -> object | None:
    """Run ``action``; commit if it succeeds, roll back if it raises.

    Asserts that it raised exactly ``expected`` (or nothing, for None) and returns what
    the action returned on success.
    """
    try:
        result = action()
    except FundsError as error:
        db.session.rollback()
        OUTCOMES[rule_name, type(error).__name__] += 1
        assert expected is not None, f"refused unexpectedly: {error.message}"
        assert type(error) is expected, (
            f"expected {expected.__name__}, got {type(error).__name__}: {error.message}"
        )
        return None
    db.session.commit()
    OUTCOMES[rule_name, "accepted"] += 1
    assert expected is None, f"accepted, but expected {expected.__name__}"
    return result


class LedgerMachine(RuleBasedStateMachine):
    """Grants, awards, reversals, total changes and budget lines against a Python model."""

    #: Set by the test before running: the app whose database the machine uses.
    app = None
    examples = 0
    steps = 0

    grants = Bundle("grants")

    def __init__(self):
        super().__init__()
        type(self).examples += 1
        self.context = self.app.app_context()
        self.context.push()
        # The example runs inside one transaction that is rolled back at its end; the
        # services' commits release savepoints within it, rollbacks return to the last one.
        self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        db.session.remove()
        db.session.registry.set(
            Session(bind=self.connection, join_transaction_mode="create_savepoint")
        )
        ensure_default_taxonomy()
        manager, _ = create_user(
            actor=None,
            email="manager@example.org",
            name="Mina Manager",
            role=Role.MANAGER,
            password=PASSWORD,
        )
        staff, _ = create_user(
            actor=manager,
            email="staff@example.org",
            name="Sam Staff",
            role=Role.STAFF,
            password=PASSWORD,
        )
        finance, _ = create_user(
            actor=manager,
            email="finance@example.org",
            name="Fin Finance",
            role=Role.FINANCE,
            password=PASSWORD,
        )
        funder = create_funder(
            actor=manager, name="Model funder", categories=["Food", "Other"]
        )
        db.session.commit()
        self.users = {
            Role.MANAGER: manager.id,
            Role.STAFF: staff.id,
            Role.FINANCE: finance.id,
        }
        self.funder_id = funder.id
        self.items = {
            name: (item_id, category_id)
            for name, item_id, category_id in db.session.execute(
                select(ItemType.name, ItemType.id, ItemType.category_id).where(
                    ItemType.name.in_(ITEMS)
                )
            )
        }
        self.categories = dict(
            db.session.execute(
                select(SpendCategory.name, SpendCategory.id).where(
                    SpendCategory.name.in_(CATEGORIES)
                )
            ).all()
        )
        self.model_grants: dict[int, GrantModel] = {}
        self.ledger: dict[int, LineModel] = {}
        self.reversed: set[int] = set()
        self.paid: set[int] = set()
        # Every audit event the database should hold, by action.
        self.expected_events = Counter(_audit_counts())
        self.checked_writes = -1
        # The exact contents of every append-only row, as first read back.
        self.snapshots: dict[str, dict[int, tuple]] = {
            "disbursements": {},
            "grant_total_changes": {},
        }

    def teardown(self):
        db.session.remove()
        self.transaction.rollback()
        self.connection.close()
        self.context.pop()

    # --- helpers ---------------------------------------------------------------------

    def _actor(self, role: Role) -> User:
        return db.session.get(User, self.users[role])

    def _spent(self, grant_id: int, category_id: int | None = None) -> Decimal:
        return sum(
            (
                line.amount
                for line in self.ledger.values()
                if line.grant_id == grant_id
                and (category_id is None or line.category_id == category_id)
            ),
            ZERO,
        )

    def _snapshot(self, table, ident: int) -> None:
        row = db.session.execute(select(table).where(table.c.id == ident)).one()
        self.snapshots[table.name][ident] = tuple(row)

    def _pick_amount(self, data, remaining: Decimal) -> Decimal:
        """An amount near the balance edge, over it, or anything."""
        kind = data.draw(st.sampled_from(["any", "edge", "over", "small"]))
        if kind == "edge" and remaining > 0:
            delta = data.draw(st.integers(min_value=-2, max_value=2))
            return max(PENNY, remaining + delta * PENNY)
        if kind == "over":
            return max(PENNY, remaining) + data.draw(money)
        if kind == "small":
            return Decimal(data.draw(st.integers(min_value=1, max_value=5000))).scaleb(
                -2
            )
        return data.draw(money)

    def _pick_day(self, data, starts_on: date, ends_on: date) -> date:
        """A date inside the period, at its edges, just outside it, or anywhere nearby."""
        return data.draw(
            st.one_of(
                st.sampled_from(
                    [
                        starts_on - timedelta(days=1),
                        starts_on,
                        ends_on,
                        ends_on + timedelta(days=1),
                        TODAY,
                        TODAY + timedelta(days=1),
                    ]
                ),
                st.dates(
                    min_value=starts_on - timedelta(days=60),
                    max_value=ends_on + timedelta(days=60),
                ),
                st.dates(min_value=starts_on, max_value=min(ends_on, TODAY)),
            )
        )

    # --- rules -------------------------------------------------------------------------

    @precondition(lambda self: len(self.model_grants) < MAX_GRANTS)
    @rule(
        target=grants,
        total=money,
        control=st.sampled_from(list(BudgetControl)),
        period=st.sampled_from(PERIODS),
    )
    def create_grant(self, total, control, period):
        type(self).steps += 1
        starts_on, ends_on = period
        grant = _expect_outcome(
            "create_grant",
            lambda: create_grant(
                actor=self._actor(Role.MANAGER),
                reference=f"SM-{len(self.model_grants) + 1}",
                title="State machine grant",
                funder_id=self.funder_id,
                total=total,
                starts_on=starts_on,
                ends_on=ends_on,
                control=control,
            ),
            None,
        )
        self.model_grants[grant.id] = GrantModel(
            grant.id, total, control, starts_on, ends_on
        )
        self.expected_events["grant.create"] += 1
        return grant.id

    @rule(
        grant_id=grants,
        item=st.sampled_from(ITEMS),
        role=st.sampled_from([Role.STAFF, Role.MANAGER]),
        confirm=st.booleans(),
        data=st.data(),
    )
    def disburse(self, grant_id, item, role, confirm, data):
        """Anything a clerk might type: any amount, any date near the period."""
        grant = self.model_grants[grant_id]
        remaining = grant.total - self._spent(grant_id)
        amount = self._pick_amount(data, remaining)
        day = self._pick_day(data, grant.starts_on, grant.ends_on)
        self._disburse(grant, item, role, confirm, amount, day)

    @rule(
        grant_id=grants,
        item=st.sampled_from(ITEMS),
        role=st.sampled_from([Role.STAFF, Role.MANAGER]),
        pence=st.integers(min_value=1, max_value=9_000),
        data=st.data(),
    )
    def disburse_everyday(self, grant_id, item, role, pence, data):
        """The everyday case: a modest award dated within the period."""
        grant = self.model_grants[grant_id]
        day = data.draw(
            st.dates(min_value=grant.starts_on, max_value=min(grant.ends_on, TODAY))
        )
        self._disburse(grant, item, role, False, Decimal(pence).scaleb(-2), day)

    def _disburse(self, grant, item, role, confirm, amount, day):
        type(self).steps += 1
        grant_id = grant.id
        item_type_id, category_id = self.items[item]
        remaining = grant.total - self._spent(grant_id)

        # What the rules say should happen.
        expected: type[Exception] | None = None
        confirmed = False
        if day > TODAY or not grant.covers(day):
            expected = ValidationError
        else:
            checks = [(remaining, grant.control)]
            if category_id in grant.lines:
                line_amount, line_control = grant.lines[category_id]
                checks.append(
                    (line_amount - self._spent(grant_id, category_id), line_control)
                )
            for left, control in checks:
                if amount <= left:
                    continue
                if control == BudgetControl.WARN and role == Role.MANAGER and confirm:
                    confirmed = True
                    continue
                expected = Overspend
                break

        award = _expect_outcome(
            "disburse",
            lambda: record_disbursement(
                AwardInput(
                    grant_id=grant_id,
                    item_type_id=item_type_id,
                    amount=amount,
                    awarded_on=day,
                    delivery_method=DeliveryMethod.VOUCHER,
                ),
                actor=self._actor(role),
                today=TODAY,
                confirm_overspend=confirm,
            ),
            expected,
        )
        if award is None:
            return
        assert award.overspend_confirmed == confirmed
        self.ledger[award.id] = LineModel(
            award.id, grant_id, category_id, amount, day, None
        )
        self._snapshot(Disbursement.__table__, award.id)
        self.expected_events["disbursement.create"] += 1
        if confirmed:
            self.expected_events["disbursement.overspend_override"] += 1

    @precondition(lambda self: self.ledger)
    @rule(
        role=st.sampled_from([Role.FINANCE, Role.MANAGER, Role.MANAGER, Role.STAFF]),
        data=st.data(),
    )
    def reverse(self, role, data):
        type(self).steps += 1
        # Prefer awards not yet reversed, but sometimes pick a reversal or a reversed one.
        ids = sorted(self.ledger)
        fresh = [
            i
            for i in ids
            if self.ledger[i].reverses_id is None and i not in self.reversed
        ]
        pool = (
            fresh
            if fresh and data.draw(st.integers(0, 3), label="prefer fresh") > 0
            else ids
        )
        original = self.ledger[data.draw(st.sampled_from(pool), label="award")]
        grant = self.model_grants[original.grant_id]
        # Usually a valid correction date (on or after the award, within the period).
        latest = max(original.awarded_on, min(grant.ends_on, TODAY))
        valid = st.dates(min_value=original.awarded_on, max_value=latest)
        day = data.draw(
            st.one_of(
                st.just(original.awarded_on),
                valid,
                valid,
                st.just(original.awarded_on - timedelta(days=1)),
                self._day_strategy(grant),
            ),
            label="reversed_on",
        )
        blank_reason = data.draw(st.integers(0, 9), label="reason") == 0
        reason = "   " if blank_reason else "Recorded against the wrong grant"

        if role == Role.STAFF:
            expected = NotAllowed
        elif original.reverses_id is not None or original.id in self.reversed:
            expected = NotAllowed
        elif blank_reason:
            expected = ValidationError
        elif day > TODAY or not grant.covers(day) or day < original.awarded_on:
            expected = ValidationError
        else:
            expected = None

        reversal = _expect_outcome(
            "reverse",
            lambda: reverse_disbursement(
                db.session.get(Disbursement, original.id),
                actor=self._actor(role),
                reason=reason,
                reversed_on=day,
                today=TODAY,
            ),
            expected,
        )
        if reversal is None:
            return
        self.reversed.add(original.id)
        self.ledger[reversal.id] = LineModel(
            reversal.id,
            original.grant_id,
            original.category_id,
            -original.amount,
            day,
            original.id,
        )
        self._snapshot(Disbursement.__table__, reversal.id)
        self.expected_events["disbursement.reverse"] += 1

    def _day_strategy(self, grant: GrantModel):
        return st.dates(
            min_value=grant.starts_on - timedelta(days=30),
            max_value=grant.ends_on + timedelta(days=30),
        )

    @rule(grant_id=grants, data=st.data())
    def change_total(self, grant_id, data):
        type(self).steps += 1
        grant = self.model_grants[grant_id]
        spent = self._spent(grant_id)
        allocated = sum((amount for amount, _ in grant.lines.values()), ZERO)
        kind = data.draw(
            st.sampled_from(["any", "below spent", "spent", "same", "allocated"])
        )
        if kind == "below spent" and spent > PENNY:
            new_total = spent - PENNY
        elif kind == "spent" and spent > 0:
            new_total = spent
        elif kind == "same":
            new_total = grant.total
        elif kind == "allocated" and allocated > PENNY:
            new_total = allocated - data.draw(st.sampled_from([PENNY, ZERO]))
        else:
            new_total = data.draw(money)

        if new_total == grant.total or new_total < spent or new_total < allocated:
            expected = ValidationError
        else:
            expected = None
        change = _expect_outcome(
            "change_total",
            lambda: change_grant_total(
                db.session.get(Grant, grant_id),
                actor=self._actor(Role.MANAGER),
                new_total=new_total,
                reason="Funder changed the award",
            ),
            expected,
        )
        if change is None:
            return
        grant.total = new_total
        self._snapshot(GrantTotalChange.__table__, change.id)
        self.expected_events["grant.change_total"] += 1

    @rule(
        grant_id=grants,
        category=st.sampled_from(CATEGORIES),
        control=st.sampled_from(list(BudgetControl)),
        data=st.data(),
    )
    def set_line(self, grant_id, category, control, data):
        type(self).steps += 1
        grant = self.model_grants[grant_id]
        category_id = self.categories[category]
        spent = self._spent(grant_id, category_id)
        others = sum((a for c, (a, _) in grant.lines.items() if c != category_id), ZERO)
        room = grant.total - others
        kind = data.draw(st.sampled_from(["room", "over room", "spent", "below spent"]))
        if kind == "room":
            amount = Decimal(data.draw(st.integers(0, max(0, int(room * 100))))).scaleb(
                -2
            )
        elif kind == "over room":
            amount = room + PENNY
        elif kind == "spent":
            amount = max(spent, ZERO)
        else:
            amount = max(spent - PENNY, ZERO)

        expected = ValidationError if (amount > room or amount < spent) else None
        _expect_outcome(
            "set_line",
            lambda: set_budget_line(
                db.session.get(Grant, grant_id),
                actor=self._actor(Role.MANAGER),
                category_id=category_id,
                amount=amount,
                control=control,
            ),
            expected,
        )
        if expected is None:
            grant.lines[category_id] = (amount, control)
            self.expected_events["budget_line.set"] += 1

    # --- invariants (DESIGN.md §4), checked against the database after every step ------

    @invariant()
    def the_database_keeps_the_rules(self):
        """No overspent block grant or line, nothing outside its period, clean reversals."""
        found = db.session.execute(RULE_BREAKS, {"today": TODAY}).one()._asdict()
        assert found == dict.fromkeys(found, 0)

    @invariant()
    def every_penny_reconciles(self):
        """remaining = total - net spend, in SQL and in the app's own queries, as modelled."""
        in_database = {
            grant_id: (total, from_pence(spent))
            for grant_id, total, spent in db.session.execute(GRANT_TOTALS)
        }
        modelled = {
            grant_id: (grant.total, self._spent(grant_id))
            for grant_id, grant in self.model_grants.items()
        }
        assert in_database == modelled
        # The app's queries build their SQL on every call (slow-ish): ask them whenever a
        # write went through (a refused step changes nothing, as the checks above prove).
        writes = sum(self.expected_events.values())
        if writes == self.checked_writes:
            return
        self.checked_writes = writes
        overview = {summary.grant.id: summary for summary in grants_overview()}
        assert set(overview) == set(self.model_grants)
        for grant_id, grant in self.model_grants.items():
            spent = self._spent(grant_id)
            summary = overview[grant_id]
            assert summary.grant.total == grant.total
            assert summary.spent == spent
            assert summary.remaining == grant.total - spent
            assert spent_on_grant(grant_id) == spent
            awards = sum(
                1
                for line in self.ledger.values()
                if line.grant_id == grant_id and line.reverses_id is None
            )
            assert summary.awards == awards

    @precondition(lambda self: self.ledger)
    @rule(data=st.data())
    def pay(self, data):
        """Finance pays one to three lines in a run: refused whole if any is a reversal,
        reversed or already paid (the running totals must follow either way)."""
        type(self).steps += 1
        ids = data.draw(
            st.lists(st.sampled_from(sorted(self.ledger)), min_size=1, max_size=3),
            label="lines to pay",
        )
        payable = all(
            self.ledger[i].reverses_id is None
            and i not in self.reversed
            and i not in self.paid
            for i in ids
        )
        run = _expect_outcome(
            "pay",
            lambda: create_payment_run(
                ids,
                actor=self._actor(Role.FINANCE),
                paid_on=TODAY,
                reference="BACS",
                today=TODAY,
            ),
            None if payable else RunRefused,
        )
        if run is not None:
            self.paid.update(ids)
            self.expected_events["payment_run.create"] += 1

    @invariant()
    def the_running_totals_agree_with_the_ledger(self):
        """Every rollup the pages read (grant balances, day totals, awards not yet paid)
        equals the ledger summed afresh (``flask ledger verify``)."""
        assert [str(d) for d in verify_rollups()] == []

    @invariant()
    def every_write_is_audited(self):
        assert _audit_counts() == +self.expected_events

    @invariant()
    def no_ledger_row_ever_changes(self):
        for table, query in APPEND_ONLY:
            rows = {row.id: tuple(row) for row in db.session.execute(query)}
            assert rows == self.snapshots[table.name]


# --- the invariants' SQL, built once ------------------------------------------------------

_grant_spend = (
    select(Disbursement.grant_id, func.sum(Disbursement.amount).label("spent"))
    .group_by(Disbursement.grant_id)
    .subquery()
)
_warn_line = select(BudgetLine.id).where(
    BudgetLine.grant_id == Grant.id, BudgetLine.control == BudgetControl.WARN
)
#: Block grants (without warn budget lines) whose net spend exceeds their total.
OVERSPENT_BLOCK_GRANTS = (
    select(func.count())
    .select_from(Grant)
    .join(_grant_spend, _grant_spend.c.grant_id == Grant.id)
    .where(
        Grant.control == BudgetControl.BLOCK,
        ~_warn_line.exists(),
        _grant_spend.c.spent > Grant.total,
    )
)
_line_spend = (
    select(
        Disbursement.grant_id,
        ItemType.category_id,
        func.sum(Disbursement.amount).label("spent"),
    )
    .join(ItemType, ItemType.id == Disbursement.item_type_id)
    .group_by(Disbursement.grant_id, ItemType.category_id)
    .subquery()
)
#: Block budget lines whose category's net spend exceeds the line.
OVERSPENT_BLOCK_LINES = (
    select(func.count())
    .select_from(BudgetLine)
    .join(
        _line_spend,
        and_(
            _line_spend.c.grant_id == BudgetLine.grant_id,
            _line_spend.c.category_id == BudgetLine.category_id,
        ),
    )
    .where(
        BudgetLine.control == BudgetControl.BLOCK,
        _line_spend.c.spent > BudgetLine.amount,
    )
)
#: Ledger rows dated outside their grant's period, or in the future.
OUTSIDE_PERIOD = (
    select(func.count())
    .select_from(Disbursement)
    .join(Grant, Grant.id == Disbursement.grant_id)
    .where(
        (Disbursement.awarded_on < Grant.starts_on)
        | (Disbursement.awarded_on > Grant.ends_on)
        | (Disbursement.awarded_on > bindparam("today"))
    )
)
_original = aliased(Disbursement)
#: Reversals that do not exactly cancel their original, or that reverse a reversal.
BAD_REVERSALS = (
    select(func.count())
    .select_from(Disbursement)
    .join(_original, _original.id == Disbursement.reverses_id)
    .where(
        (Disbursement.amount + _original.amount != 0)
        | (Disbursement.grant_id != _original.grant_id)
        | (Disbursement.item_type_id != _original.item_type_id)
        | _original.reverses_id.is_not(None)
    )
)
#: Awards reversed more than once.
REVERSED_TWICE = select(func.count()).select_from(
    select(Disbursement.reverses_id)
    .where(Disbursement.reverses_id.is_not(None))
    .group_by(Disbursement.reverses_id)
    .having(func.count() > 1)
    .subquery()
)
#: Every rule break above, counted in one round trip (all must be 0).
RULE_BREAKS = select(
    OVERSPENT_BLOCK_GRANTS.scalar_subquery().label("overspent_block_grants"),
    OVERSPENT_BLOCK_LINES.scalar_subquery().label("overspent_block_lines"),
    OUTSIDE_PERIOD.scalar_subquery().label("dated_outside_period"),
    BAD_REVERSALS.scalar_subquery().label("bad_reversals"),
    REVERSED_TWICE.scalar_subquery().label("reversed_twice"),
)
#: Each grant's total and net spend (pence).
GRANT_TOTALS = (
    select(Grant.id, Grant.total, pence_sum(Disbursement.amount))
    .outerjoin(Disbursement, Disbursement.grant_id == Grant.id)
    .group_by(Grant.id, Grant.total)
)
AUDIT_COUNTS = select(AuditEvent.action, func.count()).group_by(AuditEvent.action)
APPEND_ONLY = [
    (table, select(table).order_by(table.c.id))
    for table in (Disbursement.__table__, GrantTotalChange.__table__)
]


def _audit_counts() -> Counter:
    return Counter(dict(db.session.execute(AUDIT_COUNTS).all()))


@pytest.fixture(scope="module")
def machine_app(tmp_path_factory):
    """One app for every example: in-memory SQLite, or the PostgreSQL test database."""
    app = create_app(
        make_config(), instance_path=str(tmp_path_factory.mktemp("instance"))
    )
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


def test_the_ledger_keeps_its_invariants(machine_app):
    LedgerMachine.app = machine_app
    LedgerMachine.examples = LedgerMachine.steps = 0
    OUTCOMES.clear()
    run_state_machine_as_test(LedgerMachine, settings=SETTINGS)
    engine = "postgresql" if ON_POSTGRES else "sqlite"
    print(
        f"\nledger state machine on {engine}: {LedgerMachine.examples} examples, "
        f"{LedgerMachine.steps} steps (max_examples={MAX_EXAMPLES}, "
        f"stateful_step_count={STEPS})"
    )
    for (rule_name, outcome), times in sorted(OUTCOMES.items()):
        print(f"  {rule_name:<13} {outcome:<16} {times}")
    # The run explored the interesting cases, not only refusals.
    for wanted in [
        ("disburse", "accepted"),
        ("disburse", "Overspend"),
        ("disburse", "ValidationError"),
        ("reverse", "accepted"),
        ("reverse", "NotAllowed"),
        ("change_total", "accepted"),
        ("change_total", "ValidationError"),
        ("set_line", "accepted"),
        ("pay", "accepted"),
        ("pay", "RunRefused"),
    ]:
        assert OUTCOMES[wanted] > 0, wanted
