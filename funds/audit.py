"""The one helper through which every write records its audit event."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from flask import has_request_context, request

from funds.extensions import db
from funds.models import AuditEvent, User


def record_event(
    action: str,
    *,
    actor: User | None,
    obj: object | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits or rolls back with the change).

    :param action: a dotted verb such as ``user.create`` or ``disbursement.reverse``.
    :param obj: the record acted on; its table name and id are kept.
    :param before: the values before the change (never a password or a hash).
    :param after: the values after the change.
    """
    event = AuditEvent(
        actor_id=actor.id if actor is not None else None,
        action=action,
        object_type=getattr(obj, "__tablename__", None),
        object_id=getattr(obj, "id", None),
        before=_jsonable(before),
        after=_jsonable(after),
        ip=_client_address(),
    )
    db.session.add(event)
    db.session.flush()
    return event


def _client_address() -> str | None:
    # The audit trail records where a change came from; ProxyFix (when configured) has
    # already replaced remote_addr with the real client address.
    if has_request_context():
        return (request.remote_addr or "")[:45] or None
    return None


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return {key: _plain(value) for key, value in values.items()}


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
