"""The dashboard in a storm: how fast the board and the map answer with 10,000 open warnings.

Builds the storm grid (tocsin.testing.grid: 10,000 cells in districts of 300) on SQLite in a
temporary directory, serves the dashboard with uvicorn on 127.0.0.1 and measures twice in the
same run: **calm** (no open warning) and **storm** (every cell red, 10,000 open warnings, raised
through the ingest service). Per phase:

- server answers (median and max of `--runs` GETs over one kept-alive connection): the map at
  the nation, at a province and at a district (300 cells), the summary, the board's first and
  last page (201 rows: a page of 200 and whether more follow), a district's warnings;
- in Debian's Chromium (headless, Playwright, 1366×768, a fresh context each run): ms from the
  start of navigation until the board has drawn its page, and until the map has drawn.

The storm/calm ratio of each figure is the reference: what 10,000 open warnings cost.
Run: ``python bench/storm_dashboard.py [--runs N] [--cells N]``. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import numpy as np
from playwright.sync_api import sync_playwright

from dashboard import READY
from machine import describe
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.observations import ObservationBatch
from tocsin.testing.chromium import CHROMIUM, CHROMIUM_ARGS
from tocsin.testing.grid import Grid, write_grid_config
from tocsin.web.app import create_web_app
from tocsin.web.server import serving

# the board has drawn its first page (rows, or "no warnings"): its count is written
BOARD_READY = "Boolean(document.getElementById('board-count')?.textContent)"


def endpoints(grid: Grid) -> dict[str, str]:
    """What the board and the map ask the server for, by name."""
    last = (grid.cells // 200) * 200 - 200
    return {
        "map_nation": "/api/v1/web/map",
        "map_province": "/api/v1/web/map?parent=P01",
        "map_district_300_cells": "/api/v1/web/map?parent=D001",
        "summary": "/api/v1/web/summary",
        "board_first_page": "/api/v1/warnings?limit=201",
        "board_last_page": f"/api/v1/warnings?limit=201&offset={max(last, 0)}",
        "district_warnings": "/api/v1/warnings?region=D001&limit=50",
    }


def server_times(url: str, grid: Grid, runs: int) -> dict[str, dict[str, float]]:
    """Median and max ms of each endpoint over `runs` GETs."""
    out: dict[str, dict[str, float]] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, path in endpoints(grid).items():
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                client.get(path).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            out[name] = {
                "median_ms": round(statistics.median(times), 1),
                "max_ms": round(max(times), 1),
            }
    return out


def browser_times(browser: Any, url: str, runs: int) -> dict[str, float]:
    """Median ms from navigation until the board's page, and the map, are drawn."""
    board, drawn = [], []
    for _ in range(runs):
        for view, ready, into in (("#/board", BOARD_READY, board), ("", READY, drawn)):
            context = browser.new_context(viewport={"width": 1366, "height": 768})
            page = context.new_page()
            page.goto(f"{url}/{view}", wait_until="commit")
            page.wait_for_function(ready, timeout=60_000)
            into.append(float(page.evaluate("performance.now()")))
            context.close()
    return {
        "board_drawn_ms_median": round(statistics.median(board), 1),
        "map_drawn_ms_median": round(statistics.median(drawn), 1),
    }


def storm(container: Any, grid: Grid) -> int:
    """Every cell's gauge above red, through the ingest service; the warnings raised."""
    ids = container.rules.ids
    batch = ObservationBatch(
        np.array([ids[grid.indicator(i)] for i in range(grid.cells)], dtype=np.int64),
        np.full(grid.cells, int(time.time()) // 60 * 60, dtype=np.int64),
        np.full(grid.cells, 5.5),
    )
    return len(container.ingest.ingest_batch(batch).warning_events)


def main() -> None:
    """Build, serve, measure calm then storm, print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cells", type=int, default=10_000)
    args = parser.parse_args()
    print("machine:", json.dumps(describe()), "load:", os.getloadavg(), flush=True)
    grid = Grid(cells=args.cells)
    result: dict[str, Any] = {"cells": grid.cells, "load_average_at_start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = write_grid_config(work / "config", grid)
        url_db = f"sqlite:///{work / 'tocsin.db'}"
        settings = Settings(
            database_url=url_db, config_dir=config, background_workers=False, env="dev"
        )
        container = build(settings)  # no dispatcher: the grid's units have no address
        with serving(create_web_app(container)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            for phase in ("calm", "storm"):
                if phase == "storm":
                    result["warnings_raised"] = storm(container, grid)
                figures = {
                    "server": server_times(url, grid, args.runs),
                    "browser": browser_times(browser, url, args.runs),
                }
                result[phase] = figures
                print(phase, json.dumps(figures), flush=True)
            browser.close()
        container.close()
    result["storm_to_calm"] = ratios(result["calm"], result["storm"])
    result["load_average_at_end"] = os.getloadavg()
    print(json.dumps(result))


def ratios(calm: dict[str, Any], stormy: dict[str, Any]) -> dict[str, float]:
    """storm ÷ calm of each median."""
    out = {
        name: round(stormy["server"][name]["median_ms"] / max(v["median_ms"], 0.1), 2)
        for name, v in calm["server"].items()
    }
    for name, value in calm["browser"].items():
        out[name] = round(stormy["browser"][name] / max(value, 0.1), 2)
    return out


if __name__ == "__main__":
    main()
