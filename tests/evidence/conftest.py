"""Fixtures for the evidence tests: a grant with awards, users of each role, uploads."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path

import pytest

from funds.models import Role


def field_error(page: str, field: str) -> str | None:
    """The text of a field's inline error message, or None when it has none."""
    match = re.search(
        rf'<p id="{re.escape(field)}-error" class="govuk-error-message">(.*?)</p>',
        page,
        re.S,
    )
    if match is None:
        return None
    text = re.sub(r"<[^>]+>", " ", match.group(1))
    return " ".join(html.unescape(text).replace("Error:", "").split())


def stored_files(app) -> list[Path]:
    """Every file under EVIDENCE_DIR (temporary files included)."""
    folder = Path(app.config["EVIDENCE_DIR"])
    if not folder.exists():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file())


def post_files(client, url: str, files: list[tuple[str, bytes]], **fields):
    data = {"files": [(io.BytesIO(body), name) for name, body in files], **fields}
    return client.post(url, data=data, content_type="multipart/form-data")


def post_large_files(client, url: str, files: list[tuple[str, bytes]]):
    """Like post_files, with the body built here: the test client spools a large body to
    a temporary file that it never closes."""
    boundary = "evidence-test-boundary"
    body = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + data
            + b"\r\n"
            for name, data in files
        )
        + f"--{boundary}--\r\n".encode()
    )
    return client.post(
        url, data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


@pytest.fixture
def world(app, create_user, create_grant, create_disbursement, create_session):
    """G-EV (£5,000), an award of £120.00, a session, and a user of each role."""

    class World:
        staff = create_user(Role.STAFF, name="Sam <Staff> *?~=")
        manager = create_user(Role.MANAGER, name="Mo Manager")
        finance = create_user(Role.FINANCE, name="Fi Finance")
        admin = create_user(Role.ADMIN, name="Ada Admin")
        grant = create_grant("5000.00", reference="G-EV", title="Receipts =SUM(A1)")
        award = create_disbursement(grant, "120.00", supplier="Shop * ? ~")
        session = create_session(grant, "80.00")

    return World
