"""Running a detector over a labelled corpus: layout, pairing of train and test, figures."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from tocsin.core.rules.alarms import AlarmRule
from tocsin.services.corpus_benchmark import format_row, load_corpus, run_corpus


def _write(path: Path, values: np.ndarray, labels: np.ndarray, *, gz: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = "value" if values.ndim == 1 else ",".join(f"c{j}" for j in range(values.shape[1]))
    lines = [f"timestamp,{columns},label"]
    rows = values if values.ndim == 2 else values[:, None]
    for i, (row, lab) in enumerate(zip(rows, labels, strict=True)):
        stamp = np.datetime64("2020-01-01T00:00:00") + np.timedelta64(60 * i, "s")
        cells = ",".join("" if np.isnan(v) else repr(float(v)) for v in row)
        lines.append(f"{stamp}Z,{cells},{int(lab)}")
    text = "\n".join(lines) + "\n"
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def _series(n: int, at: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    values = np.sin(np.arange(n) / 10.0) + 0.1 * rng.normal(size=n)
    labels = np.zeros(n, dtype=bool)
    values[at : at + 20] += 5.0
    labels[at : at + 20] = True
    return values, labels


def test_univariate_corpus_in_sub_folders(tmp_path: Path) -> None:
    for k, sub in enumerate(("a", "b")):
        name = f"s{k}.csv" + (".gz" if k == 1 else "")
        _write(tmp_path / sub / name, *_series(1500, 1200, k), gz=k == 1)
    (tmp_path / "a" / "README.md").write_text("not data")
    (tmp_path / "a" / "events.csv").write_text("file,start\nx,1\n")  # a side file: skipped
    result = run_corpus(tmp_path, "auto", name="tiny")
    fig = result.figures
    assert (fig.files, fig.ranges) == (2, 2)
    assert fig.event_recall == 1.0
    assert fig.top1 == 1.0
    assert fig.delay_median == 0.0
    assert set(result.nab) == {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}
    assert "tiny" in format_row(result)


def test_train_and_test_are_paired_by_name_and_train_anomalies_left_out(tmp_path: Path) -> None:
    values, labels = _series(800, 600, 3)
    train_labels = np.zeros(800, dtype=bool)
    train_labels[:50] = True
    _write(tmp_path / "train" / "m.csv", values, train_labels)
    _write(tmp_path / "test" / "m.csv", values, labels)
    _write(tmp_path / "test" / "solo.csv", values, labels)
    files = {f.name: f for f in load_corpus(tmp_path)}
    assert set(files) == {"test/m.csv", "test/solo.csv"}
    assert files["test/m.csv"].scored_from == 750
    assert files["test/m.csv"].times.size == 1550
    assert files["test/solo.csv"].scored_from == 0


def test_several_columns_go_to_the_group_detector(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    base = rng.normal(size=(1200, 1))
    values = np.hstack([base, base + 0.05 * rng.normal(size=(1200, 1))])
    labels = np.zeros(1200, dtype=bool)
    values[1000:1100, 1] = -values[1000:1100, 0]
    labels[1000:1100] = True
    values[500, 0] = np.nan
    _write(tmp_path / "g.csv", values, labels)
    result = run_corpus(tmp_path, "auto", rule=AlarmRule(hold=30))
    assert result.figures.event_recall == 1.0
    assert result.figures.point_f1 > 0.5


def test_an_empty_or_malformed_corpus_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no corpus files"):
        load_corpus(tmp_path)
    (tmp_path / "x.csv").write_text("timestamp,value\n2020-01-01T00:00:00Z,1\n")
    with pytest.raises(ValueError, match="label"):
        load_corpus(tmp_path)
