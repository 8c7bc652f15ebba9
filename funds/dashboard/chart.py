"""A server-drawn SVG chart of spend to date against a straight-line profile.

No JavaScript and nothing fetched: the page carries the drawing. Bars are the cumulative
spend at the end of each month, the dashed line the straight-line profile, the grey line
the total. Screen readers get a title and a description in words; the same figures are
in a table beside the chart (the template's job).
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup, escape

from funds.dashboard.queries import MonthRow
from funds.money import format_money

WIDTH, HEIGHT = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 78, 12, 14, 46
#: GOV.UK blue, black and dark grey: each at least 3:1 against white and each other.
BAR, PROFILE, TOTAL = "#1d70b8", "#0b0c0c", "#505a5f"


def _nice_ceiling(value: Decimal) -> Decimal:
    """A round number at or above ``value`` for the top of the axis."""
    if value <= 0:
        return Decimal(1)
    exponent = len(str(int(value))) - 1
    step = Decimal(10) ** exponent
    for multiple in (1, 2, 2.5, 5, 10):
        top = step * Decimal(str(multiple))
        if top >= value:
            return top
    return step * 10


def spend_chart(
    rows: list[MonthRow], total: Decimal, *, title: str, chart_id: str
) -> Markup:
    """The chart as inline SVG (``chart_id`` makes its title/description ids unique)."""
    if not rows:
        return Markup("")
    high = max([total, *(row.cumulative for row in rows), *(r.profile for r in rows)])
    top = _nice_ceiling(high)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / len(rows)

    def y(value: Decimal) -> Decimal:
        """The height of ``value`` in the drawing (a coordinate, to a tenth of a pixel)."""
        value = max(value, Decimal(0))
        return (TOP + plot_h - value / top * plot_h).quantize(Decimal("0.1"))

    shown = [row for row in rows if not row.future] or rows[:1]
    last = shown[-1]
    behind = [r for r in shown if r.cumulative < r.profile]
    description = (
        f"Spent {format_money(last.cumulative)} of {format_money(total)} "
        f"by {last.label} against a straight-line profile of "
        f"{format_money(last.profile)}. "
        + (
            f"Behind the profile in {len(behind)} of {len(shown)} months so far."
            if behind
            else "At or ahead of the profile in every month so far."
        )
        + " The table that follows gives each month's figures."
    )
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="funds-chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = top * Decimal(str(fraction))
        ypos = y(value)
        parts.append(
            f'<line x1="{LEFT}" y1="{ypos}" x2="{WIDTH - RIGHT}" y2="{ypos}" '
            'stroke="#b1b4b6" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{ypos + 4}" text-anchor="end" '
            f'font-size="12">{escape(format_money(value).removesuffix(".00"))}</text>'
        )
    label_every = max(1, round(len(rows) / 12))
    for index, row in enumerate(rows):
        x = LEFT + index * step
        bar_top = y(row.cumulative)
        height = round(TOP + plot_h - bar_top, 1)
        if not row.future:
            parts.append(
                f'<rect x="{round(x + step * 0.15, 1)}" y="{bar_top}" '
                f'width="{round(step * 0.7, 1)}" height="{height}" fill="{BAR}"/>'
            )
        if index % label_every == 0:
            parts.append(
                f'<text x="{round(x + step / 2, 1)}" y="{HEIGHT - BOTTOM + 16}" '
                f'text-anchor="middle" font-size="12">{escape(row.short_label)}</text>'
            )
    profile_points = " ".join(
        f"{round(LEFT + (i + 1) * step, 1)},{y(row.profile)}"
        for i, row in enumerate(rows)
    )
    parts.append(
        f'<polyline points="{LEFT},{y(Decimal(0))} {profile_points}" fill="none" '
        f'stroke="{PROFILE}" stroke-width="2" stroke-dasharray="6 4"/>'
    )
    parts.append(
        f'<line x1="{LEFT}" y1="{y(total)}" x2="{WIDTH - RIGHT}" y2="{y(total)}" '
        f'stroke="{TOTAL}" stroke-width="2"/>'
    )
    legend_y = HEIGHT - 10
    parts.append(
        f'<rect x="{LEFT}" y="{legend_y - 10}" width="12" height="12" fill="{BAR}"/>'
        f'<text x="{LEFT + 18}" y="{legend_y}" font-size="12">Spent to date</text>'
        f'<line x1="{LEFT + 130}" y1="{legend_y - 4}" x2="{LEFT + 160}" '
        f'y2="{legend_y - 4}" stroke="{PROFILE}" stroke-width="2" '
        'stroke-dasharray="6 4"/>'
        f'<text x="{LEFT + 166}" y="{legend_y}" font-size="12">'
        "Straight-line profile</text>"
        f'<line x1="{LEFT + 320}" y1="{legend_y - 4}" x2="{LEFT + 350}" '
        f'y2="{legend_y - 4}" stroke="{TOTAL}" stroke-width="2"/>'
        f'<text x="{LEFT + 356}" y="{legend_y}" font-size="12">Total</text>'
    )
    parts.append("</svg>")
    # Every piece of text in it went through escape(); the rest is our own numbers.
    return Markup("".join(parts))  # noqa: S704
