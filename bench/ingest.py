"""Ingest benchmark: observations per second from a CSV file to stored and rule-evaluated.

    python bench/ingest.py [--rows 10000000] [--indicators 100000] [--db sqlite|postgres|both]

Generates two CSV files of `rows` observations each over `indicators` indicators (time-ordered,
one value per indicator per minute, a random walk with rare excursions past the thresholds; the
second file continues the first), a configuration with per-level thresholds for every
indicator, then times `tocsin ingest`'s path end to end for each file: read and validate the
file (pyarrow), map codes to ids, deduplicate, store, evaluate the threshold rules, write
warnings and the rule state, commit. Set-up (generating files, loading the configuration) is
not timed.

The first file goes into an empty database: this is the figure the target is about. The second
goes in after it: on SQLite a B-tree twice the size, on PostgreSQL a weekly partition that
exists and is indexed already, so its rows take the row-by-row index path instead of the bulk
load of a new week (see src/tocsin/adapters/storage/partitions.py). Both are printed.
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
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.observations import ObservationBatch
from tocsin.testing.postgres import create_database, postgres_cluster

CHUNK = 1_000_000
TARGET = 500_000  # observations/s end to end, the target for each database
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
    # written as JSON (which is YAML too): 100,000 indicators load in seconds, not half a minute
    (directory / "indicators.yaml").write_text(json.dumps({"indicators": inds}), encoding="utf-8")


def write_csvs(paths: list[Path], rows: int, indicators: int, seed: int = 7) -> None:
    """Time-ordered observations, `rows` per file, each file continuing the one before.

    Each minute, every indicator once. Values follow an AR(1) process with unit stationary
    deviation, so the blue threshold (3.5) is crossed rarely, as in real monitoring (a few
    warning changes per 10,000 observations).
    """
    rng = np.random.default_rng(seed)
    steps = rows // indicators
    codes = pa.array([f"i{i:06d}" for i in range(indicators)], type=pa.string())
    level = np.zeros(indicators)
    for f, path in enumerate(paths):
        with path.open("wb") as handle:
            writer = None
            for s in range(f * steps, (f + 1) * steps):
                level = 0.9 * level + rng.normal(0, np.sqrt(1 - 0.81), indicators)
                table = pa.table(
                    {
                        "indicator": codes,
                        "time": pa.array(np.full(indicators, T0 + 60 * s, dtype=np.int64)),
                        "value": pa.array(np.round(level, 3)),
                    }
                )
                if writer is None:
                    writer = pacsv.CSVWriter(handle, table.schema)
                writer.write_table(table)
            if writer is not None:
                writer.close()


def ingest_file(container: Container, csv_path: Path) -> dict[str, float]:
    """Time one file's path to committed warnings, as `tocsin ingest` takes it (one transaction)."""
    ids = container.rules.ids
    started = time.perf_counter()
    columns = read_observation_file(csv_path)
    read_s = time.perf_counter() - started
    lookup = np.array([ids[str(c)] for c in columns.codes], dtype=np.int64)
    batch = ObservationBatch(lookup[columns.code_index], columns.times, columns.values)
    chunks = [batch.take(slice(i, i + CHUNK)) for i in range(0, len(batch), CHUNK)]
    result = container.ingest.ingest_chunks(chunks)
    total_s = time.perf_counter() - started
    return {
        "observations": float(result.received),
        "warning_changes": float(len(result.warning_events)),
        "read_s": round(read_s, 2),
        "total_s": round(total_s, 2),
        "obs_per_s": round(result.received / total_s),
    }


def run_once(db_url: str, config: Path, files: list[Path]) -> dict[str, dict[str, float]]:
    """Build a container (untimed), then ingest the first file into the empty database and the
    second after it (the same week: on PostgreSQL a partition that exists and is indexed)."""
    container = build(Settings(database_url=db_url, config_dir=config, env="dev"))
    first = ingest_file(container, files[0])
    second = ingest_file(container, files[1])
    with container.store.transaction() as tx:
        stored = tx.observations.count()
    container.close()
    second["stored_in_all"] = float(stored)
    return {"empty": first, "populated": second}


def report(name: str, out: dict[str, dict[str, float]], note: str) -> None:
    """Print one database's two figures."""
    for phase, label in (("empty", "into an empty database"), ("populated", "into it once more")):
        fig = out[phase]
        print(
            f"{name:<18} {fig['obs_per_s']:>12,.0f} obs/s  {label:<24} "
            f"({fig['total_s']} s, read {fig['read_s']} s, "
            f"{fig['warning_changes']:,.0f} warning changes{note})"
        )


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
        files = [work / "first.csv", work / "second.csv"]
        write_csvs(files, args.rows, args.indicators)
        size_mb = files[0].stat().st_size / 1e6
        print(
            f"generated 2 files of {args.rows:,} observations over {args.indicators:,} "
            f"indicators ({size_mb:.0f} MB CSV each) in {time.perf_counter() - started:.1f} s"
        )
        if args.db in ("sqlite", "both"):
            out = run_once(f"sqlite:///{work / 'bench.db'}", work / "config", files)
            report("SQLite (WAL)", out, "")
            figures["sqlite"] = out
        if args.db in ("postgres", "both"):
            with postgres_cluster() as server:
                out = run_once(create_database(server, "bench"), work / "config", files)
            report("PostgreSQL (COPY)", out, "; fsync off")
            figures["postgres"] = out
    met = {
        db: out["empty"]["obs_per_s"] >= TARGET
        for db in ("sqlite", "postgres")
        if isinstance(out := figures.get(db), dict)
    }
    print(
        f"target {TARGET:,} obs/s (first file, empty database): "
        + ", ".join(f"{db} {'met' if ok else 'NOT met'}" for db, ok in met.items())
    )
    figures["target_obs_per_s"] = TARGET
    figures["target_met"] = met
    figures["machine"] = machine
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
