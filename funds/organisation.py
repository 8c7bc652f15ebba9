"""The organisation using funds, in one home: the header, every return's cover and its
sign-off contact, and the password rules all read it from here."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from flask import current_app, g, has_app_context

from funds.audit import record_event
from funds.database import writes
from funds.errors import NotAllowed, ValidationError
from funds.extensions import db
from funds.models import OrganisationSettings, Role, User
from funds.models.base import utcnow

#: Registered charity numbers: England and Wales (with a subsidiary number after a dash),
#: Scotland (SC...) and Northern Ireland (NIC... or the bare number).
CHARITY_NUMBER = re.compile(
    r"[0-9]{6,8}(-[0-9]{1,2})?|SC[0-9]{6}|(NIC)?[0-9]{5,6}", re.ASCII
)
_PHONE = re.compile(r"\+?[0-9 ()-]{10,20}", re.ASCII)
EDITORS = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Organisation:
    name: str
    address: str = ""
    charity_number: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    #: False until someone has filled the organisation page in.
    recorded: bool = False

    @property
    def contact(self) -> dict:
        """The returns contact, as the sign-off keeps it."""
        return {
            "name": self.contact_name,
            "email": self.contact_email,
            "phone": self.contact_phone,
        }


def _default() -> Organisation:
    return Organisation(name=current_app.config["ORGANISATION_NAME"])


def current_organisation() -> Organisation:
    """The organisation's details (the configured name until the page is filled in);
    read once per request."""
    if has_app_context() and "organisation" in g:
        return g.organisation
    row = db.session.get(OrganisationSettings, 1)
    if row is None:
        found = _default()
    else:
        found = Organisation(
            name=row.name,
            address=row.address or "",
            charity_number=row.charity_number or "",
            contact_name=row.contact_name or "",
            contact_email=row.contact_email or "",
            contact_phone=row.contact_phone or "",
            recorded=True,
        )
    g.organisation = found
    return found


def _check(details: Organisation) -> None:
    if not details.name.strip():
        raise ValidationError("Enter the organisation’s name", field="name")
    if details.charity_number and not CHARITY_NUMBER.fullmatch(details.charity_number):
        raise ValidationError(
            "Enter a registered charity number like 1123456, SC012345 or NIC100002",
            field="charity_number",
        )
    if details.contact_phone and not _PHONE.fullmatch(details.contact_phone):
        raise ValidationError(
            "Enter a phone number like 01632 960 001 or +44 1632 960 001",
            field="contact_phone",
        )


@writes
def update_organisation(details: Organisation, *, actor: User) -> Organisation:
    """Record the organisation's details; the change is audited field by field.

    :raises NotAllowed: for roles other than managers and administrators.
    :raises ValidationError: for a missing name or a malformed number.
    """
    if actor.role not in EDITORS:
        raise NotAllowed("Only a manager or an administrator can change these details")
    _check(details)
    row = db.session.get(OrganisationSettings, 1)
    before = asdict(current_organisation()) if row is not None else {}
    if row is None:
        row = OrganisationSettings(id=1)
        db.session.add(row)
    fields = ("name", "address", "charity_number", "contact_name", "contact_email")
    for name in (*fields, "contact_phone"):
        setattr(row, name, getattr(details, name) or None)
    row.name = details.name
    row.updated_at = utcnow()
    row.updated_by_id = actor.id
    db.session.flush()
    after = {
        name: getattr(details, name)
        for name in (*fields, "contact_phone")
        if (before.get(name) or "") != (getattr(details, name) or "")
    }
    record_event(
        "organisation.update",
        actor=actor,
        obj=row,
        before={name: before.get(name, "") for name in after} if before else None,
        after=after,
    )
    g.pop("organisation", None)
    return current_organisation()
