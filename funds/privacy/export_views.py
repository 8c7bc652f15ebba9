"""Subject access exports (one person) and hand-over exports (one grant's beneficiaries):
admins only, with a recent sign-in, each audited before it is sent."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from flask import Blueprint, Response, render_template, send_file
from flask_login import current_user

from funds.auth.decorators import recent_login_required
from funds.extensions import db
from funds.models import Grant, Household, YoungPerson
from funds.privacy.handover import build_handover, record_handover
from funds.privacy.subject_access import (
    Person,
    as_json,
    gather,
    kind_of,
    record_export,
)

bp = Blueprint("privacy_exports", __name__)


def _actor():
    return current_user._get_current_object()


def _slug(text: str) -> str:
    """Only ``[A-Za-z0-9._-]`` in a download's name (security-bar §1.5)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "export"


def _json_url(person: Person) -> tuple[str, dict]:
    if isinstance(person, Household):
        return "privacy_exports.household_json", {"household_id": person.id}
    return "privacy_exports.young_person_json", {"young_person_id": person.id}


def _page(person: Person):
    now = datetime.now(UTC)
    export = gather(person, now=now)
    back = (
        ("people.household", {"household_id": person.id})
        if kind_of(person) == "household"
        else ("people.young_person", {"young_person_id": person.id})
    )
    record_export(person, actor=_actor(), fmt="html")
    db.session.commit()
    response = Response(
        render_template(
            "privacy/subject_access.html",
            export=export,
            json_link=_json_url(person),
            back=back,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(person: Person):
    now = datetime.now(UTC)
    body = json.dumps(as_json(gather(person, now=now)), ensure_ascii=False, indent=2)
    record_export(person, actor=_actor(), fmt="json")
    db.session.commit()
    name = _slug(f"subject-access-{person.reference}-{now:%Y-%m-%d}") + ".json"
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/households/<int:household_id>/subject-access")
@recent_login_required()
def household(household_id: int):
    return _page(db.get_or_404(Household, household_id))


@bp.route("/households/<int:household_id>/subject-access.json")
@recent_login_required()
def household_json(household_id: int):
    return _json(db.get_or_404(Household, household_id))


@bp.route("/young-people/<int:young_person_id>/subject-access")
@recent_login_required()
def young_person(young_person_id: int):
    return _page(db.get_or_404(YoungPerson, young_person_id))


@bp.route("/young-people/<int:young_person_id>/subject-access.json")
@recent_login_required()
def young_person_json(young_person_id: int):
    return _json(db.get_or_404(YoungPerson, young_person_id))


@bp.route("/grants/<int:grant_id>/handover.zip")
@recent_login_required()
def handover(grant_id: int):
    grant = db.get_or_404(Grant, grant_id)
    now = datetime.now(UTC)
    spool, counts = build_handover(grant, now=now)
    record_handover(grant, actor=_actor(), counts=counts)
    db.session.commit()
    response = send_file(
        spool,
        mimetype="application/zip",
        as_attachment=True,
        download_name=_slug(f"handover-{grant.reference}-{now:%Y-%m-%d}") + ".zip",
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
