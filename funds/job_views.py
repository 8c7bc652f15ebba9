"""The page of a background job: its progress while it runs, then where its result is."""

from __future__ import annotations

import io
import mimetypes

from flask import Blueprint, abort, jsonify, redirect, render_template, send_file
from flask_login import current_user

from funds import job_files
from funds.extensions import db
from funds.jobs import job_view
from funds.models import Job, JobStatus, Role

bp = Blueprint("jobs", __name__)


def _job_or_404(job_id: int) -> Job:
    """A job its owner (or an administrator) may see; anyone else gets a 404."""
    job = db.session.get(Job, job_id)
    if job is None or (
        job.created_by_id != current_user.id and current_user.role != Role.ADMIN
    ):
        abort(404)
    return job


def _summary(view) -> dict:
    return {
        "state": view.state,
        "done": view.done,
        "total": view.total,
        "percent": view.percent,
        "stage": view.stage,
        "seconds_left": None if view.seconds_left is None else round(view.seconds_left),
        "error": view.error,
        "result_url": view.job.result_url if view.state == "done" else None,
    }


@bp.route("/<int:job_id>")
def detail(job_id: int):
    job = _job_or_404(job_id)
    view = job_view(job)
    if view.state == "done" and job.result_url:
        return redirect(job.result_url)
    return render_template(
        "jobs/detail.html",
        view=view,
        job=job,
        result_kept=_result_kept(job),
        keep_days=job_files.KEEP_DAYS,
    )


def _result_kept(job: Job) -> bool:
    if not job.result_name:
        return False
    return job_files.result_path(job).exists() or job.result_data is not None


@bp.route("/<int:job_id>/progress")
def progress(job_id: int):
    """The job's state for the page's script to show without reloading."""
    return jsonify(_summary(job_view(_job_or_404(job_id))))


@bp.route("/<int:job_id>/result")
def result(job_id: int):
    """The file the job left (kept for ``job_files.KEEP_DAYS`` days)."""
    job = _job_or_404(job_id)
    if job.status != JobStatus.DONE or not job.result_name:
        abort(404)
    path = job_files.result_path(job)
    if path.exists():
        body = path
    elif job.result_data is not None:  # finished before results were kept as files
        body = io.BytesIO(job.result_data)
    else:
        abort(404)
    response = send_file(
        body,
        mimetype=mimetypes.guess_type(job.result_name)[0] or "application/octet-stream",
        as_attachment=True,
        download_name=job.result_name,
        max_age=0,
    )
    response.headers["Cache-Control"] = "no-store"
    return response
