"""Missing evidence: the grant's rule, the awards list's filter (its totals follow it) and
the dashboard's count, each checked against SQL written here; the grant form's rule."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from funds.disbursements.queries import LedgerFilter, ledger_totals
from funds.evidence.queries import missing_evidence_count
from funds.extensions import db
from funds.models import ActivitySession, AuditEvent, Disbursement, Grant, User
from funds.money import format_money
from tests.evidence import samples
from tests.evidence.conftest import field_error, post_files

MISSING_SQL = text(
    """
    SELECT d.id, d.amount_pence FROM disbursements d
    JOIN grants g ON g.id = d.grant_id
    WHERE d.reverses_id IS NULL
      AND NOT EXISTS (SELECT 1 FROM disbursements r WHERE r.reverses_id = d.id)
      AND g.evidence_required_above_pence IS NOT NULL
      AND d.amount_pence > g.evidence_required_above_pence
      AND NOT EXISTS (
        SELECT 1 FROM evidence_files e
        WHERE e.removed_at IS NULL
          AND (e.disbursement_id = d.id OR e.session_id IN (
                SELECT s.id FROM activity_sessions s WHERE s.disbursement_id = d.id))
      )
    ORDER BY d.id
    """
)


def _set_rule(app, grant_id, amount):
    with app.app_context():
        db.session.get(Grant, grant_id).evidence_required_above = (
            None if amount is None else Decimal(amount)
        )
        db.session.commit()


@pytest.fixture
def ledger(
    app, client, login, world, create_grant, create_disbursement, create_session
):
    """G-EV needs evidence above £50.00; G-NR has no rule."""
    from funds.disbursements.services import reverse_disbursement

    _set_rule(app, world.grant, "50.00")
    other = create_grant("9000.00", reference="G-NR")
    lines = {
        "equal": create_disbursement(world.grant, "50.00"),
        "just_above": create_disbursement(world.grant, "50.01", supplier="* ? ~ = < >"),
        "with_file": create_disbursement(world.grant, "200.00"),
        "file_removed": create_disbursement(world.grant, "300.00"),
        "reversed": create_disbursement(world.grant, "400.00"),
        "no_rule": create_disbursement(other, "1000.00"),
    }
    with app.app_context():
        reverse_disbursement(
            db.session.get(Disbursement, lines["reversed"]),
            actor=db.session.get(User, world.manager),
            reason="twice",
            reversed_on=date(2024, 6, 5),
            today=date(2026, 11, 23),
        )
        session_line = db.session.get(ActivitySession, world.session).disbursement_id
        db.session.commit()
    lines["session"] = session_line
    manager = app.test_client()
    login(world.manager, the_client=manager)
    for key in ("with_file", "file_removed"):
        response = post_files(
            manager, f"/evidence/awards/{lines[key]}", [("r.pdf", samples.PDF)]
        )
        assert response.status_code == 302
    with app.app_context():
        from funds.models import EvidenceFile

        removed = db.session.scalar(
            select(EvidenceFile.id).where(
                EvidenceFile.disbursement_id == lines["file_removed"]
            )
        )
    assert (
        manager.post(
            f"/evidence/{removed}/remove", data={"reason": "wrong receipt"}
        ).status_code
        == 302
    )
    return lines, manager


def _sql_missing(app):
    with app.app_context():
        return [tuple(row) for row in db.session.execute(MISSING_SQL)]


def test_the_query_matches_sql_written_by_hand(app, world, ledger):
    lines, _ = ledger
    expected = _sql_missing(app)
    assert [row[0] for row in expected] == sorted(
        [world.award, lines["just_above"], lines["file_removed"], lines["session"]]
    )
    with app.app_context():
        assert missing_evidence_count() == len(expected)
        totals = ledger_totals(LedgerFilter(evidence_missing=True))
        assert totals.awards == len(expected)
        assert totals.reversals == 0
        assert totals.net == sum(Decimal(p) / 100 for _, p in expected)


def test_the_awards_list_filter_and_its_totals(app, world, ledger):
    lines, manager = ledger
    expected = _sql_missing(app)
    page = manager.get("/awards/?evidence=missing").get_data(as_text=True)
    shown = {int(n) for n in re.findall(r'href="/awards/(\d+)"', page)}
    assert shown == {row[0] for row in expected}
    awards = re.search(r'id="total-awards">(\d+)', page).group(1)
    assert int(awards) == len(expected)
    net = re.search(r'id="total-net">([^<]+)<', page).group(1)
    assert net == format_money(sum(Decimal(p) / 100 for _, p in expected))
    # The filter is kept on the download link.
    assert "evidence=missing" in re.search(
        r'href="([^"]*download\.csv[^"]*)"', page
    ).group(1)


def test_a_bad_filter_value_is_a_field_error(app, world, ledger):
    _, manager = ledger
    response = manager.get("/awards/?evidence=nonsense")
    assert response.status_code == 422
    assert "Choose an evidence option" in field_error(
        response.get_data(as_text=True), "evidence"
    )


def test_the_dashboard_counts_and_links(app, world, ledger):
    _, manager = ledger
    expected = len(_sql_missing(app))
    page = manager.get("/").get_data(as_text=True)
    section = page.split('id="missing-evidence"', 1)[1].split("</li>", 1)[0]
    assert f"{expected} awards need a receipt" in section
    assert 'href="/awards/?evidence=missing"' in section


def test_attaching_a_receipt_takes_the_award_off_the_list(app, world, ledger):
    lines, manager = ledger
    before = len(_sql_missing(app))
    post_files(
        manager, f"/evidence/awards/{lines['just_above']}", [("r.png", samples.png())]
    )
    assert len(_sql_missing(app)) == before - 1
    with app.app_context():
        assert missing_evidence_count() == before - 1


def test_no_rule_no_missing_evidence(app, world, ledger):
    _set_rule(app, world.grant, None)
    assert _sql_missing(app) == []
    with app.app_context():
        assert missing_evidence_count() == 0


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rule=st.one_of(st.none(), st.integers(min_value=0, max_value=50_000)),
)
def test_any_rule_agrees_with_the_sql(app, world, ledger, rule):
    _set_rule(app, world.grant, None if rule is None else Decimal(rule) / 100)
    expected = _sql_missing(app)
    with app.app_context():
        assert missing_evidence_count() == len(expected)
        totals = ledger_totals(LedgerFilter(evidence_missing=True))
        assert totals.net == sum((Decimal(p) / 100 for _, p in expected), Decimal(0))


# --- the grant form -----------------------------------------------------------------------


def _edit_data(grant_id, **changes):
    data = {
        "title": "Receipts",
        "team": "",
        "starts_on": ["1", "4", "2024"],
        "ends_on": ["31", "3", "2025"],
        "control": "block",
        "status": "open",
        "max_award": "10000.00",
        "evidence_required_above": "",
        "notes": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "typed", ["1e3", "10.005", "-1", "£", "1,0,0", "٣٠", "nan", "Infinity"]
)
def test_the_grant_form_refuses_bad_amounts(app, client, login, world, typed):
    login(world.manager)
    response = client.post(
        f"/grants/{world.grant}/edit",
        data=_edit_data(world.grant, evidence_required_above=typed),
    )
    assert response.status_code == 422
    assert field_error(response.get_data(as_text=True), "evidence_required_above")
    with app.app_context():
        assert db.session.get(Grant, world.grant).evidence_required_above is None


@pytest.mark.parametrize(
    ("typed", "stored"), [("75", Decimal("75.00")), ("0", Decimal("0.00")), ("", None)]
)
def test_the_grant_form_sets_the_rule_and_audits_it(
    app, client, login, world, typed, stored
):
    _set_rule(app, world.grant, "20.00")
    login(world.manager)
    response = client.post(
        f"/grants/{world.grant}/edit",
        data=_edit_data(world.grant, evidence_required_above=typed),
    )
    assert response.status_code == 302, field_error(
        response.get_data(as_text=True), "evidence_required_above"
    )
    with app.app_context():
        assert db.session.get(Grant, world.grant).evidence_required_above == stored
        event = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "grant.update")
            .order_by(AuditEvent.id.desc())
        ).first()
        assert event.before["evidence_required_above"] == "20.00"
        assert event.after["evidence_required_above"] == (
            None if stored is None else str(stored)
        )
