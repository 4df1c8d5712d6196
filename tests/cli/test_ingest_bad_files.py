"""The bad-file corpus of `tocsin ingest`: each case refused whole, named, nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from tests.cli.test_cli import count
from tocsin.cli.main import app
from tocsin.testing.scenario import write_small_config

GOOD = "D11.river_level"
Maker = Callable[[Path], Path]


def csv(text: str) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / "bad.csv"
        path.write_text(text)
        return path

    return make


def parquet(**columns: pa.Array) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / "bad.parquet"
        pq.write_table(pa.table(columns), path)
        return path

    return make


CASES: list[tuple[str, Maker, str]] = [
    (
        "csv-empty-time",
        csv(f"indicator,time,value\n{GOOD},2026-01-01T00:00:00Z,1\n{GOOD},,2\n"),
        "bad.csv:3: time: empty",
    ),
    (
        "csv-time-beyond-9999",
        csv(f"indicator,time,value\n{GOOD},99999999999999,1\n"),
        "bad.csv:2: time: outside the supported range 1900-01-01 to 9999-12-31: 99999999999999",
    ),
    (
        "csv-time-in-exponent-form",
        csv(f"indicator,time,value\n{GOOD},1e20,1\n"),
        "bad.csv:2: time: not an ISO 8601 time or epoch seconds: '1e20'",
    ),
    (
        "csv-time-before-1900",
        csv(f"indicator,time,value\n{GOOD},1800-01-01T00:00:00Z,1\n"),
        "bad.csv:2: time: outside the supported range 1900-01-01 to 9999-12-31",
    ),
    (
        "csv-time-in-the-future",
        csv(
            f"indicator,time,value\n{GOOD},2026-01-01T00:00:00Z,1\n{GOOD},2100-01-01T00:00:00Z,9\n"
        ),
        "bad.csv:3: time: 2100-01-01T00:00:00Z is later than the server's clock allows",
    ),
    (
        "parquet-time-in-the-future",
        parquet(
            indicator=pa.array([GOOD]),
            time=pa.array([4_102_444_800], pa.timestamp("s")),
            value=pa.array([9.0]),
        ),
        "bad.parquet:1: time: 2100-01-01T00:00:00Z is later than the server's clock allows",
    ),
    (
        "parquet-null-timestamp",
        parquet(
            indicator=pa.array([GOOD, GOOD]),
            time=pa.array([1_767_225_600, None], pa.timestamp("s")),
            value=pa.array([1.0, 2.0]),
        ),
        "bad.parquet:2: time: empty",
    ),
    (
        "parquet-null-integer-time",
        parquet(
            indicator=pa.array([GOOD, GOOD]),
            time=pa.array([None, 1_767_225_600], pa.int64()),
            value=pa.array([1.0, 2.0]),
        ),
        "bad.parquet:1: time: empty",
    ),
    (
        "parquet-uint64-max-time",
        parquet(
            indicator=pa.array([GOOD]),
            time=pa.array([2**64 - 1], pa.uint64()),
            value=pa.array([1.0]),
        ),
        "bad.parquet:1: time: outside the supported range 1900-01-01 to 9999-12-31: "
        "18446744073709551615",
    ),
    (
        "parquet-epoch-milliseconds",
        parquet(
            indicator=pa.array([GOOD]),
            time=pa.array([1_767_225_600_000_000], pa.int64()),
            value=pa.array([1.0]),
        ),
        "bad.parquet:1: time: outside the supported range",
    ),
    (
        "parquet-float-time",
        parquet(indicator=pa.array([GOOD]), time=pa.array([1.5]), value=pa.array([1.0])),
        "bad.parquet: time: column of type double; expected times",
    ),
    (
        "parquet-text-values",
        parquet(indicator=pa.array([GOOD]), time=pa.array([1_767_225_600]), value=pa.array(["x"])),
        "bad.parquet: value: column of type string; expected numbers",
    ),
    (
        "parquet-boolean-values",
        parquet(indicator=pa.array([GOOD]), time=pa.array([1_767_225_600]), value=pa.array([True])),
        "bad.parquet: value: column of type bool; expected numbers",
    ),
    (
        "parquet-integer-codes",
        parquet(indicator=pa.array([11]), time=pa.array([1_767_225_600]), value=pa.array([1.0])),
        "bad.parquet: indicator: column of type int64; expected text",
    ),
    (
        "parquet-null-value",
        parquet(
            indicator=pa.array([GOOD]),
            time=pa.array([1_767_225_600]),
            value=pa.array([None], pa.float64()),
        ),
        "bad.parquet:1: value: not a finite number",
    ),
]


@pytest.mark.parametrize(("maker", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_file_is_refused_whole_and_stores_nothing(
    tmp_path: Path, maker: Maker, expected: str
) -> None:
    config = write_small_config(tmp_path / "config")
    db = f"sqlite:///{tmp_path / 'db.sqlite'}"
    good = tmp_path / "good.csv"
    good.write_text(f"indicator,time,value\n{GOOD},2026-01-01T00:00:00Z,1\n")
    bad = maker(tmp_path)
    result = CliRunner().invoke(
        app, ["ingest", str(good), str(bad), "--db", db, "--config", str(config)]
    )
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "nothing was stored" in result.output
    assert f"{tmp_path}/{expected}" in " ".join(result.output.split())
    assert count(db) == 1  # the good file's row: each file is its own transaction
