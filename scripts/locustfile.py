"""The clerks of scripts/bench_load.py: each signs in once, then, again and again, opens a
grant, records an award through the form (its CSRF and one-time tokens read from the
page, as a browser sends them) and opens the household it was for.

The figures are for clerks at work: the clerks start work together once every one has
signed in (20 sign-ins at once hash 20 passwords, which would otherwise queue the first
pages behind them), and the statistics are reset then; the run stops BENCH_SECONDS
later. The sign-ins' own figures are written to BENCH_SIGN_IN_REPORT (JSON) before the
reset.

Run by scripts/bench_load.py (``locust --headless``); the users and ids it needs come in
the environment: BENCH_PASSWORD, BENCH_USERS (e-mails, comma-separated), BENCH_CLERKS
(how many sign in), BENCH_GRANTS, BENCH_HOUSEHOLDS (``id:reference`` pairs) and
BENCH_ITEM.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from datetime import date
from urllib.parse import urlencode

import gevent
from gevent.event import Event
from locust import FastHttpUser, between, task

_HIDDEN = re.compile(r'name="(csrf_token|form_token)"[^>]*value="([^"]*)"')
_USERS = itertools.cycle(os.environ.get("BENCH_USERS", "").split(","))
GRANTS = [int(g) for g in os.environ.get("BENCH_GRANTS", "1").split(",")]
HOUSEHOLDS = [
    (int(pair.split(":")[0]), pair.split(":")[1])
    for pair in os.environ.get("BENCH_HOUSEHOLDS", "1:H-B000001").split(",")
]
ITEM = os.environ.get("BENCH_ITEM", "1")
TODAY = date.today()
#: How many clerks sign in before the timed window starts (bench_load.py passes ``-u``).
CLERKS = int(os.environ["BENCH_CLERKS"])
SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
_SIGNED_IN = itertools.count(1)
_ALL_SIGNED_IN = Event()


def _tokens(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


def _form(fields: dict) -> dict:
    """A form's body and header, as a browser posts it (a field may repeat)."""
    return {
        "data": urlencode(fields, doseq=True),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }


class Clerk(FastHttpUser):
    """locust's FastHttpUser (geventhttpclient): the same requests as its HttpUser for a
    fraction of the processor, which the clerks share with the server on one machine."""

    wait_time = between(0.5, 1.5)

    def on_start(self):
        try:
            page = self.client.get("/login", name="sign in (form)")
            self.client.post(
                "/login",
                **_form(
                    {
                        **_tokens(page.text or ""),
                        "email": next(_USERS),
                        "password": os.environ["BENCH_PASSWORD"],
                    }
                ),
                name="sign in",
            )
        finally:
            # Counted even when the sign-in failed, so the others still start work.
            if next(_SIGNED_IN) == CLERKS:
                self._start_the_timed_window()
        _ALL_SIGNED_IN.wait()
        gevent.sleep(random.uniform(0, 1.5))  # noqa: S311 - a clerk's first pause

    def _start_the_timed_window(self) -> None:
        stats = self.environment.stats
        report = os.environ.get("BENCH_SIGN_IN_REPORT")
        if report:
            entry = stats.get("sign in", "POST")
            form = stats.get("sign in (form)", "GET")
            with open(report, "w") as handle:
                json.dump(
                    {
                        "count": entry.num_requests,
                        "failures": entry.num_failures + form.num_failures,
                        "p50": entry.get_response_time_percentile(0.5),
                        "p95": entry.get_response_time_percentile(0.95),
                    },
                    handle,
                )
        stats.reset_all()
        gevent.spawn_later(SECONDS, self.environment.runner.quit)
        _ALL_SIGNED_IN.set()

    @task
    def award(self):
        grant = random.choice(GRANTS)
        household_id, reference = random.choice(HOUSEHOLDS)
        self.client.get(f"/grants/{grant}", name="open a grant")
        form = self.client.get(f"/awards/new?grant={grant}", name="award form")
        with self.client.post(
            "/awards/new",
            **_form(
                {
                    **_tokens(form.text),
                    "grant": str(grant),
                    "beneficiary": reference,
                    "item_type": ITEM,
                    "quantity": "1",
                    "amount": "12.34",
                    "awarded_on": [str(TODAY.day), str(TODAY.month), str(TODAY.year)],
                    "delivery_method": "voucher",
                    "access_route": "referral",
                    "supplier": "Tesco",
                }
            ),
            name="record an award",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            location = (response.headers or {}).get("Location") or ""
            if response.status_code != 302 or "/login" in location:
                response.failure(f"not recorded: {response.status_code} {location}")
        self.client.get(f"/households/{household_id}", name="open the household")
