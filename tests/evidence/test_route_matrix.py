"""The evidence routes x anonymous and each role: what the permission table allows, the
allowed GETs answering 200 (the shared matrix covers every route; this one runs alone)."""

from __future__ import annotations

import pytest

from funds.models import Role
from tests.test_permissions import _expected, _url


@pytest.mark.parametrize(
    "role", [None, *Role], ids=lambda r: "anonymous" if r is None else r.value
)
def test_evidence_routes(app, client, create_user, login, role, records):
    if role is not None:
        login(create_user(role))
    rules = [
        r
        for r in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
        if r.endpoint.startswith("evidence.")
    ]
    assert len(rules) == 6
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = _url(rule, records)
            expected = _expected(rule.endpoint, role)
            response = client.open(url, method=method, data={})
            response.close()
            status = response.status_code
            location = response.headers.get("Location", "")
            label = f"{method} {url} as {role}: {status} {location}"
            if expected == "login":
                assert status == 302 and location.startswith("/login?next="), label
            elif expected == "forbidden":
                assert status == 403, label
            elif method == "GET":
                assert status == 200, label
            else:
                assert status == 422, label
