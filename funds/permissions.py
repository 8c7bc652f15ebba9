"""The permission table: which roles may reach each endpoint. Deny by default."""

from __future__ import annotations

import logging

from flask import Flask, abort, redirect, request, url_for
from flask_login import current_user

from funds.models import Role

log = logging.getLogger("funds.security")

#: Anyone, signed in or not.
PUBLIC = "public"
#: Any signed-in user, whatever the role.
SIGNED_IN = "signed-in"

ALL_ROLES = frozenset(Role)
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})
#: Who records awards and people (finance checks; it does not record).
RECORDERS = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
#: Who may reverse a ledger line.
REVERSERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})
#: Who may mark a line paid.
PAYERS = frozenset({Role.FINANCE, Role.ADMIN})
#: Who reads funders, the taxonomy and teams.
CATALOGUE_READERS = frozenset({Role.MANAGER, Role.FINANCE, Role.ADMIN})
#: Who buys voucher batches, returns unused vouchers and marks expired ones.
STOCK_KEEPERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})
#: Who reads and downloads funder returns (managers prepare and submit; finance checks).
RETURN_READERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})
#: Who submits returns, which locks the period: managers prepare them; finance checks every
#: penny and locks the period once a return is sent (DESIGN.md). Unlocking needs a manager.
RETURN_SUBMITTERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})
#: Who may see beneficiaries' names and contact details (finance works from references).
NAME_ROLES = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
#: Who hands a grant's spending to the accounts (exports, the ledger file) and reconciles it.
ACCOUNTS_EXPORTERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})

#: endpoint -> PUBLIC, SIGNED_IN or the set of roles allowed. An endpoint missing from
#: this table is refused to everyone (and a test fails until it is added).
PERMISSIONS: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "auth.login": PUBLIC,
    "auth.setup": PUBLIC,
    "auth.logout": SIGNED_IN,
    "auth.change_password": SIGNED_IN,
    "auth.confirm": SIGNED_IN,
    # two-step sign-in: the code page is reached between the password and signing in
    "two_factor.code": PUBLIC,
    "two_factor.manage": SIGNED_IN,
    "two_factor.enrol": SIGNED_IN,
    "two_factor.recovery_codes": SIGNED_IN,
    "two_factor.disable": SIGNED_IN,
    "main.index": SIGNED_IN,
    "dashboard.grant": SIGNED_IN,
    # income, transfers between funds and the fund note (finance, managers, admins)
    "income.grant": RETURN_READERS,
    "income.new_receipt": RETURN_READERS,
    "income.new_expected": RETURN_READERS,
    "income.remove_expected": RETURN_READERS,
    "income.new_transfer": RETURN_READERS,
    "income.movements": RETURN_READERS,
    "income.movements_download": RETURN_READERS,
    "admin.users": ADMINS,
    "admin.new_user": ADMINS,
    "admin.user": ADMINS,
    "admin.change_role": ADMINS,
    "admin.disable_user": ADMINS,
    "admin.enable_user": ADMINS,
    "admin.reset_password": ADMINS,
    "admin.reset_two_factor": ADMINS,
    "admin.audit": ADMINS,
    "admin.audit_download_csv": ADMINS,
    "admin.audit_download_xlsx": ADMINS,
    "admin.organisation": MANAGERS,
    # imports and background jobs (a job's page is its owner's: the view checks)
    "imports.index": MANAGERS,
    "imports.columns": MANAGERS,
    "imports.detail": MANAGERS,
    "imports.check": MANAGERS,
    "imports.commit": MANAGERS,
    "imports.undo": MANAGERS,
    "imports.replace": MANAGERS,
    "imports.errors_file": MANAGERS,
    "imports.template": MANAGERS,
    "jobs.detail": SIGNED_IN,
    "jobs.progress": SIGNED_IN,
    "jobs.result": SIGNED_IN,
    # grants
    "grants.index": SIGNED_IN,
    "grants.new": MANAGERS,
    "grants.detail": SIGNED_IN,
    "grants.edit": MANAGERS,
    "grants.change_total": MANAGERS,
    "grants.budget_line": MANAGERS,
    "grants.download_csv": SIGNED_IN,
    "grants.download_xlsx": SIGNED_IN,
    # funders, item taxonomy, teams
    "taxonomy.funders": CATALOGUE_READERS,
    "taxonomy.new_funder": MANAGERS,
    "taxonomy.funder": CATALOGUE_READERS,
    "taxonomy.add_categories": MANAGERS,
    "taxonomy.mapping": MANAGERS,
    "taxonomy.reporting": MANAGERS,
    "taxonomy.items": CATALOGUE_READERS,
    "taxonomy.new_category": MANAGERS,
    "taxonomy.edit_category": MANAGERS,
    "taxonomy.new_item": MANAGERS,
    "taxonomy.item_active": MANAGERS,
    "taxonomy.teams": CATALOGUE_READERS,
    "taxonomy.new_team": MANAGERS,
    # households and young people
    "people.lookup": RECORDERS,
    "people.households": SIGNED_IN,
    "people.new_household": RECORDERS,
    "people.household": SIGNED_IN,
    "people.edit_household": RECORDERS,
    "people.young_people": SIGNED_IN,
    "people.new_young_person": RECORDERS,
    "people.young_person": SIGNED_IN,
    "people.edit_young_person": RECORDERS,
    "people.households_download_csv": SIGNED_IN,
    "people.households_download_xlsx": SIGNED_IN,
    "people.young_people_download_csv": SIGNED_IN,
    "people.young_people_download_xlsx": SIGNED_IN,
    # the ledger
    "disbursements.index": SIGNED_IN,
    "disbursements.new": RECORDERS,
    "disbursements.detail": SIGNED_IN,
    "disbursements.reverse": REVERSERS,
    "disbursements.mark_paid": PAYERS,
    "disbursements.download_csv": SIGNED_IN,
    "disbursements.download_xlsx": SIGNED_IN,
    # payment runs (finance pays many awards at once)
    "payments.index": PAYERS,
    "payments.new": PAYERS,
    "payments.detail": PAYERS,
    "payments.remittance_csv": PAYERS,
    "payments.remittance_xlsx": PAYERS,
    # activity programmes
    "activities.index": SIGNED_IN,
    "activities.new": RECORDERS,
    "activities.session": SIGNED_IN,
    "activities.attendance": RECORDERS,
    "activities.programme": SIGNED_IN,
    "activities.download_csv": SIGNED_IN,
    "activities.download_xlsx": SIGNED_IN,
    # voucher stock
    "vouchers.index": SIGNED_IN,
    "vouchers.new_batch": STOCK_KEEPERS,
    "vouchers.batch": SIGNED_IN,
    "vouchers.return_vouchers": STOCK_KEEPERS,
    "vouchers.expire": STOCK_KEEPERS,
    "vouchers.issue": RECORDERS,
    "vouchers.reconciliation": SIGNED_IN,
    "vouchers.issued_csv": SIGNED_IN,
    "vouchers.batches_download_csv": SIGNED_IN,
    "vouchers.batches_download_xlsx": SIGNED_IN,
    # funder returns and period locks
    "returns.index": RETURN_READERS,
    "returns.prepare": RETURN_READERS,
    "returns.download": RETURN_READERS,
    "returns.build": RETURN_READERS,
    "returns.submit": RETURN_SUBMITTERS,
    "returns.detail": RETURN_READERS,
    "returns.stored_workbook": RETURN_READERS,
    "returns.grant_history": RETURN_READERS,
    "returns.unlock": MANAGERS,
    # return definitions: everyone who reads returns sees them; managers change them
    "definitions.index": RETURN_READERS,
    "definitions.saved": RETURN_READERS,
    "definitions.export": RETURN_READERS,
    "definitions.copy": MANAGERS,
    "definitions.edit": MANAGERS,
    "definitions.import_file": MANAGERS,
    "definitions.draft": MANAGERS,
    "definitions.details": MANAGERS,
    "definitions.move": MANAGERS,
    "definitions.remove": MANAGERS,
    "definitions.add": MANAGERS,
    "definitions.sheet_settings": MANAGERS,
    "definitions.sheet_move": MANAGERS,
    "definitions.sheet_remove": MANAGERS,
    "definitions.sheet_add": MANAGERS,
    "definitions.labels": MANAGERS,
    "definitions.table": MANAGERS,
    "definitions.preview": MANAGERS,
    "definitions.preview_workbook": MANAGERS,
    "definitions.draft_export": MANAGERS,
    "definitions.save": MANAGERS,
    "definitions.discard": MANAGERS,
    # the hand-off to the accounts
    "exports.index": ACCOUNTS_EXPORTERS,
    "exports.download": ACCOUNTS_EXPORTERS,
    "exports.reconcile": ACCOUNTS_EXPORTERS,
    # the evidence pack of a grant and period (a pack the worker built: its owner only)
    "evidence_pack.pack": RETURN_READERS,
    "evidence_pack.result": RETURN_READERS,
    # evidence files: uploading follows who records each kind of record; a download is
    # checked again against the record's own page (funds.evidence.views)
    "evidence.upload_award": RECORDERS,
    "evidence.upload_session": RECORDERS,
    "evidence.upload_batch": STOCK_KEEPERS,
    "evidence.upload_agreement": MANAGERS,
    "evidence.download": SIGNED_IN,
    "evidence.remove_file": MANAGERS,
    # subject access and hand-over exports (admins, with a recent sign-in)
    "privacy_exports.household": ADMINS,
    "privacy_exports.household_json": ADMINS,
    "privacy_exports.young_person": ADMINS,
    "privacy_exports.young_person_json": ADMINS,
    "privacy_exports.handover": ADMINS,
    # retention, holds and erasure (funds/privacy/views.py)
    "privacy.retention": ADMINS,
    "privacy.review": ADMINS,
    "privacy.erase": ADMINS,
    "privacy.place": MANAGERS,
    "privacy.release": MANAGERS,
}


def rule_for(endpoint: str | None) -> str | frozenset[Role] | None:
    """The permission entry for an endpoint, or None when it has none (denied)."""
    if endpoint is None:
        return None
    return PERMISSIONS.get(endpoint)


def allowed(endpoint: str, user=None) -> bool:
    """Whether ``user`` (default: the current user) may reach ``endpoint``."""
    user = current_user if user is None else user
    rule = rule_for(endpoint)
    if rule is None:
        return False
    if rule == PUBLIC:
        return True
    if not user.is_authenticated:
        return False
    return rule == SIGNED_IN or user.role in rule


def enforce_permissions() -> object | None:
    """``before_request`` hook: redirect anonymous visitors to log in, else 403."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    rule = rule_for(endpoint)
    if rule == PUBLIC:
        return None
    if rule is not None and not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if rule is None or not allowed(endpoint):
        log.warning(
            "access denied endpoint=%s user=%s",
            endpoint,
            getattr(current_user, "id", None),
        )
        abort(403)
    return None


def can_see_names(user=None) -> bool:
    """Whether the user may see beneficiaries' names and contact details."""
    user = current_user if user is None else user
    return bool(user.is_authenticated and user.role in NAME_ROLES)


def register_permissions(app: Flask) -> None:
    """Install the check on every request and expose ``can()`` to templates."""
    app.before_request(enforce_permissions)
    app.jinja_env.globals["can"] = allowed
    app.jinja_env.globals["can_see_names"] = can_see_names
