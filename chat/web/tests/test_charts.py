"""chat/web/charts.py: the geometry of a server-drawn bar chart and its rows for the table."""

from __future__ import annotations

import pytest

from chat.web import charts


@pytest.mark.parametrize(("value", "ceiling"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (230, 250), (999, 1000)])
def test_the_axis_ends_at_a_round_number(value, ceiling):
    assert charts.nice_ceiling(value) == ceiling


def test_bars_are_scaled_to_the_tallest_and_labelled_every_nth():
    points = [(f"{hour:02}:00", f"{hour}h", value) for hour, value in enumerate([0, 5, 10, 2])]
    chart = charts.bar_chart("c", "Messages per hour", points, unit="messages", period="Hour", label_every=2)
    heights = [bar.height for bar in chart.bars]
    assert heights[0] == 0 and heights[2] == chart.baseline - charts.TOP  # 10 reaches the top
    assert heights[1] == pytest.approx(heights[2] / 2, abs=0.1)
    assert all(bar.y + bar.height == pytest.approx(chart.baseline, abs=0.1) for bar in chart.bars)
    assert [label for _, label in chart.x_labels] == ["0h", "2h"]
    assert chart.rows == [("00:00", 0), ("01:00", 5), ("02:00", 10), ("03:00", 2)]
    assert chart.bars[1].title == "01:00: 5 messages"
    assert [label for _, label in chart.y_ticks] == ["0", "2", "4", "6", "8", "10"]
    assert chart.summary == "17 messages in all; the most, 10, at 02:00."


@pytest.mark.parametrize(
    ("tallest", "ticks"),
    [(5, "0 1 2 3 4 5"), (20, "0 5 10 15 20"), (230, "0 50 100 150 200 250"), (1, "0 0.2 0.4 0.6 0.8 1")],
)
def test_the_axis_has_round_steps(tallest, ticks):
    chart = charts.bar_chart("c", "t", [("a", "a", tallest)], unit="messages", period="Day")
    assert " ".join(label for _, label in chart.y_ticks) == ticks


def test_an_empty_period_says_so():
    chart = charts.bar_chart("c", "t", [("a", "a", 0)], unit="messages", period="Day")
    assert chart.summary == "No messages in this period."
    assert chart.bars[0].height == 0
