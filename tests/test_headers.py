"""Security headers and cookie flags on every GET route."""

from __future__ import annotations

import re

from funds import create_app
from funds.admin.services import create_user
from funds.extensions import db
from funds.models import Role
from tests.conftest import PASSWORD, make_config, reset_database


def _get_urls(app, ids):
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.endpoint != "static":
            defaults = rule.defaults or {}
            values = {
                arg: defaults[arg] if arg in defaults else ids[arg]
                for arg in rule.arguments
            }
            yield rule.build(values, append_unknown=False)[1]


def _check_headers(response, url):
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, url
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, url
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, url
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") == "no-referrer", url
    assert headers.get("Cache-Control") == "no-store", url
    assert "Server" not in headers or "Werkzeug" not in headers.get("Server", "")
    attachment = "attachment" in headers.get("Content-Disposition", "")
    if response.mimetype == "application/json" and not attachment:
        # The type-ahead's answers and a job's progress, read by the page's own script
        # (nosniff, no-store). A JSON download (subject access) is an attachment.
        assert url.startswith("/people/lookup") or url.startswith("/jobs/"), url
    elif response.mimetype != "text/html":
        assert "attachment" in headers.get("Content-Disposition", ""), url
        return
    body = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    for script in re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", body):
        assert f'nonce="{nonce}"' in script, f"{url}: inline script without the nonce"
    assert "Traceback" not in body


def _check_cookies(response, *, secure: bool):
    for cookie in response.headers.getlist("Set-Cookie"):
        lowered = cookie.lower()
        assert "httponly" in lowered, cookie
        assert "samesite=lax" in lowered, cookie
        assert ("; secure" in lowered) is secure, cookie


def test_headers_on_every_get_route_signed_in_and_out(
    app, client, admin_id, create_user, login, records
):
    target = records
    for url in _get_urls(app, target):
        response = client.get(url)
        # A streamed download keeps its request open until its body is closed.
        response.close()
        _check_headers(response, url)
    login(admin_id)
    seen = 0
    for url in _get_urls(app, target):
        response = client.get(url)
        response.close()
        _check_headers(response, url)
        _check_cookies(response, secure=False)
        seen += 1
    assert seen >= 7


def test_static_files_are_cacheable_and_nosniff(client):
    response = client.get("/static/css/funds.css")
    assert response.status_code == 200
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_https_sets_secure_host_cookies_and_hsts(tmp_path):
    app = create_app(make_config(HTTPS=True), instance_path=str(tmp_path / "https"))
    reset_database(app)
    with app.app_context():
        create_user(
            actor=None,
            email="admin@example.org",
            name="Ada",
            role=Role.ADMIN,
            password=PASSWORD,
        )
        db.session.commit()
    client = app.test_client()
    base = "https://localhost"
    response = client.post(
        "/login",
        base_url=base,
        data={"email": "admin@example.org", "password": PASSWORD},
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies and all(c.startswith("__Host-") for c in cookies)
    _check_cookies(response, secure=True)
    page = client.get("/", base_url=base)
    assert page.status_code == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
