"""Reads never wait for writers; a write that cannot get its lock in time is answered
"busy: nothing was recorded, try again" (503), never a 500; uploads are read before the
write lock is taken. On SQLite (a file, as in use) and on PostgreSQL."""

from __future__ import annotations

import io
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import make_url

from funds.extensions import db
from funds.models import Disbursement, Role, VoucherBatch
from tests.conftest import ON_POSTGRES, TEST_DATABASE_URL, count


@pytest.fixture
def app_config(tmp_path):
    """A database other connections can share, and a short wait for locks."""
    config = {"LOCK_TIMEOUT_MS": 300}
    if not ON_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path}/locks.sqlite"
    return config


@contextmanager
def writer_holding_the_lock(app, grant_id: int):
    """Another connection in the middle of a write: SQLite's write lock; on PostgreSQL
    the grant's row, as an award being recorded holds it."""
    if ON_POSTGRES:
        url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
        connection = psycopg.connect(url.render_as_string(hide_password=False))
        connection.execute("SELECT id FROM grants WHERE id = %s FOR UPDATE", [grant_id])
    else:
        import sqlite3

        path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
        connection = sqlite3.connect(path, isolation_level=None, timeout=0)
        connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        connection.rollback()
        connection.close()


@pytest.fixture
def grant_with_household(app, create_grant, create_household, create_user, login):
    grant = create_grant("500.00")
    household = create_household()
    staff = create_user(Role.STAFF)
    login(staff)
    with app.app_context():
        from funds.models import Household

        reference = db.session.get(Household, household).reference
    return grant, reference


def _award_form(client, grant: int, reference: str) -> dict:
    import re

    page = client.get("/awards/new").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
    from funds.models import ItemType

    return {
        "grant": str(grant),
        "beneficiary": reference,
        "item_type": str(db.session.scalars(db.select(ItemType.id)).first()),
        "quantity": "1",
        "amount": "10.00",
        "awarded_on": ["3", "6", "2024"],
        "delivery_method": "voucher",
        "access_route": "referral",
        "form_token": token,
    }


def test_pages_answer_while_another_request_is_writing(
    app, client, grant_with_household
):
    grant, _ = grant_with_household
    with writer_holding_the_lock(app, grant):
        for url in ("/households", f"/grants/{grant}", "/awards/", "/grants/", "/"):
            response = client.get(url)
            assert response.status_code == 200, url


def test_a_write_that_cannot_get_its_lock_says_try_again(
    app, client, grant_with_household
):
    grant, reference = grant_with_household
    with app.app_context():
        form = _award_form(client, grant, reference)
    with writer_holding_the_lock(app, grant):
        busy = client.post("/awards/new", data=form)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "5"
    assert "Nothing was recorded" in busy.get_data(as_text=True)
    assert count(app, Disbursement) == 0
    # Once the other write is done, sending the same form again records it.
    again = client.post("/awards/new", data=form)
    assert again.status_code == 302
    assert count(app, Disbursement) == 1


@pytest.mark.skipif(ON_POSTGRES, reason="SQLite's write lock: PostgreSQL locks rows")
def test_an_upload_is_read_before_the_write_lock_is_taken(
    app, client, login, create_user, create_grant, monkeypatch, item_id
):
    """While the voucher file is being read, another writer can still write."""
    import sqlite3

    from funds.vouchers import forms

    grant = create_grant("5000.00")
    login(create_user(Role.FINANCE))
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    others_could_write = []
    reader = forms.read_first_column

    def reading(*args, **kwargs):
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            others_could_write.append(True)
        except sqlite3.OperationalError:
            others_could_write.append(False)
        finally:
            other.close()
        return reader(*args, **kwargs)

    monkeypatch.setattr(forms, "read_first_column", reading)
    csv = "serial\n" + "\n".join(f"LOCK{n:04d}" for n in range(1, 11))
    response = client.post(
        "/vouchers/batches/new",
        data={
            "grant": str(grant),
            "supplier": "Tesco",
            "item_type": str(item_id("Food voucher")),
            "face_value": "10.00",
            "quantity": "10",
            "purchase_cost": "100.00",
            "purchased_on": ["1", "5", "2024"],
            "expires_on": ["1", "5", "2025"],
            "serials_from": "file",
            "serial_file": (io.BytesIO(csv.encode()), "serials.csv"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert others_could_write == [True]
    assert count(app, VoucherBatch) == 1
