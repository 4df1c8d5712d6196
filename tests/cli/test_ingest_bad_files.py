"""`tocsin ingest` bad files the bad-input corpus cannot hold (tests/badinput/cases/
cli_ingest.yaml has the others, each with its exact answer).

Kept here: a time past the server's clock (the answer quotes the wall clock, which a case file
cannot write down), and a good file before a bad one in one command (the good file is stored,
which the corpus's "nothing changed" digest cannot express).
"""

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
        path.write_bytes(text.encode("latin-1"))
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
        "csv-not-utf8-after-a-good-file",
        csv(f"indicator,time,value\n{GOOD},2026-01-01T00:00:00Z,1\xe9\n"),
        "bad.csv:2: not UTF-8 text",
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
