"""The report as one printable, standalone HTML page (`--format html`).

No external assets, scripts or fonts: the page carries its own CSS and an
inline SVG timeline, and a Content-Security-Policy that forbids loading
anything, so an opened report cannot leak a referral to a third party. Every
value is escaped (a Jinja2 template, autoescaped): agency summaries are data,
never markup.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
from markupsafe import Markup

from broker.report.model import Report
from broker.report.text import STATE_WORDS, STATUS_WORDS, when
from broker.report.timeline import INDICATOR_COLOUR, colour, timeline_svg

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

CSS = """
@page { size: A4; margin: 15mm; }
body { font: 11pt/1.4 system-ui, -apple-system, "Segoe UI", Arial, sans-serif; color: #111;
       max-width: 60rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; } h2 { font-size: 1.15rem; margin-top: 1.6rem;
  border-bottom: 2px solid #333; padding-bottom: .15rem; }
h3 { font-size: 1rem; margin: .8rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0; }
th, td { text-align: left; vertical-align: top; padding: .2rem .4rem;
         border-bottom: 1px solid #ddd; }
th { background: #f3f3f3; } .muted { color: #555; } .mono { font-family: ui-monospace, monospace; }
.banner { border: 3px solid #CC79A7; background: #fbeef6; padding: .6rem .8rem; font-weight: 600; }
.rag { display: inline-block; padding: .05rem .5rem; border-radius: .25rem; font-weight: 700;
       color: #fff; } .rag-red { background: #b00020; } .rag-amber { background: #b36b00; }
.rag-green { background: #1b7a3a; }
.state-breached, .state-missed { color: #b00020; font-weight: 700; }
.state-at_risk { color: #b36b00; font-weight: 700; }
.status { font-weight: 600; } .status-withheld, .status-timed_out, .status-unavailable,
.status-rejected { color: #b00020; }
.indicator { border-left: 5px solid __INDICATOR__; padding: .2rem .6rem; margin: .3rem 0;
             background: #fff4ec; }
.agency { border: 1px solid #ccc; border-left-width: 6px; padding: .4rem .7rem; margin: .6rem 0;
          page-break-inside: avoid; }
ol.timeline { list-style: none; margin: .5rem 0; padding: 0 0 0 1.4rem;
               border-left: 3px solid #999; }
ol.timeline li { position: relative; margin: 0 0 .5rem; page-break-inside: avoid; }
ol.timeline li::before { content: ""; position: absolute; left: -1.95rem; top: .3rem; width: .8rem;
  height: .8rem; border-radius: 50%; background: var(--dot); border: 2px solid #fff; }
ol.timeline li.flagged::before { border-color: __INDICATOR__; }
.timeline-svg .tick { stroke: #ddd; } .timeline-svg .lane { stroke: #bbb; }
.timeline-svg text { font-size: 11px; fill: #333; }
.timeline-svg text.count { font-size: 10px; font-weight: 700; fill: #fff; }
.decision { border: 2px solid #333; padding: .5rem .8rem; }
@media print { body { margin: 0; max-width: none; } a { color: inherit; } }
""".replace("__INDICATOR__", INDICATOR_COLOUR)


_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("broker.report", "templates"),
    # Every value is escaped unless marked safe here (the CSS, the CSP and the SVG this
    # module builds itself): agency summaries are data, never markup.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def _words(code: str) -> str:
    return code.replace("_", " ")


def _attributes(attributes: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in attributes.items())


def render_html(report: Report, *, include_earlier: bool = False) -> str:
    """The report as a standalone HTML document (earlier answers folded unless asked for)."""
    return _TEMPLATES.get_template("report.html").render(
        report=report, include_earlier=include_earlier, r=report.referral, ts=report.timescale,
        csp=Markup(CSP), css=Markup(CSS),  # noqa: S704 -- our own constants, not data
        timeline=Markup(timeline_svg(report.chronology)),  # noqa: S704 -- escapes its own text
        when=when, colour=colour, words=_words, attributes=_attributes,
        state_words=STATE_WORDS, status_words=STATUS_WORDS,
    )
