"""reports/charts.py: bars are the counts, numbers are printed, labels are escaped, SVG is accessible."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from reports.charts import Series, bar_chart, line_chart, stacked_bar_chart

NS = {"s": "http://www.w3.org/2000/svg"}


def _svg(chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def _bars(root) -> list[ET.Element]:
    return root.findall("s:rect", NS)


def _texts(root) -> list[str]:
    return [t.text for t in root.findall("s:text", NS)]


def test_vertical_bars_are_proportional_to_the_counts_and_print_them():
    chart = bar_chart("Emergency changes per month", ["Jul 2026", "Aug 2026", "Sep 2026"], [4, 0, 2])
    root = _svg(chart)
    heights = [float(r.get("height")) for r in _bars(root)]
    assert heights[1] == 0 and heights[0] == pytest.approx(2 * heights[2], rel=1e-3)
    assert [r.find("s:title", NS).text for r in _bars(root)] == ["Jul 2026: 4", "Aug 2026: 0", "Sep 2026: 2"]
    assert {"4", "0", "2", "Jul 2026", "Sep 2026"} <= set(_texts(root))
    assert root.get("role") == "img"
    assert root.find("s:title", NS).text == "Emergency changes per month"
    assert chart.description == root.find("s:desc", NS).text == "Jul 2026: 4; Aug 2026: 0; Sep 2026: 2."


def test_horizontal_bars_grow_with_the_number_of_labels():
    chart = bar_chart("Violations per control", ["CM-01 Undocumented", "CM-04 Review"], [30, 10],
                      horizontal=True)
    widths = [float(r.get("width")) for r in _bars(_svg(chart))]
    assert widths[0] == pytest.approx(3 * widths[1], rel=1e-3)
    assert chart.height == 12 + 18 * 2
    assert "1,234" in _texts(_svg(bar_chart("x", ["a"], [1234])))


def test_stacked_bars_stack_segments_and_print_totals_and_segments():
    series = [Series("Compliant", [90, 10], "#0f6b3a"), Series("Violation", [10, 0], "#b42318")]
    chart = stacked_bar_chart("Outcomes per month", ["Jul", "Aug"], series)
    root = _svg(chart)
    segments = [r for r in _bars(root) if r.find("s:title", NS) is not None]
    by_title = {r.find("s:title", NS).text: float(r.get("height")) for r in segments}
    assert by_title["Jul · Compliant: 90"] == pytest.approx(9 * by_title["Jul · Violation: 10"], rel=1e-3)
    assert by_title["Aug · Violation: 0"] == 0
    # the Jul bar is as tall as its total, the tallest of the chart
    assert by_title["Jul · Compliant: 90"] + by_title["Jul · Violation: 10"] == pytest.approx(
        10 * by_title["Aug · Compliant: 10"], rel=1e-3)
    texts = _texts(root)
    assert texts.count("100") == 1 and "90" in texts and "Compliant" in texts and "Violation" in texts
    assert chart.description == "Jul: Compliant 90, Violation 10; Aug: Compliant 10, Violation 0."


def test_line_chart_marks_and_prints_every_point():
    chart = line_chart("Emergency changes per quarter", ["2026 Q1", "2026 Q2", "2026 Q3"],
                       [Series("Emergency", [3, 6, 0])])
    root = _svg(chart)
    circles = root.findall("s:circle", NS)
    assert [c.find("s:title", NS).text for c in circles] == [
        "2026 Q1 · Emergency: 3", "2026 Q2 · Emergency: 6", "2026 Q3 · Emergency: 0"]
    ys = [float(c.get("cy")) for c in circles]
    assert ys[1] < ys[0] < ys[2]                      # higher count, higher point
    assert len(root.findall("s:polyline", NS)) == 1
    assert {"3", "6", "0"} <= set(_texts(root))


def test_labels_are_text_never_markup():
    chart = bar_chart("<b>t</b>", ['<script>alert(1)</script>', "a & b"], [1, 2], horizontal=True)
    svg = str(chart.svg)
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg and "a &amp; b" in svg
    assert _texts(_svg(chart))[0] == "<script>alert(1)</script>"


def test_empty_charts_say_so_and_bad_input_is_refused():
    assert "No data in this period." in _texts(_svg(stacked_bar_chart("x", [], [])))
    with pytest.raises(ValueError, match="'a' has 1 values for 2 labels"):
        stacked_bar_chart("x", ["m1", "m2"], [Series("a", [1])])
    with pytest.raises(ValueError, match="negative"):
        bar_chart("x", ["m1"], [-1])
