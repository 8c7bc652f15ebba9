"""The upload routes take more than the site's request limit (10 files of the per-file
cap); every other route keeps the site's limit."""

from __future__ import annotations

from funds.models import EvidenceFile
from tests.conftest import count
from tests.evidence import samples
from tests.evidence.conftest import post_large_files, stored_files


def test_two_large_scans_in_one_upload_pass_the_site_limit(app, client, login, world):
    assert app.config["MAX_CONTENT_LENGTH"] < 12 * 1024 * 1024
    assert app.config["EVIDENCE_MAX_BYTES"] > 6 * 1024 * 1024
    scan = samples.PDF + b"%" + b"s" * (6 * 1024 * 1024)
    login(world.staff)
    response = post_large_files(
        client,
        f"/evidence/awards/{world.award}",
        [("scan 1.pdf", scan), ("scan 2.pdf", scan)],
    )
    assert response.status_code == 302
    assert count(app, EvidenceFile) == 2
    assert len(stored_files(app)) == 2


def test_other_routes_keep_the_site_limit(app, client, login, world):
    login(world.manager)
    response = client.post(
        f"/awards/{world.award}/reverse", data={"reason": "x" * (11 * 1024 * 1024)}
    )
    assert response.status_code == 413
