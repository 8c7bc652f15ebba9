"""The home page (the dashboard, per role) and one grant's spend against its profile."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from funds import clock
from funds.dashboard import queries
from funds.dashboard.chart import spend_chart
from funds.evidence.queries import missing_evidence_count
from funds.permissions import RETURN_READERS

bp = Blueprint("dashboard", __name__)


def _sees_finance() -> bool:
    """Finance, managers and admins see money received, unpaid awards and locks."""
    return current_user.role in RETURN_READERS


def home():
    """The signed-in home page: every open grant, then what needs doing."""
    today = clock.today()
    positions = queries.grant_positions(today)
    finance = _sees_finance()
    return render_template(
        "dashboard/index.html",
        today=today,
        positions=positions,
        finance=finance,
        expiring=queries.vouchers_expiring(today),
        ending=queries.ending_with_money_left(positions, today),
        returns_due=queries.returns_due(positions, today) if finance else [],
        unpaid=queries.unpaid_awards() if finance else None,
        locks=queries.locked_periods() if finance else [],
        missing_evidence=missing_evidence_count(),
        expiring_days=queries.EXPIRING_DAYS,
        ending_days=queries.ENDING_DAYS,
        returns_days=queries.RETURNS_DUE_DAYS,
    )


@bp.route("/dashboard/grants/<int:grant_id>")
def grant(grant_id: int):
    """One grant: spend per month against a straight-line profile, and per budget line."""
    today = clock.today()
    positions = queries.grant_positions(today, grant_id=grant_id)
    if not positions:
        abort(404)
    position = positions[0]
    g = position.grant
    months = queries.monthly_profile(
        g.total, g.starts_on, g.ends_on, queries.spend_by_month(g.id), today
    )
    by_line = queries.spend_by_line_and_month(g.id)
    lines = []
    for line, name in queries.budget_lines(g.id):
        rows = queries.monthly_profile(
            line.amount,
            g.starts_on,
            g.ends_on,
            by_line.get(line.category_id, {}),
            today,
        )
        chart = spend_chart(
            rows,
            line.amount,
            title=f"{name}: spent to date against a straight-line profile",
            chart_id=f"line-{line.id}",
        )
        lines.append((line, name, rows, chart))
    return render_template(
        "dashboard/grant.html",
        today=today,
        position=position,
        finance=_sees_finance(),
        months=months,
        chart=spend_chart(
            months,
            g.total,
            title=f"{g.reference}: spent to date against a straight-line profile",
            chart_id="grant",
        ),
        lines=lines,
    )
