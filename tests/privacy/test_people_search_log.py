"""A name searched for never reaches the served app's access log (the werkzeug server;
waitress logs no requests, and funds logs no URLs)."""

from __future__ import annotations

import http.cookiejar
import logging
import threading
import urllib.parse
import urllib.request

import pytest
from werkzeug.serving import make_server

from funds.models import Role
from tests.conftest import ON_POSTGRES, PASSWORD

NAME = "Quentin Loggable"


@pytest.fixture
def app_config(tmp_path) -> dict:
    # The server's threads need a database they share with the test (not in memory).
    if ON_POSTGRES:
        return {}
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'log.sqlite'}"}


@pytest.fixture
def server_url(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def test_a_name_search_leaves_no_name_in_the_log(
    app, create_user, create_household, server_url, caplog
):
    create_household(name=NAME)
    create_user(Role.STAFF, email="searcher@example.org")
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def post(path: str, fields: dict) -> tuple[str, str]:
        data = urllib.parse.urlencode(fields).encode()
        with opener.open(server_url + path, data=data, timeout=10) as response:
            return response.geturl(), response.read().decode("utf-8")

    caplog.set_level(logging.DEBUG)
    post("/login", {"email": "searcher@example.org", "password": PASSWORD})
    url, body = post("/households", {"q": "Loggable"})
    assert NAME in body  # found by name
    assert url == server_url + "/households"  # no redirect, nothing in the address
    url, body = post("/households/download.csv", {"q": "Quentin"})
    assert NAME in body
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "POST /households " in logged  # the access log is being captured
    assert "Loggable" not in logged and "Quentin" not in logged
