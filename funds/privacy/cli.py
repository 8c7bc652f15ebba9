"""``flask person`` and ``flask retention``: erasure and retention for scripts and schedules.

Each command is audited; an unknown reference or a held record is a clear error on stderr
and a non-zero exit. Output names references, never names.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from funds import clock
from funds.errors import FundsError
from funds.extensions import db

person_group = AppGroup("person", help="One household or young person: erase, export.")

retention_group = AppGroup(
    "retention", help="Retention: records due for review, applying the rules, replay."
)


def _audit_review(people: int, files: int, *, dry_run: bool) -> None:
    """A review reads who is past their period: audited like any read of the list."""
    from funds.audit import record_event
    from funds.database import begin_writing

    begin_writing()
    record_event(
        "retention.review",
        actor=None,
        after={"people": people, "files": files, "dry_run": dry_run},
    )
    db.session.commit()


def _fail(error: FundsError) -> click.ClickException:
    db.session.rollback()
    return click.ClickException(error.message)


@person_group.command("erase")
@click.argument("reference")
@click.option("--reason", required=True, help="Why (kept in the erasure log).")
def person_erase(reference: str, reason: str) -> None:
    """Erase a household's or young person's personal details (anonymise them)."""
    from funds.privacy.erasure import erase_by_reference

    try:
        erased = erase_by_reference(reference, reason=reason, actor=None)
    except FundsError as error:
        raise _fail(error) from error
    db.session.commit()
    click.secho(
        f"Erased {erased.reference}: {erased.awards} awards' notes blanked, "
        f"{erased.files} files removed, {erased.audit_events} audit events redacted.",
        fg="green",
    )


@retention_group.command("review")
def retention_review() -> None:
    """List the records past their retention period: reference, kind, due date."""
    from funds.privacy.retention import due_files, due_people

    today = clock.today()
    people, files = due_people(today), due_files(today)
    for person in people:
        click.echo(f"{person.reference}\t{person.subject_type}\t{person.due_on}")
    for file in files:
        click.echo(f"file-{file.id}\tevidence ({file.grant_reference})\t{file.due_on}")
    db.session.rollback()
    _audit_review(len(people), len(files), dry_run=False)
    click.echo(
        f"{len(people)} people and {len(files)} evidence files are due for review.",
        err=True,
    )


@retention_group.command("apply")
@click.option("--dry-run", is_flag=True, help="Say what would be done; change nothing.")
def retention_apply(dry_run: bool) -> None:
    """Erase the people and remove the files past their period (the schedule: audited
    with no actor). Held records are never touched."""
    from funds.models import Household, YoungPerson
    from funds.privacy.erasure import erase_person
    from funds.privacy.retention import due_files, due_people, remove_file

    today = clock.today()
    people, files = due_people(today), due_files(today)
    db.session.rollback()
    verb = "Would erase" if dry_run else "Erased"
    for due in people:
        if not dry_run:
            model = Household if due.subject_type == "household" else YoungPerson
            try:
                erase_person(
                    db.session.get(model, due.id),
                    reason=f"Retention: {due.rule.text} (due {due.due_on})",
                    actor=None,
                )
            except FundsError as error:
                db.session.rollback()
                click.secho(
                    f"Left {due.reference}: {error.message}", fg="red", err=True
                )
                continue
            db.session.commit()
        click.echo(f"{verb} {due.reference} ({due.subject_type}, due {due.due_on})")
    verb = "Would remove" if dry_run else "Removed"
    for due in files:
        if not dry_run:
            try:
                remove_file(due.id, reason=f"retention: {due.rule.text}", actor=None)
            except FundsError as error:
                db.session.rollback()
                click.secho(f"Left file-{due.id}: {error.message}", fg="red", err=True)
                continue
            db.session.commit()
        click.echo(
            f"{verb} evidence file-{due.id} ({due.grant_reference}, due {due.due_on})"
        )
    if dry_run:
        _audit_review(len(people), len(files), dry_run=True)
        click.echo("Dry run: nothing was changed.", err=True)


@retention_group.command("replay")
def retention_replay() -> None:
    """Erase again everyone the erasure log names who is not erased (after restoring an
    older backup)."""
    from funds.privacy.erasure import replay_erasures

    done, held = replay_erasures()
    db.session.commit()
    for erased in done:
        click.echo(f"Erased again {erased.reference}")
    for reference in held:
        click.secho(f"Left {reference}: held", fg="red", err=True)
    click.echo(f"{len(done)} erasures replayed.", err=True)
    if held:
        raise click.ClickException(
            f"{len(held)} erased people are held in this database and were not erased "
            "again: release their holds and run this again."
        )
