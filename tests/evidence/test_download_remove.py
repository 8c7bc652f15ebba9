"""Downloading evidence (headers, who may) and removing it (bytes gone, row kept, 404)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, EvidenceFile
from funds.permissions import MANAGERS, PERMISSIONS
from tests.conftest import audit_actions
from tests.evidence import samples
from tests.evidence.conftest import field_error, post_files, stored_files


def _upload(app, client, login, world, name='Receipt "../../Tesco" £12.pdf'):
    login(world.staff)
    response = post_files(
        client, f"/evidence/awards/{world.award}", [(name, samples.PDF)]
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        return db.session.scalars(select(EvidenceFile.id)).one()


def test_download_is_an_attachment_with_safe_headers(app, client, login, world):
    file_id = _upload(app, client, login, world)
    response = client.get(f"/evidence/{file_id}")
    assert response.status_code == 200
    assert response.data == samples.PDF
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    name = disposition.split("filename=", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9._-]+\.pdf", name), name
    assert ".." not in name and name.startswith("Receipt")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox;") and "default-src 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/pdf"
    assert "evidence.download" in audit_actions(app)


def test_the_award_page_lists_the_file(app, client, login, world):
    file_id = _upload(app, client, login, world, name="=SUM(A1) £12 & receipt.pdf")
    page = client.get(f"/awards/{world.award}").get_data(as_text=True)
    assert 'id="evidence"' in page
    assert f'href="/evidence/{file_id}"' in page
    assert "=SUM(A1) £12 &amp; receipt.pdf" in page
    assert "Sam &lt;Staff&gt;" in page
    assert (
        'multiple="multiple"' in page and 'accept="application/pdf,image/jpeg' in page
    )
    assert "Remove" not in page  # staff cannot remove


def test_signed_out_visitor_is_sent_to_sign_in(app, client, login, world):
    file_id = _upload(app, client, login, world)
    client.post("/logout")
    response = client.get(f"/evidence/{file_id}")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_download_follows_who_may_see_the_record(
    app, client, login, world, monkeypatch
):
    """Who may see a grant's page may see its agreement; nobody else (403)."""
    login(world.manager)
    response = post_files(
        client, f"/evidence/grants/{world.grant}", [("agreement.pdf", samples.PDF)]
    )
    assert response.status_code == 302
    with app.app_context():
        file_id = db.session.scalars(select(EvidenceFile.id)).one()
    monkeypatch.setitem(PERMISSIONS, "grants.detail", MANAGERS)
    assert client.get(f"/evidence/{file_id}").status_code == 200
    for role in (world.finance, world.staff):
        other = app.test_client()
        login(role, the_client=other)
        assert other.get(f"/evidence/{file_id}").status_code == 403


@pytest.mark.parametrize("role", ["staff", "finance"])
def test_only_managers_remove(app, client, login, world, role):
    file_id = _upload(app, client, login, world)
    other = app.test_client()
    login(getattr(world, role), the_client=other)
    response = other.post(f"/evidence/{file_id}/remove", data={"reason": "wrong"})
    assert response.status_code == 403
    assert len(stored_files(app)) == 1


def test_removal_needs_a_reason(app, client, login, world):
    file_id = _upload(app, client, login, world)
    client = app.test_client()
    login(world.manager, the_client=client)
    response = client.post(f"/evidence/{file_id}/remove", data={"reason": "  "})
    assert response.status_code == 422
    assert "Say why" in field_error(response.get_data(as_text=True), "reason")
    assert len(stored_files(app)) == 1


def test_removed_file_bytes_are_gone_and_it_is_404(app, client, login, world):
    file_id = _upload(app, client, login, world)
    client = app.test_client()
    login(world.manager, the_client=client)
    assert (
        client.get(f"/awards/{world.award}")
        .get_data(as_text=True)
        .count(f"/evidence/{file_id}/remove")
    )
    response = client.post(
        f"/evidence/{file_id}/remove", data={"reason": "Photo of the wrong receipt"}
    )
    assert response.status_code == 302
    assert stored_files(app) == []
    with app.app_context():
        evidence = db.session.get(EvidenceFile, file_id)
        assert evidence.removed_at is not None
        assert evidence.removed_reason == "Photo of the wrong receipt"
        assert evidence.removed_by_id == world.manager
        event = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "evidence.remove")
        ).one()
        assert event.object_id == file_id
    response = client.get(f"/evidence/{file_id}")
    assert response.status_code == 404
    assert "This file was removed" in response.get_data(as_text=True)
    # Removing twice is a 404 too, and the award page says it was removed.
    assert (
        client.post(f"/evidence/{file_id}/remove", data={"reason": "again"}).status_code
        == 404
    )
    page = client.get(f"/awards/{world.award}").get_data(as_text=True)
    assert "Photo of the wrong receipt" in page
    assert f'href="/evidence/{file_id}"' not in page


def test_audit_trail_reads_as_sentences(app, client, login, world):
    file_id = _upload(app, client, login, world, name="till.pdf")
    client.get(f"/evidence/{file_id}")
    client = app.test_client()
    login(world.admin, the_client=client)
    client.post(f"/evidence/{file_id}/remove", data={"reason": "duplicate"})
    page = client.get("/admin/audit?kind=evidence").get_data(as_text=True)
    assert "attached the file" in page and "till.pdf" in page
    assert "downloaded the file" in page
    assert "removed the file" in page


@pytest.mark.parametrize(
    ("kind", "path", "page"),
    [
        ("session", "sessions/{session}", "/activities/{session}"),
        ("agreement", "grants/{grant}", "/grants/{grant}"),
    ],
)
def test_files_on_sessions_and_grants(app, client, login, world, kind, path, page):
    login(world.manager)
    values = {"session": world.session, "grant": world.grant}
    response = post_files(
        client, "/evidence/" + path.format(**values), [("a.png", samples.png())]
    )
    assert response.status_code == 302
    with app.app_context():
        evidence = db.session.scalars(select(EvidenceFile)).one()
        assert evidence.grant_id == world.grant
        file_id = evidence.id
    html = client.get(page.format(**values)).get_data(as_text=True)
    assert f'href="/evidence/{file_id}"' in html


def test_files_on_a_voucher_batch(app, client, login, world, item_id):
    from datetime import date
    from decimal import Decimal

    from funds.models import User
    from funds.vouchers.services import BatchInput, create_batch

    with app.app_context():
        batch = create_batch(
            BatchInput(
                grant_id=world.grant,
                supplier="Tesco",
                item_type_id=item_id("Food voucher"),
                face_value=Decimal("10.00"),
                quantity=2,
                purchase_cost=Decimal("20.00"),
                purchased_on=date(2024, 6, 1),
                expires_on=date(2025, 6, 1),
            ),
            ["S1", "S2"],
            actor=db.session.get(User, world.finance),
            today=date(2026, 11, 23),
        )
        db.session.commit()
        batch_id = batch.id
    login(world.finance)
    response = post_files(
        client, f"/evidence/voucher-batches/{batch_id}", [("inv.xlsx", samples.xlsx())]
    )
    assert response.status_code == 302
    html = client.get(f"/vouchers/batches/{batch_id}").get_data(as_text=True)
    assert "inv.xlsx" in html


def test_a_removal_whose_commit_fails_leaves_the_file_on_disk(
    app, client, login, world, monkeypatch
):
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    file_id = _upload(app, client, login, world)
    before = stored_files(app)
    assert len(before) == 1
    client = app.test_client()
    login(world.manager, the_client=client)

    real_commit = Session.commit

    def failing_commit(session):
        # Only the commit of the removal itself fails (the database went away).
        if any(
            isinstance(row, EvidenceFile) and row.removed_at is not None
            for row in session.identity_map.values()
        ):
            raise OperationalError("COMMIT", {}, Exception("database is locked"))
        real_commit(session)

    with monkeypatch.context() as patch:
        patch.setattr(Session, "commit", failing_commit)
        response = client.post(
            f"/evidence/{file_id}/remove", data={"reason": "Photo of the wrong receipt"}
        )
    assert response.status_code == 503
    assert "Nothing was recorded" in response.get_data(as_text=True)
    # The row still says the file is there, and it is: it can still be downloaded.
    assert stored_files(app) == before
    with app.app_context():
        assert db.session.get(EvidenceFile, file_id).removed_at is None
    assert "evidence.remove" not in audit_actions(app)
    assert client.get(f"/evidence/{file_id}").data == samples.PDF
    # Trying again once the database answers removes it, bytes and all.
    response = client.post(f"/evidence/{file_id}/remove", data={"reason": "Wrong one"})
    assert response.status_code == 302
    assert stored_files(app) == []
