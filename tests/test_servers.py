"""funds under the real servers it is deployed with: waitress (``python -m funds.serve``, what
``make run`` starts) and gunicorn (``-c python:funds.gunicorn_conf``), over HTTP.

- Behind a proxy (``FUNDS_PROXY_COUNT=1``) each client is known by its own address: one
  client's failed sign-ins do not lock everyone out, and the audit trail names the client.
- Neither server names itself; a Host header that is not trusted gets 400.
- Many clerks recording awards at once through 4 gunicorn workers never overspend, and
  nothing fails.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from funds.extensions import db
from funds.models import AuditEvent, Disbursement, Household, Role
from funds.money import from_pence, pence_sum
from tests.conftest import ON_POSTGRES, PASSWORD, TEST_DATABASE_URL

pytestmark = [pytest.mark.slow, pytest.mark.real_clock]
ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")


@pytest.fixture
def app_config(tmp_path):
    if ON_POSTGRES:
        return {}
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/served.sqlite"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(app, **extra) -> dict:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    env = {
        **os.environ,
        "FUNDS_DATABASE_URL": url if not ON_POSTGRES else TEST_DATABASE_URL,
        "FUNDS_SECRET_KEY": "a-long-secret-key-for-the-servers-under-test-0123",
        "FUNDS_TRUSTED_HOSTS": '["127.0.0.1", "localhost"]',
        "FUNDS_PASSWORD_HASH_TIME_COST": "1",
        "FUNDS_PASSWORD_HASH_MEMORY_COST": "8",
        "FUNDS_PASSWORD_HASH_PARALLELISM": "1",
        "FUNDS_ORGANISATION_NAME": '"Riverside Youth Project"',
    }
    env.update(extra)
    return env


class Server:
    """A server process on a free port; stopped at the end of the test."""

    def __init__(self, kind: str, app, workers: int = 2, **env):
        self.port = _free_port()
        if kind == "waitress":
            command = [
                sys.executable,
                "-m",
                "funds.serve",
                f"--listen=127.0.0.1:{self.port}",
                "--no-worker",  # the job worker has its own tests (tests/test_jobs.py)
            ]
        else:
            command = [
                str(GUNICORN),
                "-c",
                "python:funds.gunicorn_conf",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{self.port}",
                "app:create_app()",
            ]
        self.process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=_server_env(app, **env),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90  # a loaded machine starts four workers slowly
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "/login", timeout=2)  # noqa: S310
                return
            except (
                urllib.error.URLError,
                OSError,
            ):  # refused, reset, or still starting
                if self.process.poll() is not None:
                    raise RuntimeError(
                        self.process.stderr.read().decode()[-2000:]
                    ) from None
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - only when it hangs
            self.process.kill()
        self.process.stderr.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF tokens and forms, over real HTTP; optionally from a given address."""

    def __init__(self, base: str, forwarded_for: str | None = None):
        self.base = base
        self.forwarded_for = forwarded_for
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect()
        )

    def open(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data else None
        request = urllib.request.Request(self.base + path, data=body)  # noqa: S310
        if self.forwarded_for:
            request.add_header("X-Forwarded-For", self.forwarded_for)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            response = self.opener.open(request, timeout=60)
        except urllib.error.HTTPError as error:
            response = error
        return response.status, dict(response.headers), response.read().decode()

    def form(self, path: str) -> dict:
        _, _, page = self.open(path)
        fields = dict(
            re.findall(r'name="(csrf_token|form_token)"[^>]*value="([^"]+)"', page)
        )
        return fields

    def sign_in(self, email: str, password: str = PASSWORD) -> int:
        fields = self.form("/login")
        status, _, _ = self.open(
            "/login", {**fields, "email": email, "password": password}
        )
        return status


@pytest.fixture(params=["waitress", "gunicorn"])
def kind(request):
    return request.param


def test_behind_a_proxy_each_client_is_known_by_its_own_address(app, create_user, kind):
    create_user(Role.STAFF, email="target@example.org")
    create_user(Role.STAFF, email="other@example.org")
    server = Server(kind, app, FUNDS_PROXY_COUNT="1")
    try:
        attacker = Browser(server.url, forwarded_for="203.0.113.7")
        for _ in range(22):  # past the limits per email (5) and per address (20)
            status, _, page = attacker.open(
                "/login",
                {
                    **attacker.form("/login"),
                    "email": "target@example.org",
                    "password": "wrong-password-guess",
                },
            )
            assert status in (401, 429), status
        # Someone else, behind the same proxy, signs in at once.
        colleague = Browser(server.url, forwarded_for="198.51.100.20")
        assert colleague.sign_in("other@example.org") == 302
        status, headers, _ = colleague.open("/")
        assert status == 200
        assert "Server" not in headers
        # A Host the site does not answer to.
        status, headers, _ = colleague.open("/", headers={"Host": "evil.example"})
        assert status == 400 and "Server" not in headers
    finally:
        server.stop()
    with app.app_context():
        addresses = set(
            db.session.scalars(
                select(AuditEvent.ip).where(AuditEvent.action == "auth.login_failed")
            )
        )
        assert addresses == {"203.0.113.7"}


def test_many_clerks_through_four_gunicorn_workers_never_overspend(
    app, create_user, create_grant, create_household, item_id
):
    clerks = [create_user(Role.STAFF, email=f"clerk{n}@example.org") for n in range(8)]
    grant = create_grant("100.00")
    household = create_household()
    food = item_id("Food voucher")
    with app.app_context():
        reference = db.session.get(Household, household).reference
    server = Server("gunicorn", app, workers=4)
    outcomes = {"accepted": 0, "refused": 0, "other": []}
    lock = threading.Lock()
    start = threading.Barrier(len(clerks))

    def clerk(number: int) -> None:
        browser = Browser(server.url)
        assert browser.sign_in(f"clerk{number}@example.org") == 302
        start.wait(timeout=60)
        for _ in range(4):
            fields = browser.form("/awards/new")
            status, _, page = browser.open(
                "/awards/new",
                {
                    **fields,
                    "grant": str(grant),
                    "beneficiary": reference,
                    "item_type": str(food),
                    "quantity": "1",
                    "amount": "10.00",
                    "awarded_on": ["3", "6", "2024"],
                    "delivery_method": "voucher",
                    "access_route": "referral",
                },
            )
            with lock:
                if status == 302:
                    outcomes["accepted"] += 1
                elif status == 422 and "more than is available to award" in page:
                    outcomes["refused"] += 1
                else:
                    outcomes["other"].append(status)

    try:
        threads = [
            threading.Thread(target=clerk, args=(n,)) for n in range(len(clerks))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
    finally:
        server.stop()
    print(f"\ngunicorn x4: {outcomes}")
    assert outcomes["other"] == []
    assert outcomes["accepted"] == 10 and outcomes["refused"] == 22
    with app.app_context():
        spent = db.session.scalar(
            select(pence_sum(Disbursement.amount)).where(Disbursement.grant_id == grant)
        )
        assert from_pence(spent) == Decimal("100.00")
        rows = db.session.scalar(
            select(func.count(Disbursement.id)).where(Disbursement.grant_id == grant)
        )
        assert rows == 10
