"""The CSV scoring use case."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from tocsin.services.detection import MalformedInput, choose_kind, parse_timestamp, score_csv


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return path


def _series(n: int, spike_at: int) -> list[str]:
    rng = np.random.default_rng(0)
    values = 10 + rng.normal(size=n)
    values[spike_at] = 60.0
    return [f"2024-01-01T00:{i // 60:02d}:{i % 60:02d},{v:.4f}" for i, v in enumerate(values)]


def test_scores_every_row_and_flags_the_spike(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", "timestamp,value", _series(1200, 1000))
    out = tmp_path / "out.csv"
    summary = score_csv(src, out, kind="robust_z")
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert summary.rows == len(rows) == 1200
    assert list(rows[0]) == ["timestamp", "anomaly_score", "is_anomaly"]
    flagged = [i for i, r in enumerate(rows) if r["is_anomaly"] == "1"]
    assert 1000 in flagged
    assert all(0.0 <= float(r["anomaly_score"]) <= 1.0 for r in rows)


def test_several_columns_use_a_multivariate_detector(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    base = rng.normal(size=500)
    rows = [
        f"{1_700_000_000 + 60 * i},{b:.4f},{b + 0.01 * rng.normal():.4f}"
        for i, b in enumerate(base)
    ]
    rows[450] = f"{1_700_000_000 + 60 * 450},2.0,-2.0"
    src = _write(tmp_path / "in.csv", "timestamp,a,b", rows)
    summary = score_csv(src, tmp_path / "out.csv", kind="auto")
    assert summary.kind == "auto_group"
    assert summary.anomalies >= 1


@pytest.mark.parametrize(
    ("header", "rows", "message"),
    [
        ("timestamp", ["2024-01-01,1"], "header"),
        ("timestamp,value", ["2024-01-01,abc"], "not a number"),
        ("timestamp,value", ["yesterday,1"], "timestamp"),
        ("timestamp,value", ["2024-01-01,1,2"], "fields"),
        ("timestamp,value", ["2024-01-02,1", "2024-01-01,2"], "backwards"),
    ],
)
def test_malformed_files_raise_clear_errors(
    tmp_path: Path, header: str, rows: list[str], message: str
) -> None:
    src = _write(tmp_path / "bad.csv", header, rows)
    with pytest.raises(MalformedInput, match=message):
        score_csv(src, tmp_path / "out.csv", kind="ewma")


def test_timestamps_epoch_and_iso_agree() -> None:
    assert parse_timestamp("1700000000", line=1) == parse_timestamp("2023-11-14T22:13:20Z", line=1)
    assert parse_timestamp("2023-11-14 22:13:20", line=1) == 1_700_000_000


def test_choose_kind_refuses_mismatched_width() -> None:
    with pytest.raises(MalformedInput):
        choose_kind("ewma", 3)
    with pytest.raises(MalformedInput):
        choose_kind("mahalanobis", 1)
    assert choose_kind("auto", 1) == "auto"
