"""Ingest benchmark: observations per second from a CSV file to stored and rule-evaluated.

    python bench/ingest.py [--rows 10000000] [--indicators 100000] [--db sqlite|postgres|both]

Generates a CSV of `rows` observations over `indicators` indicators (time-ordered, one value per
indicator per minute, a random walk with rare excursions past the thresholds), a configuration
with per-level thresholds for every indicator, then times `tocsin ingest`'s path end to end:
read and validate the file (pyarrow), map codes to ids, deduplicate, store (SQLite executemany
in WAL mode / PostgreSQL binary COPY + merge), evaluate the threshold rules, write warnings and
the rule state, commit. Set-up (generating files, loading the configuration) is not timed.
PostgreSQL runs in a throw-away local cluster with fsync off (stated in the output).
The last line printed is a JSON object of the figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import describe
from tocsin.adapters.files import read_observation_file
from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.core.observations import ObservationBatch
from tocsin.testing.postgres import create_database, postgres_cluster

CHUNK = 1_000_000
T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


def write_config(directory: Path, indicators: int) -> None:
    """A nation, 10 provinces, 100 districts; indicators spread over districts."""
    directory.mkdir(parents=True, exist_ok=True)
    regions = [{"code": "N", "name": "Nation", "level": "nation"}]
    regions += [
        {"code": f"P{p}", "name": f"P{p}", "level": "province", "parent": "N"} for p in range(10)
    ]
    regions += [
        {"code": f"D{d}", "name": f"D{d}", "level": "district", "parent": f"P{d // 10}"}
        for d in range(100)
    ]
    inds = [
        {
            "code": f"i{i:06d}",
            "name": f"indicator {i}",
            "region": f"D{i % 100}",
            "domain": "infrastructure.power",
            "unit": "%",
            "thresholds": {"blue": 3.5, "yellow": 4.0, "orange": 4.5, "red": 5.0},
            "raise_after_s": 60,
            "hysteresis": 0.2,
        }
        for i in range(indicators)
    ]
    (directory / "regions.yaml").write_text(
        yaml.safe_dump({"levels": ["nation", "province", "district"], "regions": regions})
    )
    (directory / "indicators.yaml").write_text(
        yaml.safe_dump({"indicators": inds}), encoding="utf-8"
    )


def write_csv(path: Path, rows: int, indicators: int, seed: int = 7) -> None:
    """Time-ordered observations: each minute, every indicator once.

    Values follow an AR(1) process with unit stationary deviation, so the blue threshold (3.5)
    is crossed rarely, as in real monitoring (a few warning changes per 10,000 observations).
    """
    rng = np.random.default_rng(seed)
    steps = rows // indicators
    codes = np.array([f"i{i:06d}" for i in range(indicators)], dtype=object)
    level = np.zeros(indicators)
    writer = None
    with path.open("wb") as handle:
        for s in range(steps):
            level = 0.9 * level + rng.normal(0, np.sqrt(1 - 0.81), indicators)
            table = pa.table(
                {
                    "indicator": pa.array(codes, type=pa.string()),
                    "time": pa.array(np.full(indicators, T0 + 60 * s, dtype=np.int64)),
                    "value": pa.array(np.round(level, 3)),
                }
            )
            if writer is None:
                writer = pacsv.CSVWriter(handle, table.schema)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def run_once(db_url: str, config: Path, csv_path: Path) -> dict[str, float]:
    """Build a container (untimed), then time the file's path to committed warnings."""
    container = build(Settings(database_url=db_url, config_dir=config))
    ids = container.rules.ids
    started = time.perf_counter()
    columns = read_observation_file(csv_path)
    read_s = time.perf_counter() - started
    lookup = np.array([ids[str(c)] for c in columns.codes], dtype=np.int64)
    series = lookup[columns.code_index]
    batch = ObservationBatch(series, columns.times, columns.values)
    chunks = [
        ObservationBatch(
            batch.series[i : i + CHUNK], batch.times[i : i + CHUNK], batch.values[i : i + CHUNK]
        )
        for i in range(0, len(batch), CHUNK)
    ]
    result = container.ingest.ingest_chunks(chunks)
    total_s = time.perf_counter() - started
    with container.store.transaction() as tx:
        stored = tx.count_observations()
    container.close()
    return {
        "observations": float(result.received),
        "stored": float(stored),
        "warning_changes": float(len(result.warning_events)),
        "read_s": round(read_s, 2),
        "total_s": round(total_s, 2),
        "obs_per_s": round(result.received / total_s),
    }


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--indicators", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    machine = describe()
    print(f"machine: {machine}")
    figures: dict[str, object] = {"rows": args.rows, "indicators": args.indicators}
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        write_config(work / "config", args.indicators)
        write_csv(work / "obs.csv", args.rows, args.indicators)
        size_mb = (work / "obs.csv").stat().st_size / 1e6
        print(
            f"generated {args.rows:,} observations over {args.indicators:,} indicators "
            f"({size_mb:.0f} MB CSV) in {time.perf_counter() - started:.1f} s"
        )
        if args.db in ("sqlite", "both"):
            out = run_once(f"sqlite:///{work / 'bench.db'}", work / "config", work / "obs.csv")
            print(
                f"SQLite (WAL):      {out['obs_per_s']:>12,.0f} obs/s  "
                f"({out['total_s']} s, read {out['read_s']} s, "
                f"{out['warning_changes']:,.0f} warning changes)"
            )
            figures["sqlite"] = out
        if args.db in ("postgres", "both"):
            with postgres_cluster() as server:
                url = create_database(server, "bench")
                out = run_once(url, work / "config", work / "obs.csv")
            print(
                f"PostgreSQL (COPY): {out['obs_per_s']:>12,.0f} obs/s  "
                f"({out['total_s']} s, read {out['read_s']} s, "
                f"{out['warning_changes']:,.0f} warning changes; fsync off)"
            )
            figures["postgres"] = out
    figures["machine"] = machine
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
