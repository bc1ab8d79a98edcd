"""Small vector charts for the reports: inline SVG built in Python, no plotting dependency.

    from reports.charts import Series, bar_chart, stacked_bar_chart, line_chart
    chart = bar_chart("Violations per control", ["CM-01", "CM-04"], [12, 3])
    chart = stacked_bar_chart("Outcomes per month", ["Jul 2026", "Aug 2026"],
                              [Series("Compliant", [950, 990], COLORS["compliant"]),
                               Series("Violation", [40, 31], COLORS["violation"])])
    chart = line_chart("Emergency changes per quarter", ["2026Q2", "2026Q3"], [Series("Emergency", [4, 7])])

In a template: `{{ chart.svg }}` (already safe markup; print it where the chart goes). Every chart
- prints its numbers, not only draws them: a value over each bar or point; stacked bars print each
  segment's count under the category label in the segment's colour, and the total over the bar;
- is accessible: `role="img"` with a <title> and a <desc> that reads every value in words
  (`chart.description`, also useful as alt text or a caption);
- escapes every label (labels can be source-system text) and uses presentation attributes only,
  so it looks the same in WeasyPrint's PDF and in a browser, with no stylesheet and no fetch.
Sizes are in CSS px (96 per inch); 640 px fits the A4 text width of the reports.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

ACCENT = "#0d4f6c"
COLORS = {"compliant": "#0f6b3a", "exception": "#a05a00", "violation": "#b42318",
          "error": "#8a3ffc", "emergency": ACCENT, "accent": ACCENT, "muted": "#5b6775"}
INK, MUTED, RULE = "#1d2733", "#5b6775", "#d5dbe3"
FONT = 'font-family="CT Sans, Source Sans 3, Helvetica, Arial, sans-serif"'


@dataclass(frozen=True)
class Series:
    """One named row of values, one value per category, drawn in `color`."""

    label: str
    values: Sequence[float]
    color: str = ACCENT


@dataclass(frozen=True)
class Chart:
    title: str
    description: str            # every value in words: the <desc> of the SVG
    svg: Markup                 # the inline <svg> element
    width: int
    height: int

    def __html__(self) -> str:  # `{{ chart }}` works as well as `{{ chart.svg }}`
        return str(self.svg)


def _num(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _text(x: float, y: float, text: str, *, size: float = 10, anchor: str = "middle",
          color: str = INK, weight: int = 400) -> str:
    bold = ' font-weight="600"' if weight >= 600 else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{color}"{bold} {FONT}>{escape(text)}</text>')


def _wrap(title: str, description: str, width: int, height: int, body: list[str],
          chart_id: str | None) -> Chart:
    cid = chart_id or "chart-" + hashlib.sha1(f"{title}|{description}".encode(), usedforsecurity=False).hexdigest()[:10]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" aria-labelledby="{cid}-t {cid}-d">'
           f'<title id="{cid}-t">{escape(title)}</title><desc id="{cid}-d">{escape(description)}</desc>'
           + "".join(body) + "</svg>")
    return Chart(title, description, Markup(svg), width, height)


def _describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    parts = []
    for i, label in enumerate(labels):
        values = ", ".join(f"{s.label} {_num(s.values[i])}" for s in series) if len(series) > 1 \
            else _num(series[0].values[i])
        parts.append(f"{label}: {values}")
    return "; ".join(parts) + "." if parts else "No data."


def _check(labels: Sequence[str], series: Sequence[Series]) -> None:
    for s in series:
        if len(s.values) != len(labels):
            raise ValueError(f"series {s.label!r} has {len(s.values)} values for {len(labels)} labels")
        if any(v < 0 for v in s.values):
            raise ValueError(f"series {s.label!r} has a negative value; charts draw counts")


def _empty(title: str, width: int, height: int, chart_id: str | None) -> Chart:
    return _wrap(title, "No data.", width, height,
                 [_text(width / 2, height / 2, "No data in this period.", color=MUTED)], chart_id)


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, color: str = ACCENT,
              horizontal: bool = False, width: int = 640, height: int = 190,
              label_width: int = 170, chart_id: str | None = None) -> Chart:
    """One bar per label, its value printed at its end. Horizontal bars suit long labels
    (one row of 18 px per label; `height` is then computed)."""
    series = [Series(title, list(values), color)]
    _check(labels, series)
    if horizontal:
        height = 12 + 18 * max(len(labels), 1)
    if not labels:
        return _empty(title, width, height, chart_id)
    top = max(max(values), 1)
    body: list[str] = []
    if horizontal:
        plot = width - label_width - 60
        for i, (label, value) in enumerate(zip(labels, values)):
            y = 6 + 18 * i
            length = plot * value / top
            body.append(_text(label_width - 6, y + 12, label, anchor="end", size=9.5))
            body.append(f'<rect x="{label_width}" y="{y + 2}" width="{length:.1f}" height="13" '
                        f'fill="{color}"><title>{escape(label)}: {_num(value)}</title></rect>')
            body.append(_text(label_width + length + 4, y + 12, _num(value), anchor="start",
                              size=9.5, weight=600))
        body.append(f'<line x1="{label_width}" y1="4" x2="{label_width}" y2="{height - 4}" '
                    f'stroke="{MUTED}" stroke-width="0.8"/>')
        return _wrap(title, _describe(labels, series), width, height, body, chart_id)
    base, plot_top = height - 24, 18
    slot = (width - 16) / len(labels)
    bar = min(slot * 0.6, 70)
    for i, (label, value) in enumerate(zip(labels, values)):
        cx = 8 + slot * (i + 0.5)
        h = (base - plot_top) * value / top
        body.append(f'<rect x="{cx - bar / 2:.1f}" y="{base - h:.1f}" width="{bar:.1f}" '
                    f'height="{h:.1f}" fill="{color}"><title>{escape(label)}: {_num(value)}</title></rect>')
        body.append(_text(cx, base - h - 4, _num(value), weight=600))
        body.append(_text(cx, base + 15, label, size=9.5, color=MUTED))
    body.append(f'<line x1="8" y1="{base}" x2="{width - 8}" y2="{base}" stroke="{MUTED}" '
                f'stroke-width="0.8"/>')
    return _wrap(title, _describe(labels, series), width, height, body, chart_id)


def _legend(series: Sequence[Series], y: float, width: int) -> list[str]:
    out, x = [], 8.0
    for s in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" fill="{s.color}"/>')
        out.append(_text(x + 14, y, s.label, anchor="start", size=9.5))
        x += 14 + 6.5 * len(s.label) + 18
    return out


def stacked_bar_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
                      width: int = 640, height: int = 220, chart_id: str | None = None) -> Chart:
    """One bar per label stacked from `series` (bottom first); the total over the bar, each
    segment's count under the label in the segment's colour, a legend on top."""
    _check(labels, series)
    if not labels or not series:
        return _empty(title, width, height, chart_id)
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    top = max(max(totals), 1)
    base, plot_top = height - 40, 34
    slot = (width - 16) / len(labels)
    bar = min(slot * 0.6, 80)
    body = _legend(series, 14, width)
    for i, label in enumerate(labels):
        cx, y = 8 + slot * (i + 0.5), float(base)
        for s in series:
            h = (base - plot_top) * s.values[i] / top
            y -= h
            body.append(f'<rect x="{cx - bar / 2:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                        f'fill="{s.color}"><title>{escape(label)} · {escape(s.label)}: '
                        f'{_num(s.values[i])}</title></rect>')
        body.append(_text(cx, y - 4, _num(totals[i]), weight=600))
        body.append(_text(cx, base + 14, label, size=9.5, color=MUTED))
        parts, step = [], min(slot / (len(series) + 1), 30)
        for k, s in enumerate(series):
            parts.append(_text(cx + step * (k - (len(series) - 1) / 2), base + 29,
                               _num(s.values[i]), size=8.5, color=s.color, weight=600))
        body.extend(parts)
    body.append(f'<line x1="8" y1="{base}" x2="{width - 8}" y2="{base}" stroke="{MUTED}" '
                f'stroke-width="0.8"/>')
    return _wrap(title, _describe(labels, series), width, height, body, chart_id)


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series], *,
               width: int = 640, height: int = 180, chart_id: str | None = None) -> Chart:
    """One polyline per series over the labels, every point marked and its value printed."""
    _check(labels, series)
    if not labels or not series:
        return _empty(title, width, height, chart_id)
    top = max(max(max(s.values) for s in series), 1)
    legend = len(series) > 1
    base, plot_top = height - 24, 40 if legend else 22
    slot = (width - 16) / len(labels)
    body = _legend(series, 14, width) if legend else []
    for i, label in enumerate(labels):
        body.append(_text(8 + slot * (i + 0.5), base + 15, label, size=9.5, color=MUTED))
    for k, s in enumerate(series):
        points = [(8 + slot * (i + 0.5), base - (base - plot_top) * v / top)
                  for i, v in enumerate(s.values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            body.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>')
        for (x, y), v, label in zip(points, s.values, labels):
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{s.color}">'
                        f'<title>{escape(label)} · {escape(s.label)}: {_num(v)}</title></circle>')
            below = k % 2 == 1 and y + 16 < base   # a second series prints under its points
            body.append(_text(x, y + 15 if below else y - 7, _num(v), color=s.color, weight=600))
    body.append(f'<line x1="8" y1="{base}" x2="{width - 8}" y2="{base}" stroke="{MUTED}" '
                f'stroke-width="0.8"/>')
    return _wrap(title, _describe(labels, series), width, height, body, chart_id)
