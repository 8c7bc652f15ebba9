"""The audit trail as sentences: names of things, the reversal's reason, filters by who,
what and when, and pages that keep the filter."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from funds.disbursements.services import reverse_disbursement
from funds.extensions import db
from funds.models import Disbursement, Household, Role, User
from tests.conftest import IN_PERIOD, TODAY


def _entries(body: str) -> list[str]:
    """The text of each entry on the page, tags removed."""
    found = re.findall(r'<li class="funds-audit__entry">(.*?)</li>', body, re.S)
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", "", entry)).split())
        for entry in found
    ]


@pytest.fixture
def story(app, create_grant, create_household, create_disbursement, create_user):
    """A grant, an award to a named household by Sam, and Fiona reversing it."""
    grant = create_grant("500.00", reference="C4C-HSF4")
    household = create_household(name="Jo Bloggs")
    sam = create_user(Role.STAFF, name="Sam Staff")
    fiona = create_user(Role.FINANCE, name="Fiona Finance")
    award = create_disbursement(grant, "30.00", household_id=household, actor_id=sam)
    with app.app_context():
        reversal = reverse_disbursement(
            db.session.get(Disbursement, award),
            actor=db.session.get(User, fiona),
            reason="Entered twice <by mistake>",
            reversed_on=IN_PERIOD,
            today=TODAY,
        )
        db.session.commit()
        reference = db.session.get(Household, household).reference
        return {
            "grant": grant,
            "award": award,
            "reversal": reversal.id,
            "household": reference,
            "sam": sam,
            "fiona": fiona,
        }


def test_each_event_is_a_sentence_with_the_names_of_things(
    client, signed_in_admin, story
):
    body = client.get("/admin/audit").get_data(as_text=True)
    entries = _entries(body)
    award, reversal = story["award"], story["reversal"]
    assert any(
        f"Sam Staff recorded award #{award} of £30.00 (Food voucher) from C4C-HSF4 "
        f"for household {story['household']}, given 3 Jun 2024." in entry
        for entry in entries
    ), entries
    assert any(
        f"Fiona Finance reversed award #{award} (£30.00) from C4C-HSF4 with award "
        f"#{reversal}, dated 3 Jun 2024: “Entered twice <by mistake>”." in entry
        for entry in entries
    ), entries
    assert "&lt;by mistake&gt;" in body  # the reason is text, never markup
    assert f'href="/awards/{award}"' in body
    assert f'href="/grants/{story["grant"]}"' in body
    # No codes or ids left for the reader to decode.
    for code in ("disbursement.reverse", "item_type_id", "grant_id", "<table"):
        assert code not in body


def test_filter_by_who_what_and_when(client, signed_in_admin, story):
    fiona = client.get(f"/admin/audit?who={story['fiona']}").get_data(as_text=True)
    entries = _entries(fiona)
    assert entries and all("Fiona Finance" in entry for entry in entries)
    awards = _entries(client.get("/admin/audit?what=awards").get_data(as_text=True))
    assert len(awards) == 2 and all("award #" in entry for entry in awards)
    people = _entries(client.get("/admin/audit?what=people").get_data(as_text=True))
    assert len(people) == 1
    assert people[0].endswith(f"Factory Manager added household {story['household']}.")
    today = datetime.now(UTC).date()
    day = f"date_from={today.day}&date_from={today.month}&date_from={today.year}"
    assert len(_entries(client.get(f"/admin/audit?{day}").get_data(as_text=True))) > 2
    old = "date_to=1&date_to=1&date_to=2020"
    empty = client.get(f"/admin/audit?{old}").get_data(as_text=True)
    assert _entries(empty) == ["Nothing matches this filter."]


def test_events_with_nobody_signed_in(app, client, signed_in_admin, create_user):
    create_user(Role.STAFF, email="sam@example.org", name="Sam Staff")
    stranger = app.test_client()
    stranger.post("/login", data={"email": "sam@example.org", "password": "wrong"})
    stranger.post("/login", data={"email": "who@example.org", "password": "wrong"})
    nobody = _entries(client.get("/admin/audit?who=system").get_data(as_text=True))
    assert len(nobody) == 2
    assert nobody[0].endswith(
        "from 127.0.0.1 A sign-in failed for an unknown email address (unknown email)."
    )
    assert nobody[1].endswith("A sign-in failed for Sam Staff (wrong password).")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("who=99999", "Choose someone from the list"),
        ("who=%EF%BC%91", "Choose someone from the list"),
        ("what=everything", "Choose a kind of change"),
        ("date_from=31&date_from=2&date_from=2024", "real date"),
        (
            "date_from=2&date_from=1&date_from=2025&date_to=1&date_to=1&date_to=2025",
            "on or after the start date",
        ),
    ],
)
def test_a_bad_filter_is_a_field_error_not_a_guess(
    client, signed_in_admin, query, message
):
    response = client.get(f"/admin/audit?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_pages_keep_the_filter(app, client, signed_in_admin, create_user):
    for number in range(55):
        create_user(Role.STAFF, name=f"Clerk {number:02d}")
    first = client.get("/admin/audit?what=users").get_data(as_text=True)
    assert len(_entries(first)) == 50
    older = (
        re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    )
    assert "what=users" in older
    second = client.get(older).get_data(as_text=True)
    entries = _entries(second)
    # 55 clerks and the admin, all added from the command line (the test's set-up).
    assert len(entries) == 6
    assert all(
        re.search(r"(Clerk \d\d|Ada Admin) was added as (staff|admin) \(", entry)
        for entry in entries
    ), entries
    assert 'rel="next"' not in second
    assert "Back to the newest entries" in second
    assert client.get("/admin/audit?before=%EF%BC%91").status_code == 200


def test_staff_and_managers_cannot_read_the_trail(client, login, create_user):
    for role in (Role.STAFF, Role.MANAGER, Role.FINANCE):
        login(create_user(role))
        assert client.get("/admin/audit").status_code == 403
        client.post("/logout")


def test_every_action_the_code_records_has_a_sentence():
    from pathlib import Path

    from funds.admin.audit_trail import KINDS, SENTENCES

    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (Path(__file__).parents[2] / "funds").rglob("*.py")
        if path.name != "audit_trail.py"
    )
    recorded = set(re.findall(r'record_event\(\s*"([a-z_]+\.[a-z_]+)"', source)) | set(
        re.findall(r'action="([a-z_]+\.[a-z_]+)"', source)
    )
    assert len(recorded) > 40
    assert recorded <= set(SENTENCES), recorded - set(SENTENCES)
    # And every action falls under one of the filter's kinds.
    prefixes = [p for _, group in KINDS.values() for p in group]
    assert all(any(a.startswith(p) for p in prefixes) for a in SENTENCES)


def test_changes_name_each_field_with_its_old_and_new_value(
    app, client, signed_in_admin, create_grant, create_household, system_actor
):
    from funds.grants.services import change_grant_total
    from funds.models import Grant
    from funds.people.services import HouseholdInput, update_household

    grant_id = create_grant("500.00", reference="OHID-1")
    household_id = create_household(adults=1, postcode_district="SO14", name="Jo")
    with app.app_context():
        actor = db.session.get(User, system_actor())
        change_grant_total(
            db.session.get(Grant, grant_id),
            actor=actor,
            new_total=Decimal("650.50"),
            reason="Top-up agreed in May",
        )
        update_household(
            db.session.get(Household, household_id),
            HouseholdInput(adults=2, postcode_district="SO15", name="Jo Bloggs"),
            actor=actor,
        )
        db.session.commit()
        reference = db.session.get(Household, household_id).reference
    entries = _entries(client.get("/admin/audit").get_data(as_text=True))
    assert any(
        entry.endswith(
            "Factory Manager changed the total of OHID-1 from £500.00 to £650.50: "
            "“Top-up agreed in May”."
        )
        for entry in entries
    ), "\n".join(entries)
    changed = next(e for e in entries if f"changed household {reference}:" in e)
    for clause in (
        "adults from 1 to 2",
        "postcode district from SO14 to SO15",
        "name changed",  # names are never copied into the trail
    ):
        assert clause in changed, changed
    assert "Jo" not in changed
