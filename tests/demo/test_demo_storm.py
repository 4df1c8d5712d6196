"""The demo's flood storm (`tocsin demo --storm CELLS`): river gauges on grid cells inside the
demo's districts, a valid configuration that groups their warnings by district, and, served,
a storm through the REST ingest path that turns every gauge red and then lifts them, while the
duty desk receives one message a district, not one a cell."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from tocsin.adapters.alerting_yaml import load_alerting
from tocsin.adapters.config_yaml import load_catalog
from tocsin.cli.main import app
from tocsin.core.geometry import bounds
from tocsin.demo.scenario import NOTIFICATIONS, write_config
from tocsin.testing.postgres import free_port

END = 1_790_000_000


def test_storm_gauges_lie_in_their_districts_and_group_by_district(tmp_path: Path) -> None:
    write_config(tmp_path / "config", end_at=END, storm_cells=500)
    catalog = load_catalog(tmp_path / "config")
    config = load_alerting(tmp_path / "config", catalog)
    regions = catalog.regions.regions
    cells = [r for r in regions.values() if r.level == "cell"]
    assert len(cells) == 500
    for c in cells:
        parent = regions[c.parent] if c.parent else None
        assert parent is not None
        assert parent.level == "district"
        x0, y0, x1, y1 = bounds(c.geometry or {})
        px0, py0, px1, py1 = bounds(parent.geometry or {})
        assert px0 - 1e-4 <= x0 < x1 <= px1 + 1e-4
        assert py0 - 1e-4 <= y0 < y1 <= py1 + 1e-4
    gauges = [i for i in catalog.indicators if i.region in {c.code for c in cells}]
    assert len(gauges) == 500
    assert all(g.cadence is None for g in gauges)
    child = config.root.routes[0]
    assert child.group_by == ("region_district", "domain")
    without = write_config(tmp_path / "plain", end_at=END)  # no storm: as before
    assert without
    assert not any(
        r.level == "cell" for r in load_catalog(tmp_path / "plain").regions.regions.values()
    )


def test_a_storm_needs_the_server() -> None:
    result = CliRunner().invoke(app, ["demo", "--storm", "100", "--no-serve"])
    assert result.exit_code != 0
    assert "--storm" in result.output
    assert "--no-serve" in result.output


def _get(url: str, token: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _open_gauges(base: str, token: str) -> int:
    found = _get(f"{base}/api/v1/warnings?state=open&domain=natural.flood&limit=5000", token)
    return sum(1 for w in found if w["subject"].endswith(".gauge") and w["level"] == "red")


def test_the_served_demo_storm_turns_every_gauge_red_then_lifts_them(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    work = tmp_path / "demo"
    log = tmp_path / "demo.log"
    argv = [sys.executable, "-m", "tocsin", "demo", "--quiet", "--workdir", str(work)]
    argv += ["--port", str(port), "--storm", "600", "--storm-after", "0", "--storm-hold", "15"]
    env = {**os.environ, "TOCSIN_DISPATCH_INTERVAL_S": "0.5"}
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        token = ""
        deadline = time.monotonic() + 300  # the demo replays its series first
        while not token and time.monotonic() < deadline and proc.poll() is None:
            found = re.search(r"API token: (tcs_\S+)", log.read_text(errors="replace"))
            token = found.group(1) if found else ""
            time.sleep(0.5)
        assert token, log.read_text(errors="replace")[-3000:]
        peak = 0
        while peak < 600 and time.monotonic() < deadline:
            with contextlib.suppress(OSError):  # not serving yet
                peak = max(peak, _open_gauges(base, token))
            time.sleep(0.5)
        assert peak == 600, log.read_text(errors="replace")[-3000:]
        while _open_gauges(base, token) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _open_gauges(base, token) == 0  # fell back: every one lifted
        storm: Counter[str] = Counter()
        while time.monotonic() < deadline:  # the resolutions reach the desk too
            lines = (work / NOTIFICATIONS).read_text().splitlines()
            notes = [json.loads(line)["payload"] for line in lines]
            storm = Counter(
                n["reason"]
                for n in notes
                if n["group_labels"].get("domain") == "natural.flood"
                and "region_district" in n["group_labels"]
            )
            if storm["resolved"]:
                break
            time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    regions = load_catalog(work / "config").regions.regions.values()
    districts = len({c.parent for c in regions if c.level == "cell"})
    assert 0 < storm["new"] <= districts  # one message a district, not one a cell
    assert 0 < storm["resolved"] <= districts
    assert "storm: 600 river gauges rising above red" in log.read_text(errors="replace")
