"""The audit trail in words: each event as a sentence naming the things it touched, and
the kinds of event the page filters by. Names are looked up for a whole page at once."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from flask import url_for
from sqlalchemy import select

from funds.extensions import db
from funds.models import (
    ActivitySession,
    AuditEvent,
    DefinitionDraft,
    Disbursement,
    EvidenceFile,
    Funder,
    FunderReturn,
    Grant,
    Household,
    ImportRun,
    ItemType,
    PeriodLock,
    ReturnDefinition,
    ScanStatus,
    SpendCategory,
    Team,
    User,
    Voucher,
    VoucherBatch,
    YoungPerson,
)
from funds.money import format_money

#: What the page filters by: key -> (label, the action prefixes it covers).
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "awards": ("Awards, payments and reversals", ("disbursement.",)),
    "vouchers": ("Vouchers", ("voucher.", "voucher_batch.")),
    "activities": ("Activity sessions and registers", ("activity_session.",)),
    "grants": ("Grants and budget lines", ("grant.", "budget_line.")),
    "people": ("Households and young people", ("household.", "young_person.")),
    "returns": ("Returns and period locks", ("funder_return.", "period.")),
    "definitions": ("Return definitions", ("definition.",)),
    "imports": ("Imports from spreadsheets", ("import.",)),
    "evidence": ("Receipts and evidence files", ("evidence.",)),
    "finance": (
        "Income, transfers, payment runs and exports",
        ("income.", "payment_run.", "export.", "list.download"),
    ),
    "set-up": (
        "Organisation, funders, items and teams",
        ("organisation.", "funder.", "item_type.", "spend_category.", "team."),
    ),
    "privacy": (
        "Privacy: views of people, exports, retention, holds and erasure",
        ("retention.", "hold.", "person."),
    ),
    "users": ("Users", ("user.",)),
    "sign-ins": ("Sign-ins and passwords", ("auth.",)),
}

#: Words for the fields a change names.
FIELD_WORDS = {
    "title": "title",
    "reference": "reference",
    "total": "total",
    "starts_on": "start date",
    "ends_on": "end date",
    "control": "budget control",
    "status": "status",
    "notes": "notes",
    "max_award": "largest single award",
    "evidence_required_above": "evidence needed for awards above",
    "accounts_code": "accounts code",
    "return_due_on": "next return due",
    "forecast_tolerance": "forecast tolerance (percent)",
    "nominal_code": "nominal code",
    "tax_rate": "tax rate",
    "team_id": "team",
    "funder_id": "funder",
    "adults": "adults",
    "children": "children",
    "has_children": "has children",
    "has_pensioner": "has a pensioner",
    "has_disabled_person": "has a disabled person",
    "has_care_leaver": "has a care leaver",
    "postcode_district": "postcode district",
    "case_reference": "case-system reference",
    "name": "name",
    "contact": "contact details",
    "date_of_birth": "date of birth",
    "gender": "gender",
    "ethnicity": "ethnic group",
    "disability": "disability",
    "household_id": "household",
    "role": "role",
    "carers": "parents or carers",
    "address": "address",
    "charity_number": "charity number",
    "contact_name": "returns contact",
    "contact_email": "returns contact's email",
    "contact_phone": "returns contact's phone",
}
#: What the trail keeps instead of a name, contact detail or note.
PRIVATE = "(recorded)"
_MONEY = {
    "total",
    "amount",
    "max_award",
    "evidence_required_above",
    "face_value",
    "purchase_cost",
    "cost",
}


@dataclass(frozen=True)
class Link:
    text: str
    url: str | None


@dataclass(frozen=True)
class Entry:
    """One event as the page shows it."""

    event: AuditEvent
    #: Who acted; None when the sentence itself says (a failed sign-in).
    who: str | None
    #: The sentence: plain text and links, in order.
    parts: list[str | Link]

    @property
    def text(self) -> str:
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


# --- names for a page of events -----------------------------------------------------------


class Names:
    """The names of everything a page of events mentions, each kind in one query."""

    _MODELS = {
        "grants": Grant,
        "item_types": ItemType,
        "households": Household,
        "young_people": YoungPerson,
        "disbursements": Disbursement,
        "users": User,
        "activity_sessions": ActivitySession,
        "vouchers": Voucher,
        "voucher_batches": VoucherBatch,
        "funders": Funder,
        "teams": Team,
        "spend_categories": SpendCategory,
        "period_locks": PeriodLock,
        "funder_returns": FunderReturn,
        "definition_drafts": DefinitionDraft,
        "return_definitions": ReturnDefinition,
        "imports": ImportRun,
        "evidence_files": EvidenceFile,
    }
    #: Ids in an event's values, and the table they point into.
    _ID_KEYS = {
        "grant_id": "grants",
        "item_type_id": "item_types",
        "household_id": "households",
        "young_person_id": "young_people",
        "disbursement_id": "disbursements",
        "reverses": "disbursements",
        "funder_id": "funders",
        "team_id": "teams",
    }

    def __init__(self, events: list[AuditEvent]):
        wanted: dict[str, set[int]] = defaultdict(set)
        for event in events:
            if event.object_type in self._MODELS and event.object_id is not None:
                wanted[event.object_type].add(event.object_id)
            for values in (event.before or {}, event.after or {}):
                for key, table in self._ID_KEYS.items():
                    if isinstance(values.get(key), int):
                        wanted[table].add(values[key])
        self._rows: dict[str, dict[int, object]] = {}
        for table, ids in wanted.items():
            model = self._MODELS[table]
            self._rows[table] = {
                row.id: row
                for row in db.session.scalars(select(model).where(model.id.in_(ids)))
            }
        # What awards point at (their grant and item), for sentences about awards.
        lines = list(self._rows.get("disbursements", {}).values())
        for table, key in (("grants", "grant_id"), ("item_types", "item_type_id")):
            missing = {getattr(line, key) for line in lines} - set(
                self._rows.get(table, {})
            )
            if missing:
                model = self._MODELS[table]
                self._rows.setdefault(table, {}).update(
                    {
                        row.id: row
                        for row in db.session.scalars(
                            select(model).where(model.id.in_(missing))
                        )
                    }
                )

    def get(self, table: str, ident):
        if not isinstance(ident, int):
            return None
        return self._rows.get(table, {}).get(ident)

    # Links to things, by what the reader knows them as.

    def grant(self, ident) -> Link | str:
        grant = self.get("grants", ident)
        if grant is None:
            return "a grant" if ident is None else f"grant #{ident}"
        return Link(grant.reference, url_for("grants.detail", grant_id=grant.id))

    def item(self, ident) -> str:
        item = self.get("item_types", ident)
        return item.name if item is not None else "an item"

    def household(self, ident) -> Link | str:
        household = self.get("households", ident)
        if household is None:
            return f"household #{ident}"
        return Link(
            f"household {household.reference}",
            url_for("people.household", household_id=household.id),
        )

    def young_person(self, ident) -> Link | str:
        person = self.get("young_people", ident)
        if person is None:
            return f"young person #{ident}"
        return Link(
            f"young person {person.reference}",
            url_for("people.young_person", young_person_id=person.id),
        )

    def award(self, ident) -> Link | str:
        return Link(
            f"award #{ident}", url_for("disbursements.detail", disbursement_id=ident)
        )

    def user(self, ident) -> Link | str:
        user = self.get("users", ident)
        if user is None:
            return "a user"
        return Link(user.name, url_for("admin.user", user_id=user.id))

    def funder(self, ident) -> Link | str:
        funder = self.get("funders", ident)
        if funder is None:
            return "a funder"
        return Link(funder.name, url_for("taxonomy.funder", funder_id=funder.id))

    def import_run(self, ident) -> Link | str:
        run = self.get("imports", ident)
        if run is None:
            return "an import"
        return Link(
            f"import #{run.id} ({run.filename})",
            url_for("imports.detail", import_id=run.id),
        )

    def team(self, ident) -> str:
        team = self.get("teams", ident)
        return team.name if team is not None else "no team"


# --- words for values ---------------------------------------------------------------------


def _money(value) -> str:
    try:
        return format_money(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def _day(value) -> str:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, (date, datetime)):
        return value.strftime("%-d %b %Y")
    return str(value)


def _value(key: str, value, names: Names) -> str:
    if value is None or value == "":
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key in _MONEY:
        return _money(value)
    if key.endswith("_on") or key in ("date_of_birth", "from", "to"):
        return _day(value)
    if key == "team_id":
        return names.team(value)
    if key == "funder_id":
        funder = names.get("funders", value)
        return funder.name if funder is not None else str(value)
    if key == "household_id":
        household = names.get("households", value)
        return household.reference if household is not None else str(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    return (
        str(value).replace("-", " ")
        if key in ("control", "status", "role")
        else str(value)
    )


def _quoted(text) -> str:
    return f"“{text}”"


def _changes(event: AuditEvent, names: Names) -> str:
    """“title from “A” to “B”; total from £1.00 to £2.00” for the fields that changed."""
    before, after = event.before or {}, event.after or {}
    parts = []
    for key in after:
        word = FIELD_WORDS.get(key, key.replace("_", " "))
        old, new = _value(key, before.get(key), names), _value(key, after[key], names)
        if PRIVATE in (before.get(key), after[key]):
            # Names and contact details are never copied into the trail.
            if after[key] is None:
                parts.append(f"{word} removed")
            elif before.get(key) is None:
                parts.append(f"{word} added")
            else:
                parts.append(f"{word} changed")
        elif key in before:
            parts.append(f"{word} from {old} to {new}")
        else:
            parts.append(f"{word} {new}")
    return "; ".join(parts)


# --- one sentence per kind of event -------------------------------------------------------


def _award_created(event, names, after):
    parts = [
        "recorded ",
        names.award(event.object_id),
        " of ",
        _money(after.get("amount")),
    ]
    parts += [
        f" ({names.item(after.get('item_type_id'))}",
        ") from ",
        names.grant(after.get("grant_id")),
    ]
    if after.get("household_id"):
        parts += [" for ", names.household(after["household_id"])]
    elif after.get("young_person_id"):
        parts += [" for ", names.young_person(after["young_person_id"])]
    else:
        parts += [" with no beneficiary"]
    if after.get("awarded_on"):
        parts += [f", given {_day(after['awarded_on'])}"]
    return parts


def _award_reversed(event, names, after):
    before = event.before or {}
    reversal = names.get("disbursements", event.object_id)
    reason = after.get("reason") or (reversal.reason if reversal is not None else None)
    parts = ["reversed ", names.award(before.get("reverses"))]
    parts += [
        f" ({_money(before.get('amount'))}) from ",
        names.grant(after.get("grant_id")),
    ]
    parts += [" with ", names.award(event.object_id)]
    if after.get("awarded_on"):
        parts += [f", dated {_day(after['awarded_on'])}"]
    if reason:
        parts += [f": {_quoted(reason)}"]
    return parts


def _award_paid(event, names, after):
    return [
        "marked ",
        names.award(event.object_id),
        f" as paid on {_day(after.get('paid_on'))} (payment reference "
        f"{after.get('payment_reference')})",
    ]


def _overspend(event, names, after):
    return [
        "confirmed an overspend: ",
        names.award(event.object_id),
        f" of {_money(after.get('amount'))} on {after.get('grant')}",
    ]


def _voucher(event, names):
    voucher = names.get("vouchers", event.object_id)
    return f"voucher {voucher.serial}" if voucher is not None else "a voucher"


def _voucher_issued(event, names, after):
    parts = [f"gave {_voucher(event, names)} to household {after.get('household')}"]
    if after.get("disbursement_id"):
        parts += [" (", names.award(after["disbursement_id"]), ")"]
    return parts


def _voucher_status(template):
    def sentence(event, names, after):
        parts = [template.format(voucher=_voucher(event, names))]
        if after.get("reason"):
            parts.append(f": {_quoted(after['reason'])}")
        return parts

    return sentence


def _batch_bought(event, names, after):
    batch = names.get("voucher_batches", event.object_id)
    link = (
        Link(f"batch #{batch.id}", url_for("vouchers.batch", batch_id=batch.id))
        if batch is not None
        else "a batch"
    )
    return [
        f"bought {after.get('quantity')} {after.get('supplier')} vouchers of "
        f"{_money(after.get('face_value'))} (",
        link,
        f", {_money(after.get('purchase_cost'))}) for ",
        names.grant(after.get("grant_id")),
    ]


def _session(event, names):
    session = names.get("activity_sessions", event.object_id)
    if session is None:
        return "a session"
    return Link(
        f"{session.item_type.name} on {_day(session.held_on)}",
        url_for("activities.session", session_id=session.id),
    )


def _session_recorded(event, names, after):
    return [
        "recorded the session ",
        _session(event, names),
        f" costing {_money(after.get('cost'))} from ",
        names.grant(after.get("grant_id")),
    ]


def _register_changed(event, names, after):
    before = event.before or {}
    changes = []
    if after.get("added"):
        changes.append("added " + ", ".join(after["added"]))
    if before.get("removed"):
        changes.append("removed " + ", ".join(before["removed"]))
    if before.get("carers") != after.get("carers"):
        changes.append(
            f"parents or carers from {before.get('carers')} to {after.get('carers')}"
        )
    return [
        "changed the register of ",
        _session(event, names),
        ": " + "; ".join(changes),
    ]


def _grant_object(event, names):
    return names.grant(event.object_id)


def _grant_created(event, names, after):
    return [
        "set up grant ",
        _grant_object(event, names),
        f" ({after.get('title')}) of {_money(after.get('total'))}, "
        f"{_day(after.get('starts_on'))} to {_day(after.get('ends_on'))}",
    ]


def _grant_changed(event, names, after):
    return [
        "changed grant ",
        _grant_object(event, names),
        ": " + _changes(event, names),
    ]


def _grant_total(event, names, after):
    before = event.before or {}
    return [
        "changed the total of ",
        _grant_object(event, names),
        f" from {_money(before.get('total'))} to {_money(after.get('total'))}: "
        f"{_quoted(after.get('reason'))}",
    ]


def _budget_line(event, names, after):
    return [
        f"set the {after.get('category')} budget line of ",
        _grant_object(event, names),
        f" to {_money(after.get('amount'))} ({_value('control', after.get('control'), names)})",
    ]


def _person_created(kind):
    def sentence(event, names, after):
        link = (
            names.household(event.object_id)
            if kind == "household"
            else names.young_person(event.object_id)
        )
        return ["added ", link]

    return sentence


def _person_changed(kind):
    def sentence(event, names, after):
        link = (
            names.household(event.object_id)
            if kind == "household"
            else names.young_person(event.object_id)
        )
        return ["changed ", link, ": " + _changes(event, names)]

    return sentence


def _return_submitted(event, names, after):
    submitted = names.get("funder_returns", event.object_id)
    link = (
        Link("the return", url_for("returns.detail", return_id=submitted.id))
        if submitted is not None
        else "a return"
    )
    return [
        "submitted ",
        link,
        f" for {after.get('grant')}, {_day(after.get('period_from'))} to "
        f"{_day(after.get('period_to'))} ({after.get('definition')})",
    ]


def _locked(event, names, after):
    return [
        f"locked {after.get('grant')} from {_day(after.get('from'))} to "
        f"{_day(after.get('to'))}"
    ]


def _unlocked(event, names, after):
    lock = names.get("period_locks", event.object_id)
    what = (
        f"{lock.starts_on.strftime('%-d %b %Y')} to {lock.ends_on.strftime('%-d %b %Y')}"
        if lock is not None
        else "a period"
    )
    return [f"unlocked {what}: {_quoted(after.get('reason'))}"]


def _definition(verb):
    def sentence(event, names, after):
        before = event.before or {}
        key = after.get("key") or before.get("key")
        text = f"{verb} the return definition {key}"
        if after.get("version"):
            text += f" as version {after['version']}"
        if after.get("from"):
            text += f" from {after['from']}"
        if after.get("change"):
            text += f": {after['change']}"
        return [text]

    return sentence


def _funder_created(event, names, after):
    categories = ", ".join(after.get("categories") or [])
    return [
        "added the funder ",
        names.funder(event.object_id),
        f", whose categories are {categories}",
    ]


def _funder_categories(event, names, after):
    return [
        "added categories to ",
        names.funder(event.object_id),
        ": " + ", ".join(after.get("added") or []),
    ]


def _funder_reporting(event, names, after):
    return ["changed how returns report to ", names.funder(event.object_id)]


def _item_created(event, names, after):
    return [f"added the item {after.get('name')} to {after.get('category')}"]


def _item_mapped(event, names, after):
    before = event.before or {}
    return [
        f"reported {names.item(event.object_id)} to {after.get('funder')} as "
        f"{after.get('category') or 'nothing'} (was "
        f"{before.get('category') or 'not reported'})"
    ]


def _item_active(event, names, after):
    verb = "offered again" if after.get("active") else "stopped offering"
    return [f"{verb} the item {names.item(event.object_id)}"]


def _user_created(event, names, after):
    if event.actor_id == event.object_id:
        # Added with the command line: nobody signed in did it.
        return [
            f"was added as {_value('role', after.get('role'), names)} "
            f"({after.get('email')}) from the command line"
        ]
    return [
        "added the user ",
        names.user(event.object_id),
        f" ({after.get('email')}) as {_value('role', after.get('role'), names)}",
    ]


def _user_role(event, names, after):
    before = event.before or {}
    return [
        "changed the role of ",
        names.user(event.object_id),
        f" from {_value('role', before.get('role'), names)} to "
        f"{_value('role', after.get('role'), names)}",
    ]


def _user(verb, suffix=""):
    def sentence(event, names, after):
        return [verb, names.user(event.object_id), suffix]

    return sentence


def _import(verb, describe_after):
    def sentence(event, names, after):
        return [verb + " ", names.import_run(event.object_id), describe_after(after)]

    return sentence


def _imported(event, names, after):
    return [
        "imported ",
        names.import_run(event.object_id),
        f": {after.get('new', 0):,} new rows, {after.get('existing', 0):,} already in",
    ]


def _removed_by_undo(what):
    def sentence(event, names, after):
        return [
            f"removed {after.get('removed', 0):,} {what} added by ",
            names.import_run(event.object_id),
            f" ({after.get('kept', 0):,} kept because something refers to them)",
        ]

    return sentence


def _plain(text):
    def sentence(event, names, after):
        return [text]

    return sentence


def _category_changed(event, names, after):
    category = names.get("spend_categories", event.object_id)
    name = category.name if category is not None else f"#{event.object_id}"
    return [f"changed the spend category {name}: " + _changes(event, names)]


def _list_downloaded(event, names, after):
    filters = after.get("filters") or {}
    narrowed = (
        " ("
        + "; ".join(
            f"{key.replace('_', ' ')}: {_value(key, value, names)}"
            for key, value in filters.items()
        )
        + ")"
        if filters
        else ""
    )
    what = str(after.get("list", "a list")).replace("-", " ")
    return [
        f"downloaded the {what} list{narrowed} as {str(after.get('format')).upper()}"
    ]


def _receipt(event, names, after):
    amount = Decimal(str(after.get("amount", "0")))
    verb = "recorded money paid back to the funder" if amount < 0 else "recorded money"
    return [
        f"{verb} of {_money(abs(amount))} for {after.get('grant')} on "
        f"{_day(after.get('received_on'))} (reference {after.get('reference')})"
    ]


def _transfer(event, names, after):
    return [
        f"transferred {_money(after.get('amount'))} from {after.get('from')} to "
        f"{after.get('to')} on {_day(after.get('transferred_on'))}: "
        f"{_quoted(after.get('reason'))}"
    ]


def _payment_run(event, names, after):
    return [
        f"paid {after.get('lines', 0):,} awards worth {_money(after.get('total'))} in "
        f"payment run {event.object_id} on {_day(after.get('paid_on'))} (reference "
        f"{after.get('reference')})"
    ]


def _person(event, names) -> Link | str:
    """The household or young person an event is about (by reference, never a name)."""
    if event.object_type == "households":
        return names.household(event.object_id)
    return names.young_person(event.object_id)


def _accounts_export(event, names, after):
    grant = names.get("grants", event.object_id)
    reference = grant.reference if grant is not None else f"grant #{event.object_id}"
    return [
        f"downloaded the {after.get('format')} file of {reference} for "
        f"{_day(after.get('date_from'))} to {_day(after.get('date_to'))}"
    ]


def _login_failed(event, names, after):
    who = names.get("users", event.object_id)
    whose = f" for {who.name}" if who is not None else " for an unknown email address"
    return [f"a sign-in failed{whose} ({after.get('reason', 'wrong details')})"]


def _signed_in(event, names, after):
    if not after.get("two_factor"):
        return ["signed in"]
    if after.get("method") == "recovery code":
        return ["signed in with a recovery code"]
    return ["signed in with a code from their app"]


def _evidence_file(event, names) -> str:
    evidence = names.get("evidence_files", event.object_id)
    if evidence is None:
        return f"file #{event.object_id}"
    return f"the file {_quoted(evidence.original_name)}"


def _evidence_record(event, names, to: str) -> list:
    """What a file is attached to, as a link where there is a page."""
    evidence = names.get("evidence_files", event.object_id)
    if evidence is None:
        return []
    if evidence.disbursement_id is not None:
        return [f" {to} ", names.award(evidence.disbursement_id)]
    if evidence.session_id is not None:
        return [
            f" {to} ",
            Link(
                f"session #{evidence.session_id}",
                url_for("activities.session", session_id=evidence.session_id),
            ),
        ]
    if evidence.voucher_batch_id is not None:
        return [
            f" {to} ",
            Link(
                f"batch #{evidence.voucher_batch_id}",
                url_for("vouchers.batch", batch_id=evidence.voucher_batch_id),
            ),
        ]
    return [f" {to} the agreement of ", names.grant(evidence.grant_id)]


def _evidence(verb, to: str | None = None):
    def sentence(event, names, after):
        parts = [f"{verb} {_evidence_file(event, names)}"]
        if to:
            parts += _evidence_record(event, names, to)
        return parts

    return sentence


def _evidence_scanned(event, names, after):
    status = after.get("scan_status")
    try:
        label = ScanStatus(status).label.lower()
    except ValueError:
        label = str(status)
    return [f"virus scan of {_evidence_file(event, names)}: {label}"]


# --- retention, holds and erasure (funds/privacy) -----------------------------------------


def _held_subject(event, names) -> Link | str:
    if event.object_type == "households":
        return names.household(event.object_id)
    if event.object_type == "young_people":
        return names.young_person(event.object_id)
    return names.grant(event.object_id)


def _retention_rule(event, names, after):
    from funds.models import RecordKind, RetentionEvent

    kind = RecordKind(after["kind"]).label.lower()
    months = int(after["months"])
    since = RetentionEvent(after["event"]).label
    if months == 0:
        return [f"set the retention of {kind}: until {since}"]
    return [f"set the retention of {kind}: {months} months after {since}"]


def _hold(verb):
    def sentence(event, names, after):
        parts = [f"{verb} ", _held_subject(event, names)]
        if after.get("reason"):
            parts += [f": {_quoted(after['reason'])}"]
        return parts

    return sentence


def _erased(verb):
    def sentence(event, names, after):
        return [
            f"{verb} ",
            _held_subject(event, names),
            f" ({after.get('awards', 0)} awards' notes blanked, "
            f"{after.get('files_removed', 0)} files removed)",
        ]

    return sentence


def _retention_file(event, names, after):
    return [
        f"removed evidence file #{event.object_id} from ",
        names.grant(after.get("grant_id")),
        " at the end of its retention period",
    ]


SENTENCES = {
    "disbursement.create": _award_created,
    "disbursement.reverse": _award_reversed,
    "disbursement.mark_paid": _award_paid,
    "disbursement.overspend_override": _overspend,
    "voucher.issue": _voucher_issued,
    "voucher.restock": _voucher_status("put {voucher} back in stock"),
    "voucher.return": _voucher_status("returned {voucher} to the supplier"),
    "voucher.expire": _voucher_status("marked {voucher} as expired"),
    "voucher_batch.create": _batch_bought,
    "activity_session.create": _session_recorded,
    "activity_session.attendance": _register_changed,
    "grant.create": _grant_created,
    "grant.update": _grant_changed,
    "grant.change_total": _grant_total,
    "budget_line.set": _budget_line,
    "household.create": _person_created("household"),
    "household.update": _person_changed("household"),
    "young_person.create": _person_created("young_person"),
    "young_person.update": _person_changed("young_person"),
    "funder_return.submit": _return_submitted,
    "period.lock": _locked,
    "period.unlock": _unlocked,
    "definition.copy": _definition("copied"),
    "definition.edit": _definition("started changing"),
    "definition.import": _definition("imported"),
    "definition.change": _definition("changed the draft of"),
    "definition.save": _definition("saved"),
    "definition.discard": _definition("discarded the draft of"),
    "import.upload": _import(
        "uploaded", lambda a: f" of {str(a.get('kind', '')).replace('_', ' ')}"
    ),
    "import.save_mapping": _import(
        "saved the columns of", lambda a: f" as {_quoted(a.get('name'))}"
    ),
    "import.check": _import(
        "checked", lambda a: f": {a.get('errors', 0):,} rows with problems"
    ),
    "import.commit": _imported,
    "import.undo": lambda e, n, a: [
        "undid ",
        n.import_run(e.object_id),
        f": {_quoted(a.get('reason'))}",
    ],
    "household.remove": _removed_by_undo("households"),
    "young_person.remove": _removed_by_undo("young people"),
    "grant.remove": _removed_by_undo("grants"),
    "funder.create": _funder_created,
    "funder.add_categories": _funder_categories,
    "funder.reporting": _funder_reporting,
    "item_type.create": _item_created,
    "item_type.map": _item_mapped,
    "item_type.set_active": _item_active,
    "spend_category.create": lambda e, n, a: [
        f"added the spend category {a.get('name')}"
        + (" (activity sessions)" if a.get("is_activity") else "")
    ],
    "spend_category.update": _category_changed,
    "list.download": _list_downloaded,
    "income.receive": _receipt,
    "income.expect": lambda e, n, a: [
        f"added {_money(a.get('amount'))} due on {_day(a.get('due_on'))} to the "
        f"income schedule of {a.get('grant')}"
    ],
    "income.unexpect": lambda e, n, a: [
        f"took {_money((e.before or {}).get('amount'))} due on "
        f"{_day((e.before or {}).get('due_on'))} off an income schedule"
    ],
    "income.transfer": _transfer,
    "payment_run.create": _payment_run,
    "payment_run.remittance": lambda e, n, a: [
        f"downloaded the remittance of payment run {e.object_id} as "
        f"{str(a.get('format')).upper()}"
    ],
    "export.accounting": _accounts_export,
    "evidence.upload": _evidence("attached", "to"),
    "evidence.download": _evidence("downloaded"),
    "evidence.remove": _evidence("removed", "from"),
    "evidence.scan": _evidence_scanned,
    "person.view": lambda e, n, a: ["viewed the page of ", _person(e, n)],
    "person.export": lambda e, n, a: [
        "exported everything held about ",
        _person(e, n),
        f" (subject access, {str(a.get('format', '')).upper()})",
    ],
    "grant.handover": lambda e, n, a: [
        "downloaded the hand-over export of ",
        n.grant(e.object_id),
        f": {a.get('households', 0):,} households, "
        f"{a.get('young_people', 0):,} young people, {a.get('awards', 0):,} awards",
    ],
    "evidence.pack": lambda e, n, a: [
        "downloaded the evidence pack of ",
        n.grant(e.object_id),
        f" for {_day(a.get('from'))} to {_day(a.get('to'))}: "
        f"{a.get('lines', 0):,} lines, {a.get('files', 0):,} files",
    ],
    "team.create": lambda e, n, a: [f"added the team {a.get('name')}"],
    "organisation.update": lambda e, n, a: [
        "changed the organisation's details: " + _changes(e, n)
    ],
    "user.create": _user_created,
    "user.change_role": _user_role,
    "user.disable": _user("stopped ", " from signing in"),
    "user.enable": _user("let ", " sign in again"),
    "user.reset_password": _user("reset the password of "),
    "auth.login": _signed_in,
    "auth.logout": _plain("signed out"),
    "auth.login_failed": _login_failed,
    "auth.login_throttled": _plain(
        "sign-ins were paused after too many failures from one place"
    ),
    "auth.reauth": _plain("confirmed their password to do something sensitive"),
    "auth.reauth_failed": _plain("gave a wrong password when asked to confirm it"),
    "auth.password_change": _plain("changed their password"),
    "auth.password_change_failed": _plain("failed to change their password"),
    "auth.two_factor.challenge": _user(
        "the right password was given for ", ", who was then asked for a code"
    ),
    "auth.two_factor.failed": _login_failed,
    "auth.two_factor.enable": _plain("turned on two-step sign-in"),
    "auth.two_factor.disable": _plain("turned off two-step sign-in"),
    "auth.two_factor.recovery_codes": _plain(
        "made new recovery codes for two-step sign-in"
    ),
    "auth.two_factor.reset": _user("reset the two-step sign-in of "),
    "retention.rule": _retention_rule,
    "retention.review": lambda e, n, a: [
        f"listed the records due for review{' (a dry run)' if a.get('dry_run') else ''}: "
        f"{a.get('people', 0):,} people and {a.get('files', 0):,} evidence files"
    ],
    "retention.remove_file": _retention_file,
    "hold.place": _hold("placed a hold (no erasure, retention paused) on"),
    "hold.release": _hold("released the hold on"),
    "person.erase": _erased("erased the personal details of"),
    "person.erase.replay": _erased(
        "erased again, after an older backup was restored, the personal details of"
    ),
}


def _fallback(event, names, after):
    what = (
        f" on {event.object_type.replace('_', ' ')} #{event.object_id}"
        if event.object_type
        else ""
    )
    changes = _changes(event, names)
    return [f"{event.action}{what}" + (f": {changes}" if changes else "")]


def _capitalised(parts: list) -> list:
    first = parts[0]
    if isinstance(first, str) and first:
        return [first[0].upper() + first[1:], *parts[1:]]
    return parts


def describe(events: list[AuditEvent]) -> list[Entry]:
    """Each event as a sentence; names looked up for the page in a few queries."""
    names = Names(events)
    entries = []
    for event in events:
        sentence = SENTENCES.get(event.action, _fallback)
        try:
            parts = sentence(event, names, event.after or {})
        except (KeyError, TypeError, ValueError, AttributeError):
            # An old event written with other values: say what is known.
            parts = _fallback(event, names, event.after or {})
        if event.actor is not None:
            who = event.actor.name
        elif event.action.startswith("auth."):
            who = None  # the sentence says who (a failed or paused sign-in)
            parts = _capitalised(parts)
        else:
            who = "The system"
        entries.append(Entry(event, who, [p for p in parts if p != ""]))
    return entries
