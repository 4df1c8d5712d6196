"""A situation report as one self-contained HTML page: its pictures inline (data: URIs), every
text escaped, no script, printable."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, Final

from tocsin.adapters.reports import sections
from tocsin.adapters.reports.sections import moment

STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;color:#1b1f24;max-width:60rem;margin:1.5rem auto;
padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;
border-bottom:1px solid #d5dbe1}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{text-align:left;padding:.2rem .4rem;
border-bottom:1px solid #e4e7ea;vertical-align:top}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem}dt{color:#5b6570}
.figs{display:flex;flex-wrap:wrap;gap:1rem}.figs img{max-width:100%;height:auto}
.overdue{color:#c8102e;font-weight:600}.note{color:#5b6570}
"""


def _img(name: str, png: bytes | None, *, alt: str) -> str:
    if png is None:
        return ""
    data = base64.b64encode(png).decode()
    return f'<img id="fig-{escape(name)}" alt="{escape(alt)}" src="data:image/png;base64,{data}">'


def _table(head: Sequence[str], rows: Iterable[Sequence[str]], *, css: Sequence[str] = ()) -> str:
    cells = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{escape(css[i])}"' if i < len(css) and css[i] else ""
        body.append(f"<tr{cls}>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>")
    if not body:
        return '<p class="note">None.</p>'
    return f"<table><thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary(facts: Mapping[str, Any]) -> str:
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in sections.facts_of(facts))
    return (
        f"<h1>{escape(facts['title'])}</h1>"
        f"<p class='note'>As of {escape(moment(facts['as_of']))}</p><dl>{rows}</dl>"
    )


def _map_and_levels(pictures: Mapping[str, bytes]) -> str:
    return "".join(
        [
            "<h2>Affected regions</h2>",
            _img("map", pictures.get("map"), alt="Map of the affected regions by warning level")
            or '<p class="note">No geometry for these regions.</p>',
            "<h2>Warnings by level</h2><div class='figs'>",
            _img("levels", pictures.get("levels"), alt="Open warnings by level"),
            "</div>",
        ]
    )


def _indicators(pictures: Mapping[str, bytes]) -> str:
    charts = "".join(
        _img(name, png, alt="Indicator chart")
        for name, png in pictures.items()
        if name.startswith("indicator-")
    )
    return (
        "<h2>Key indicators</h2><div class='figs'>"
        + (charts or "<p class='note'>No indicator series.</p>")
        + "</div>"
    )


def render_html(facts: Mapping[str, Any], pictures: Mapping[str, bytes]) -> str:
    """The report's page."""
    rows, overdue = sections.task_rows(facts)
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(facts['title'])}</title><style>{STYLE}</style></head><body>",
        _summary(facts),
        _map_and_levels(pictures),
        _table(sections.WARNING_HEAD, sections.warning_rows(facts)),
        _indicators(pictures),
        "<h2>Tasks by unit</h2>",
        _img("tasks", pictures.get("tasks"), alt="Task status by unit"),
        _table(sections.TASK_HEAD, rows, css=["overdue" if late else "" for late in overdue]),
    ]
    for title, items in sections.links_of(facts):
        parts += [f"<h2>{escape(title)}</h2>", _table(("Id",), ([i] for i in items))]
    if facts.get("incidents"):
        parts += [
            "<h2>Incidents</h2>",
            _table(sections.INCIDENT_HEAD, sections.incident_rows(facts)),
        ]
    if facts.get("timeline"):
        parts += [
            "<h2>Latest on the timeline</h2>",
            _table(sections.TIMELINE_HEAD, sections.timeline_rows(facts)),
        ]
    parts.append(f"<p class='note'>{escape(sections.FACT_LABELS['footer'])}</p></body></html>")
    return "".join(parts)
