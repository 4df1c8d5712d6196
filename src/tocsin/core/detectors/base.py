"""The detector protocol and the array-state machinery every detector shares.

A detector keeps its learned state in numpy arrays indexed by a dense series index, grows them on
demand, and updates them in a compiled loop over a batch (``score_batch``): every observation is
scored *before* the detector learns from it, in the given order. The state is a flat dict of arrays
(``checkpoint``/``restore``), so a worker can persist it and resume with identical scores.

NaN policy (every detector): a NaN value scores 0, is not learned, and leaves the state unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors.arrays import Band, BoolArray, FloatArray, IntArray, State, StateArrays

SCORE_THRESHOLD = 0.5  # every detector's own decision threshold on its score scale


@runtime_checkable
class Detector(Protocol):
    """An online detector over many series; one protocol for single series and groups.

    A univariate detector scores ``values`` of shape (n,); a multivariate one scores groups,
    ``values`` of shape (n, d), one row per observation of a group. Scores lie in [0, 1], higher
    is more anomalous, and 0.5 is the detector's own decision threshold (``threshold``) for every
    detector; deciding (episodes, quiet periods, warning levels) belongs to the rules.
    """

    kind: ClassVar[str]
    threshold: float

    def score_batch(
        self, series: IntArray, times: IntArray, values: FloatArray, *, learn: bool = True
    ) -> FloatArray:
        """Score each observation (or group row) before learning from it; scores in [0, 1]."""
        ...

    def ready(self, series: IntArray) -> BoolArray:
        """Whether each series has finished its warm-up."""
        ...

    def expected_range(self, series: IntArray) -> Band:
        """The current expected band (lo, hi) of each series ((n, d) each for a group)."""
        ...

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, by name (``make_detector(kind, **params)`` rebuilds it)."""
        ...

    def checkpoint(self) -> State:
        """The detector's learned state and hyperparameters as arrays and scalars."""
        ...

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the learned state with one from :meth:`checkpoint`."""
        ...

    def export_rows(self, series: npt.ArrayLike) -> StateArrays:
        """The learned state of some series, a row each."""
        ...

    def import_rows(self, series: npt.ArrayLike, rows: Mapping[str, Any]) -> None:
        """Replace the learned state of some series with rows from :meth:`export_rows`."""
        ...


@dataclass(frozen=True)
class StateField:
    """One per-series state array: its dtype, its per-series shape and its initial value."""

    dtype: type
    shape: tuple[int, ...] = ()
    fill: float = 0.0


def finite_band(lo: npt.ArrayLike, hi: npt.ArrayLike) -> Band:
    """A band as float arrays, NaN where it is empty (nothing learnt yet)."""
    low = np.array(lo, dtype=np.float64)
    high = np.array(hi, dtype=np.float64)
    empty = ~(np.isfinite(low) & np.isfinite(high))
    low[empty] = np.nan
    high[empty] = np.nan
    return low, high


def sigma_band(center: FloatArray, var: FloatArray, width: float) -> Band:
    """The band ``center -/+ width * sd``, ``sd`` the square root of ``var`` (0 where negative)."""
    sd = np.sqrt(np.maximum(var, 0.0))
    return center - width * sd, center + width * sd


def as_batch(
    series: npt.ArrayLike, times: npt.ArrayLike, values: npt.ArrayLike, *, dim: int | None = None
) -> tuple[IntArray, IntArray, FloatArray]:
    """Validate and convert one batch to contiguous int64/int64/float64 arrays."""
    s = np.ascontiguousarray(series, dtype=np.int64)
    t = np.ascontiguousarray(times, dtype=np.int64)
    v = np.ascontiguousarray(values, dtype=np.float64)
    if s.ndim != 1 or t.shape != s.shape or v.shape[:1] != s.shape:
        raise ValueError("series, times and values must have the same length")
    if dim is None and v.ndim != 1:
        raise ValueError("a univariate detector takes a 1-d values array")
    if dim is not None and v.ndim != 2:
        raise ValueError("a multivariate detector takes a 2-d (n, d) values array")
    if s.size and s.min() < 0:
        raise ValueError("series indices must be >= 0")
    return s, t, v


class ArrayState:
    """Per-series state arrays that grow on demand, with checkpoint and restore."""

    def __init__(self, fields: Mapping[str, StateField]) -> None:
        """Allocate empty arrays for the given fields."""
        self.fields = dict(fields)
        self.n_series = 0
        self.arrays: StateArrays = {
            name: np.full((0, *f.shape), f.fill, dtype=f.dtype) for name, f in self.fields.items()
        }

    def ensure(self, n_series: int) -> None:
        """Grow every array to hold at least ``n_series`` series (capacity doubles)."""
        if n_series <= self.n_series:
            return
        capacity = next(iter(self.arrays.values())).shape[0] if self.arrays else 0
        if n_series > capacity:
            new_cap = max(n_series, 2 * capacity, 8)
            for name, f in self.fields.items():
                grown: npt.NDArray[Any] = np.full((new_cap, *f.shape), f.fill, dtype=f.dtype)
                grown[:capacity] = self.arrays[name]
                self.arrays[name] = grown
        self.n_series = n_series

    def copy(self) -> ArrayState:
        """A deep copy (for scoring without learning)."""
        other = ArrayState(self.fields)
        other.n_series = self.n_series
        other.arrays = {k: v.copy() for k, v in self.arrays.items()}
        return other

    def export(self) -> StateArrays:
        """The arrays trimmed to the series seen, copied."""
        return {k: v[: self.n_series].copy() for k, v in self.arrays.items()}

    def load(self, arrays: Mapping[str, Any]) -> None:
        """Replace the arrays with checkpointed ones (validated against the fields)."""
        n = None
        loaded: StateArrays = {}
        for name, f in self.fields.items():
            if name not in arrays:
                raise ValueError(f"checkpoint lacks state array {name!r}")
            arr: npt.NDArray[Any] = np.array(arrays[name], dtype=f.dtype)
            if arr.shape[1:] != f.shape:
                raise ValueError(f"state array {name!r} has shape {arr.shape}")
            if n is None:
                n = arr.shape[0]
            if arr.shape[0] != n:
                raise ValueError("state arrays disagree on the number of series")
            loaded[name] = arr
        self.arrays = loaded
        self.n_series = int(n or 0)

    def rows(self, series: IntArray) -> IntArray:
        """Series indices that exist (others are treated as brand-new)."""
        return series[series < self.n_series]

    def take(self, series: IntArray) -> StateArrays:
        """The state of some series, one row each, in their order (a series never seen has
        the fields' initial values, which is how a brand-new series starts)."""
        seen = series < self.n_series
        out: StateArrays = {}
        for name, f in self.fields.items():
            rows: npt.NDArray[Any] = np.full((len(series), *f.shape), f.fill, dtype=f.dtype)
            rows[seen] = self.arrays[name][series[seen]]
            out[name] = rows
        return out

    def put(self, series: IntArray, rows: Mapping[str, Any]) -> None:
        """Set the state of some series from rows given by :meth:`take` (validated against
        the fields); the other series keep theirs."""
        loaded: StateArrays = {}
        for name, f in self.fields.items():
            if name not in rows:
                raise ValueError(f"the rows lack state array {name!r}")
            arr: npt.NDArray[Any] = np.asarray(rows[name], dtype=f.dtype)
            if arr.shape != (len(series), *f.shape):
                raise ValueError(f"state rows {name!r} have shape {arr.shape}")
            loaded[name] = arr
        if len(series):
            self.ensure(int(series.max()) + 1)
        for name, arr in loaded.items():
            self.arrays[name][series] = arr


class ArrayDetector:
    """Shared machinery: hyperparameters, state arrays, batch dispatch, checkpoint and restore.

    Subclasses define ``kind``, ``params`` (the hyperparameter names), ``_fields()`` and ``_run()``
    (the compiled loop), ``_ready()`` and ``_band()``.
    """

    kind: ClassVar[str] = ""
    params: ClassVar[tuple[str, ...]] = ()
    threshold: float = SCORE_THRESHOLD
    dim: int | None = None
    warmup: int  # observations before a series is ready (set by each detector)

    def _fields(self) -> dict[str, StateField]:
        """The per-series state arrays this detector keeps."""
        raise NotImplementedError

    def _run(self, state: StateArrays, s: IntArray, t: IntArray, v: FloatArray) -> FloatArray:
        """Score then learn every observation of a batch, updating ``state`` in place."""
        raise NotImplementedError

    def _ready(self, state: StateArrays, s: IntArray) -> BoolArray:
        """Warm-up flags for existing series ``s``: by default, ``n`` observations seen of
        ``warmup`` (detectors with other warm-up rules override this)."""
        return np.asarray(state["n"][s] >= self.warmup)

    def _band(self, state: StateArrays, s: IntArray) -> Band:
        """Expected band for existing series ``s``."""
        raise NotImplementedError

    @property
    def _state(self) -> ArrayState:
        """The lazily created state container."""
        st: ArrayState | None = self.__dict__.get("_array_state")
        if st is None:
            st = ArrayState(self._fields())
            self.__dict__["_array_state"] = st
        return st

    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, by name."""
        return {name: getattr(self, name) for name in self.params}

    def score_batch(
        self,
        series: npt.ArrayLike,
        times: npt.ArrayLike,
        values: npt.ArrayLike,
        *,
        learn: bool = True,
    ) -> FloatArray:
        """Score each observation before learning from it (``learn=False``: a dry run).

        With ``learn=False`` the batch is scored exactly as it would be, but the learned state is
        left as it was.
        """
        s, t, v = as_batch(series, times, values, dim=self.dim)
        if s.size == 0:
            return np.zeros(0, dtype=np.float64)
        self._check_dim(v)
        state = self._state
        state.ensure(int(s.max()) + 1)
        target = state if learn else state.copy()
        return self._run(target.arrays, s, t, v)

    def _check_dim(self, v: FloatArray) -> None:
        """A group detector (``dim`` not None) fixes its width on the first batch; later batches
        must match."""
        if self.dim is None:
            return
        if not self.dim:
            if v.shape[1] < 1:
                raise ValueError("a group needs at least one indicator")
            self.dim = int(v.shape[1])
            self.__dict__.pop("_array_state", None)
            self._state.ensure(0)
        elif v.shape[1] != self.dim:
            raise ValueError(
                f"this detector scores groups of {self.dim} indicators, got {v.shape[1]}"
            )

    def score_one(self, series: int, time: int, value: float, *, learn: bool = True) -> float:
        """Score (then learn) one observation; a thin wrapper over :meth:`score_batch`."""
        vals = np.asarray([value], dtype=np.float64)
        if self.dim is not None:
            vals = vals.reshape(1, -1)
        out = self.score_batch(np.array([series]), np.array([time]), vals, learn=learn)
        return float(out[0])

    def learn_one(self, series: int, time: int, value: float) -> None:
        """Learn one observation (its score is discarded)."""
        self.score_one(series, time, value)

    def ready(self, series: npt.ArrayLike) -> BoolArray:
        """Warm-up flags per series (False for a series never seen)."""
        s = np.asarray(series, dtype=np.int64)
        out = np.zeros(s.shape, dtype=np.bool_)
        known = (s >= 0) & (s < self._state.n_series)
        out[known] = self._ready(self._state.arrays, s[known])
        return out

    def expected_range(self, series: npt.ArrayLike) -> Band:
        """The current expected band (lo, hi) per series (NaN for a series not yet learned)."""
        s = np.asarray(series, dtype=np.int64)
        shape = s.shape if self.dim is None else (*s.shape, self._width())
        lo = np.full(shape, np.nan)
        hi = np.full(shape, np.nan)
        known = (s >= 0) & (s < self._state.n_series)
        if known.any():
            lo[known], hi[known] = self._band(self._state.arrays, s[known])
        return lo, hi

    def _width(self) -> int:
        """The group width of a multivariate detector (1 until learnt)."""
        return self.dim or 1

    def checkpoint(self) -> State:
        """Hyperparameters, kind and state arrays; feed to :meth:`restore` of a new detector."""
        out: State = {"kind": self.kind, "n_series": self._state.n_series}
        if self.dim is not None:
            out["dim"] = self.dim
        out.update({f"param.{k}": v for k, v in self.get_params().items()})
        out.update({f"state.{k}": v for k, v in self._state.export().items()})
        return out

    def restore(self, state: Mapping[str, Any]) -> None:
        """Load a checkpoint taken from a detector of the same kind and hyperparameters."""
        if state.get("kind") != self.kind:
            raise ValueError(f"checkpoint of kind {state.get('kind')!r}, not {self.kind!r}")
        for name, value in self.get_params().items():
            saved = state.get(f"param.{name}")
            if saved is None or np.any(np.asarray(saved) != np.asarray(value)):
                raise ValueError(f"checkpoint hyperparameter {name}={saved!r} != {value!r}")
        self._restore_extra(state)
        fresh = ArrayState(self._fields())
        fresh.load({k[6:]: v for k, v in state.items() if k.startswith("state.")})
        self.__dict__["_array_state"] = fresh

    def export_rows(self, series: npt.ArrayLike) -> StateArrays:
        """The learned state of some series, a row each (to move them to another detector of
        the same kind and hyperparameters: :meth:`import_rows`)."""
        return self._state.take(np.asarray(series, dtype=np.int64))

    def import_rows(self, series: npt.ArrayLike, rows: Mapping[str, Any]) -> None:
        """Replace the learned state of some series with rows from :meth:`export_rows`."""
        self._state.put(np.asarray(series, dtype=np.int64), rows)

    def _restore_extra(self, state: Mapping[str, Any]) -> None:
        """A group detector takes its learnt width from the checkpoint."""
        if self.dim is not None:
            self.dim = int(state.get("dim", 0))

    def __repr__(self) -> str:
        """The kind and hyperparameters."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
