"""The report as one printable, standalone HTML page (`--format html`).

No external assets, scripts or fonts: the page carries its own CSS and an
inline SVG timeline, and a Content-Security-Policy that forbids loading
anything, so an opened report cannot leak a referral to a third party. Every
value is escaped: agency summaries are data, never markup.
"""

from __future__ import annotations

from html import escape

from broker.report.model import AgencySection, Report
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


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def render_html(report: Report, *, include_earlier: bool = False) -> str:
    """The report as a standalone HTML document."""
    r = report.referral
    ts = report.timescale
    body: list[str] = [
        f"<h1>MASH referral summary <span class=\"mono\">{_e(r.referral_id)}</span></h1>",
        f"<p class=\"muted\">Generated {_e(when(report.generated_at))}. OFFICIAL-SENSITIVE: "
        "contains personal data shared for safeguarding; do not forward.</p>",
    ]
    for k in report.known_to_csc:
        body.append(f"<p class=\"banner\">Known to children's social care &mdash; route to "
                    f"allocated worker: {_e(k.team)} <span class=\"muted\">({_e(k.subject_id)}: "
                    f"{_e(k.detail)}; record {_e(k.record_id)})</span></p>")
    body.append("<table>")
    for label, value in (
        ("Received", f"{_e(when(r.received_at))} from {_e(r.source.value.replace('_', ' '))}"),
        ("Reason", _e(r.reason)),
        ("Status", _e(r.status.value)),
        ("RAG", f"<span class=\"rag rag-{_e(ts.rag)}\">{_e(ts.rag.upper())}</span> due "
                f"{_e(when(ts.due_at))} &mdash; <span class=\"state-{_e(ts.state)}\">"
                f"{_e(STATE_WORDS.get(ts.state, ts.state))}</span>"),
    ):
        body.append(f"<tr><th scope=\"row\">{label}</th><td>{value}</td></tr>")
    body.append("</table>")

    body.append("<h2>Subjects</h2><table><tr><th>Id</th><th>Role</th><th>Name</th>"
                "<th>Date of birth</th><th>Postcode</th></tr>")
    for s in r.subjects:
        body.append(f"<tr><td class=\"mono\">{_e(s.subject_id)}</td><td>{_e(s.role.value)}</td>"
                    f"<td>{_e(s.display_name)}</td>"
                    f"<td>{_e(s.identifiers.get('date_of_birth', ''))}</td>"
                    f"<td>{_e(s.identifiers.get('postcode', ''))}</td></tr>")
    body.append("</table>")

    body.append("<h3>RAG history</h3><table><tr><th>When</th><th>RAG</th><th>By</th>"
                "<th>Why</th></tr>")
    for h in r.rag_history:
        body.append(f"<tr><td>{_e(when(h.at))}</td><td><span class=\"rag rag-{_e(h.rag.value)}\">"
                    f"{_e(h.rag.value.upper())}</span></td><td>{_e(h.by)}</td>"
                    f"<td>{_e(h.reason)}</td></tr>")
    body.append("</table>")

    body.append(f"<h2>Risk indicators ({len(report.indicators)})</h2>")
    if not report.indicators:
        body.append("<p class=\"muted\">None drawn from the disclosed records.</p>")
    for i in report.indicators:
        body.append(f"<div class=\"indicator\"><strong>{_e(i.title)}</strong><br>{_e(i.detail)}; "
                    f"{_e(i.subject_id)} &mdash; source: {_e(i.agency)} record "
                    f"<span class=\"mono\">{_e(i.record_id)}</span>"
                    + (f" ({_e(i.occurred_on)})" if i.occurred_on else "") + "</div>")

    body.append("<h2>Timeline</h2>")
    body.append(timeline_svg(report.chronology))
    body.append(f"<h2>Chronology, newest first ({len(report.chronology)} events)</h2>"
                "<ol class=\"timeline\">")
    for e in report.chronology:
        cls = " class=\"flagged\"" if e.indicator_codes else ""
        body.append(f"<li{cls} style=\"--dot: {colour(e.agency)}\"><strong>{_e(e.date_text)}"
                    f"</strong> &middot; {_e(e.agency.replace('_', ' '))} &middot; "
                    f"{_e(e.subject_id)}<br>{_e(e.summary)} <span class=\"muted mono\">"
                    f"[{_e(e.record_id)}, {_e(e.category)}]</span></li>")
    body.append("</ol>")

    body.append("<h2>Agencies</h2>")
    body += [_agency_html(a) for a in report.agencies]
    if report.earlier:
        # One click away, and open in the printout when they were asked for.
        body.append(f"<details{' open' if include_earlier else ''}><summary>Earlier answers "
                    f"({len(report.earlier)})</summary>")
        body += [_agency_html(a) for a in report.earlier]
        body.append("</details>")

    body.append("<h2>Decision</h2>")
    d = r.decision
    if d is None:
        body.append("<p class=\"decision\">Not yet decided.</p>")
    else:
        body.append(
            f"<div class=\"decision\"><p><strong>Level of need:</strong> "
            f"{_e(d.level_of_need.value.replace('_', ' '))}<br><strong>Outcome:</strong> "
            f"{_e(d.outcome.value.replace('_', ' '))}</p><p><strong>Rationale:</strong> "
            f"{_e(d.rationale)}</p><p class=\"muted\">Decided by {_e(d.by)} at "
            f"{_e(when(d.at))}</p></div>")
    if report.deletions:
        body.append("<h3>Deleted under retention</h3><ul>")
        for x in report.deletions:
            body.append(f"<li>{_e(x.agency)} part of lookup {_e(x.lookup_id)} deleted "
                        f"{_e(when(x.deleted_at))} (agreement {_e(x.agreement_id)})</li>")
        body.append("</ul>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        "<meta name=\"robots\" content=\"noindex\">"
        f"<title>MASH referral {_e(r.referral_id)}</title><style>{CSS}</style></head>"
        "<body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def _agency_html(a: AgencySection) -> str:
    status = STATUS_WORDS.get(a.status, a.status)
    parts = [f"<div class=\"agency\" style=\"border-left-color: {colour(a.agency)}\">"
             f"<h3>{_e(a.agency.replace('_', ' '))} &mdash; <span class=\"status "
             f"status-{_e(a.status)}\">{_e(status)}</span> <span class=\"muted\">lookup "
             f"{_e(a.lookup_id)} ({_e(a.lookup_rag)})</span></h3>"]
    if a.latest_attempt is not None:
        later = a.latest_attempt
        parts.append(f"<p>Later lookup {_e(later.lookup_id)}: "
                     f"{_e(STATUS_WORDS.get(later.status, later.status))}"
                     + "".join(f"; reason <span class=\"mono\">{_e(c)}</span>"
                               + (f": {_e(t)}" if t else "") for c, t in later.reasons)
                     + "</p>")
    for m in a.matches:
        hint = f"; to confirm: {_e(m.confirm_hint)}" if m.confirm_hint else ""
        parts.append(f"<p>Match {_e(m.subject_id)}: {_e(m.match_band)} "
                     f"({m.match_score:.2f}){hint}</p>")
        if m.withheld_categories:
            parts.append(f"<p>Withheld categories: {_e(', '.join(m.withheld_categories))}</p>")
    for code, text in a.reasons:
        parts.append(f"<p>Reason <span class=\"mono\">{_e(code)}</span>"
                     + (f": {_e(text)}" if text else "") + "</p>")
    for category, facts in a.facts_by_category:
        parts.append(f"<p><strong>{_e(category.replace('_', ' '))}</strong></p><table>"
                     "<tr><th>Date</th><th>Summary</th><th>Subject</th><th>Record</th>"
                     "<th>Details</th></tr>")
        for f in facts:
            attrs = ", ".join(f"{k}={v}" for k, v in f.attributes.items())
            parts.append(f"<tr><td>{_e(f.occurred_on or 'undated')}</td><td>{_e(f.summary)}</td>"
                         f"<td>{_e(f.subject_id)}</td><td class=\"mono\">{_e(f.record_id)}</td>"
                         f"<td>{_e(attrs)}</td></tr>")
        parts.append("</table>")
    if a.signer_key_id or a.agreement_id:
        parts.append(f"<p class=\"muted\">Signed by {_e(a.signer_key_id or '-')}; agreement "
                     f"{_e(a.agreement_id or '-')} version "
                     f"<span class=\"mono\">{_e(a.agreement_version or '-')}</span></p>")
    parts.append("</div>")
    return "".join(parts)
