"""NAB v1.1 scoring: windows, probation, scaled sigmoid, profiles, corpus threshold sweep.

Reimplemented from the published description of the Numenta Anomaly Benchmark (Lavin & Ahmad 2015,
arXiv:1510.03336; Ahmad et al. 2017, Neurocomputing 262) and the semantics of its sweeper: each row
after the probationary period gets a weight (positive inside a window, earliest best; negative
outside); at a threshold θ every row with ``score >= θ`` is a detection; a window counts the weight
of its best (earliest) detection or ``-fn`` if none; false positives add their negative weights; one
threshold per profile is chosen over the whole corpus; the raw score is normalised between the null
detector (never fires) and the perfect one (one detection on the first row of every window).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class CostProfile:
    """Weights of one NAB scoring profile."""

    name: str
    tp: float
    fn: float
    fp: float


PROFILES: dict[str, CostProfile] = {
    "standard": CostProfile("standard", tp=1.0, fn=1.0, fp=0.11),
    "reward_low_FP_rate": CostProfile("reward_low_FP_rate", tp=1.0, fn=1.0, fp=0.22),
    "reward_low_FN_rate": CostProfile("reward_low_FN_rate", tp=1.0, fn=2.0, fp=0.11),
}


@dataclass(frozen=True)
class LabelledFile:
    """One data file for scoring: its scores and its windows as inclusive row-index pairs."""

    name: str
    scores: FloatArray
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class SweepResult:
    """The best threshold of one profile over a corpus and its raw and normalised scores."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    normalised: float


def scaled_sigmoid(y: float) -> float:
    """NAB's scaled sigmoid: 2 / (1 + e^(5y)) - 1 for y <= 3, else -1."""
    if y > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0


def probation_length(n_rows: int, probation_percent: float = 0.15) -> int:
    """Rows at the start of a file that are not scored: min(floor(p * N), p * 5000)."""
    return int(min(math.floor(probation_percent * n_rows), probation_percent * 5000))


def _sigmoid_array(y: FloatArray) -> FloatArray:
    """Vectorised :func:`scaled_sigmoid`."""
    out = 2.0 / (1.0 + np.exp(5.0 * np.minimum(y, 3.0))) - 1.0
    out[y > 3.0] = -1.0
    return out


def row_weights(
    n_rows: int, windows: Sequence[tuple[int, int]], profile: CostProfile
) -> tuple[FloatArray, IntArray]:
    """Weight of a detection on each row and the index of its window (-1 outside every window)."""
    weights = np.full(n_rows, -profile.fp, dtype=np.float64)
    window_of = np.full(n_rows, -1, dtype=np.int64)
    max_tp = scaled_sigmoid(-1.0)
    ordered = sorted(windows)
    rows = np.arange(n_rows, dtype=np.float64)
    for w, (left, right) in enumerate(ordered):
        if not 0 <= left <= right < n_rows:
            raise ValueError(f"window {(left, right)} outside 0..{n_rows - 1}")
        width = right - left + 1
        inside = slice(left, right + 1)
        weights[inside] = _sigmoid_array(-(right - rows[inside] + 1) / width) * profile.tp / max_tp
        window_of[inside] = w
        stop = ordered[w + 1][0] if w + 1 < len(ordered) else n_rows
        after = slice(right + 1, stop)
        if width > 1:
            weights[after] = _sigmoid_array(np.abs(right - rows[after]) / (width - 1)) * profile.fp
    return weights, window_of


@njit(cache=True)
def _sweep_kernel(
    weights: FloatArray, window_of: IntArray, n_windows: int, fn: float
) -> FloatArray:  # pragma: no cover - compiled
    """Running raw score after each row of a score-descending order."""
    best = np.full(n_windows, -fn)
    total = -fn * n_windows
    out = np.empty(weights.shape[0])
    for k in range(weights.shape[0]):
        w = window_of[k]
        if w < 0:
            total += weights[k]
        elif weights[k] > best[w]:
            total += weights[k] - best[w]
            best[w] = weights[k]
        out[k] = total
    return out


def _corpus_rows(
    files: Sequence[LabelledFile], profile: CostProfile
) -> tuple[FloatArray, FloatArray, IntArray, int]:
    """Scores, weights and corpus-wide window ids of every scored (post-probation) row."""
    all_scores: list[FloatArray] = []
    all_weights: list[FloatArray] = []
    all_windows: list[IntArray] = []
    n_windows = 0
    for f in files:
        n = f.scores.shape[0]
        weights, window_of = row_weights(n, f.windows, profile)
        start = probation_length(n)
        ids = window_of[start:].copy()
        ids[ids >= 0] += n_windows
        n_windows += len(f.windows)
        all_scores.append(np.asarray(f.scores[start:], dtype=np.float64))
        all_weights.append(weights[start:])
        all_windows.append(ids)
    return (
        np.concatenate(all_scores),
        np.concatenate(all_weights),
        np.concatenate(all_windows),
        n_windows,
    )


def sweep(files: Sequence[LabelledFile], profile: CostProfile) -> SweepResult:
    """Choose the corpus-wide threshold maximising the raw score, and normalise it."""
    scores, weights, window_of, n_windows = _corpus_rows(files, profile)
    if np.isnan(scores).any():
        raise ValueError("NAB scores must not be NaN")
    order = np.argsort(-scores, kind="stable")
    running = _sweep_kernel(weights[order], window_of[order], n_windows, profile.fn)
    sorted_scores = scores[order]
    ends = np.flatnonzero(np.append(sorted_scores[1:] != sorted_scores[:-1], True))
    null = -profile.fn * n_windows
    perfect = profile.tp * n_windows
    best_raw, best_threshold = null, math.inf
    if ends.size:
        k = int(np.argmax(running[ends]))
        if running[ends[k]] > best_raw:
            best_raw = float(running[ends[k]])
            best_threshold = float(sorted_scores[ends[k]])
    return SweepResult(
        profile=profile.name,
        threshold=best_threshold,
        raw=best_raw,
        null=null,
        perfect=perfect,
        normalised=normalise(best_raw, null=null, perfect=perfect),
    )


def score_at(files: Sequence[LabelledFile], profile: CostProfile, threshold: float) -> float:
    """Raw score of a corpus when every row with ``score >= threshold`` is a detection."""
    scores, weights, window_of, n_windows = _corpus_rows(files, profile)
    hit = scores >= threshold
    total = float(weights[hit & (window_of < 0)].sum())
    for w in range(n_windows):
        in_w = hit & (window_of == w)
        total += float(weights[in_w].max()) if in_w.any() else -profile.fn
    return total


def normalise(raw: float, *, null: float, perfect: float) -> float:
    """NAB's normalisation: 100 · (S − S_null) / (S_perfect − S_null)."""
    if perfect == null:
        return 0.0
    return 100.0 * (raw - null) / (perfect - null)


def score_corpus(files: Sequence[LabelledFile]) -> dict[str, SweepResult]:
    """Sweep every profile; the results keyed by profile name."""
    return {name: sweep(files, p) for name, p in PROFILES.items()}
