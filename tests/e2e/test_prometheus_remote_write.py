"""A real Prometheus (Debian's `prometheus`) scrapes an exporter and remote-writes to Tocsin:
mapped series become observations, unmapped ones are counted and named."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
import yaml

from tests.e2e.collector_harness import eventually, free_port, served_with_sources
from tests.http_server import local_http_server

pytestmark = pytest.mark.slow
PROMETHEUS = shutil.which("prometheus")
EXPOSITION = (
    "# TYPE river_level_metres gauge\n"
    'river_level_metres{station="D11"} 2.5\n'
    'river_level_metres{station="D99"} 9.9\n'
    "# TYPE pump_runs gauge\n"
    "pump_runs 3\n"
)


class _Exporter(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = EXPOSITION.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        """Quiet."""


@contextmanager
def exporter() -> Iterator[str]:
    """A tiny exporter on a free port; yields host:port."""
    with local_http_server(_Exporter) as port:
        yield f"127.0.0.1:{port}"


@contextmanager
def prometheus(tmp_path: Path, *, target: str, write_url: str, token: str) -> Iterator[None]:
    """Debian's Prometheus scraping `target` every second and remote-writing to `write_url`."""
    assert PROMETHEUS is not None, "Debian's prometheus is needed (scripts/test.sh installs it)"
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": "gauges", "static_configs": [{"targets": [target]}]}],
        "remote_write": [
            {
                "url": write_url,
                "authorization": {"type": "Bearer", "credentials": token},
                "queue_config": {"batch_send_deadline": "1s", "max_samples_per_send": 100},
            }
        ],
    }
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    log = (tmp_path / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={path}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{free_port()}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_prometheus_remote_writes_mapped_series_and_unmapped_ones_are_counted(
    tmp_path: Path,
) -> None:
    sources = {
        "prometheus": [
            {
                "indicator": "D11.river_level",
                "match": {"__name__": "river_level_metres", "station": "D11"},
            }
        ]
    }
    with (
        served_with_sources(tmp_path, sources) as tocsin,
        exporter() as target,
        prometheus(
            tmp_path, target=target, write_url=f"{tocsin.url}/api/v1/write", token=tocsin.token
        ),
    ):
        assert eventually(lambda: len(tocsin.series("D11.river_level")[0]) >= 3), (
            tmp_path / "prometheus.log"
        ).read_text()[-3000:]
        times, values = tocsin.series("D11.river_level")
        assert set(values) == {2.5}
        assert times == sorted(set(times))  # one per scrape second
        prom = tocsin.sources()["prometheus"]
        assert prom["stored"] >= 3
        assert prom["unmapped"] > 0
        unmapped = prom["unmapped_series"]
        assert any(s.startswith("river_level_metres{") and 'station="D99"' in s for s in unmapped)
        assert any(s.startswith("pump_runs{") for s in unmapped)
        assert any(s.startswith("up{") for s in unmapped)  # Prometheus's own series too
        metrics = httpx.get(f"{tocsin.url}/metrics", headers=tocsin.headers, timeout=10).text
        assert 'tocsin_source_samples_total{kind="prometheus",outcome="unmapped"}' in metrics
