"""Scoring a detector's alarms and scores against labelled anomaly ranges.

A file's labels are 0/1 per row; each maximal run of 1s is one **anomaly range** (an event). The
detector gives, per row, an ``anomaly_score`` and an alarm flag (``is_anomaly``); a maximal run of
flags is one **alarm episode**. Four views, each summed over the files of a corpus:

* **event-wise** (the anomaly-dev README's definition): a range is *detected* when a flag falls
  inside it, at its first flagged row (the *delay* is that row minus the range's start); an episode
  that touches no range is a *false alarm*. Precision = detected / (detected + false alarms).
* **point-wise**: rows flagged against rows labelled, over every scored row.
* **top-1 location** (the rule of the UCR anomaly archive, Wu & Keogh 2021, generalised to files
  with several ranges): each range owns the rows from the midpoint after the previous range to the
  midpoint before the next; it is *located* when the highest score among those rows lies within the
  range widened by ``tolerance`` rows on each side. For a file with one range this is exactly the
  archive's "is the highest score within the anomaly ± 100 points?".
* **change points** (the SKAB benchmark's NAB-style change-point score, Katser & Kozitsin 2020): the
  true change points are each range's first row and the first row after it; the predicted ones are
  the rows where the alarm flag switches on or off. Each true change point opens a window of
  ``window`` rows to its right; the earliest prediction inside it earns between ``tp`` (at the
  window's start) and ``fp`` (at its end) along a tanh curve; a window with none costs ``fn``, a
  prediction outside every window ``fp``. Normalised 0 (null) … 100 (perfect) over the corpus.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Span = tuple[int, int]

CP_PROFILES: dict[str, tuple[float, float, float]] = {
    # name: (tp, fp, fn) as in NAB's profiles
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}


def runs(flags: npt.ArrayLike) -> list[Span]:
    """Maximal runs of true values as inclusive (first, last) row pairs."""
    f = np.asarray(flags, dtype=np.int8)
    if f.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], f, [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


@dataclass(frozen=True)
class FileOutcome:
    """What one file contributes to a corpus's figures."""

    name: str
    rows: int
    ranges: int
    detected: int
    false_alarms: int
    delays: tuple[int, ...]
    tp: int
    fp: int
    fn: int
    located: int
    cp_raw: dict[str, float] = field(default_factory=dict)
    cp_windows: int = 0
    normal_rows: int = 0


def event_counts(labels: BoolArray, flags: BoolArray) -> tuple[int, int, tuple[int, ...]]:
    """(detected ranges, false-alarm episodes, detection delays in rows)."""
    delays: list[int] = []
    for first, last in runs(labels):
        hit = np.flatnonzero(flags[first : last + 1])
        if hit.size:
            delays.append(int(hit[0]))
    false_alarms = sum(1 for a, b in runs(flags) if not labels[a : b + 1].any())
    return len(delays), false_alarms, tuple(delays)


def located_ranges(labels: BoolArray, scores: FloatArray, *, tolerance: int = 100) -> int:
    """How many ranges hold (within ``tolerance`` rows) the top score of their own segment."""
    spans = runs(labels)
    located = 0
    for k, (first, last) in enumerate(spans):
        lo = 0 if k == 0 else (spans[k - 1][1] + first) // 2 + 1
        hi = scores.size - 1 if k == len(spans) - 1 else (last + spans[k + 1][0]) // 2
        segment = scores[lo : hi + 1]
        if segment.size == 0 or not np.isfinite(segment).any():
            continue
        top = lo + int(np.nanargmax(segment))
        located += int(first - tolerance <= top <= last + tolerance)
    return located


def _tanh_reward(position: float, tp: float, fp: float) -> float:
    """SKAB's reward for the first detection at ``position`` in [0, 1] of a window."""
    x = -math.pi / 2 + position * math.pi
    half = (tp - fp) / 2.0
    return half * -math.tanh(x) / math.tanh(math.pi / 2) + half + fp


def changepoint_raw(
    labels: BoolArray, flags: BoolArray, *, window: int
) -> tuple[dict[str, float], int]:
    """Raw change-point score per profile for one file, and its number of windows."""
    n = labels.size
    truth: list[int] = []
    for first, last in runs(labels):
        truth.append(first)
        if last + 1 < n:
            truth.append(last + 1)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8)))) != 0)
    spans = [(t, min(t + window, n - 1)) for t in truth]
    for k in range(len(spans) - 1):  # cut overlapping windows at the next one's start
        if spans[k][1] >= spans[k + 1][0]:
            spans[k] = (spans[k][0], spans[k + 1][0] - 1)
    inside = np.zeros(edges.size, dtype=bool)
    firsts: list[float | None] = []
    for a, b in spans:
        mask = (edges >= a) & (edges <= b)
        inside |= mask
        hit = edges[mask]
        firsts.append(None if hit.size == 0 else (hit[0] - a) / max(b - a, 1))
    n_fp = int((~inside).sum())
    out: dict[str, float] = {}
    for name, (tp, fp, fn) in CP_PROFILES.items():
        total = fp * n_fp
        for pos in firsts:
            total += fn if pos is None else _tanh_reward(pos, tp, fp)
        out[name] = total
    return out, len(spans)


def file_outcome(
    name: str,
    labels: npt.ArrayLike,
    scores: npt.ArrayLike,
    flags: npt.ArrayLike,
    *,
    tolerance: int = 100,
    cp_window: int = 60,
) -> FileOutcome:
    """All four views of one file's scored rows."""
    lab = np.asarray(labels, dtype=bool)
    sc = np.asarray(scores, dtype=np.float64)
    fl = np.asarray(flags, dtype=bool)
    if not lab.shape == sc.shape == fl.shape:
        raise ValueError("labels, scores and flags must have the same length")
    detected, false_alarms, delays = event_counts(lab, fl)
    cp_raw, cp_windows = changepoint_raw(lab, fl, window=cp_window)
    return FileOutcome(
        name=name,
        rows=int(lab.size),
        ranges=len(runs(lab)),
        detected=detected,
        false_alarms=false_alarms,
        delays=delays,
        tp=int((lab & fl).sum()),
        fp=int((~lab & fl).sum()),
        fn=int((lab & ~fl).sum()),
        located=located_ranges(lab, sc, tolerance=tolerance),
        cp_raw=cp_raw,
        cp_windows=cp_windows,
        normal_rows=int((~lab).sum()),
    )


def _ratio(num: float, den: float) -> float:
    """num / den, or NaN when den is 0."""
    return num / den if den else math.nan


def _f1(precision: float, recall: float) -> float:
    """Harmonic mean (NaN-propagating; 0 when both are 0)."""
    if math.isnan(precision) or math.isnan(recall):
        return math.nan
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class CorpusFigures:
    """A corpus's figures, summed over its files."""

    files: int
    rows: int
    ranges: int
    event_precision: float
    event_recall: float
    event_f1: float
    false_alarms: int
    delay_median: float
    delay_p90: float
    point_precision: float
    point_recall: float
    point_f1: float
    top1: float
    top1_ranges: int
    changepoint: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """Rounded figures for printing and JSON."""
        out: dict[str, object] = {}
        for key, value in self.__dict__.items():
            if isinstance(value, float):
                out[key] = None if math.isnan(value) else round(value, 4)
            elif isinstance(value, dict):
                out[key] = {k: round(v, 2) for k, v in value.items()}
            else:
                out[key] = value
        return out


def corpus_figures(outcomes: Sequence[FileOutcome]) -> CorpusFigures:
    """Sum file outcomes into corpus figures (point-wise and event-wise pooled over files)."""
    detected = sum(o.detected for o in outcomes)
    ranges = sum(o.ranges for o in outcomes)
    false_alarms = sum(o.false_alarms for o in outcomes)
    delays = np.array([d for o in outcomes for d in o.delays], dtype=np.float64)
    tp, fp, fn = (sum(getattr(o, k) for o in outcomes) for k in ("tp", "fp", "fn"))
    ev_p, ev_r = _ratio(detected, detected + false_alarms), _ratio(detected, ranges)
    pt_p, pt_r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return CorpusFigures(
        files=len(outcomes),
        rows=sum(o.rows for o in outcomes),
        ranges=ranges,
        event_precision=ev_p,
        event_recall=ev_r,
        event_f1=_f1(ev_p, ev_r),
        false_alarms=false_alarms,
        delay_median=float(np.median(delays)) if delays.size else math.nan,
        delay_p90=float(np.percentile(delays, 90)) if delays.size else math.nan,
        point_precision=pt_p,
        point_recall=pt_r,
        point_f1=_f1(pt_p, pt_r),
        top1=_ratio(sum(o.located for o in outcomes), ranges),
        top1_ranges=ranges,
        changepoint=_changepoint(outcomes),
    )


def _changepoint(outcomes: Iterable[FileOutcome]) -> dict[str, float]:
    """Normalised change-point score per profile, pooled over files."""
    items = list(outcomes)
    windows = sum(o.cp_windows for o in items)
    out: dict[str, float] = {}
    for name, (tp, _fp, fn) in CP_PROFILES.items():
        raw = sum(o.cp_raw.get(name, 0.0) for o in items)
        null, perfect = fn * windows, tp * windows
        out[name] = 100.0 * (raw - null) / (perfect - null) if perfect != null else math.nan
    return out
