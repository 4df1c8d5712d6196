"""Detector rules: score observations online with a detector and fire on score thresholds.

Indicators whose configuration names a `detector` get a score slot. Indicators whose rules share
a detector kind and hyperparameters share one detector instance (state in arrays, one row per
indicator). Each observation is scored before the detector learns from it; the scores then go
through the same threshold kernel as raw values (per-level score thresholds, minimum durations),
and level changes become causes of the indicator's warning (source "indicator", shared with its
threshold rule: services/indicator_warnings.py) that say which detector, what score, and what
band the detector expected. Detector state and score-rule state are checkpointed in the
same transaction as the observations.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors import ArrayDetector, is_multivariate, make_detector
from tocsin.core.errors import InvalidInput, NotFound, Problem
from tocsin.core.indicators import Indicator
from tocsin.core.levels import Level
from tocsin.core.observations import ObservationBatch
from tocsin.core.rules.thresholds import ThresholdParams, ThresholdState, evaluate_thresholds
from tocsin.core.warnings.model import Command
from tocsin.ports import Store, StoreSession
from tocsin.services.indicator_warnings import SOURCE, RuleChanges
from tocsin.services.level_changes import level_command
from tocsin.services.rules import RuleBook

log = logging.getLogger(__name__)

CHECKPOINT = "detector-rules"
ACTOR = "rule:detector"


@dataclass
class _Group:
    """One detector instance shared by indicators with the same rule key."""

    key: str
    detector: ArrayDetector


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to undo a failed transaction."""

    detectors: list[dict[str, Any]]
    state: ThresholdState


class ScoreRules:
    """The detector rules of every indicator that has one."""

    def __init__(self, book: RuleBook, *, only: Callable[[int], bool] | None = None) -> None:
        """The detector rules of the book's indicators (`only` those ids it accepts: a stream
        worker's partitions, so that it holds detector state for its own series alone)."""
        self.book = book
        members = [
            (ident, ind)
            for ident, ind in sorted(book.by_id.items())
            if ind.detector is not None
            and not is_multivariate(ind.detector.kind)
            and (only is None or only(ident))
        ]
        self.indicators: list[Indicator] = [ind for _, ind in members]
        self.ident_of = np.array([ident for ident, _ in members], dtype=np.int64)
        self.slot_of = np.full(book.size, -1, dtype=np.int64)
        self.group_of = np.full(len(members), -1, dtype=np.int64)
        self.local_of = np.full(len(members), -1, dtype=np.int64)
        self.groups: list[_Group] = []
        by_key: dict[str, int] = {}
        counts: list[int] = []
        thresholds = np.full((len(members), 4), np.nan)
        raise_after = np.zeros(len(members), dtype=np.int64)
        clear_after = np.zeros(len(members), dtype=np.int64)
        for slot, (ident, ind) in enumerate(members):
            rule = ind.detector
            assert rule is not None  # noqa: S101 - filtered above
            key = rule.key()
            if key not in by_key:
                by_key[key] = len(self.groups)
                self.groups.append(_Group(key, make_detector(rule.kind, **dict(rule.params))))
                counts.append(0)
            g = by_key[key]
            self.slot_of[ident] = slot
            self.group_of[slot] = g
            self.local_of[slot] = counts[g]
            counts[g] += 1
            thresholds[slot] = rule.thresholds.as_tuple()
            raise_after[slot] = int(rule.raise_after.total_seconds())
            clear_after[slot] = int(rule.clear_after.total_seconds())
        self.params = ThresholdParams.build(
            thresholds,
            higher_is_worse=np.ones(len(members), dtype=bool),
            hysteresis=np.zeros(len(members)),
            raise_after=raise_after,
            clear_after=clear_after,
        )
        self.state = ThresholdState.empty(len(members))

    def __len__(self) -> int:
        """Number of indicators with a detector rule."""
        return len(self.indicators)

    def score(
        self,
        slots: npt.NDArray[np.int64],
        times: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.float64]:
        """Score (and learn) observations of slots, each with its group's detector."""
        scores = np.zeros(len(slots), dtype=np.float64)
        for g, group in enumerate(self.groups):
            mask = self.group_of[slots] == g
            if mask.any():
                local = self.local_of[slots[mask]]
                scores[mask] = group.detector.score_batch(local, times[mask], values[mask])
        return scores

    def evaluate(
        self, batch: ObservationBatch, accepted: npt.NDArray[np.bool_]
    ) -> list[RuleChanges]:
        """Score the accepted observations; their score-level changes (none or one rule's)."""
        if not len(self):
            return []
        slots = self.slot_of[batch.series]
        mask = accepted & (slots >= 0)
        if not mask.any():
            return []
        s, t, v = slots[mask], batch.times[mask], batch.values[mask]
        scores = self.score(s, t, v)
        changes = evaluate_thresholds(self.params, self.state, ObservationBatch(s, t, scores))
        raised = changes.accepted & (self.state.level[s] > 0)
        rule = DetectorScoreRule(self, v, scores)
        seen = (s[raised], t[raised])
        return [RuleChanges(rule, changes, t, self.ident_of, self.slot_of, self.state.level, seen)]

    def expected_range(self, slot: int) -> tuple[float, float]:
        """The band the slot's detector currently expects."""
        group = self.groups[int(self.group_of[slot])]
        lo, hi = group.detector.expected_range(np.array([self.local_of[slot]]))
        return float(lo[0]), float(hi[0])

    # -- persistence -----------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """A copy of all state, to roll back to."""
        return Snapshot([_copy(g.detector.checkpoint()) for g in self.groups], self.state.copy())

    def rollback(self, snap: Snapshot) -> None:
        """Return to a snapshot."""
        for group, saved in zip(self.groups, snap.detectors, strict=True):
            group.detector.restore(saved)
        self.state = snap.state

    def save(self, tx: StoreSession, *, name: str = CHECKPOINT) -> None:
        """Write the checkpoint (detectors and score-rule state) in the current transaction,
        under `name` (a stream worker's names the partitions it owns)."""
        if len(self):
            tx.checkpoints.save(name, self.to_bytes())

    def to_bytes(self) -> bytes:
        """All state as one .npz blob."""
        arrays: dict[str, Any] = {
            "codes": np.array([i.code for i in self.indicators]),
            "keys": np.array([g.key for g in self.groups]),
            "level": self.state.level,
            "last_time": self.state.last_time,
            "above": self.state.above_since,
            "below": self.state.below_since,
        }
        for g, group in enumerate(self.groups):
            for name, value in group.detector.checkpoint().items():
                arrays[f"g{g}:{name}"] = np.asarray(value)
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    def load(self, data: bytes) -> bool:
        """Restore from a blob written by the same configuration; False (fresh state) if not."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            saved = {k: npz[k] for k in npz.files}
        same = saved["codes"].tolist() == [i.code for i in self.indicators] and saved[
            "keys"
        ].tolist() == [g.key for g in self.groups]
        if not same:
            log.warning("detector rules changed since the last checkpoint: starting fresh")
            return False
        self.state = ThresholdState(
            saved["level"], saved["last_time"], saved["above"], saved["below"]
        )
        for g, group in enumerate(self.groups):
            prefix = f"g{g}:"
            group.detector.restore(
                {k[len(prefix) :]: _scalar(v) for k, v in saved.items() if k.startswith(prefix)}
            )
        return True

    def rows_to_bytes(self, slots: npt.NDArray[np.int64]) -> bytes:
        """The state of some slots as one .npz blob, each slot named by its indicator's code
        and its detector's key (a stream partition's share, which can move to another worker
        whose catalogue numbers the slots differently)."""
        groups = self.group_of[slots]
        used = np.unique(groups)
        arrays: dict[str, Any] = {
            "codes": np.array([self.indicators[s].code for s in slots.tolist()], dtype=np.str_),
            "keys": np.array([self.groups[g].key for g in used.tolist()], dtype=np.str_),
            "group": np.searchsorted(used, groups),
            "level": self.state.level[slots],
            "last_time": self.state.last_time[slots],
            "above": self.state.above_since[slots],
            "below": self.state.below_since[slots],
        }
        for j, g in enumerate(used.tolist()):
            local = self.local_of[slots[groups == g]]
            for name, rows in self.groups[g].detector.export_rows(local).items():
                arrays[f"g{j}:{name}"] = rows
        buffer = io.BytesIO()
        np.savez(buffer, allow_pickle=False, **arrays)
        return buffer.getvalue()

    def load_rows(self, data: bytes) -> int:
        """Restore the slots a blob of :meth:`rows_to_bytes` holds, matched by code; a slot
        whose indicator is gone or whose detector changed starts fresh. The slots restored."""
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            saved = {k: npz[k] for k in npz.files}
        keys = saved["keys"].tolist()
        slot_of_code: dict[str, int] = {ind.code: slot for slot, ind in enumerate(self.indicators)}
        restored = 0
        for j, key in enumerate(keys):
            mine = np.flatnonzero(saved["group"] == j)
            pairs = [  # (position in the blob, position in its group there, slot here)
                (int(i), k, slot)
                for k, i in enumerate(mine.tolist())
                if (slot := slot_of_code.get(str(saved["codes"][i]))) is not None
                and self.groups[int(self.group_of[slot])].key == key
            ]
            if len(pairs) < len(mine):
                log.warning("detector rules changed since the last checkpoint: some start fresh")
            if not pairs:
                continue
            rows = np.array([i for i, _, _ in pairs], dtype=np.int64)
            within = np.array([k for _, k, _ in pairs], dtype=np.int64)
            slots = np.array([slot for _, _, slot in pairs], dtype=np.int64)
            prefix = f"g{j}:"
            state = {k[len(prefix) :]: v[within] for k, v in saved.items() if k.startswith(prefix)}
            by_group = self.group_of[slots]
            for g in np.unique(by_group).tolist():
                here = by_group == g
                part = {name: rows_[here] for name, rows_ in state.items()}
                self.groups[g].detector.import_rows(self.local_of[slots[here]], part)
            self.state.level[slots] = saved["level"][rows]
            self.state.last_time[slots] = saved["last_time"][rows]
            self.state.above_since[slots] = saved["above"][rows]
            self.state.below_since[slots] = saved["below"][rows]
            restored += len(pairs)
        return restored


def _copy(checkpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in checkpoint.items()}


def _scalar(value: npt.NDArray[Any]) -> Any:
    return value.item() if value.ndim == 0 else value


@dataclass(frozen=True)
class DetectorScoreRule:
    """The score rule over one chunk: series are score slots."""

    rules: ScoreRules
    values: npt.NDArray[np.float64]
    scores: npt.NDArray[np.float64]
    source: str = SOURCE
    name: str = "detector"

    def indicator(self, series: int) -> Indicator:
        """The indicator of a score slot."""
        return self.rules.indicators[series]

    def command(self, series: int, old: int, new: int, index: int, at: datetime) -> Command:
        """The change with the detector, its score and the band it expected."""
        ind = self.indicator(series)
        rule = ind.detector
        assert rule is not None  # noqa: S101 - slots exist only for detector rules
        value, score = float(self.values[index]), float(self.scores[index])
        lo, hi = self.rules.expected_range(series)
        cause: dict[str, object] = {
            "indicator": ind.code,
            "time": at.isoformat(),
            "value": value,
            "score": round(score, 6),
            "detector": rule.kind,
        }
        if new == 0:
            reason = f"{ind.code}: {rule.kind} detector score {score:.3f} is back to normal"
            return level_command(
                kind_old=old, new=0, actor=ACTOR, reason=reason, cause=cause, explanation=None
            )
        level = Level.from_rank(new)
        threshold = rule.thresholds.for_level(level)
        cause["threshold"] = threshold
        reason = (
            f"{ind.code} = {value:g} {ind.unit}".rstrip()
            + f" is anomalous: {rule.kind} score {score:.3f} ≥ {level.value} threshold "
            + f"{threshold:g} (expected {lo:.4g} … {hi:.4g})"
        )
        explanation: dict[str, object] = {
            "rule": "detector",
            "indicator": ind.code,
            "name": ind.name,
            "unit": ind.unit,
            "detector": rule.kind,
            "params": dict(rule.params),
            "score": score,
            "value": value,
            "expected_range": [lo, hi],
            "level": level.value,
            "score_thresholds": {lv.value: rule.thresholds.for_level(lv) for lv in Level},
            "raise_after_s": int(rule.raise_after.total_seconds()),
            "clear_after_s": int(rule.clear_after.total_seconds()),
        }
        return level_command(
            kind_old=old, new=new, actor=ACTOR, reason=reason, cause=cause, explanation=explanation
        )


def replay_scores(
    store: Store, book: RuleBook, code: str, *, kind: str | None = None, limit: int = 200_000
) -> dict[str, Any]:
    """Score an indicator's stored history online with a fresh detector (for charts).

    Uses the indicator's own detector rule, or `kind` with default hyperparameters. The result
    is what the rule saw, provided the history was stored in time order.
    """
    ident = book.ids.get(code)
    if ident is None:
        raise NotFound(f"unknown indicator {code!r}")
    rule = book.by_id[ident].detector
    chosen = kind or (rule.kind if rule else "auto")
    params = dict(rule.params) if rule is not None and rule.kind == chosen else {}
    try:
        detector = make_detector(chosen, **params)
    except ValueError as err:
        raise InvalidInput([Problem("query", "detector", str(err))]) from err
    if is_multivariate(chosen):
        raise InvalidInput([Problem("query", "detector", f"{chosen!r} is multivariate")])
    with store.transaction() as tx:
        history = tx.observations.read(ident, limit=limit)
    zeros = np.zeros(len(history), dtype=np.int64)
    scores = detector.score_batch(zeros, history.times, history.values)
    thresholds = rule.thresholds if rule is not None and rule.kind == chosen else None
    return {
        "indicator": code,
        "detector": chosen,
        "times": history.times.tolist(),
        "scores": np.round(scores, 6).tolist(),
        "decision_threshold": detector.threshold,
        "score_thresholds": {lv.value: thresholds.for_level(lv) for lv in Level}
        if thresholds
        else None,
    }
