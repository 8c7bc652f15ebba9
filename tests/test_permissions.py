"""Every route x anonymous and each role: only what the permission table allows."""

from __future__ import annotations

import pytest

from funds.models import Role
from funds.permissions import PERMISSIONS, PUBLIC, SIGNED_IN

# Routes whose allowed answer is not a plain 200, and why.
SPECIAL_GET = {
    "auth.login": 302,  # a signed-in user is sent home
    "auth.setup": 404,  # exists only while there are no users
    "two_factor.code": 302,  # no sign-in waiting for its second step: back to sign in
    "returns.prepare": 422,  # no grant, return or period chosen in the query string
    "returns.download": 400,  # likewise: nothing to build
    "evidence_pack.result": 404,  # the records' job is a return, not an evidence pack
    "returns.submit": 422,  # likewise: nothing to submit
    "definitions.preview": 422,  # no grant or period chosen to preview on
    "definitions.preview_workbook": 400,  # likewise
}
#: A job is seen by whoever asked for it and by administrators; to anyone else it does
#: not exist (the records' job was asked for by another user).
OWNER_ONLY = {"jobs.detail", "jobs.progress", "jobs.result"}
#: Routes that end the record the others use: tried last (before signing out).
LAST = {
    "definitions.move": 1,
    "definitions.remove": 1,
    "definitions.sheet_move": 1,
    "definitions.sheet_remove": 1,
    "definitions.save": 2,
    "definitions.discard": 3,
    "auth.logout": 4,
}


def _routes(app):
    # Sign-out last: it ends the session the other checks use (and saving or discarding
    # a draft ends the draft).
    rules = sorted(
        app.url_map.iter_rules(), key=lambda r: (LAST.get(r.endpoint, 0), r.rule)
    )
    for rule in rules:
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, ids: dict[str, int]) -> str:
    # A route's own defaults (e.g. a download's format) come from the route itself.
    defaults = rule.defaults or {}
    values = {
        arg: defaults[arg] if arg in defaults else ids[arg] for arg in rule.arguments
    }
    return rule.build(values, append_unknown=False)[1]


def test_every_route_has_a_permission_entry(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(PERMISSIONS)
    assert not missing, (
        f"routes with no entry in funds.permissions.PERMISSIONS: {missing}"
    )
    stale = set(PERMISSIONS) - endpoints
    assert not stale, f"permission entries for routes that do not exist: {stale}"


def test_an_endpoint_without_an_entry_is_refused(
    app, client, signed_in_admin, monkeypatch
):
    monkeypatch.delitem(PERMISSIONS, "admin.users")
    assert client.get("/admin/users").status_code == 403


def _expected(endpoint: str, role: Role | None) -> str:
    rule = PERMISSIONS[endpoint]
    if rule == PUBLIC:
        return "allowed"
    if role is None:
        return "login"
    if rule == SIGNED_IN or role in rule:
        return "allowed"
    return "forbidden"


@pytest.mark.parametrize(
    "role", [None, *Role], ids=lambda r: "anonymous" if r is None else r.value
)
def test_role_route_matrix(app, client, create_user, login, role, records):
    if role is not None:
        login(create_user(role))
    checked = 0
    for rule, method in _routes(app):
        url = _url(rule, records)
        expected = _expected(rule.endpoint, role)
        response = client.open(url, method=method, data={})
        # A streamed download keeps its request open until its body is closed.
        response.close()
        status = response.status_code
        location = response.headers.get("Location", "")
        label = f"{method} {url} as {role}: {status} {location}"
        if expected == "login":
            assert status == 302 and location.startswith("/login?next="), label
        elif expected == "forbidden":
            assert status == 403, label
        else:
            assert status != 403 and not location.startswith("/login?next="), label
            if method == "GET":
                want = SPECIAL_GET.get(rule.endpoint, 200)
                if rule.endpoint in OWNER_ONLY and role != Role.ADMIN:
                    want = 404
                if role is None and rule.endpoint == "auth.login":
                    want = 200
                assert status == want, label
            else:
                assert status < 500, label
        checked += 1
    assert checked >= len(PERMISSIONS) - 1
