"""Files the job worker leaves for whoever asked: a large return's workbook, an evidence
pack. They live under the instance folder (outside ``static/``), are written under a
partial name and moved into place whole (a download never sees half a file), and are
deleted ``KEEP_SECONDS`` after they were made: they hold references to people helped.

The file stays on disk from the moment it is written: a 1,000,000-line return is about
70 MB, and holding it in memory (or in a database column) would double the worker's size.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, TypeVar

from flask import current_app

from funds.models import Job

#: How long a finished job's file is kept for its owner to download.
KEEP_SECONDS = 7 * 24 * 3600
KEEP_DAYS = KEEP_SECONDS // (24 * 3600)

T = TypeVar("T")


def folder(name: str) -> Path:
    """``instance/<name>``, made if missing."""
    path = Path(current_app.instance_path) / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def result_path(job: Job) -> Path:
    """Where a job's downloadable result (``job.result_name``) is kept."""
    return folder("job-results") / f"job-{int(job.id)}"


def write_whole(final: Path, write: Callable[[BinaryIO], T]) -> T:
    """Call ``write`` with a new file beside ``final``, then move it into place: the
    file appears whole or not at all (a failed write leaves nothing behind)."""
    sweep(final.parent)
    partial = final.parent / f".{final.name}.{secrets.token_hex(4)}.partial"
    try:
        with partial.open("wb") as target:
            outcome = write(target)
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    return outcome


def sweep(path: Path) -> None:
    """Delete the files in ``path`` older than ``KEEP_SECONDS``."""
    cutoff = time.time() - KEEP_SECONDS
    for kept in path.glob("job-*"):
        if kept.stat().st_mtime < cutoff:
            kept.unlink(missing_ok=True)
