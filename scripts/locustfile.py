"""The clerks of scripts/bench_load.py: each signs in once, then, again and again, opens a
grant, records an award through the form (its CSRF and one-time tokens read from the
page, as a browser sends them) and opens the household it was for.

Run by scripts/bench_load.py (``locust --headless``); the users and ids it needs come in
the environment: BENCH_PASSWORD, BENCH_USERS (e-mails, comma-separated), BENCH_GRANTS,
BENCH_HOUSEHOLDS (``id:reference`` pairs) and BENCH_ITEM.
"""

from __future__ import annotations

import itertools
import os
import random
import re
from datetime import date

from locust import HttpUser, between, task

_HIDDEN = re.compile(r'name="(csrf_token|form_token)"[^>]*value="([^"]*)"')
_USERS = itertools.cycle(os.environ.get("BENCH_USERS", "").split(","))
GRANTS = [int(g) for g in os.environ.get("BENCH_GRANTS", "1").split(",")]
HOUSEHOLDS = [
    (int(pair.split(":")[0]), pair.split(":")[1])
    for pair in os.environ.get("BENCH_HOUSEHOLDS", "1:H-B000001").split(",")
]
ITEM = os.environ.get("BENCH_ITEM", "1")
TODAY = date.today()


def _tokens(html: str) -> dict[str, str]:
    return dict(_HIDDEN.findall(html))


class Clerk(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        page = self.client.get("/login", name="sign in (form)")
        self.client.post(
            "/login",
            data={
                **_tokens(page.text),
                "email": next(_USERS),
                "password": os.environ["BENCH_PASSWORD"],
            },
            name="sign in",
        )

    @task
    def award(self):
        grant = random.choice(GRANTS)
        household_id, reference = random.choice(HOUSEHOLDS)
        self.client.get(f"/grants/{grant}", name="open a grant")
        form = self.client.get(f"/awards/new?grant={grant}", name="award form")
        with self.client.post(
            "/awards/new",
            data={
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
            },
            name="record an award",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"not recorded: {response.status_code}")
        self.client.get(f"/households/{household_id}", name="open the household")
