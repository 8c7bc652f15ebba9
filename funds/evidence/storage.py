"""Where evidence files' bytes live: EVIDENCE_DIR (outside ``static/``), under random names.

The one home for paths: nothing else builds a path to an evidence file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from pathlib import Path

from flask import current_app
from sqlalchemy import event

from funds.extensions import db

_STORED_NAME = re.compile(r"^[0-9a-f]{32}$")


def evidence_dir() -> Path:
    """The folder holding the files (created on first use)."""
    folder = Path(current_app.config["EVIDENCE_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def path_for(stored_name: str) -> Path:
    """The file's path; refuses anything but a name this module made."""
    if not _STORED_NAME.match(stored_name):
        raise ValueError("not an evidence file name")
    return evidence_dir() / stored_name[:2] / stored_name


def save(data: bytes) -> tuple[str, str]:
    """Write ``data`` under a new random name; returns (stored_name, sha256 hex).

    Written to a temporary file in the same folder, flushed to disk, then renamed, so a
    crash never leaves half a file under a real name.
    """
    stored_name = secrets.token_hex(16)
    path = path_for(stored_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return stored_name, hashlib.sha256(data).hexdigest()


def read(stored_name: str) -> bytes:
    return path_for(stored_name).read_bytes()


def delete(stored_name: str) -> None:
    """Remove the bytes (an erasure, retention, a mistaken upload); missing is fine."""
    path_for(stored_name).unlink(missing_ok=True)


_PENDING = "evidence_files_to_delete"


def delete_after_commit(paths: Iterable[Path]) -> None:
    """Delete these files once the current transaction commits (an erasure, a removal,
    retention); if it rolls back they stay, so a row never says "present" for bytes that
    are gone. Takes paths (from path_for, or a built pack's path)."""
    session = db.session()
    pending = session.info.get(_PENDING)
    if pending is None:
        pending = session.info[_PENDING] = []
        event.listen(session, "after_commit", _delete_pending)
        event.listen(session, "after_rollback", _forget_pending)
    pending.extend(paths)


def _delete_pending(session) -> None:
    for path in session.info.get(_PENDING, []):
        Path(path).unlink(missing_ok=True)
    session.info[_PENDING] = []


def _forget_pending(session) -> None:
    session.info[_PENDING] = []
