"""With CSRF on: every POST route refuses a missing or foreign token and writes nothing."""

from __future__ import annotations

import pytest

from funds.models import AuditEvent, LoginFailure, User
from tests.conftest import PASSWORD, count, csrf_token_from


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _sign_in(client, email):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def _post_routes(app):
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
    return [rule for rule in rules if "POST" in rule.methods]


def _snapshot(app):
    return (count(app, AuditEvent), count(app, User), count(app, LoginFailure))


@pytest.mark.parametrize("kind", ["missing", "foreign"])
def test_post_without_a_valid_token_is_refused(
    app, client, admin_id, create_user, kind
):
    target = create_user()
    _sign_in(client, "admin@example.org")
    other = app.test_client()
    foreign = csrf_token_from(other.get("/login").get_data(as_text=True))
    before = _snapshot(app)
    routes = _post_routes(app)
    assert len(routes) >= 9
    for rule in routes:
        url = rule.build(dict.fromkeys(rule.arguments, target), append_unknown=False)[1]
        data = {
            "email": "new@example.org",
            "name": "New Person",
            "role": "admin",
            "password": PASSWORD,
            "current_password": PASSWORD,
            "new_password": "another-fine-passphrase",
            "confirm_password": "another-fine-passphrase",
        }
        if kind == "foreign":
            data["csrf_token"] = foreign
        response = client.post(url, data=data)
        assert response.status_code == 400, f"{url}: {response.status_code}"
        assert "did not come from this site" in response.get_data(as_text=True)
    assert _snapshot(app) == before
    assert (
        client.get("/").status_code == 200
    )  # still signed in: sign-out was refused too


def test_a_real_token_works(app, client, admin_id):
    _sign_in(client, "admin@example.org")
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_https_refuses_a_foreign_referer(app, client, admin_id):
    token = csrf_token_from(
        client.get("/login", base_url="https://localhost").get_data(as_text=True)
    )
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"email": "admin@example.org", "password": PASSWORD, "csrf_token": token},
        headers={"Referer": "https://evil.example/"},
    )
    assert response.status_code == 400
