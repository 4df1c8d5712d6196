"""Issue 14, item 9: an indicator's threshold and detector rules raise ONE warning.

The gauge D11.river_level has thresholds on its values and a robust z-score detector on them.
A spike crosses both at the same moment; the warning's level is the higher of the two rules'
levels, lifted only when both are back, and it carries both causes. Bulk files give the same
transitions as the rows sent one by one; a restart keeps one warning; warnings raised before
the correlation (one per rule) are adopted.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tocsin.bootstrap import Container, build
from tocsin.config import Settings
from tocsin.core.access import system_principal
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.warnings.model import (
    EventKind,
    Warning,
    WarningEvent,
    WarningId,
    WarningState,
    fingerprint,
)
from tocsin.services.indicator_warnings import indicator_fingerprint
from tocsin.testing.scenario import GAUGE_DETECTOR, gauges_with_detector, write_small_config

SYSTEM = system_principal("test")
T0 = 1_767_225_600
STEP = 600
GAUGES = ("D11.river_level", "D12.river_level")
DETECTOR: dict[str, Any] = {
    **GAUGE_DETECTOR,
    "clear_after_s": 3 * STEP,  # the detector holds its level for three more readings
}


def config(directory: Path, *, detector: dict[str, Any] | None = None) -> Path:
    return write_small_config(directory, **gauges_with_detector(2, detector=detector or DETECTOR))


def calm(n: int, seed: int = 3) -> np.ndarray:
    return 2.0 + 0.05 * np.random.default_rng(seed).standard_normal(n)


def feed(
    container: Container, values: np.ndarray, *, start: int = 0, code: str = GAUGES[0]
) -> list[WarningEvent]:
    n = len(values)
    batch = ObservationBatch(
        np.full(n, container.rules.ids[code], dtype=np.int64),
        T0 + STEP * np.arange(start, start + n, dtype=np.int64),
        np.asarray(values, dtype=np.float64),
    )
    return list(container.ingest.ingest_batch(batch).warning_events)


def spike(container: Container) -> list[WarningEvent]:
    """Thirty calm readings, then 4 m: orange by the threshold, yellow by the detector."""
    values = calm(31)
    values[30] = 4.0
    return feed(container, values)


def at(i: int) -> datetime:
    return datetime.fromtimestamp(T0 + STEP * i, UTC)


def shape(events: list[WarningEvent]) -> list[tuple[str, str, str]]:
    return [(e.kind.value, e.to_level.value, e.at.isoformat()) for e in events]


def test_one_reading_over_both_rules_is_one_warning_downgraded_then_lifted(
    store_url: str, tmp_path: Path
) -> None:
    container = build(Settings(database_url=store_url, config_dir=config(tmp_path)))
    try:
        values = calm(40)
        values[30] = 4.0  # orange by threshold, yellow by the detector, at the same moment
        events = feed(container, values)
        (warning,) = container.warnings.find(principal=SYSTEM, open_only=False)
        assert warning.source == "indicator"
        assert warning.fingerprint == indicator_fingerprint(container.rules.by_id[0])
        assert "above the orange threshold 3.5; detector: yellow" in events[0].reason
        assert events[0].details["cause"]["rules"] == {"threshold": "orange", "detector": "yellow"}
        # the threshold goes back at once, the detector holds three more readings
        assert shape(events) == [
            ("warning.raised", "orange", at(30).isoformat()),
            ("warning.downgraded", "yellow", at(31).isoformat()),
            ("warning.lifted", "yellow", at(34).isoformat()),
        ]
        assert "back to normal; still yellow by the detector rule" in events[1].reason
        assert "robust_z score" in events[1].reason
        assert {e.warning_id for e in events} == {warning.id}
        history = [r.kind for r in container.warnings.history(warning.id, principal=SYSTEM)]
        assert history == ["warning.raised", "warning.downgraded", "warning.lifted"]
    finally:
        container.close()


def test_open_warning_carries_each_rule_while_it_holds(store_url: str, tmp_path: Path) -> None:
    container = build(Settings(database_url=store_url, config_dir=config(tmp_path)))
    try:
        spike(container)
        (warning,) = container.warnings.find(principal=SYSTEM, open_only=True)
        assert warning.level is Level.ORANGE
        assert warning.cause["rules"] == {"threshold": "orange", "detector": "yellow"}
        assert warning.cause["value"] == 4.0
        assert warning.explanation["rule"] == "threshold"  # the dominant rule on top
        causes = warning.explanation["causes"]
        assert causes["detector"]["detector"] == "robust_z"
        assert causes["threshold"]["level"] == "orange"
        assert causes["detector"]["cause"]["score"] >= 0.4
        # the threshold goes back: the detector's explanation moves to the top
        feed(container, calm(1, seed=9), start=31)
        (warning,) = container.warnings.find(principal=SYSTEM, open_only=True)
        assert warning.level is Level.YELLOW
        assert warning.cause["rules"] == {"detector": "yellow"}
        assert warning.explanation["rule"] == "detector"
        assert set(warning.explanation["causes"]) == {"detector"}
    finally:
        container.close()


def test_a_rule_change_below_the_other_rule_is_no_transition(
    store_url: str, tmp_path: Path
) -> None:
    detector = {**DETECTOR, "thresholds": {"yellow": 0.4, "red": 0.6}}
    container = build(
        Settings(database_url=store_url, config_dir=config(tmp_path, detector=detector))
    )
    try:
        values = calm(40)
        values[30] = 3.2  # yellow by threshold; red by the detector (|z| ~ 24)
        events = feed(container, values[:32])  # the threshold is back at 31: no transition
        assert [(e.kind, e.to_level) for e in events] == [(EventKind.RAISED, Level.RED)]
        assert "robust_z score" in events[0].reason
        assert "threshold: yellow" in events[0].reason
        (warning,) = container.warnings.find(principal=SYSTEM, open_only=True)
        assert warning.cause["rules"] == {"detector": "red"}  # but the record of causes is
        assert set(warning.explanation["causes"]) == {"detector"}
        assert warning.updated_at == at(30)  # the moment of the last transition
        assert warning.last_seen_at == at(31)
        events = feed(container, values[32:], start=32)
        assert [(e.kind, e.at) for e in events] == [(EventKind.LIFTED, at(34))]
    finally:
        container.close()


def test_a_restart_in_the_middle_keeps_one_warning(db_url: str, tmp_path: Path) -> None:
    values = calm(60)
    values[30], values[45] = 4.0, 7.0
    straight = build(
        Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", config_dir=config(tmp_path / "s"))
    )
    # reasons name the detector's band after the whole chunk, so compare the causes
    whole = [(e.kind, e.at, e.to_level, e.details["cause"]) for e in feed(straight, values)]
    straight.close()
    first = build(Settings(database_url=db_url, config_dir=config(tmp_path / "r")))
    part = feed(first, values[:32])  # the threshold went back, the detector holds
    first.close()
    second = build(Settings(database_url=db_url))
    part += feed(second, values[32:], start=32)
    try:
        assert [(e.kind, e.at, e.to_level, e.details["cause"]) for e in part] == whole
        assert len({e.warning_id for e in part if e.at < at(40)}) == 1
        assert len(second.warnings.find(principal=SYSTEM, open_only=False)) == 2  # one per episode
    finally:
        second.close()


def _rows(data: st.DataObject) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two gauges read at the same moments: calm, with spikes and plateaus drawn at random."""
    n = data.draw(st.integers(min_value=24, max_value=44))
    values = np.stack([calm(n, seed=1), calm(n, seed=2)])
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        g = data.draw(st.integers(min_value=0, max_value=1))
        i = data.draw(st.integers(min_value=20, max_value=n - 1))
        width = data.draw(st.integers(min_value=1, max_value=4))
        values[g, i : i + width] = data.draw(st.sampled_from([3.2, 3.7, 4.5, 7.0, 2.3]))
    series = np.tile(np.array([0, 1], dtype=np.int64), n)
    times = np.repeat(T0 + STEP * np.arange(n, dtype=np.int64), 2)
    return series, times, values.T.reshape(-1)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_a_bulk_file_gives_the_transitions_of_its_rows_one_by_one(
    tmp_path: Path, data: st.DataObject
) -> None:
    series, times, values = _rows(data)
    directory = config(tmp_path / "c")
    runs = []
    for one_by_one in (False, True):
        container = build(Settings(database_url="memory://", config_dir=directory))
        try:
            idents = np.array([container.rules.ids[c] for c in GAUGES])[series]
            batches = (
                [
                    ObservationBatch(idents[i : i + 1], times[i : i + 1], values[i : i + 1])
                    for i in range(len(times))
                ]
                if one_by_one
                else [ObservationBatch(idents, times, values)]
            )
            events = [e for b in batches for e in container.ingest.ingest_batch(b).warning_events]
            subjects = {
                w.id: w.subject for w in container.warnings.find(principal=SYSTEM, open_only=False)
            }
            runs.append(
                [(subjects[e.warning_id], e.kind, e.at, e.to_level, e.details) for e in events]
            )
            # never two open warnings of one gauge
            open_now = [
                w.subject for w in container.warnings.find(principal=SYSTEM, open_only=True)
            ]
            assert len(open_now) == len(set(open_now))
        finally:
            container.close()
    assert runs[0] == runs[1]


def _as_legacy(container: Container) -> tuple[Warning, Warning]:
    """Replace the gauge's open warning by the two per-rule warnings an older Tocsin kept."""
    (warning,) = container.warnings.find(principal=SYSTEM, open_only=True)
    ind = container.rules.by_id[0]
    causes = warning.explanation["causes"]
    pair = tuple(
        replace(
            warning,
            id=WarningId(uuid.uuid4().hex),
            fingerprint=fingerprint(rule, ind.code, ind.region, ind.domain),
            source=rule,
            level=Level(causes[rule]["level"]),
            labels={**warning.labels, "source": rule},
            cause=causes[rule]["cause"],
            explanation={k: v for k, v in causes[rule].items() if k not in ("cause", "reason")},
        )
        for rule in ("threshold", "detector")
    )
    with container.store.transaction() as tx:
        tx.warnings.save(
            [replace(warning, state=WarningState.LIFTED, lifted_at=warning.updated_at)], new=False
        )
        tx.warnings.save(list(pair), new=True)
    return pair  # type: ignore[return-value]


def test_warnings_raised_before_the_correlation_are_adopted(store_url: str, tmp_path: Path) -> None:
    container = build(Settings(database_url=store_url, config_dir=config(tmp_path)))
    try:
        spike(container)
        threshold, detector = _as_legacy(container)
        assert len(container.warnings.find(principal=SYSTEM, open_only=True)) == 2
        assert feed(container, np.array([4.0]), start=31) == []  # both hold: no change
        seen = {
            w.id: w.last_seen_at for w in container.warnings.find(principal=SYSTEM, open_only=True)
        }
        assert seen == {threshold.id: at(31), detector.id: at(31)}  # found under old keys
        events = feed(container, calm(1, seed=9), start=32)  # the threshold goes back
        assert [(e.warning_id, e.kind, e.to_level) for e in events] == [
            (detector.id, EventKind.LIFTED, Level.YELLOW),  # merged into the higher one
            (threshold.id, EventKind.DOWNGRADED, Level.YELLOW),  # still held by the detector
        ]
        assert f"merged into warning {threshold.id}" in events[0].reason
        (kept,) = container.warnings.find(principal=SYSTEM, open_only=True)
        assert kept.id == threshold.id
        assert kept.source == "indicator"
        assert kept.fingerprint == indicator_fingerprint(container.rules.by_id[0])
        assert kept.labels["source"] == "indicator"
        assert kept.cause["rules"] == {"detector": "yellow"}
        assert kept.explanation["causes"]["detector"]["detector"] == "robust_z"
        events = feed(container, calm(3, seed=8), start=33)  # the detector goes back too
        assert [(e.warning_id, e.kind, e.at) for e in events] == [
            (threshold.id, EventKind.LIFTED, at(35))
        ]
    finally:
        container.close()
