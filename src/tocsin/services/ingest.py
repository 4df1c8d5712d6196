"""Ingest use cases: observation batches through storage and threshold rules into warnings."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.events import Event
from tocsin.core.indicators import Indicator
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.rules.thresholds import LevelChanges, ThresholdState, evaluate_thresholds
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    Warning,
    WarningEvent,
    WarningId,
    WarningState,
    fingerprint,
)
from tocsin.ports import Bus, Clock, Store, StoreSession
from tocsin.services.publishing import warning_message
from tocsin.services.rules import RuleBook

log = logging.getLogger(__name__)

RULE_ACTOR = "rule:threshold"


@dataclass(frozen=True, slots=True)
class RawObservations:
    """Observations as received: indicator codes, epoch seconds, values; `where` names each row."""

    codes: Sequence[str] | npt.NDArray[Any]
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]
    where: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What a batch did."""

    received: int
    stored: int
    evaluated: int
    warning_events: tuple[WarningEvent, ...] = field(default_factory=tuple)


def to_batch(raw: RawObservations, ids: dict[str, int], *, source: str) -> ObservationBatch:
    """Map codes to ids and check values; raise InvalidInput naming every bad row (up to 50)."""
    codes = np.asarray(raw.codes, dtype=object)
    uniques, inverse = np.unique(codes, return_inverse=True)
    lookup = np.array([ids.get(str(u), -1) for u in uniques], dtype=np.int64)
    series = lookup[inverse] if len(codes) else np.empty(0, dtype=np.int64)
    problems: list[Problem] = []

    def where(i: int) -> str:
        return raw.where[i] if raw.where is not None else f"{source}[{i}]"

    for i in np.flatnonzero(series < 0)[:50]:
        problems.append(Problem(where(int(i)), "indicator", f"unknown indicator {codes[i]!r}"))
    bad_values = ~np.isfinite(raw.values)
    for i in np.flatnonzero(bad_values)[:50]:
        problems.append(Problem(where(int(i)), "value", "not a finite number"))
    if problems:
        raise InvalidInput(problems)
    return ObservationBatch(
        series.astype(np.int64), raw.times.astype(np.int64), raw.values.astype(np.float64)
    )


class IngestService:
    """Stores observation batches and runs the threshold rules over them, all or nothing."""

    def __init__(
        self, store: Store, bus: Bus, clock: Clock, rules: RuleBook, state: ThresholdState
    ) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self.rules = rules
        self.state = state

    def ingest(self, raw: RawObservations, *, source: str = "observations") -> IngestResult:
        """Validate, store and evaluate one batch; nothing is stored if anything is wrong."""
        batch = to_batch(raw, self.rules.ids, source=source)
        return self.ingest_batch(batch)

    def ingest_batch(self, batch: ObservationBatch) -> IngestResult:
        """Store and evaluate a batch whose series are valid ids, in one transaction."""
        return self.ingest_chunks([batch])

    def ingest_chunks(
        self, chunks: Iterable[ObservationBatch], *, progress: Callable[[int], None] | None = None
    ) -> IngestResult:
        """Store and evaluate several chunks in ONE transaction: all of them or none."""
        snapshot = self.state.copy()
        events: list[WarningEvent] = []
        received = evaluated = 0
        touched = np.zeros(self.rules.size, dtype=np.bool_)
        try:
            with self.store.transaction() as tx:
                for chunk in chunks:
                    batch = chunk.deduplicated()
                    tx.write_observations(batch)
                    changes = evaluate_thresholds(self.rules.params, self.state, batch)
                    chunk_events = self._apply_changes(tx, changes, batch)
                    self._touch_open(tx, batch, changes)
                    touched[batch.series[changes.accepted]] = True
                    tx.append_audit([from_warning_event(e) for e in chunk_events])
                    events.extend(chunk_events)
                    received += len(chunk)
                    evaluated += int(changes.accepted.sum())
                    if progress is not None:
                        progress(len(chunk))
                tx.save_threshold_state(np.flatnonzero(touched).astype(np.int64), self.state)
        except BaseException:
            self.state = snapshot
            raise
        for event in events:
            self.bus.publish("warnings", warning_message(event))
        return IngestResult(received, received, evaluated, tuple(events))

    def _apply_changes(
        self, tx: StoreSession, changes: LevelChanges, batch: ObservationBatch
    ) -> list[WarningEvent]:
        if len(changes) == 0:
            return []
        fps = {int(s): self._fingerprint(int(s)) for s in np.unique(changes.series)}
        open_by_fp = tx.open_warnings(list(fps.values()))
        events: list[WarningEvent] = []
        created: dict[str, Warning] = {}
        updated: dict[str, Warning] = {}
        for k in range(len(changes)):
            i = int(changes.obs_index[k])
            s = int(changes.series[k])
            at = datetime.fromtimestamp(int(batch.times[i]), UTC)
            old, new = int(changes.old_level[k]), int(changes.new_level[k])
            fp = fps[s]
            current = open_by_fp.get(fp)
            command = self._command(s, old, new, float(batch.values[i]), at)
            if current is None:
                if command.kind is not CommandKind.RAISE:
                    command = Command(
                        CommandKind.RAISE,
                        command.actor,
                        command.reason,
                        command.level,
                        command.cause,
                        command.explanation,
                    )
                if command.level is None:
                    continue
                warning, event = lifecycle.raise_warning(self._template(s, fp), command, at)
                created[warning.id] = warning
            else:
                if command.kind is CommandKind.RAISE:
                    kind = (
                        CommandKind.UPGRADE if new > current.level.rank else CommandKind.DOWNGRADE
                    )
                    command = Command(
                        kind,
                        command.actor,
                        command.reason,
                        command.level,
                        command.cause,
                        command.explanation,
                    )
                warning, event = lifecycle.apply(current, command, at)
                if warning.id in created:
                    created[warning.id] = warning
                else:
                    updated[warning.id] = warning
            if warning.is_open:
                open_by_fp[fp] = warning
            else:
                open_by_fp.pop(fp, None)
            events.append(event)
        tx.save_warnings(list(updated.values()), new=False)
        tx.save_warnings(list(created.values()), new=True)
        return events

    def _touch_open(self, tx: StoreSession, batch: ObservationBatch, changes: LevelChanges) -> None:
        accepted = changes.accepted
        raised = self.state.level[batch.series] > 0
        mask = accepted & raised
        if not mask.any():
            return
        series, times = batch.series[mask], batch.times[mask]
        last: dict[int, int] = dict(zip(series.tolist(), times.tolist(), strict=True))
        fps = {self._fingerprint(s): t for s, t in last.items()}
        open_by_fp = tx.open_warnings(list(fps))
        tx.touch_warnings(
            {
                w.id: datetime.fromtimestamp(fps[fp], UTC)
                for fp, w in open_by_fp.items()
                if datetime.fromtimestamp(fps[fp], UTC) > w.last_seen_at
            }
        )

    def _indicator(self, series: int) -> Indicator:
        return self.rules.by_id[series]

    def _fingerprint(self, series: int) -> str:
        ind = self._indicator(series)
        return fingerprint("threshold", ind.code, ind.region, ind.domain)

    def _template(self, series: int, fp: str) -> Warning:
        ind = self._indicator(series)
        epoch = datetime.fromtimestamp(0, UTC)
        return Warning(
            id=WarningId(uuid.uuid4().hex),
            fingerprint=fp,
            source="threshold",
            subject=ind.code,
            region=ind.region,
            domain=ind.domain,
            level=Level.BLUE,
            state=WarningState.ACTIVE,
            first_seen_at=epoch,
            last_seen_at=epoch,
            updated_at=epoch,
            labels={"indicator": ind.code, "region": ind.region, "domain": ind.domain},
        )

    def _command(self, series: int, old: int, new: int, value: float, at: datetime) -> Command:
        ind = self._indicator(series)
        thresholds = {lv.value: ind.thresholds.for_level(lv) for lv in Level}
        cause = {"indicator": ind.code, "time": at.isoformat(), "value": value}
        if new == 0:
            reason = f"{ind.code} = {value:g} {ind.unit}".rstrip() + " is back to normal"
            return Command(CommandKind.LIFT, RULE_ACTOR, reason, None, cause, None)
        level = Level.from_rank(new)
        threshold = ind.thresholds.for_level(level)
        cause["threshold"] = threshold
        worse = "above" if ind.direction.value == "higher_is_worse" else "below"
        reason = (
            f"{ind.code} = {value:g} {ind.unit}".rstrip()
            + f" is {worse} the {level.value} threshold {threshold:g}"
        )
        explanation = {
            "rule": "threshold",
            "indicator": ind.code,
            "name": ind.name,
            "unit": ind.unit,
            "direction": ind.direction.value,
            "thresholds": thresholds,
            "value": value,
            "level": level.value,
            "raise_after_s": int(ind.raise_after.total_seconds()),
            "clear_after_s": int(ind.clear_after.total_seconds()),
            "hysteresis": ind.hysteresis,
        }
        kind = (
            CommandKind.RAISE
            if old == 0
            else (CommandKind.UPGRADE if new > old else CommandKind.DOWNGRADE)
        )
        return Command(kind, RULE_ACTOR, reason, level, cause, explanation)


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
            count = tx.insert_events(events, received_at=now)
            tx.append_audit(
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
