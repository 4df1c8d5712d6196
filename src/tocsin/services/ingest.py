"""Ingest use cases: observation batches through storage and threshold rules into warnings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.access import Placement, Principal, require, require_places
from tocsin.core.audit import AuditRecord, from_warning_event
from tocsin.core.errors import InvalidInput, NotOwner, Problem
from tocsin.core.events import Event
from tocsin.core.indicators import Direction, Indicator
from tocsin.core.leases import Lease
from tocsin.core.levels import Level
from tocsin.core.moments import ahead_reason
from tocsin.core.observations import ObservationBatch, later_than
from tocsin.core.rules.thresholds import StateBefore, ThresholdState, evaluate_thresholds
from tocsin.core.users import Permission
from tocsin.core.warnings.model import (
    Command,
    WarningEvent,
)
from tocsin.ports import Bus, Clock, Ownership, Store, StoreSession
from tocsin.services.group_commit import GroupCommitter
from tocsin.services.indicator_warnings import SOURCE, RuleChanges, apply_indicator_changes
from tocsin.services.level_changes import level_command
from tocsin.services.publishing import warning_message
from tocsin.services.rule_checkpoints import RuleCheckpoint, WholeCheckpoint
from tocsin.services.rules import RuleBook
from tocsin.services.scoring import ScoreRules

log = logging.getLogger(__name__)

RULE_ACTOR = "rule:threshold"
# how far past the server's clock an observation's time may lie (TOCSIN_MAX_CLOCK_SKEW_S)
MAX_AHEAD = timedelta(minutes=5)
# rows stored by group commits between two looks at the storage's upkeep (`settle`)
SETTLE_EVERY = 50_000


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
        try:  # every code known (the usual case): looked up at C speed
            series = np.fromiter(map(ids.__getitem__, codes), dtype=np.int64, count=len(codes))
        except KeyError:
            series = np.fromiter((ids.get(c, -1) for c in codes), np.int64, count=len(codes))
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


def reject_future(
    batch: ObservationBatch,
    *,
    now: datetime,
    max_ahead: timedelta,
    where: Callable[[int], str],
    first: int = 0,
) -> None:
    """Refuse a batch with observations later than `now + max_ahead`, naming each such row
    (`where(first + i)` names row i).

    A time from the future would become the rules' newest time of its indicator, and every
    later (current) observation would then be too old to evaluate: one bad row would mute the
    indicator. So it is refused, with the batch it came in."""
    latest, ahead = int(now.timestamp()), int(max_ahead.total_seconds())
    rows = later_than(batch.times, latest + ahead)
    if len(rows):
        raise InvalidInput(
            [
                Problem(
                    where(first + int(i)),
                    "time",
                    ahead_reason(int(batch.times[i]), now=latest, max_ahead=ahead),
                )
                for i in rows[:50]
            ]
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
    source: str = SOURCE
    name: str = "threshold"

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


WHOLE = WholeCheckpoint()  # one process: every indicator's detector state in one blob


def load_rule_state(
    store: Store, rules: RuleBook, *, checkpoint: RuleCheckpoint = WHOLE
) -> tuple[ThresholdState, ScoreRules | None]:
    """The threshold rules' state and the detector rules (restored from their checkpoint) as
    stored."""
    scoring = ScoreRules(rules, only=checkpoint.covers)
    with store.transaction() as tx:
        state = tx.checkpoints.load_thresholds(rules.size)
        if len(scoring):
            checkpoint.load(tx, scoring)
    return state, scoring if len(scoring) else None


# the group commit of observation batches (one rule and detector pass per group)
ObservationCommitter = GroupCommitter[ObservationBatch, IngestResult]


class IngestService:
    """Stores observation batches and runs the rules over them, all or nothing.

    The rules' state lives in memory. With an `owner` (the rules lease, services/leadership.py)
    only the process holding the lease ingests: every batch's transaction is fenced by the
    lease, and the state is reloaded from the database whenever the lease's token changes (a
    takeover) or a transaction failed in a way that leaves its outcome unknown. `checkpoint`
    says where the detectors' state is kept (a stream worker: per partition)."""

    def __init__(
        self,
        store: Store,
        bus: Bus,
        clock: Clock,
        rules: RuleBook,
        state: ThresholdState,
        scoring: ScoreRules | None = None,
        *,
        max_ahead: timedelta = MAX_AHEAD,
        owner: Ownership | None = None,
        checkpoint: RuleCheckpoint = WHOLE,
    ) -> None:
        self.store = store
        self.checkpoint = checkpoint
        self.bus = bus
        self.clock = clock
        self.rules = rules
        self.state = state
        self.scoring = scoring
        self.max_ahead = max_ahead
        self.owner = owner
        self._token: int | None = None  # the lease token the state in memory belongs to
        self._unsettled = 0  # rows group-committed since the storage's upkeep was last done
        self._stale = owner is not None
        self._lock = threading.RLock()  # one batch at a time through the state in memory

    def adopt(self, lease: Lease) -> None:
        """Make the state in memory that of `lease`: reload it unless it already is."""
        with self._lock:
            if self._stale or lease.token != self._token:
                self.reload()
                self._token = lease.token

    def reload(self, checkpoint: RuleCheckpoint | None = None) -> None:
        """Read the rules' state and the detectors' checkpoint from the database (from now on
        `checkpoint`, when given: a stream worker whose partitions changed)."""
        with self._lock:
            if checkpoint is not None:
                self.checkpoint = checkpoint
                self._stale = True  # until read: if this fails, the next batch reads it first
            self.state, self.scoring = load_rule_state(
                self.store, self.rules, checkpoint=self.checkpoint
            )
            self._stale = False

    def take_over(
        self,
        checkpoint: RuleCheckpoint,
        *,
        added: RuleCheckpoint,
        read: npt.NDArray[np.int64],
    ) -> None:
        """From now on `checkpoint` (a stream worker whose partitions changed): keep in memory
        the state of the indicators it still covers, and read from the database only the
        threshold rows of the indicators `read` and the detector state `added` restores (the
        partitions taken over). A move then costs what it moves, not the whole catalogue.
        After a failed transaction (state stale) everything is read again."""
        with self._lock:
            if self._stale or self.owner is not None:
                self.reload(checkpoint)
                return
            old = self.scoring
            self.checkpoint = checkpoint
            self._stale = True  # until read: if this fails, the next batch reads it all
            scoring = ScoreRules(self.rules, only=checkpoint.covers)
            if old is not None and len(scoring):
                covered = [checkpoint.covers(int(i)) for i in old.ident_of.tolist()]
                kept = np.flatnonzero(np.array(covered, dtype=np.bool_)).astype(np.int64)
                if len(kept):
                    scoring.load_rows(old.rows_to_bytes(kept))
            with self.store.transaction() as tx:
                fresh = tx.checkpoints.load_thresholds(self.rules.size, ids=read.tolist())
                if len(scoring):
                    added.load(tx, scoring)
            state = self.state.copy()
            state.level[read] = fresh.level[read]
            state.last_time[read] = fresh.last_time[read]
            state.above_since[read] = fresh.above_since[read]
            state.below_since[read] = fresh.below_since[read]
            self.state, self.scoring = state, scoring if len(scoring) else None
            self._stale = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Hold the rules' state still: no batch or check runs through it meanwhile."""
        with self._lock:
            yield

    def _own(self) -> Lease | None:
        """The lease batches are fenced by (None without an owner), the state made its own."""
        if self.owner is None:
            if self._stale:
                self.reload()
            return None
        lease = self.owner.require()
        self.adopt(lease)
        return lease

    @contextmanager
    def owned_transaction(self) -> Iterator[tuple[StoreSession, npt.NDArray[np.int64]]]:
        """A transaction of the rules' owner, with each indicator's newest processed time:
        NotOwner on a standby (whose times in memory are stale), fenced by the rules lease."""
        with self._lock:
            lease = self._own()
            try:
                with self.store.transaction() as tx:
                    yield tx, self.state.last_time.copy()
                    if self.owner is not None:
                        tx.leases.fence(self.owner.name, lease)
            except NotOwner:
                if self.owner is not None and lease is not None:
                    self.owner.lost(lease)
                raise

    def validate(
        self, raw: RawObservations, *, principal: Principal, source: str = "observations"
    ) -> ObservationBatch:
        """The batch of ids a request's rows name: InvalidInput naming every bad row and every
        row later than the server's clock allows (TOCSIN_MAX_CLOCK_SKEW_S), Forbidden if the
        principal may not ingest or an indicator lies outside its scope."""
        require(principal, Permission.INGEST)
        batch = to_batch(raw, self.rules.ids, source=source)
        if not principal.scope.national:
            placed = []
            for series in np.unique(batch.series).tolist():
                ind = self.rules.by_id[series]
                placed.append((ind.code, Placement(ind.region, ind.domain)))
            require_places(principal, placed, action="storing observations of")
        where = _row_names(raw, source)
        reject_future(batch, now=self.clock.now(), max_ahead=self.max_ahead, where=where)
        return batch

    def ingest(
        self, raw: RawObservations, *, principal: Principal, source: str = "observations"
    ) -> IngestResult:
        """Validate, store and evaluate one batch; nothing is stored if anything is wrong, or
        if an indicator lies outside the principal's scope (Forbidden)."""
        batch = self.validate(raw, principal=principal, source=source)
        return self.ingest_chunks([batch], where=_row_names(raw, source))

    def ingest_batch(self, batch: ObservationBatch) -> IngestResult:
        """Store and evaluate a batch whose series are valid ids, in one transaction."""
        return self.ingest_chunks([batch])

    def ingest_chunks(
        self,
        chunks: Iterable[ObservationBatch],
        *,
        progress: Callable[[int], None] | None = None,
        where: Callable[[int], str] = lambda i: f"batch[{i}]",
    ) -> IngestResult:
        """Store and evaluate several chunks in ONE transaction: all of them or none.

        `where(i)` names row i of the chunks taken together (a file's line, a request's path)
        in the problems of a refused batch."""
        return self._result(self._transaction(chunks, progress=progress, where=where))

    @staticmethod
    def _result(passes: list[ChunkPass]) -> IngestResult:
        return IngestResult(
            sum(p.received for p in passes),
            sum(p.received for p in passes),
            sum(int(p.accepted.sum()) for p in passes),
            tuple(e for p in passes for e in p.events),
        )

    def ingest_along(
        self, work: Callable[[StoreSession], ObservationBatch | list[ObservationBatch]]
    ) -> IngestResult:
        """Run `work` in the transaction that stores and evaluates the batch it returns (ids
        known, times checked against the clock): its writes and the batch commit together or
        not at all. A list of batches is evaluated batch after batch, each in a rule pass of
        its own, as if each came alone, in the one transaction."""

        def chunks(tx: StoreSession) -> list[ObservationBatch]:
            made = work(tx)
            return made if isinstance(made, list) else [made]

        return self._result(self._transaction(chunks))

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
        self._unsettled += len(rows)
        owner = np.searchsorted(np.cumsum(sizes), rows, side="right")
        evaluated = np.bincount(owner[done.accepted], minlength=len(batches))
        events = tuple(done.events)
        return [
            IngestResult(int(n), int(n), int(e), events)
            for n, e in zip(sizes, evaluated, strict=True)
        ]

    def settle(self) -> int:
        """The storage's upkeep left for later (SQLite: its inbox merged into the table once
        large), in a transaction of its own, looked at every `SETTLE_EVERY` rows the group
        commits stored. The group committer runs it after answering a group, so that no request
        waits on it; the rows it moved."""
        if self._unsettled < SETTLE_EVERY:
            return 0
        self._unsettled = 0
        with self.store.transaction() as tx:
            return tx.observations.settle()

    def _transaction(
        self,
        chunks: Iterable[ObservationBatch] | Callable[[StoreSession], Iterable[ObservationBatch]],
        *,
        progress: Callable[[int], None] | None = None,
        where: Callable[[int], str] = lambda i: f"batch[{i}]",
    ) -> list[ChunkPass]:
        """Run chunks through storage and the rules in one transaction fenced by the rules'
        lease (`chunks` may be work on that transaction that returns them); roll the
        in-memory state back if anything fails."""
        with self._lock:
            lease = self._own()
            now = self.clock.now()
            before = StateBefore.of(self.state)  # the rows the chunks touch, as they were
            scoring_snapshot = self.scoring.snapshot() if self.scoring else None
            passes: list[ChunkPass] = []
            touched = np.zeros(self.rules.size, dtype=np.bool_)
            try:
                with self.store.transaction() as tx:
                    for chunk in chunks(tx) if callable(chunks) else chunks:
                        self._check_series(chunk)
                        first = sum(p.received for p in passes)
                        reject_future(
                            chunk, now=now, max_ahead=self.max_ahead, where=where, first=first
                        )
                        before.keep(chunk.series)
                        passes.append(self._pass(tx, chunk, touched))
                        if progress is not None:
                            progress(len(chunk))
                    rows = self._changed_rows(touched, before)
                    tx.checkpoints.save_thresholds(rows, self.state)
                    if self.scoring is not None:
                        self.checkpoint.save(tx, self.scoring, touched)
                    if self.owner is not None:
                        tx.leases.fence(self.owner.name, lease)
            except BaseException as err:
                self._undo(err, before, scoring_snapshot, lease)
                raise
        for done in passes:
            for event in done.events:
                self.bus.publish("warnings", warning_message(event))
        return passes

    def _undo(
        self,
        err: BaseException,
        before: StateBefore,
        scoring_snapshot: Any,
        lease: Lease | None,
    ) -> None:
        """Roll the state in memory back after a failed transaction."""
        before.restore()
        if self.scoring is not None and scoring_snapshot is not None:
            self.scoring.rollback(scoring_snapshot)
        # a refused batch changed nothing; after any other failure the database may hold
        # more than the snapshot (a commit whose answer was lost): read it again
        self._stale = self._stale or not isinstance(err, InvalidInput)
        if isinstance(err, NotOwner) and self.owner is not None and lease is not None:
            self.owner.lost(lease)

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
        raised = changes.accepted & (self.state.level[batch.series] > 0)
        ids = np.arange(self.rules.size, dtype=np.int64)
        seen = (batch.series[raised], batch.times[raised])
        rule = ThresholdRule(self.rules, batch)
        found = [RuleChanges(rule, changes, batch.times, ids, ids, self.state.level, seen)]
        if self.scoring is not None:  # the detector rules: causes of the same warnings
            found += self.scoring.evaluate(batch, changes.accepted)
        events = apply_indicator_changes(tx, found)
        touched[batch.series[changes.accepted]] = True
        tx.audit.append([from_warning_event(e) for e in events])
        return ChunkPass(len(chunk), changes.accepted, events)

    def _changed_rows(
        self, touched: npt.NDArray[np.bool_], before: StateBefore
    ) -> npt.NDArray[np.int64]:
        """Series whose level or since-moments changed (last times are derived on load)."""
        rows = np.flatnonzero(touched)
        out: npt.NDArray[np.int64] = rows[before.changed(rows)].astype(np.int64)
        return out

    def _check_series(self, batch: ObservationBatch) -> None:
        """Series must be known indicator ids (the compiled kernels index arrays by them)."""
        if len(batch) and (batch.series.min() < 0 or batch.series.max() >= self.rules.size):
            bad = batch.series[(batch.series < 0) | (batch.series >= self.rules.size)]
            raise InvalidInput(
                [Problem("batch", "indicator", f"unknown indicator id {int(bad[0])}")]
            )


def _row_names(raw: RawObservations, source: str) -> Callable[[int], str]:
    """Names of the rows of `raw`: its own, else `source[i]`."""
    names = raw.where
    return (lambda i: names[i]) if names is not None else (lambda i: f"{source}[{i}]")


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

    def ingest(self, events: Sequence[Event], *, principal: Principal) -> int:
        """Validate every event, then store all (duplicates ignored); return the new count.
        Every event must lie in the principal's scope (Forbidden otherwise, nothing stored)."""
        require(principal, Permission.INGEST)
        actor = principal.name
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
        placed = [(f"events[{i}]", Placement(e.region, e.domain)) for i, e in enumerate(events)]
        require_places(principal, placed, action="storing events")
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
