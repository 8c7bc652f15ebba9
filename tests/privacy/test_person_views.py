"""Who opened a person's page with names on it: one ``person.view`` per view, shown to
admins on the page and in the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from funds.extensions import db
from funds.models import AuditEvent, Role

NAME = "=Vi *Viewed? ~<b>"


@pytest.fixture
def people(create_household, create_young_person):
    household = create_household(name=NAME, notes="A note")
    person = create_young_person(name=NAME + " junior", household_id=household)
    return household, person


def _client(app, create_user, login, role: Role, name: str):
    the_client = app.test_client()
    login(create_user(role, name=name), the_client=the_client)
    return the_client


def _views(app) -> list[tuple]:
    with app.app_context():
        return [
            (e.actor.name, e.object_type, e.object_id, e.before, e.after)
            for e in db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "person.view")
                .order_by(AuditEvent.id)
            )
        ]


@pytest.mark.parametrize("role", [Role.STAFF, Role.MANAGER, Role.ADMIN])
def test_each_view_by_a_name_role_is_recorded_once(
    app, create_user, login, people, role
):
    household, person = people
    viewer = _client(app, create_user, login, role, "Val Viewer")
    assert viewer.get(f"/households/{household}").status_code == 200
    assert viewer.get(f"/households/{household}").status_code == 200
    assert viewer.get(f"/young-people/{person}").status_code == 200
    assert _views(app) == [
        ("Val Viewer", "households", household, None, None),
        ("Val Viewer", "households", household, None, None),
        ("Val Viewer", "young_people", person, None, None),
    ]


def test_finance_views_are_not_recorded(app, create_user, login, people):
    household, person = people
    finance = _client(app, create_user, login, Role.FINANCE, "Fin Ance")
    assert finance.get(f"/households/{household}").status_code == 200
    assert finance.get(f"/young-people/{person}").status_code == 200
    assert _views(app) == []


def test_a_missing_page_records_nothing(app, create_user, login, people):
    staff = _client(app, create_user, login, Role.STAFF, "Sam Staff")
    assert staff.get("/households/9999").status_code == 404
    assert _views(app) == []


def test_admins_see_who_viewed(app, create_user, login, people):
    household, person = people
    staff = _client(app, create_user, login, Role.STAFF, "Sam <Staff>")
    staff.get(f"/households/{household}")
    admin = _client(app, create_user, login, Role.ADMIN, "Ada Admin")
    page = admin.get(f"/households/{household}").get_data(as_text=True)
    viewed = page.split('id="viewed-by"')[1]
    assert "Sam &lt;Staff&gt;" in viewed and "Ada Admin" in viewed
    # Newest first.
    assert viewed.index("Ada Admin") < viewed.index("Sam &lt;Staff&gt;")
    # Staff and managers do not see the list.
    for role in (Role.STAFF, Role.MANAGER):
        other = _client(app, create_user, login, role, f"Other {role.value}")
        assert 'id="viewed-by"' not in other.get(f"/households/{household}").get_data(
            as_text=True
        )
    trail = admin.get("/admin/audit").get_data(as_text=True)
    assert "viewed the page of" in trail
    # The audit trail names the record by reference, never the person's name.
    assert "Vi *Viewed" not in trail


def test_the_list_shows_the_last_twenty(app, create_user, login, people):
    household, _ = people
    staff = _client(app, create_user, login, Role.STAFF, "Sam Staff")
    for _ in range(25):
        staff.get(f"/households/{household}")
    admin = _client(app, create_user, login, Role.ADMIN, "Ada Admin")
    page = admin.get(f"/households/{household}").get_data(as_text=True)
    viewed = page.split('id="viewed-by"')[1].split("</ul>")[0]
    assert viewed.count("<li>") == 20
    assert len(_views(app)) == 26
