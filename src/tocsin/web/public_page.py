"""The public alert page (`/cap/`): the alerts in force, readable on a phone, with a map.

Rendered on the server as plain HTML, so it reads without JavaScript; the map (Leaflet, served
from its package like the dashboard's) and the offline copy (a service worker keeping the last
page it fetched) are additions on top. Nothing is loaded from another origin, no cookie is set
and nothing is counted: the page is the same for everyone. `?lang=fr-FR` shows another of the
configured languages.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from tocsin.adapters.cap.feeds import info_in
from tocsin.bootstrap import Container
from tocsin.core.cap import geometry as geo
from tocsin.core.cap.lifecycle import PublicAlert
from tocsin.core.levels import LEVEL_STYLES

STATIC = Path(__file__).parent / "static"
SHOWN = 500  # alerts on the page (most severe first); the feed has them all


def _time(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "—"


def _areas_geojson(alerts: list[PublicAlert], language: str | None) -> dict[str, Any]:
    """The alerts' polygons as GeoJSON features (lon, lat), with level and headline."""
    features = []
    for alert in alerts:
        info = info_in(alert, language)
        if info is None:
            continue
        for area in info.areas:
            rings = [[[x, y] for x, y in geo.parse_polygon(p)] for p in area.polygons]
            if rings:
                features.append(
                    {
                        "type": "Feature",
                        "geometry": {"type": "MultiPolygon", "coordinates": [[r] for r in rings]},
                        "properties": {
                            "id": alert.identifier,
                            "level": alert.level.value,
                            "title": info.headline or info.event,
                            "area": area.description,
                        },
                    }
                )
    return {"type": "FeatureCollection", "features": features}


def _card(alert: PublicAlert, language: str | None) -> str:
    info = info_in(alert, language)
    style = LEVEL_STYLES[alert.level]
    title = (info.headline or info.event) if info else alert.identifier
    areas = ", ".join(a.description for a in info.areas) if info else ""
    what = {"Update": "Updated", "Cancel": "Cancelled"}.get(alert.msg_type.value, "")
    rows = [
        ("Areas", areas),
        ("From", _time(info.onset if info else None)),
        ("Until", _time(info.expires if info else None)),
        ("Issued", _time(alert.published_at)),
    ]
    facts = "".join(f"<dt>{k}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    body = [
        f'<article class="alert lvl-{alert.level.value}" id="{escape(alert.identifier)}">',
        f'<p class="badge">{escape(style.label)} · {escape(alert.level.cap_severity)}'
        f"{' · ' + what if what else ''}</p>",
        f"<h2>{escape(title)}</h2>",
        f"<dl>{facts}</dl>",
    ]
    if info and info.description:
        body.append(f'<p class="description">{escape(info.description)}</p>')
    if info and info.instruction:
        body.append(
            f'<p class="instruction"><strong>What to do:</strong> {escape(info.instruction)}</p>'
        )
    body.append(
        f'<p class="links"><a href="{escape(alert.identifier)}.xml" type="application/cap+xml">'
        "CAP document</a></p></article>"
    )
    return "\n".join(body)


def render(container: Container, *, language: str | None) -> str:
    """The page, for a language (None: the first configured)."""
    config = container.cap.config
    chosen = language if language in config.languages else config.languages[0]
    alerts = container.cap.views.active(limit=SHOWN)
    cards = "\n".join(_card(a, chosen) for a in alerts) or (
        '<p class="none">No public alert is in force.</p>'
    )
    current = ' aria-current="page"'
    others = " ".join(
        f'<a href="?lang={escape(lang)}" lang="{escape(lang)}"'
        f"{current if lang == chosen else ''}>{escape(lang)}</a>"
        for lang in config.languages
    )
    areas = json.dumps(_areas_geojson(alerts, chosen)).replace("</", "<\\/")
    colours = "".join(
        f".lvl-{s.level.value}{{--lvl:{s.colour};--lvl-ink:{s.text_colour}}}"
        for s in LEVEL_STYLES.values()
    )
    now = _time(container.clock.now())
    title = f"Public alerts — {config.sender_name}"
    return PAGE.format(
        lang=escape(chosen),
        title=escape(title),
        colours=colours,
        count=len(alerts),
        plural="" if len(alerts) == 1 else "s",
        now=escape(now),
        languages=others,
        cards=cards,
        areas=areas,
        feed=f"feed.atom?lang={escape(chosen)}",
    )


PAGE = """<!doctype html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="alternate" type="application/atom+xml" title="Atom feed" href="{feed}">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/public.css">
<style>{colours}</style>
<script src="/vendor/leaflet/leaflet.js" defer></script>
<script src="/static/js/public.js" defer></script>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="status"><span id="count">{count}</span> alert{plural} in force ·
as of <time>{now}</time> · <a href="{feed}">Atom feed</a></p>
<nav class="languages" aria-label="Language">{languages}</nav>
<p id="offline" class="offline" hidden>You are offline: this is the copy kept on this device.</p>
</header>
<main>
<div id="map" class="map" role="img" aria-label="Map of the areas under alert" hidden></div>
<section id="alerts" aria-label="Alerts in force">
{cards}
</section>
</main>
<script id="alert-areas" type="application/json">{areas}</script>
</body>
</html>
"""


def make_router(container: Container) -> APIRouter:
    """The public page and its offline worker."""
    router = APIRouter(include_in_schema=False)

    @router.get("/cap/", response_class=HTMLResponse)
    def page(lang: str | None = Query(default=None, max_length=35)) -> HTMLResponse:
        return HTMLResponse(
            render(container, language=lang),
            headers={"Cache-Control": "no-cache"},
        )

    @router.get("/cap/offline.js")
    def worker(_request: Request) -> FileResponse:
        return FileResponse(
            STATIC / "js" / "public-offline.js",
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    return router
