"""Small SVG charts rendered on the server: no JavaScript, no CDN, readable without a network.

Every label and number goes through ``format_html`` (escaped); the result is safe markup to
put straight into a template. Each chart carries ``role="img"`` and a ``<title>`` so a
screen reader announces it; the page shows the same figures as a table next to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

BAR_COLOUR = "#417690"  # the admin's own header blue, so charts look part of the admin
GOAL_COLOUR = "#ba2121"
SECOND_COLOUR = "#79aec8"
TEXT_STYLE = 'font-family="sans-serif" font-size="12" fill="#333"'


def _number(value) -> str:
    if isinstance(value, Decimal):
        value = value.quantize(Decimal("1")) if value == value.to_integral() else value
    return f"{value:,}"


def _f(value: float) -> str:
    """A coordinate, formatted before ``format_html`` (which passes its arguments as text)."""
    return f"{value:.1f}"


def _scale_max(values: Sequence[float], floor: float = 1) -> float:
    top = max([float(v) for v in values] + [floor])
    return top * 1.1


def _svg(width: int, height: int, title: str, body: SafeString, chart_id: str) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="dashboard-chart" id="{}" role="img" '
        'viewBox="0 0 {} {}" width="100%" style="max-width:{}px" aria-labelledby="{}-title">'
        '<title id="{}-title">{}</title>{}</svg>',
        chart_id,
        width,
        height,
        width,
        chart_id,
        chart_id,
        title,
        body,
    )


def horizontal_bars(
    items: Sequence[tuple[str, float]], *, title: str, chart_id: str, width: int = 640
) -> SafeString:
    """One bar per item, labels on the left, the value at the end of the bar."""
    label_width, row, value_room = 150, 26, 70
    height = max(row * len(items), row) + 10
    top = _scale_max([v for _label, v in items])
    plot = width - label_width - value_room
    parts = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row
        bar = int(plot * float(value) / top)
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" {}>{}</text>'
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
                '<text x="{}" y="{}" {}>{}</text>',
                label_width - 6,
                y + 16,
                mark_safe(TEXT_STYLE),
                label,
                label_width,
                y + 3,
                bar,
                row - 8,
                BAR_COLOUR,
                label,
                _number(value),
                label_width + bar + 4,
                y + 16,
                mark_safe(TEXT_STYLE),
                _number(value),
            )
        )
    return _svg(width, height, title, mark_safe("".join(parts)), chart_id)


def columns(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    chart_id: str,
    second: Sequence[float] | None = None,
    width: int = 640,
    height: int = 220,
) -> SafeString:
    """Vertical columns (e.g. one per month); ``second`` draws a paired, lighter column."""
    left, bottom, top_room = 50, 24, 16
    plot_h = height - bottom - top_room
    values = [v for _label, v in items] + list(second or [])
    top = _scale_max(values)
    slot = (width - left) / max(len(items), 1)
    bar_w = slot * (0.4 if second is not None else 0.7)
    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
            '<text x="{}" y="{}" text-anchor="end" {}>{}</text>',
            left,
            top_room + plot_h,
            width,
            top_room + plot_h,
            left - 4,
            top_room + 10,
            mark_safe(TEXT_STYLE),
            _number(round(top / 1.1)),
        )
    ]
    for i, (label, value) in enumerate(items):
        x = left + i * slot + slot * 0.15
        h = plot_h * float(value) / top
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                "<title>{}: {}</title></rect>"
                '<text x="{}" y="{}" text-anchor="middle" {}>{}</text>',
                _f(x),
                _f(top_room + plot_h - h),
                _f(bar_w),
                _f(h),
                BAR_COLOUR,
                label,
                _number(value),
                _f(left + i * slot + slot / 2),
                height - 6,
                mark_safe(TEXT_STYLE),
                label,
            )
        )
        if second is not None:
            h2 = plot_h * float(second[i]) / top
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>',
                    _f(x + bar_w),
                    _f(top_room + plot_h - h2),
                    _f(bar_w),
                    _f(h2),
                    SECOND_COLOUR,
                    label,
                    _number(second[i]),
                )
            )
    return _svg(width, height, title, mark_safe("".join(parts)), chart_id)


def cumulative_line(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    chart_id: str,
    pace: Sequence[float] | None = None,
    width: int = 640,
    height: int = 240,
) -> SafeString:
    """A cumulative line; ``pace`` draws the straight path to the goal as a dashed line."""
    left, bottom, top_room, right = 56, 24, 16, 10
    plot_w, plot_h = width - left - right, height - bottom - top_room
    top = _scale_max([v for _label, v in points] + list(pace or []))
    n = max(len(points) - 1, 1)

    def xy(i: int, value: float) -> str:
        return f"{left + plot_w * i / n:.1f},{top_room + plot_h - plot_h * float(value) / top:.1f}"

    parts = [
        format_html(
            '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999"/>'
            '<text x="{}" y="{}" text-anchor="end" {}>{}</text>'
            '<text x="{}" y="{}" text-anchor="end" {}>0</text>',
            left,
            top_room + plot_h,
            width - right,
            top_room + plot_h,
            left - 4,
            top_room + 10,
            mark_safe(TEXT_STYLE),
            _number(round(top / 1.1)),
            left - 4,
            top_room + plot_h,
            mark_safe(TEXT_STYLE),
        )
    ]
    if pace:
        parts.append(
            format_html(
                '<polyline class="pace" points="{}" fill="none" stroke="{}" stroke-dasharray="6 4"/>',
                " ".join(xy(i, v) for i, v in enumerate(pace)),
                GOAL_COLOUR,
            )
        )
    parts.append(
        format_html(
            '<polyline class="actual" points="{}" fill="none" stroke="{}" stroke-width="2.5"/>',
            " ".join(xy(i, v) for i, (_label, v) in enumerate(points)),
            BAR_COLOUR,
        )
    )
    # Label the first, the last and every January so the axis stays readable.
    parts.append(
        format_html_join(
            "",
            '<text x="{}" y="{}" text-anchor="{}" {}>{}</text>',
            (
                (
                    f"{left + plot_w * i / n:.1f}",
                    height - 6,
                    # The last label ends at the edge instead of being cut in half by it.
                    "end" if i == len(points) - 1 else "middle",
                    mark_safe(TEXT_STYLE),
                    label,
                )
                for i, (label, _v) in enumerate(points)
                if i in (0, len(points) - 1) or label.endswith("-01")
            ),
        )
    )
    return _svg(width, height, title, mark_safe("".join(str(p) for p in parts)), chart_id)


def progress_bar(value: int, goal: int, *, title: str, chart_id: str, width: int = 640) -> SafeString:
    share = min(float(value) / goal, 1.0) if goal else 0.0
    body = format_html(
        '<rect x="0" y="4" width="{}" height="22" fill="#eee" stroke="#ccc"/>'
        '<rect x="0" y="4" width="{}" height="22" fill="{}"/>'
        '<text x="{}" y="44" text-anchor="end" {}>{} / {}</text>',
        width,
        _f(width * share),
        BAR_COLOUR,
        width,
        mark_safe(TEXT_STYLE),
        _number(value),
        _number(goal),
    )
    return _svg(width, 50, title, body, chart_id)
