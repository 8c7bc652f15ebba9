"""Virus scanning with a fake clamd (Unix socket and TCP): verdicts stored per file,
downloads blocked unless clean, the scan command retries files not yet scanned."""

from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from funds.evidence import scanning
from funds.extensions import db
from funds.models import EvidenceFile, ScanStatus
from tests.evidence import samples
from tests.evidence.conftest import post_files
from tests.evidence.fake_clamd import FakeClamd


@pytest.fixture(params=["unix", "tcp"])
def clamd(request, tmp_path_factory):
    if request.param == "unix":
        # A short path: Unix socket paths are limited to about 100 bytes.
        folder = Path(tempfile.mkdtemp(prefix="clamd-"))
        server = FakeClamd(unix_path=str(folder / "c.sock"), limit=256 * 1024)
    else:
        server = FakeClamd(limit=256 * 1024)
    yield server
    server.close()
    if request.param == "unix":
        folder.rmdir()


def _configure(app, address):
    app.config["CLAMD_ADDRESS"] = address


def _rows(app):
    with app.app_context():
        return {
            e.original_name: (e.scan_status, e.scan_detail, e.id)
            for e in db.session.scalars(select(EvidenceFile))
        }


def test_scan_verdicts_are_stored_and_block_downloads(app, client, login, world, clamd):
    _configure(app, clamd.address)
    login(world.staff)
    big = samples.PDF + b"%" + b"y" * (300 * 1024)
    response = post_files(
        client,
        f"/evidence/awards/{world.award}",
        [
            ("clean.pdf", samples.PDF),
            ("eicar.pdf", samples.PDF + b"%" + samples.EICAR + b"\n"),
            ("big.pdf", big),
        ],
    )
    assert response.status_code == 302
    rows = _rows(app)
    assert rows["clean.pdf"][:2] == (ScanStatus.CLEAN, None)
    assert rows["eicar.pdf"][:2] == (ScanStatus.INFECTED, "Eicar-Test-Signature")
    assert rows["big.pdf"][0] is ScanStatus.UNSCANNABLE
    assert "size limit exceeded" in rows["big.pdf"][1]
    assert len(clamd.streams) == 2  # the big one was cut off
    assert client.get(f"/evidence/{rows['clean.pdf'][2]}").status_code == 200
    infected = client.get(f"/evidence/{rows['eicar.pdf'][2]}")
    assert infected.status_code == 409
    assert "Eicar-Test-Signature" in infected.get_data(as_text=True)
    assert samples.EICAR not in infected.data
    unscannable = client.get(f"/evidence/{rows['big.pdf'][2]}")
    assert unscannable.status_code == 409
    assert "could not check this file" in unscannable.get_data(as_text=True)
    page = client.get(f"/awards/{world.award}").get_data(as_text=True)
    assert "Scanned: infected" in page and "Could not be scanned" in page
    assert f'href="/evidence/{rows["eicar.pdf"][2]}"' not in page


def test_interpret_never_says_clean_by_mistake():
    assert scanning.interpret("stream: OK\0").status is ScanStatus.CLEAN
    assert (
        scanning.interpret("stream: Heuristics.Limits.Exceeded FOUND").status
        is ScanStatus.UNSCANNABLE
    )
    assert scanning.interpret("").status is ScanStatus.UNSCANNABLE
    assert (
        scanning.interpret("stream: Can't allocate memory ERROR").status
        is ScanStatus.UNSCANNABLE
    )
    found = scanning.interpret("stream: Win.Test.EICAR_HDB-1 FOUND")
    assert (found.status, found.detail) == (ScanStatus.INFECTED, "Win.Test.EICAR_HDB-1")


def _dead_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"127.0.0.1:{port}"


def test_unreachable_scanner_leaves_files_waiting_then_the_command_scans(
    app, client, login, world, runner, clamd
):
    _configure(app, _dead_address())
    login(world.staff)
    post_files(
        client,
        f"/evidence/awards/{world.award}",
        [("a.pdf", samples.PDF), ("b.pdf", samples.PDF + b"%" + samples.EICAR)],
    )
    rows = _rows(app)
    assert {r[0] for r in rows.values()} == {ScanStatus.NOT_SCANNED}
    response = client.get(f"/evidence/{rows['a.pdf'][2]}")
    assert response.status_code == 409
    assert "waiting to be scanned" in response.get_data(as_text=True)

    result = runner.invoke(args=["evidence", "scan"])
    assert result.exit_code != 0
    assert "could not be reached" in result.output
    assert {r[0] for r in _rows(app).values()} == {ScanStatus.NOT_SCANNED}

    _configure(app, clamd.address)
    result = runner.invoke(args=["evidence", "scan"])
    assert result.exit_code == 0, result.output
    rows = _rows(app)
    assert rows["a.pdf"][0] is ScanStatus.CLEAN
    assert rows["b.pdf"][:2] == (ScanStatus.INFECTED, "Eicar-Test-Signature")
    assert client.get(f"/evidence/{rows['a.pdf'][2]}").status_code == 200
    # Nothing left: a second run scans nothing and succeeds.
    result = runner.invoke(args=["evidence", "scan"])
    assert result.exit_code == 0
    assert "No files are waiting" in result.output


def test_scan_command_refuses_when_scanning_is_off(app, runner):
    result = runner.invoke(args=["evidence", "scan"])
    assert result.exit_code != 0
    assert "CLAMD_ADDRESS" in result.output


def test_files_from_before_scanning_was_switched_on_are_not_served(
    app, client, login, world, clamd
):
    login(world.staff)
    post_files(client, f"/evidence/awards/{world.award}", [("old.pdf", samples.PDF)])
    file_id = _rows(app)["old.pdf"][2]
    assert client.get(f"/evidence/{file_id}").status_code == 200
    _configure(app, clamd.address)
    assert client.get(f"/evidence/{file_id}").status_code == 409
