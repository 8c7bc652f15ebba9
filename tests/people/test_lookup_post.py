"""The award and voucher forms' type-ahead (``/people/lookup``) takes the typed text by
POST only, with a CSRF token: a name never reaches an address or the access log."""

from __future__ import annotations

import http.cookiejar
import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

from funds.extensions import db
from funds.models import Household, Role
from tests.conftest import ON_POSTGRES, PASSWORD, csrf_token_from

#: A name full of characters that mean something to patterns, HTML and URLs.
HOSTILE = "Quentin O'Hare-Smith *?~=<b>&"
PLAIN = "Marta Kowalska"


@pytest.fixture
def app_config(tmp_path) -> dict:
    # CSRF on, as in production. The access-log test's server threads need a database
    # they share with the test (not one in memory).
    config = {"WTF_CSRF_ENABLED": True}
    if not ON_POSTGRES:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'lookup.sqlite'}"
    return config


@pytest.fixture
def people(create_household, create_young_person):
    return {
        "hostile": create_household(name=HOSTILE, adults=2),
        "plain": create_household(name=PLAIN, adults=1, children=2, has_children=True),
        "young": create_young_person(name="Quentin Junior"),
    }


def _sign_in(client, email: str) -> str:
    """Sign in through the real form; the CSRF token the award form then carries."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return csrf_token_from(client.get("/").get_data(as_text=True))


def _lookup(client, token: str | None, **fields):
    headers = {"Accept": "application/json"}
    if token is not None:
        headers["X-CSRFToken"] = token
    return client.post("/people/lookup", data=fields, headers=headers)


def _labels(response) -> list[str]:
    return [result["label"] for result in response.get_json()["results"]]


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_name_roles_find_people_by_name_in_a_posted_body(
    app, client, create_user, people, role
):
    create_user(role, email="clerk@example.org")
    token = _sign_in(client, "clerk@example.org")
    response = _lookup(client, token, q="quentin", kinds="household,young_person")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    labels = _labels(response)
    assert any(label.startswith(HOSTILE) for label in labels), labels
    assert any(label.startswith("Quentin Junior") for label in labels), labels
    # Kinds still narrow the answers; the hostile characters are letters, not patterns.
    only_households = _lookup(client, token, q="*?~=<b>", kinds="household")
    assert [label.split(" (")[0] for label in _labels(only_households)] == [HOSTILE]


def test_the_forms_point_the_type_ahead_at_an_address_with_no_query(
    app, client, create_user, people
):
    create_user(Role.STAFF, email="clerk@example.org")
    _sign_in(client, "clerk@example.org")
    page = client.get("/awards/new").get_data(as_text=True)
    assert 'data-person-lookup="/people/lookup"' in page
    assert 'data-person-lookup-kinds="household,young_person"' in page
    assert 'name="csrf_token"' in page  # the token the script sends


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_other_methods_are_refused_and_never_search(
    app, client, create_user, people, monkeypatch, method
):
    asked = []
    monkeypatch.setattr(
        "funds.people.views.find_people", lambda *a, **k: asked.append((a, k))
    )
    create_user(Role.STAFF, email="clerk@example.org")
    _sign_in(client, "clerk@example.org")
    response = getattr(client, method)("/people/lookup?q=Kowalska&kinds=household")
    assert response.status_code == 405
    assert asked == []
    assert "Kowalska" not in response.get_data(as_text=True)


@pytest.mark.parametrize("token", [None, "", "not-a-token", "foreign"])
def test_a_post_without_this_sessions_token_is_refused(
    app, client, create_user, people, monkeypatch, token
):
    asked = []
    monkeypatch.setattr(
        "funds.people.views.find_people", lambda *a, **k: asked.append((a, k))
    )
    create_user(Role.STAFF, email="clerk@example.org")
    _sign_in(client, "clerk@example.org")
    if token == "foreign":
        token = csrf_token_from(app.test_client().get("/login").get_data(as_text=True))
    response = _lookup(client, token, q="Kowalska")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "did not come from this site" in body
    assert "Kowalska" not in body
    assert asked == []


def test_the_token_may_also_come_in_the_body(app, client, create_user, people):
    create_user(Role.STAFF, email="clerk@example.org")
    token = _sign_in(client, "clerk@example.org")
    response = _lookup(client, None, q="kowal", csrf_token=token)
    assert response.status_code == 200
    assert [label.split(" (")[0] for label in _labels(response)] == [PLAIN]


def test_finance_sees_no_names_and_cannot_use_the_type_ahead(
    app, client, create_user, people
):
    with app.app_context():
        reference = db.session.get(Household, people["plain"]).reference
    create_user(Role.FINANCE, email="finance@example.org")
    token = _sign_in(client, "finance@example.org")
    for text in ("Kowalska", reference):
        response = _lookup(client, token, q=text)
        assert response.status_code == 403
        assert PLAIN not in response.get_data(as_text=True)


def test_odd_text_is_answered_not_crashed_on(app, client, create_user, people):
    create_user(Role.STAFF, email="clerk@example.org")
    token = _sign_in(client, "clerk@example.org")
    assert _labels(_lookup(client, token, q="Kow\ufffealska")) == []
    assert _lookup(client, token, q="a" * 121).status_code == 422
    assert _lookup(client, token, q="ab", kinds="grant").status_code == 422
    assert _lookup(client, token).status_code == 200  # no text: no answers


# --- a real server's access log ---------------------------------------------------------


@pytest.fixture
def server_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_a_typed_name_leaves_no_trace_in_the_access_log(
    app, create_user, people, server_url, caplog
):
    create_user(Role.STAFF, email="clerk@example.org")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def fetch(path: str, fields: dict | None = None, headers=None) -> str:
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(server_url + path, data, headers or {})  # noqa: S310 (our own http server)
        with opener.open(request, timeout=10) as response:
            return response.read().decode("utf-8")

    caplog.set_level(logging.DEBUG)
    token = csrf_token_from(fetch("/login"))
    fetch(
        "/login",
        {"email": "clerk@example.org", "password": PASSWORD, "csrf_token": token},
    )
    token = csrf_token_from(fetch("/awards/new"))
    answer = json.loads(
        fetch(
            "/people/lookup",
            {"q": "Kowalska", "kinds": "household"},
            {"X-CSRFToken": token, "Accept": "application/json"},
        )
    )
    assert [r["label"].split(" (")[0] for r in answer["results"]] == [PLAIN]
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch("/people/lookup", {"q": "Kowalska"})  # no token
    assert refused.value.code == 400
    refused.value.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /people/lookup " in logged  # the access log is being captured
    assert "Kowalska" not in logged and "Marta" not in logged
