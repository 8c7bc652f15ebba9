"""A return over a large scheme is built by the job worker: the page asks, the worker
builds the workbook into a file (``funds.job_files``), and it waits there for a week to
be downloaded from the job's page."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from funds import clock, job_files
from funds.database import begin_writing
from funds.extensions import db
from funds.jobs import handler, new_job
from funds.models import Disbursement, Grant, Job, User
from funds.returns.definition import Definition
from funds.returns.library import get_definition
from funds.returns.services import write_return

#: A return over more ledger lines than this is built in the background.
BACKGROUND_LINES = 20_000


def lines_in_period(grant_id: int, date_from: date, date_to: date) -> int:
    return db.session.scalar(
        select(func.count(Disbursement.id)).where(
            Disbursement.grant_id == grant_id,
            Disbursement.awarded_on.between(date_from, date_to),
        )
    )


def build_in_background(
    grant: Grant,
    definition: Definition,
    date_from: date,
    date_to: date,
    *,
    actor: User,
) -> Job:
    """Queue the return's build (the caller commits, then starts the job)."""
    return new_job(
        "return.build",
        title=f"Building the {definition.title} return for {grant.reference}, "
        f"{date_from:%-d %b %Y} to {date_to:%-d %b %Y}",
        actor=actor,
        params={
            "grant_id": grant.id,
            "definition": definition.key,
            "version": definition.version,
            "date_from": date_from.isoformat(),
            "date_to": date_to.isoformat(),
        },
    )


@handler("return.build")
def _build(job: Job, progress) -> None:
    params = job.params
    grant = db.session.get(Grant, params["grant_id"])
    progress.update(0, 1, stage="Adding up the figures and writing the workbook")
    written = job_files.write_whole(
        job_files.result_path(job),
        lambda target: write_return(
            grant,
            definition=get_definition(params["definition"], params["version"]),
            date_from=date.fromisoformat(params["date_from"]),
            date_to=date.fromisoformat(params["date_to"]),
            prepared_by=job.created_by.name,
            prepared_on=clock.today(),
            target=target,
        ),
    )
    progress.update(1, 1)
    # The build only read: end that transaction, then write the result with the write
    # lock (on SQLite a read transaction cannot become a write once others have written).
    job_id = job.id
    db.session.rollback()
    begin_writing()
    job = db.session.get(Job, job_id)
    job.result_name = written.filename
    db.session.commit()
