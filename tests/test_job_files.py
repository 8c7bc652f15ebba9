"""The files the job worker leaves: written whole or not at all, swept after a week."""

from __future__ import annotations

import os
import time

import pytest

from funds import job_files


def test_a_file_appears_whole_under_its_name(app):
    with app.app_context():
        final = job_files.folder("job-results") / "job-1"
        written = job_files.write_whole(final, lambda target: target.write(b"whole"))
        assert written == 5 and final.read_bytes() == b"whole"
        assert sorted(p.name for p in final.parent.iterdir()) == ["job-1"]


def test_a_failed_write_leaves_nothing_behind(app):
    def half(target):
        target.write(b"half a workbook")
        raise RuntimeError("the build failed")

    with app.app_context():
        final = job_files.folder("job-results") / "job-2"
        with pytest.raises(RuntimeError):
            job_files.write_whole(final, half)
        assert list(final.parent.iterdir()) == []


def test_files_older_than_a_week_are_swept_when_the_next_is_written(app):
    with app.app_context():
        folder = job_files.folder("job-results")
        old, recent = folder / "job-3", folder / "job-4"
        old.write_bytes(b"old")
        recent.write_bytes(b"recent")
        week_and_a_minute = time.time() - job_files.KEEP_SECONDS - 60
        os.utime(old, (week_and_a_minute, week_and_a_minute))
        job_files.write_whole(folder / "job-5", lambda target: target.write(b"new"))
        assert sorted(p.name for p in folder.iterdir()) == ["job-4", "job-5"]
