"""Ingest use cases: observation batches through storage and threshold rules into warnings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.events import Event
from tocsin.core.indicators import Direction, Indicator
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.rules.thresholds import ThresholdState, evaluate_thresholds
from tocsin.core.warnings.model import (
    Command,
    WarningEvent,
)
from tocsin.ports import Bus, Clock, Store, StoreSession
from tocsin.services.level_changes import apply_level_changes, level_command, touch_open_warnings
from tocsin.services.publishing import warning_message
from tocsin.services.rules import RuleBook
from tocsin.services.scoring import ScoreRules

log = logging.getLogger(__name__)

RULE_ACTOR = "rule:threshold"


@dataclass(frozen=True, slots=True)
class RawObservations:
    """Observations as received: indicator codes, epoch seconds, values; `where` names each row.

    With `code_index`, `codes` holds each distinct code once and `code_index` gives every row's
    position in it (dictionary encoding, as columnar formats deliver it)."""

    codes: Sequence[str] | npt.NDArray[Any]
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    where: Sequence[str] | None = None
    code_index: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What a batch did."""

    received: int
    stored: int
    evaluated: int
    warning_events: tuple[WarningEvent, ...] = field(default_factory=tuple)


def to_batch(raw: RawObservations, ids: dict[str, int], *, source: str) -> ObservationBatch:
    """Map codes to ids and check values; raise InvalidInput naming every bad row (up to 50)."""
    codes = raw.codes
    if raw.code_index is not None:  # dictionary encoded: look up each distinct code once
        lookup = np.array([ids.get(str(c), -1) for c in codes], dtype=np.int64)
        series = lookup[raw.code_index] if len(raw.code_index) else np.empty(0, np.int64)
    else:
        series = np.fromiter((ids.get(c, -1) for c in codes), dtype=np.int64, count=len(codes))
    problems: list[Problem] = []

    def where(i: int) -> str:
        return raw.where[i] if raw.where is not None else f"{source}[{i}]"

    def code(i: int) -> object:
        return codes[int(raw.code_index[i])] if raw.code_index is not None else codes[i]

    for i in np.flatnonzero(series < 0)[:50]:
        problems.append(Problem(where(int(i)), "indicator", f"unknown indicator {code(i)!r}"))
    bad_values = ~np.isfinite(raw.values)
    for i in np.flatnonzero(bad_values)[:50]:
        problems.append(Problem(where(int(i)), "value", "not a finite number"))
    if problems:
        raise InvalidInput(problems)
    return ObservationBatch(
        series.astype(np.int64), raw.times.astype(np.int64), raw.values.astype(np.float64)
    )


@dataclass(frozen=True, slots=True)
class ChunkPass:
    """What one chunk's pass did: rows received, which rows were evaluated, warning events."""

    received: int
    accepted: npt.NDArray[np.bool_]  # per row of the chunk, deduplicated
    events: list[WarningEvent]


@dataclass(frozen=True)
class ThresholdRule:
    """The per-level threshold rule over a batch of raw observations."""

    book: RuleBook
    batch: ObservationBatch
    source: str = "threshold"

    def indicator(self, series: int) -> Indicator:
        """Series indices are indicator ids."""
        return self.book.by_id[series]

    def command(self, series: int, old: int, new: int, index: int, at: datetime) -> Command:
        """Raise/upgrade/downgrade/lift with the observation, thresholds and direction."""
        ind = self.indicator(series)
        value = float(self.batch.values[index])
        cause: dict[str, object] = {"indicator": ind.code, "time": at.isoformat(), "value": value}
        if new == 0:
            reason = f"{ind.code} = {value:g} {ind.unit}".rstrip() + " is back to normal"
            return level_command(
                kind_old=old, new=0, actor=RULE_ACTOR, reason=reason, cause=cause, explanation=None
            )
        level = Level.from_rank(new)
        threshold = ind.thresholds.for_level(level)
        cause["threshold"] = threshold
        worse = "above" if ind.direction is Direction.HIGHER_IS_WORSE else "below"
        reason = (
            f"{ind.code} = {value:g} {ind.unit}".rstrip()
            + f" is {worse} the {level.value} threshold {threshold:g}"
        )
        explanation: dict[str, object] = {
            "rule": "threshold",
            "indicator": ind.code,
            "name": ind.name,
            "unit": ind.unit,
            "direction": ind.direction.value,
            "value": value,
            "level": level.value,
            "thresholds": {lv.value: ind.thresholds.for_level(lv) for lv in Level},
            "raise_after_s": int(ind.raise_after.total_seconds()),
            "clear_after_s": int(ind.clear_after.total_seconds()),
            "hysteresis": ind.hysteresis,
        }
        return level_command(
            kind_old=old,
            new=new,
            actor=RULE_ACTOR,
            reason=reason,
            cause=cause,
            explanation=explanation,
        )


class IngestService:
    """Stores observation batches and runs the rules over them, all or nothing."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        clock: Clock,
        rules: RuleBook,
        state: ThresholdState,
        scoring: ScoreRules | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.rules = rules
        self.state = state
        self.scoring = scoring
        self._lock = threading.Lock()  # one transaction at a time changes the rule state

    def last_times(self) -> npt.NDArray[np.int64]:
        """Each indicator's newest processed observation time (NEVER if none), a copy."""
        with self._lock:
            out: npt.NDArray[np.int64] = self.state.last_time.copy()
        return out

    def validate(self, raw: RawObservations, *, source: str = "observations") -> ObservationBatch:
        """The batch of ids a request's rows name; InvalidInput naming every bad row."""
        return to_batch(raw, self.rules.ids, source=source)

    def ingest(self, raw: RawObservations, *, source: str = "observations") -> IngestResult:
        """Validate, store and evaluate one batch; nothing is stored if anything is wrong."""
        return self.ingest_batch(self.validate(raw, source=source))

    def ingest_batch(self, batch: ObservationBatch) -> IngestResult:
        """Store and evaluate a batch whose series are valid ids, in one transaction."""
        return self.ingest_chunks([batch])

    def ingest_chunks(
        self, chunks: Iterable[ObservationBatch], *, progress: Callable[[int], None] | None = None
    ) -> IngestResult:
        """Store and evaluate several chunks in ONE transaction: all of them or none."""
        passes = self._transaction(chunks, progress=progress)
        return IngestResult(
            sum(p.received for p in passes),
            sum(p.received for p in passes),
            sum(int(p.accepted.sum()) for p in passes),
            tuple(e for p in passes for e in p.events),
        )

    def ingest_group(self, batches: Sequence[ObservationBatch]) -> list[IngestResult]:
        """Store and evaluate the batches of several requests in ONE transaction and ONE rule
        pass (group commit); one result per batch, all of them or none.

        The batches are merged in (time, indicator) order, a key sent twice keeping the later
        batch's value. Each result counts its own rows and how many were evaluated; the
        warning changes are those of the whole group."""
        sizes = np.array([len(b) for b in batches], dtype=np.int64)
        merged = ObservationBatch(
            np.concatenate([b.series for b in batches]),
            np.concatenate([b.times for b in batches]),
            np.concatenate([b.values for b in batches]),
        )
        rows = merged.last_per_key(np.lexsort((merged.series, merged.times)))
        (done,) = self._transaction([merged.take(rows)])
        owner = np.searchsorted(np.cumsum(sizes), rows, side="right")
        evaluated = np.bincount(owner[done.accepted], minlength=len(batches))
        events = tuple(done.events)
        return [
            IngestResult(int(n), int(n), int(e), events)
            for n, e in zip(sizes, evaluated, strict=True)
        ]

    def _transaction(
        self,
        chunks: Iterable[ObservationBatch],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[ChunkPass]:
        """Run chunks through storage and the rules in one transaction; roll the in-memory
        state back if anything fails."""
        with self._lock:
            snapshot = self.state.copy()
            scoring_snapshot = self.scoring.snapshot() if self.scoring else None
            passes: list[ChunkPass] = []
            touched = np.zeros(self.rules.size, dtype=np.bool_)
            try:
                with self.store.transaction() as tx:
                    for chunk in chunks:
                        self._check_series(chunk)
                        passes.append(self._pass(tx, chunk, touched))
                        if progress is not None:
                            progress(len(chunk))
                    rows = self._changed_rows(touched, snapshot)
                    tx.checkpoints.save_thresholds(rows, self.state)
                    if self.scoring is not None:
                        self.scoring.save(tx)
            except BaseException:
                self.state = snapshot
                if self.scoring is not None and scoring_snapshot is not None:
                    self.scoring.rollback(scoring_snapshot)
                raise
        for done in passes:
            for event in done.events:
                self.bus.publish("warnings", warning_message(event))
        return passes

    def _pass(
        self,
        tx: StoreSession,
        chunk: ObservationBatch,
        touched: npt.NDArray[np.bool_],
    ) -> ChunkPass:
        """Store one chunk and run the threshold and detector rules over it."""
        batch = chunk.deduplicated()
        # newer than the last processed time of its indicator: not stored yet
        # (observations and rule state commit together)
        tx.observations.write(batch, new=batch.times > self.state.last_time[batch.series])
        changes = evaluate_thresholds(self.rules.params, self.state, batch)
        rule = ThresholdRule(self.rules, batch)
        events = apply_level_changes(tx, rule, changes, batch.times)
        raised = changes.accepted & (self.state.level[batch.series] > 0)
        touch_open_warnings(tx, rule, batch.series[raised], batch.times[raised])
        if self.scoring is not None:
            events += self.scoring.process(tx, batch, changes.accepted)
        touched[batch.series[changes.accepted]] = True
        tx.audit.append([from_warning_event(e) for e in events])
        return ChunkPass(len(chunk), changes.accepted, events)

    def _changed_rows(
        self, touched: npt.NDArray[np.bool_], before: ThresholdState
    ) -> npt.NDArray[np.int64]:
        """Series whose level or since-moments changed (last times are derived on load)."""
        rows = np.flatnonzero(touched)
        now = self.state
        changed = (
            (now.level[rows] != before.level[rows])
            | (now.above_since[rows] != before.above_since[rows]).any(axis=1)
            | (now.below_since[rows] != before.below_since[rows]).any(axis=1)
        )
        out: npt.NDArray[np.int64] = rows[changed].astype(np.int64)
        return out

    def _check_series(self, batch: ObservationBatch) -> None:
        """Series must be known indicator ids (the compiled kernels index arrays by them)."""
        if len(batch) and (batch.series.min() < 0 or batch.series.max() >= self.rules.size):
            bad = batch.series[(batch.series < 0) | (batch.series >= self.rules.size)]
            raise InvalidInput(
                [Problem("batch", "indicator", f"unknown indicator id {int(bad[0])}")]
            )


class EventService:
    """Stores discrete events (operator reports, CAP alerts, cyber alerts) idempotently."""

    def __init__(
        self, store: Store, bus: Bus, clock: Clock, known_regions: set[str], known_domains: set[str]
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.known_regions = known_regions
        self.known_domains = known_domains

    def ingest(self, events: Sequence[Event], *, actor: str) -> int:
        """Validate every event, then store all (duplicates ignored); return the new count."""
        problems = [
            Problem(f"events[{i}]", fieldname, f"unknown {fieldname} {value!r}")
            for i, e in enumerate(events)
            for fieldname, value, known in (
                ("region", e.region, self.known_regions),
                ("domain", e.domain, self.known_domains),
            )
            if value not in known
        ]
        if problems:
            raise InvalidInput(problems)
        now = self.clock.now()
        with self.store.transaction() as tx:
            count = tx.events.insert(events, received_at=now)
            tx.audit.append(
                [
                    AuditRecord(
                        now,
                        actor,
                        "events.ingested",
                        "batch",
                        str(count),
                        f"{count} new of {len(events)} events",
                        {},
                    )
                ]
            )
        self.bus.publish("events", {"count": count})
        return count
