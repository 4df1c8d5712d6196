"""Rules on detector scores: warnings that name the detector, score and expected band;
detector state survives a restart (checkpoint in the same transaction)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tocsin.adapters.storage.sql.checkpoints import SqlCheckpoints
from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.errors import InvalidInput
from tocsin.core.observations import ObservationBatch
from tocsin.testing.scenario import small_config, write_small_config

SYSTEM = system_principal("test")

T0 = 1_767_225_600
DETECTOR = {
    "kind": "robust_z",
    "params": {"warmup": 20, "z_threshold": 5.0},
    # robust_z scores |z| / (|z| + z_threshold): 0.4 is |z| = 3.33, 0.5 is |z| = 5
    "thresholds": {"yellow": 0.4, "red": 0.5},
}


def config(tmp_path: Path) -> Path:
    docs = small_config()
    gauge: dict[str, Any] = docs["indicators.yaml"]["indicators"][0]
    gauge["detector"] = DETECTOR
    gauge["thresholds"] = {"red": 1000.0}  # keep the plain threshold rule out of the way
    return write_small_config(tmp_path / "config", **docs)


def series(n: int, spike_at: int | None = None, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = 2.0 + 0.05 * rng.standard_normal(n)
    if spike_at is not None:
        values[spike_at] = 4.0
    return values


def feed(container: Container, values: np.ndarray, start: int = 0) -> list[Any]:
    ident = container.rules.ids["D11.river_level"]
    n = len(values)
    batch = ObservationBatch(
        np.full(n, ident, dtype=np.int64),
        T0 + 600 * np.arange(start, start + n, dtype=np.int64),
        values,
    )
    return list(container.ingest.ingest_batch(batch).warning_events)


def test_a_spike_raises_a_detector_warning_that_explains_itself(
    db_url: str, tmp_path: Path
) -> None:
    container = build(Settings(database_url=db_url, config_dir=config(tmp_path)))
    try:
        events = feed(container, series(300, spike_at=250))
        kinds = [(e.kind.value, e.to_level.value) for e in events]
        assert kinds[0] == ("warning.raised", "red")
        (warning,) = container.warnings.find(principal=SYSTEM, open_only=False)
        assert warning.source == "indicator"
        assert warning.cause["rules"] == {"detector": "red"}
        explanation = dict(warning.explanation)
        assert explanation["rule"] == "detector"
        assert list(explanation["causes"]) == ["detector"]
        assert explanation["detector"] == "robust_z"
        assert explanation["score"] >= 0.5
        lo, hi = explanation["expected_range"]
        assert lo < 2.0 < hi < 4.0
        assert warning.cause["value"] == 4.0
        assert "robust_z score" in events[0].reason
    finally:
        container.close()


def test_no_warning_during_warm_up_or_on_normal_data(sqlite_url: str, tmp_path: Path) -> None:
    container = build(Settings(database_url=sqlite_url, config_dir=config(tmp_path)))
    try:
        assert feed(container, series(300)) == []
    finally:
        container.close()


def test_detector_state_survives_a_restart(sqlite_url: str, tmp_path: Path) -> None:
    values = series(400, spike_at=350)
    straight = build(
        Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}", config_dir=config(tmp_path / "a"))
    )
    whole = [(e.kind, e.at, e.reason) for e in feed(straight, values)]
    straight.close()
    first = build(Settings(database_url=sqlite_url, config_dir=config(tmp_path / "b")))
    part = feed(first, values[:200])
    first.close()
    second = build(Settings(database_url=sqlite_url))  # a restart: state from the database
    part += feed(second, values[200:], start=200)
    second.close()
    assert [(e.kind, e.at, e.reason) for e in part] == whole
    assert whole


def test_a_failed_batch_leaves_the_detector_as_it_was(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    container = build(Settings(database_url=sqlite_url, config_dir=config(tmp_path)))
    try:
        feed(container, series(100))
        scoring = container.ingest.scoring
        assert scoring is not None
        before = scoring.to_bytes()

        def disk_full(*_: object) -> None:
            raise OSError("disk full")

        # fails after the detector has scored the batch, inside the transaction
        monkeypatch.setattr(SqlCheckpoints, "save_thresholds", disk_full)
        with pytest.raises(OSError, match="disk full"):
            feed(container, series(50, spike_at=10), start=100)
        assert scoring.to_bytes() == before
        with container.store.transaction() as tx:
            assert tx.observations.count() == 100
    finally:
        container.close()


def test_unknown_series_ids_are_rejected(sqlite_url: str, tmp_path: Path) -> None:
    container = build(Settings(database_url=sqlite_url, config_dir=config(tmp_path)))
    try:
        bad = ObservationBatch(np.array([10_000]), np.array([T0]), np.array([1.0]))
        with pytest.raises(InvalidInput, match="unknown indicator id 10000"):
            container.ingest.ingest_batch(bad)
    finally:
        container.close()


def test_scores_endpoint_replays_history(sqlite_url: str, tmp_path: Path) -> None:
    from tocsin.services.scoring import replay_scores

    container = build(Settings(database_url=sqlite_url, config_dir=config(tmp_path)))
    try:
        feed(container, series(300, spike_at=250))
        out = replay_scores(container.store, container.rules, "D11.river_level")
        assert out["detector"] == "robust_z"
        assert len(out["scores"]) == 300
        assert int(np.argmax(out["scores"])) == 250
    finally:
        container.close()
