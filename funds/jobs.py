"""Background jobs through huey: the queue is a SQLite file in ``instance/`` by default, or
Redis when ``FUNDS_REDIS_URL`` is set (so web and job workers on several machines share it).

A job is a row in the database (what was asked, how it ended) and one huey task that runs
the job's handler in an app context. While it runs, the worker writes its progress and a
heartbeat to the queue's own store, never to the database the job is writing in one
transaction. A job whose heartbeat stops (the worker was killed) is shown as failed; its
transaction never committed, so nothing half-written is left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from flask import Flask, current_app
from huey import RedisHuey, SqliteHuey

from funds.errors import FundsError
from funds.extensions import db
from funds.models import Job, JobStatus, User
from funds.models.base import utcnow

log = logging.getLogger(__name__)

#: kind -> handler(job, progress). A handler commits its own work (once, at its end) and
#: raises FundsError with a message for people when it cannot finish.
HANDLERS: dict[str, Callable] = {}
#: How often a running job says it is alive.
HEARTBEAT_SECONDS = 2.0
#: How often progress is written, at most.
PROGRESS_SECONDS = 0.5


def handler(kind: str):
    """Register the function that runs jobs of ``kind``."""

    def register(function):
        HANDLERS[kind] = function
        return function

    return register


def _queue(app: Flask):
    if app.config.get("REDIS_URL"):
        queue = RedisHuey("funds", url=app.config["REDIS_URL"])
    else:
        path = app.config.get("JOBS_DATABASE") or str(
            Path(app.instance_path) / "jobs.sqlite"
        )
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        queue = SqliteHuey("funds", filename=path)
    queue.immediate = bool(app.config.get("JOBS_IMMEDIATE"))
    return queue


def init_jobs(app: Flask) -> None:
    """Give the app its queue and the one task that runs any job."""
    queue = _queue(app)

    @queue.task(name="funds.run_job")
    def run_job(job_id: int) -> None:
        with app.app_context():
            _run(job_id, queue)

    app.extensions["funds_jobs"] = _Jobs(queue, run_job)


@dataclass
class _Jobs:
    queue: object
    task: object


def _jobs() -> _Jobs:
    return current_app.extensions["funds_jobs"]


def queue():
    """The app's huey instance (for the worker command)."""
    return _jobs().queue


# --- asking for work --------------------------------------------------------------------


def new_job(kind: str, *, title: str, actor: User, params: dict | None = None) -> Job:
    """A job row, queued once the caller has committed it (see ``start``)."""
    if kind not in HANDLERS:
        raise KeyError(kind)
    job = Job(kind=kind, title=title[:200], params=params or {}, created_by_id=actor.id)
    db.session.add(job)
    db.session.flush()
    return job


def start(job_id: int) -> None:
    """Hand a committed job to the queue (run at once when jobs are immediate). Takes the
    id, read before the commit: touching the committed row would begin a new transaction."""
    _jobs().task(job_id)


# --- progress -----------------------------------------------------------------------------


def _key(job_id: int) -> str:
    return f"job-progress:{job_id}"


class Progress:
    """What a running job has done, written to the queue's store (not the database)."""

    def __init__(self, store, job_id: int):
        self.store, self.job_id = store, job_id
        self.done = self.total = 0
        self.stage = ""
        self.started = time.monotonic()
        self._written = 0.0
        self._lock = threading.Lock()

    def update(
        self, done: int, total: int | None = None, *, stage: str | None = None
    ) -> None:
        self.done = done
        if total is not None:
            self.total = total
        if stage is not None:
            self.stage = stage
            self._written = 0.0  # a new stage is shown at once
        if time.monotonic() - self._written >= PROGRESS_SECONDS:
            self.write()

    def write(self) -> None:
        with self._lock:
            self._written = time.monotonic()
            self.store.put(
                _key(self.job_id),
                {
                    "done": self.done,
                    "total": self.total,
                    "stage": self.stage,
                    "elapsed": time.monotonic() - self.started,
                    "beat": time.time(),
                },
            )


def _heartbeat(progress: Progress, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            progress.write()
        except Exception:  # the store being briefly busy must not kill the job
            log.warning("job %s: could not write its heartbeat", progress.job_id)


def _run(job_id: int, store) -> None:
    job = db.session.get(Job, job_id)
    if job is None or job.status != JobStatus.QUEUED:
        return  # delivered twice, or already dealt with
    job.status = JobStatus.RUNNING
    job.started_at = utcnow()
    db.session.commit()
    progress = Progress(store, job_id)
    progress.write()
    stop = threading.Event()
    beating = threading.Thread(target=_heartbeat, args=(progress, stop), daemon=True)
    beating.start()
    try:
        HANDLERS[job.kind](job, progress)
    except FundsError as error:
        db.session.rollback()
        _finish(job_id, JobStatus.FAILED, error=error.message)
    except Exception:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.kind)
        _finish(
            job_id,
            JobStatus.FAILED,
            error="Something went wrong and nothing was changed. Try again; if it "
            "happens again, tell your administrator (the error is in the job "
            "worker's log).",
        )
    else:
        _finish(job_id, JobStatus.DONE)
    finally:
        stop.set()
        progress.write()


def _finish(job_id: int, status: JobStatus, *, error: str | None = None) -> None:
    job = db.session.get(Job, job_id)
    job.status = status
    job.error = error
    job.finished_at = utcnow()
    db.session.commit()


# --- how a job is doing -------------------------------------------------------------------


@dataclass(frozen=True)
class JobView:
    """A job as the page shows it."""

    job: Job
    #: queued, running, done, failed, or stalled (queued long with no worker taking it)
    state: str
    done: int
    total: int
    stage: str
    #: Seconds left at the current rate, when known.
    seconds_left: float | None
    error: str | None

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    @property
    def percent(self) -> int:
        if self.state == "done":
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))


def job_view(job: Job) -> JobView:
    """The job's state, reading its progress from the queue's store. A running job whose
    heartbeat has stopped for longer than ``JOB_STALE_SECONDS`` is shown as failed."""
    progress = {}
    try:
        progress = queue().get(_key(job.id), peek=True) or {}
    except Exception:  # the store unreachable: show what the database knows
        log.warning("job %s: progress unreadable", job.id)
    done, total = progress.get("done", 0), progress.get("total", 0)
    stage = progress.get("stage", "")
    left = None
    elapsed = progress.get("elapsed") or 0
    if job.status == JobStatus.RUNNING and done and total and elapsed:
        left = max(0.0, elapsed / done * (total - done))
    state, error = job.status.value, job.error
    stale = current_app.config.get("JOB_STALE_SECONDS", 30)
    if job.status == JobStatus.RUNNING:
        beat = progress.get("beat")
        if beat is None or time.time() - beat > stale:
            started = job.started_at or job.created_at
            if beat is not None or utcnow() - started > timedelta(seconds=stale):
                state = "failed"
                error = (
                    "The job stopped before it finished (its worker was stopped or "
                    "restarted). Nothing was changed: start it again."
                )
    elif job.status == JobStatus.QUEUED:
        waited = utcnow() - job.created_at
        if waited > timedelta(seconds=stale):
            state = "stalled"
    return JobView(job, state, done, total, stage, left, error)
