"""The referral summary report: one model, rendered as JSON, terminal text or printable HTML.

```python
report = build_report(referral, [stored.summary for stored in store.summaries(rid)],
                      now=clock(), deletions=store.deletions(rid))
print(render_text(report))
```
"""

from __future__ import annotations

from broker.report.html import render_html
from broker.report.json_view import render_json, report_to_dict
from broker.report.model import Report, build_report
from broker.report.text import render_text

#: Renderers by `--format` name.
RENDERERS = {"json": render_json, "text": render_text, "html": render_html}

__all__ = ["RENDERERS", "Report", "build_report", "render_html", "render_json", "render_text",
           "report_to_dict"]
