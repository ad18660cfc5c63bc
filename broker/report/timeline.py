"""The chronology drawn as an inline SVG timeline: one lane per agency, time left to right."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from html import escape

from broker.report.chronology import ChronologyEntry, by_agency

#: Lane colours per agency (colour-blind-safe Okabe-Ito palette); unknown agencies grey.
AGENCY_COLOURS = {
    "childrens_social_care": "#CC79A7",
    "police": "#0072B2",
    "health": "#009E73",
    "education": "#E69F00",
    "housing": "#56B4E9",
}
OTHER_COLOUR = "#777777"
INDICATOR_COLOUR = "#D55E00"

LABEL_WIDTH = 170
PLOT_WIDTH = 700
LANE_HEIGHT = 34
AXIS_HEIGHT = 30


def colour(agency: str) -> str:
    """The lane colour of `agency`."""
    return AGENCY_COLOURS.get(agency, OTHER_COLOUR)


def timeline_svg(entries: Sequence[ChronologyEntry]) -> str:
    """An SVG element drawing the dated `entries`; undated ones are listed, not drawn."""
    dated = [e for e in entries if e.occurred_on is not None]
    if not dated:
        return '<p class="muted">No dated events to draw.</p>'
    days = [e.occurred_on for e in dated if e.occurred_on is not None]
    start, end = min(days), max(days)
    if (end - start).days < 30:  # a single day or a short span still gets a readable axis
        start, end = start - timedelta(days=15), end + timedelta(days=15)
    span = (end - start).days

    def x(day: date) -> float:
        return LABEL_WIDTH + PLOT_WIDTH * (day - start).days / span

    lanes = by_agency(dated)
    height = AXIS_HEIGHT + LANE_HEIGHT * len(lanes) + 10
    width = LABEL_WIDTH + PLOT_WIDTH + 20
    parts = [f'<svg class="timeline-svg" role="img" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" width="100%" '
             f'aria-label="Timeline of {len(dated)} events from {start} to {end}">']
    for tick, label in _ticks(start, end):
        tx = x(tick)
        parts.append(f'<line x1="{tx:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{tx:.1f}" '
                     f'y2="{height - 10}" class="tick"/>')
        parts.append(f'<text x="{tx:.1f}" y="{AXIS_HEIGHT - 10}" class="tick-label" '
                     f'text-anchor="middle">{escape(label)}</text>')
    for i, (agency, lane) in enumerate(lanes.items()):
        y = AXIS_HEIGHT + LANE_HEIGHT * i + LANE_HEIGHT / 2
        parts.append(f'<line x1="{LABEL_WIDTH}" y1="{y:.1f}" x2="{LABEL_WIDTH + PLOT_WIDTH}" '
                     f'y2="{y:.1f}" class="lane"/>')
        parts.append(f'<text x="{LABEL_WIDTH - 10}" y="{y + 4:.1f}" text-anchor="end" '
                     f'class="lane-label">{escape(agency.replace("_", " "))}</text>')
        # Several records on one day (one incident seen per person) share one marker.
        by_day: dict[date, list[ChronologyEntry]] = {}
        for e in lane:
            if e.occurred_on is not None:  # only dated entries are drawn
                by_day.setdefault(e.occurred_on, []).append(e)
        for day, group in by_day.items():
            flagged = any(e.indicator_codes for e in group)
            title = "\n".join(f"{e.date_text} {e.agency} {e.record_id}: {e.summary}"
                              for e in group)
            radius = min(5 + 2 * (len(group) - 1), 11) + (2 if flagged else 0)
            parts.append(
                f'<circle cx="{x(day):.1f}" cy="{y:.1f}" r="{radius}" '
                f'fill="{colour(agency)}" '
                + (f'stroke="{INDICATOR_COLOUR}" stroke-width="3" ' if flagged else "")
                + f'class="event{" indicator" if flagged else ""}">'
                f'<title>{escape(title)}</title></circle>')
            if len(group) > 1:
                parts.append(f'<text x="{x(day):.1f}" y="{y + 4:.1f}" text-anchor="middle" '
                             f'class="count">{len(group)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _ticks(start: date, end: date) -> list[tuple[date, str]]:
    """Month ticks for spans up to two years, year ticks beyond."""
    ticks: list[tuple[date, str]] = []
    if (end - start).days <= 730:
        day = date(start.year, start.month, 1)
        step_months = 1 if (end - start).days <= 200 else 3
        while day <= end:
            if day >= start:
                ticks.append((day, f"{day:%b %Y}"))
            month = day.month - 1 + step_months
            day = date(day.year + month // 12, month % 12 + 1, 1)
    else:
        for year in range(start.year + 1, end.year + 1):
            ticks.append((date(year, 1, 1), str(year)))
    return ticks
