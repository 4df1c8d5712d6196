"""Routing benchmark: the time FastAPI's router takes to find a request's route.

    python bench/routing.py [--rounds 3000]

FastAPI's router tries an app's routes in order until one matches the request fully. The API
holds its routes directly (`tocsin.api.app.api_routes`); before, each concept's router was
added through `include_router`, whose wrapper (FastAPI 0.165) is a route of its own that
matches a request against every route it holds. Both layouts are built in this run from the
same routes, in the same order, and timed on the same requests: the loop FastAPI's router runs
(`matches` on each route until a full match), `--rounds` times per request. The included layout
does one more match inside the wrapper when it handles the request, not counted here, so its
figures are a lower bound. The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from starlette.routing import BaseRoute, Match

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe
from tocsin.api.app import ROUTERS, api_routes

REQUESTS = (  # (method, path): probes, public, the alert receiver, the dashboard, the last
    ("GET", "/healthz"),
    ("GET", "/open311/v2/services.json"),
    ("POST", "/api/v2/alerts"),
    ("GET", "/api/v1/warnings"),
    ("GET", "/api/v1/regions"),
    ("GET", "/api/v1/incidents"),
    ("GET", "/api/v1/reports"),
)


def included() -> list[BaseRoute]:
    """The routes as `include_router` held them: one wrapper per concept's router."""
    merged = APIRouter()
    for module in ROUTERS:
        merged.include_router(module.router())
    return list(merged.routes)


def per_request_us(routes: list[BaseRoute], method: str, path: str, rounds: int) -> float:
    """Microseconds to find the route of one request, as FastAPI's router loops."""
    started = time.perf_counter()
    for _ in range(rounds):
        scope: dict[str, Any] = {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "headers": [],
            "query_string": b"",
        }
        for route in routes:
            if route.matches(scope)[0] == Match.FULL:
                break
        else:
            raise SystemExit(f"no route for {method} {path}")
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    """Time both layouts and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3_000)
    args = parser.parse_args()
    machine = describe()
    print(f"machine: {machine}")
    layouts = {"direct": list(api_routes()), "included": included()}
    figures: dict[str, Any] = {"rounds": args.rounds, "requests": {}}
    for method, path in REQUESTS:
        times = {name: per_request_us(r, method, path, args.rounds) for name, r in layouts.items()}
        ratio = times["included"] / times["direct"]
        figures["requests"][f"{method} {path}"] = {
            **{f"{k}_us": round(v, 1) for k, v in times.items()},
            "ratio": round(ratio, 1),
        }
        print(
            f"{method:4} {path:<28} direct {times['direct']:7.1f} us  "
            f"included {times['included']:7.1f} us  ({ratio:.1f}x)"
        )
    figures["machine"] = machine
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
