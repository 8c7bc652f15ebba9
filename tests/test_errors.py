"""Error pages: 404, 405, 413, and a 500 that rolls back and shows no traceback."""

from __future__ import annotations

from funds.extensions import db
from funds.models import Role, User
from tests.conftest import count


def test_404_page(client, signed_in_admin):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_get_on_a_post_only_route_is_405(client, signed_in_admin):
    response = client.get(f"/admin/users/{signed_in_admin}/disable")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


def test_too_large_a_request_is_413(client, admin_id):
    response = client.post(
        "/login", data={"email": "a@example.org", "password": "x" * (11 * 1024 * 1024)}
    )
    assert response.status_code == 413


def test_500_rolls_back_and_hides_the_traceback(app, admin_id):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom-for-test")
    def boom():
        db.session.add(
            User(
                email="half@example.org",
                name="Half",
                role=Role.STAFF,
                password_hash="x",
            )
        )
        db.session.flush()
        raise RuntimeError("secret internals")

    from funds.permissions import PERMISSIONS, PUBLIC

    PERMISSIONS["boom"] = PUBLIC
    try:
        response = app.test_client().get("/boom-for-test")
    finally:
        del PERMISSIONS["boom"]
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem" in body
    assert "secret internals" not in body and "Traceback" not in body
    assert count(app, User) == 1  # only the admin: the half-made user was rolled back
