"""The job handlers for imports: checking, importing and undoing run in the job worker."""

from __future__ import annotations

from funds import clock
from funds.extensions import db
from funds.imports import services
from funds.jobs import handler
from funds.models import ImportRun, Job


def _run(job: Job) -> ImportRun:
    run = db.session.get(ImportRun, job.params["import_id"])
    # The page links the finished job back to its import.
    job.result_url = f"/imports/{run.id}"
    db.session.commit()
    return run


@handler("import.check")
def _check(job: Job, progress) -> None:
    run = _run(job)
    services.check(run.id, actor=job.created_by, today=clock.today(), progress=progress)


@handler("import.import")
def _import(job: Job, progress) -> None:
    run = _run(job)
    services.commit(
        run.id, actor=job.created_by, today=clock.today(), progress=progress
    )


@handler("import.undo")
def _undo(job: Job, progress) -> None:
    run = _run(job)
    services.undo(
        run.id,
        actor=job.created_by,
        today=clock.today(),
        reason=job.params.get("reason", ""),
        progress=progress,
    )
