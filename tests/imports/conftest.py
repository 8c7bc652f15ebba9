"""Helpers for the import tests: files built in memory, and the pages driven as a manager."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from xml.sax.saxutils import escape

import openpyxl
import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import stream_encode_multipart

from funds.extensions import db
from funds.models import Household, ImportRun, Role, YoungPerson
from tests.conftest import TODAY


def xlsx(rows: list[list]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_ODS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
}


def _ods_cell(value) -> str:
    if value is None or value == "":
        return "<table:table-cell/>"
    if isinstance(value, date):
        return (
            '<table:table-cell office:value-type="date" '
            f'office:date-value="{value.isoformat()}"><text:p>{value}</text:p>'
            "</table:table-cell>"
        )
    if isinstance(value, int | float):
        return (
            f'<table:table-cell office:value-type="float" office:value="{value}">'
            f"<text:p>{value}</text:p></table:table-cell>"
        )
    return (
        '<table:table-cell office:value-type="string">'
        f"<text:p>{escape(str(value))}</text:p></table:table-cell>"
    )


def ods(rows: list[list]) -> bytes:
    """A LibreOffice spreadsheet, as its parts are (mimetype first, stored)."""
    namespaces = " ".join(f'xmlns:{key}="{url}"' for key, url in _ODS.items())
    body = "".join(
        "<table:table-row>" + "".join(_ods_cell(v) for v in row) + "</table:table-row>"
        for row in rows
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {namespaces} '
        'office:version="1.2"><office:body><office:spreadsheet>'
        f'<table:table table:name="Sheet1">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
        'manifest:version="1.2"><manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" '
        'manifest:media-type="text/xml"/></manifest:manifest>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr(
            "META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED
        )
    return buffer.getvalue()


def csv_bytes(
    rows: list[list], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def post_file(client, url: str, fields: dict, filename: str, data: bytes):
    """Post a form with a file, the body encoded in memory (the test client would spool
    a large body to a temporary file that it never closes)."""
    body, length, boundary = stream_encode_multipart(
        {**fields, "file": FileStorage(io.BytesIO(data), filename)},
        use_tempfile=False,
    )
    return client.post(
        url,
        input_stream=body,
        content_length=length,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def manager(client, login, create_user):
    user = create_user(Role.MANAGER, name="Maria Manager")
    login(user)
    return user


@pytest.fixture
def upload(app, client):
    """Upload a file as a kind; returns the import's id (the columns page is next)."""

    def _upload(kind: str, filename: str, data: bytes) -> int:
        response = post_file(client, "/imports/", {"kind": kind}, filename, data)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        return int(re.search(r"/imports/(\d+)/columns", response.location).group(1))

    return _upload


@pytest.fixture
def check(app, client):
    """Confirm the columns funds guessed (or ``columns``) and check every row; returns
    the import page after the (immediate) job."""

    def _check(run_id: int, columns: dict[str, int] | None = None, **extra):
        with app.app_context():
            run = db.session.get(ImportRun, run_id)
            mapping = dict(run.mapping) if columns is None else columns
        data = {f"column_{key}": str(index) for key, index in mapping.items()}
        data.update(extra)
        response = client.post(f"/imports/{run_id}/columns", data=data)
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        return client.get(response.location, follow_redirects=True)

    return _check


@pytest.fixture
def commit(client):
    def _commit(run_id: int):
        response = client.post(f"/imports/{run_id}/import")
        assert response.status_code == 302, response.get_data(as_text=True)[:3000]
        return client.get(response.location, follow_redirects=True)

    return _commit


def run_of(app, run_id: int) -> ImportRun:
    with app.app_context():
        run = db.session.get(ImportRun, run_id)
        db.session.expunge(run)
        return run


def reference(app, model, ident) -> str:
    with app.app_context():
        return db.session.get(model, ident).reference


IN_YEAR = date(2024, 6, 3)
__all__ = ["Household", "YoungPerson", "TODAY"]
