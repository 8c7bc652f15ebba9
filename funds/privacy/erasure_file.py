"""The erasure log's second copy, kept in a file beside the database rather than in it.

Restoring an older backup brings back the database's own erasure log as it was then, so an
erasure made after that backup would be forgotten with the people it erased. Each erasure
is therefore also appended (one JSON line, references only) to ``ERASURE_LOG_FILE``, which
a database restore does not touch; a replay reads both.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from flask import current_app


def log_path() -> Path:
    return Path(current_app.config["ERASURE_LOG_FILE"])


def append(subject_type: str, reference: str, erased_at: datetime, reason: str) -> None:
    """Add one erasure, flushed to disk before the erasure commits (an erasure whose
    commit then fails is erased again by the next replay: it was asked for)."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(
        {
            "subject_type": subject_type,
            "reference": reference,
            "erased_at": erased_at.isoformat(),
            "reason": reason,
        },
        ensure_ascii=True,
    )
    with open(path, "a", encoding="ascii") as out:
        out.write(line + "\n")
        out.flush()
        os.fsync(out.fileno())


def entries() -> list[tuple[str, str]]:
    """(reference, reason) of every erasure in the file, oldest first; a damaged line
    (a crash mid-write) is skipped."""
    path = log_path()
    if not path.exists():
        return []
    found = []
    with open(path, encoding="ascii", errors="replace") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
                found.append((str(entry["reference"]), str(entry["reason"])))
            except (ValueError, KeyError, TypeError):
                continue
    return found
