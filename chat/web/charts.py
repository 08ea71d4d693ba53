"""Bar charts drawn on the server as SVG (templates/chat/_bar_chart.html): no script, no library.

Each chart is the geometry of its bars and axes plus the same figures as rows, which the template
prints as a table for screen readers (the drawing itself is hidden from them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

WIDTH = 640
HEIGHT = 220
LEFT = 44  # room for the y axis' labels
BOTTOM = 24  # room for the x axis' labels
TOP = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass
class Chart:
    id: str
    title: str
    unit: str
    period: str  # what one bar is: the table's first column
    bars: list[Bar] = field(default_factory=list)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    rows: list[tuple[str, int | float]] = field(default_factory=list)
    summary: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def bar_chart(
    chart_id: str, title: str, points: list[tuple[str, str, float]], *, unit: str, period: str, label_every: int = 1
) -> Chart:
    """`points`: (full label, short axis label, value) in order. Every `label_every`-th bar is labelled."""
    chart = Chart(id=chart_id, title=title, unit=unit, period=period)
    top = nice_ceiling(max((value for _, _, value in points), default=0))
    plot_width = WIDTH - LEFT - 4
    plot_height = chart.baseline - TOP
    slot = plot_width / max(1, len(points))
    for index, (label, short, value) in enumerate(points):
        height = plot_height * value / top
        x = LEFT + index * slot
        chart.bars.append(
            Bar(
                x=round(x + slot * 0.1, 1),
                y=round(chart.baseline - height, 1),
                width=round(slot * 0.8, 1),
                height=round(height, 1),
                title=f"{label}: {_number(value)} {unit}",
            )
        )
        if index % label_every == 0:
            chart.x_labels.append((round(x + slot / 2, 1), short))
        chart.rows.append((label, value))
    # Round steps: 0-1 by 0.2, 0-5 by 1, 0-10 by 2, 0-20 by 5, 0-250 by 50.
    steps = 4 if top / 10 ** math.floor(math.log10(top)) == 2 else 5
    chart.y_ticks = [
        (round(chart.baseline - plot_height * step / steps, 1), _number(top * step / steps))
        for step in range(steps + 1)
    ]
    total = sum(value for _, _, value in points)
    if points and total:
        busiest = max(points, key=lambda point: point[2])
        chart.summary = f"{_number(total)} {unit} in all; the most, {_number(busiest[2])}, at {busiest[0]}."
    else:
        chart.summary = f"No {unit} in this period."
    return chart
