"""Today's date comes from one place, and a deployment or a test run can hold it still."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from funds import clock, create_app
from funds.models import Role
from tests.conftest import REAL_TODAY, hold_the_day, make_config

HELD = date(2031, 2, 14)


@pytest.fixture
def app_config():
    return {"TODAY": HELD}


def test_a_test_run_is_held_on_the_day_it_started(tmp_path):
    app = create_app(make_config(), instance_path=str(tmp_path))
    with app.app_context():
        assert clock.today() == REAL_TODAY


def test_after_midnight_the_tests_still_see_the_day_the_run_started(tmp_path):
    app = create_app(make_config(), instance_path=str(tmp_path))
    yesterday = date.today() - timedelta(days=1)
    with hold_the_day(yesterday), app.app_context():
        assert clock.today() == yesterday
        assert date.today() == yesterday
    assert date.today() == REAL_TODAY


def test_outside_an_application_the_clock_is_the_machines():
    assert clock.today() == date.today()


def test_the_environment_holds_the_day_as_an_iso_date(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("FUNDS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FUNDS_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("FUNDS_TODAY", "2031-02-14")
    app = create_app(instance_path=str(tmp_path))
    with app.app_context():
        assert clock.today() == HELD


def test_the_environment_may_give_the_day_without_dashes(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("FUNDS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("FUNDS_SECRET_KEY", "k" * 40)
    monkeypatch.setenv("FUNDS_TODAY", "20310214")  # read as JSON: a number
    app = create_app(instance_path=str(tmp_path))
    with app.app_context():
        assert clock.today() == HELD


def test_a_held_day_is_the_day_the_award_form_offers(client, login, create_user):
    login(create_user(Role.STAFF))
    page = client.get("/awards/new").get_data(as_text=True)
    inputs = re.findall(r'<input[^>]*name="awarded_on"[^>]*value="(\d+)"', page)
    assert [int(part) for part in inputs] == [14, 2, 2031]


def test_every_page_job_and_command_asks_the_one_clock():
    package = Path(__file__).resolve().parent.parent / "funds"
    asking_the_machine = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.name != "clock.py"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bdate\.today\b", line)
    ]
    assert asking_the_machine == []
