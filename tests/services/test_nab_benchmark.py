"""The NAB benchmark service on the real corpus: reference detectors with known scores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tocsin.core.nab import probation_length
from tocsin.services.nab_benchmark import (
    benchdata_root,
    load_corpus,
    run_detector,
    score_files,
    write_results,
)

NAB = benchdata_root() / "nab"
pytestmark = pytest.mark.skipif(not NAB.is_dir(), reason="NAB data not available")


def test_corpus_shape_matches_the_readme() -> None:
    files = load_corpus(NAB)
    assert len(files) == 58
    assert sum(f.values.size for f in files) == 365_558
    assert sum(len(f.windows) for f in files) == 116
    for f in files:
        for left, right in f.windows:
            assert probation_length(f.values.size) <= left <= right < f.values.size


def test_null_and_perfect_detectors_score_zero_and_hundred() -> None:
    files = load_corpus(NAB)
    null = score_files(files, [np.zeros(f.values.size) for f in files])
    perfect_scores = []
    for f in files:
        s = np.zeros(f.values.size)
        for left, _ in f.windows:
            s[left] = 1.0
        perfect_scores.append(s)
    perfect = score_files(files, perfect_scores)
    for name in null:
        assert null[name].normalised == pytest.approx(0.0)
        assert perfect[name].normalised == pytest.approx(100.0)


def test_written_layout_round_trips_the_scores(tmp_path: Path) -> None:
    files = load_corpus(NAB)[:3]
    scores = run_detector(files, "ewma")
    written = write_results(tmp_path, "ewma", files, scores)
    for f, s in zip(files, written, strict=True):
        path = tmp_path / "ewma" / f.category / f"ewma_{f.file_name}"
        lines = path.read_text().splitlines()
        assert lines[0] == "timestamp,value,anomaly_score,label"
        data = (NAB / "data" / f.relative).read_text().splitlines()
        assert [ln.rsplit(",", 2)[0] for ln in lines[1:]] == data[1:]
        back = np.array([float(ln.split(",")[2]) for ln in lines[1:]])
        assert np.array_equal(back, s)
        assert ((back >= 0) & (back <= 1)).all()


def test_auto_checkpoint_mid_corpus_gives_identical_scores() -> None:
    from tocsin.core.detectors import make_detector

    files = load_corpus(NAB)[:6]
    series = np.concatenate([np.full(f.values.size, i) for i, f in enumerate(files)])
    times = np.concatenate([f.times for f in files])
    values = np.concatenate([f.values for f in files])
    order = np.lexsort((series, times))  # interleave the files by time
    series, times, values = series[order], times[order], values[order]
    whole = make_detector("auto").score_batch(series, times, values)
    cut = values.size // 2
    first = make_detector("auto")
    head = first.score_batch(series[:cut], times[:cut], values[:cut])
    second = make_detector("auto")
    second.restore(first.checkpoint())
    tail = second.score_batch(series[cut:], times[cut:], values[cut:])
    assert np.array_equal(np.concatenate([head, tail]), whole)
