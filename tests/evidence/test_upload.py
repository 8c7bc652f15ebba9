"""Uploading evidence: hostile files refused with a message on the field, a 4xx, no row
and no file on disk; good files stored under random names, images without EXIF."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, EvidenceFile, EvidenceKind, ScanStatus
from tests.conftest import count
from tests.evidence import samples
from tests.evidence.conftest import field_error, post_files, stored_files


def _url(world):
    return f"/evidence/awards/{world.award}"


HOSTILE = [
    ("receipt.svg", samples.SVG_SCRIPT, "this kind of file is not accepted"),
    ("invoice.pdf", samples.HTML, "this kind of file is not accepted"),
    ("statement.pdf", samples.PDF_JAVASCRIPT, "scripts, actions or attached files"),
    ("launch.pdf", samples.PDF_ESCAPED_LAUNCH, "scripts, actions or attached files"),
    ("budget.xlsx", samples.xlsx_bomb(), "too large once unpacked"),
    ("packed.xlsx", samples.xlsx_bomb(5 * 1024 * 1024), "could not be read safely"),
    ("budget.xlsm", samples.xlsm(), "macros are not accepted"),
    ("letter.xlsx", samples.zip_not_workbook(), "this kind of file is not accepted"),
    ("huge.png", samples.pixel_bomb_png(), "too large"),
    ("setup.exe", samples.EXE, "this kind of file is not accepted"),
    ("list.csv", samples.CSV, "this kind of file is not accepted"),
    ("empty.pdf", b"", "the file is empty"),
]


@pytest.mark.parametrize(
    ("name", "body", "message"), HOSTILE, ids=[h[0] for h in HOSTILE]
)
def test_hostile_file_is_refused_and_nothing_is_written(
    app, client, login, world, name, body, message
):
    login(world.staff)
    response = post_files(client, _url(world), [(name, body)])
    assert response.status_code == 422
    error = field_error(response.get_data(as_text=True), "files")
    assert error is not None and name in error and message in error, error
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []
    assert "evidence.upload" not in _actions(app)


def _actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action)))


@pytest.fixture
def small_cap():
    return 64 * 1024


@pytest.fixture
def app_config(small_cap):
    return {"EVIDENCE_MAX_BYTES": small_cap}


def test_a_file_over_the_cap_is_refused(app, client, login, world, small_cap):
    login(world.staff)
    big = samples.PDF + b"%" + b"x" * small_cap
    response = post_files(client, _url(world), [("scan of receipt.pdf", big)])
    assert response.status_code == 422
    error = field_error(response.get_data(as_text=True), "files")
    assert "scan of receipt.pdf" in error and "larger than" in error
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []


def test_a_request_far_over_every_cap_is_413(app, client, login, world, small_cap):
    login(world.staff)
    huge = b"%PDF-" + b"x" * (12 * small_cap + 2 * 1024 * 1024)
    boundary = "evidence-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; '
            'filename="huge.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        + huge
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = client.post(
        _url(world),
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []


def test_one_bad_file_among_good_ones_writes_nothing(app, client, login, world):
    login(world.staff)
    response = post_files(
        client,
        _url(world),
        [
            ("till receipt.pdf", samples.PDF),
            ("photo.jpg", samples.jpeg_with_gps()),
            ("sneaky.pdf", samples.HTML),
            ("sheet.xlsx", samples.xlsx()),
        ],
    )
    assert response.status_code == 422
    assert "sneaky.pdf" in field_error(response.get_data(as_text=True), "files")
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []


def test_more_than_ten_files_are_refused(app, client, login, world):
    login(world.staff)
    response = post_files(
        client, _url(world), [(f"r{i}.pdf", samples.PDF) for i in range(11)]
    )
    assert response.status_code == 422
    assert "at most 10 files" in field_error(response.get_data(as_text=True), "files")
    assert count(app, EvidenceFile) == 0


def test_no_file_chosen(app, client, login, world):
    login(world.staff)
    response = client.post(_url(world), data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose at least one file" in field_error(
        response.get_data(as_text=True), "files"
    )


def test_good_files_are_stored_under_random_names(app, client, login, world):
    login(world.staff)
    response = post_files(
        client,
        _url(world),
        [
            ("../../x.pdf", samples.PDF),
            ("IMG_2024 Tesco \ufffe.jpg", samples.jpeg_with_gps()),
            ("photo.png", samples.png()),
            ("invoice.xlsx", samples.xlsx()),
        ],
        description="Fridge =1+1",
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/awards/{world.award}#evidence")
    with app.app_context():
        rows = db.session.scalars(select(EvidenceFile).order_by(EvidenceFile.id)).all()
        assert [r.original_name for r in rows][0] == "x.pdf"
        assert [r.content_type for r in rows] == [
            "application/pdf",
            "image/jpeg",
            "image/png",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ]
        assert {r.kind for r in rows} == {EvidenceKind.AWARD}
        assert {r.grant_id for r in rows} == {world.grant}
        assert {r.disbursement_id for r in rows} == {world.award}
        assert {r.scan_status for r in rows} == {ScanStatus.NOT_REQUIRED}
        assert rows[0].description == "Fridge =1+1"
        names = [r.stored_name for r in rows]
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evidence.upload")
        ).all()
        assert len(events) == 4
        # No original name (it may hold a person's name) in the audit trail.
        assert all("x.pdf" not in str(e.after) for e in events)
    on_disk = stored_files(app)
    assert sorted(p.name for p in on_disk) == sorted(names)
    for path in on_disk:
        assert re.fullmatch(r"[0-9a-f]{32}", path.name)
        assert path.resolve().is_relative_to(
            __import__("pathlib").Path(app.config["EVIDENCE_DIR"]).resolve()
        )
    assert not (
        __import__("pathlib").Path(app.config["EVIDENCE_DIR"]).parent / "x.pdf"
    ).exists()


def test_a_phone_photo_comes_back_upright_without_exif(app, client, login, world):
    login(world.staff)
    post_files(client, _url(world), [("IMG_0001.JPG", samples.jpeg_with_gps())])
    with app.app_context():
        evidence = db.session.scalars(select(EvidenceFile)).one()
        file_id = evidence.id
    response = client.get(f"/evidence/{file_id}")
    assert response.status_code == 200
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "JPEG"
    assert image.size == (20, 40)  # turned by its EXIF orientation, then saved upright
    assert dict(image.getexif()) == {}
    assert b"PhoneMaker" not in response.data
    assert b"Exif" not in response.data


def test_a_reversal_takes_no_evidence(app, client, login, world, create_user):
    from datetime import date

    from funds.disbursements.services import reverse_disbursement
    from funds.models import Disbursement, User

    with app.app_context():
        line = db.session.get(Disbursement, world.award)
        reversal = reverse_disbursement(
            line,
            actor=db.session.get(User, world.manager),
            reason="entered twice",
            reversed_on=date(2024, 6, 4),
            today=date(2026, 11, 23),
        )
        db.session.commit()
        reversal_id = reversal.id
    login(world.staff)
    response = post_files(
        client, f"/evidence/awards/{reversal_id}", [("r.pdf", samples.PDF)]
    )
    assert response.status_code == 422
    assert "award it reverses" in response.get_data(as_text=True)
    assert count(app, EvidenceFile) == 0


def test_unknown_record_is_404(app, client, login, world):
    login(world.staff)
    response = post_files(client, "/evidence/awards/99999", [("r.pdf", samples.PDF)])
    assert response.status_code == 404
    assert stored_files(app) == []


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        ("finance", "awards/{award}", 403),
        ("staff", "voucher-batches/1", 403),
        ("staff", "grants/{grant}", 403),
        ("finance", "sessions/{session}", 403),
        ("staff", "sessions/{session}", 302),
        ("manager", "grants/{grant}", 302),
    ],
)
def test_who_may_upload(app, client, login, world, role, path, status):
    login(getattr(world, role))
    url = "/evidence/" + path.format(
        award=world.award, grant=world.grant, session=world.session
    )
    response = post_files(client, url, [("r.pdf", samples.PDF)])
    assert response.status_code == status
    assert count(app, EvidenceFile) == (1 if status == 302 else 0)


def test_when_the_rows_cannot_be_written_the_bytes_are_deleted(
    app, client, login, world, monkeypatch
):
    from funds.evidence import services

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "record_event", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    login(world.staff)
    response = post_files(
        client, _url(world), [("a.pdf", samples.PDF), ("b.png", samples.png())]
    )
    assert response.status_code == 500
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []


def test_when_the_commit_fails_the_bytes_are_deleted(
    app, client, login, world, monkeypatch
):
    from sqlalchemy.orm import Session

    real_commit = Session.commit
    login(world.staff)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def flush_then_fail(self):
        if any(isinstance(o, EvidenceFile) for o in self.identity_map.values()):
            raise RuntimeError("disk full")
        return real_commit(self)

    monkeypatch.setattr(Session, "commit", flush_then_fail)
    response = post_files(client, _url(world), [("a.pdf", samples.PDF)])
    monkeypatch.setattr(Session, "commit", real_commit)
    assert response.status_code == 500
    assert count(app, EvidenceFile) == 0
    assert stored_files(app) == []
