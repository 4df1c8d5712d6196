"""Dashboard first view on the demo scenario: time until the world map is drawn, in Chromium.

Builds the demo scenario (world countries, Italy's provinces and districts, 20 NAB series
replayed) on SQLite in a temporary directory, serves it with uvicorn on 127.0.0.1 and opens
it in Debian's Chromium (headless, through Playwright) at 1366×768. For each run a fresh browser
context (empty cache) navigates to / and the time is measured from the start of navigation to the
moment the map has drawn every country (`#map[data-regions]` set after the GeoJSON layer is added),
taken from the page's own clock (`performance.now()`). Also reported: the same with a warm cache
(a reload in the same context), the bytes transferred for the first view, and the server-side
time of the map endpoint. Measuring starts once the risk model (INFORM, loaded in a background
thread at start-up) is ready. Any request to a host other than 127.0.0.1 aborts the run.

Run: ``python bench/dashboard.py [--runs N]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from playwright.sync_api import sync_playwright

from machine import describe
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.observations import ObservationBatch
from tocsin.demo.scenario import RISK_MODEL, RISK_TABLE, replay_chunks, write_config
from tocsin.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

READY = "document.querySelector('#map')?.dataset.regions"


def first_view(browser: Any, url: str) -> dict[str, float]:
    """One cold load and one warm reload: ms until the map is drawn, bytes transferred."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    blocked: list[str] = []

    def guard(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    out: dict[str, float] = {}
    for label in ("cold", "warm"):
        if label == "cold":
            page.goto(url + "/", wait_until="commit")
        else:
            page.reload(wait_until="commit")
        page.wait_for_function(READY, timeout=30_000)
        out[f"{label}_ms"] = float(page.evaluate("performance.now()"))
        if label == "cold":
            out["bytes"] = float(
                page.evaluate(
                    "performance.getEntriesByType('navigation').concat("
                    "performance.getEntriesByType('resource'))"
                    ".reduce((s, e) => s + (e.transferSize || 0), 0)"
                )
            )
    context.close()
    if blocked:
        raise SystemExit(f"requests left 127.0.0.1: {blocked}")
    return out


def main() -> None:
    """Build, serve, measure, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(describe()))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        series = write_config(work / "config", end_at=int(time.time()))
        container = build(
            Settings(
                env="dev",  # a throw-away database: secrets sealed with the development key
                database_url=f"sqlite:///{work / 'tocsin.db'}",
                config_dir=work / "config",
                risk_model=work / RISK_MODEL,
                risk_table=work / RISK_TABLE,
            )
        )
        chunks = replay_chunks(series, container.rules.ids, chunk_seconds=6 * 3600)
        container.ingest.ingest_chunks(ObservationBatch(i, t, v) for _, i, t, v in chunks)
        app = create_web_app(container)
        with serving(app) as url, sync_playwright() as p:
            app.state.risk.wait()  # the risk model loads in the background once, at start-up
            api = []
            for _ in range(args.runs):
                started = time.perf_counter()
                httpx.get(url + "/api/v1/web/map").raise_for_status()
                api.append((time.perf_counter() - started) * 1000)
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            runs = [first_view(browser, url) for _ in range(args.runs)]
            browser.close()
        container.close()
    figures = {
        "runs": args.runs,
        "first_view_cold_ms_median": round(statistics.median(r["cold_ms"] for r in runs), 1),
        "first_view_cold_ms_max": round(max(r["cold_ms"] for r in runs), 1),
        "first_view_warm_ms_median": round(statistics.median(r["warm_ms"] for r in runs), 1),
        "first_view_bytes": int(statistics.median(r["bytes"] for r in runs)),
        "map_endpoint_ms_median": round(statistics.median(api), 1),
    }
    for key, value in figures.items():
        print(f"{key:28} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
