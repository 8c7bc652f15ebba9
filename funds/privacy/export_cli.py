"""``flask person export REF --out FILE.json``: a subject access export for scripts.

Added to the ``person`` group of funds.privacy.cli by the app factory."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime

import click
from flask.cli import with_appcontext

from funds.extensions import db


@click.command("export")
@click.argument("reference")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Where to write the subject access export (JSON).",
)
@with_appcontext
def person_export(reference: str, out: str) -> None:
    """Write everything held about one household or young person to a JSON file
    (audited ``person.export`` with no actor). An unknown reference writes nothing."""
    from funds.people.queries import person_by_reference as find_person
    from funds.privacy.subject_access import as_json, gather, record_export

    person = find_person(reference)
    if person is None:
        raise click.ClickException(
            f"No household or young person has the reference {reference!r}."
        )
    body = as_json(gather(person, now=datetime.now(UTC)))
    folder = os.path.dirname(os.path.abspath(out))
    # Written beside the target and renamed: a failure never leaves half a file.
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(body, stream, ensure_ascii=False, indent=2)
        record_export(person, actor=None, fmt="json")
        os.replace(partial, out)
        db.session.commit()
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        db.session.rollback()
        raise
    click.echo(
        f"Wrote the subject access export of {body['subject']['reference']} to {out}"
    )
