"""Detection speed and memory: observations per second per core for every detector, River's HST.

Three workloads: the whole NAB corpus (58 series, 365,558 rows, one batch, each file its own
series); 10 million generated observations over 100,000 series (time-major, interleaved: 100 per
series, so mostly warm-up); and, for ``auto``, 10 million over 1,000 series (10,000 each: the
steady state, every measure running). Groups (``mahalanobis``, ``auto_group``) score 2.5 million
rows of 4 values. The compiled detectors run on one core (numba, no parallel loops); figures are
after compilation, best of ``REPEATS``. The state size is the bytes of a checkpoint's arrays per
series after the run. River's HalfSpaceTrees (one model per series, score_one then learn_one)
runs on the whole NAB corpus, and on the first 200 generated series with all their observations
(100,000 HST models would not fit in memory; with 100 observations per series, building the models
dominates), in the same run; the ratio is ours / River's.

Run: ``python bench/detect.py [--quick]``. The last line printed is one JSON object.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors import DETECTORS, is_multivariate, make_detector
from tocsin.services.nab_benchmark import load_corpus

REPEATS = 3
N_SERIES = 100_000
N_OBS = 10_000_000
GROUP_DIM = 4


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, else platform.processor()."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def generated(n_obs: int, n_series: int) -> tuple[npt.NDArray[Any], ...]:
    """A time-major stream: every series gets one observation per 5-minute step."""
    steps = n_obs // n_series
    rng = np.random.default_rng(0)
    series = np.tile(np.arange(n_series, dtype=np.int64), steps)
    step = np.repeat(np.arange(steps, dtype=np.int64), n_series)
    times = 1_700_000_000 + 300 * step
    values = np.sin(2 * np.pi * step / 288.0) + rng.normal(scale=0.3, size=series.size)
    return series, times, values


def best_time(run: Callable[[], object]) -> float:
    """Best wall time of ``REPEATS`` runs."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def time_detector(kind: str, series: Any, times: Any, values: Any) -> tuple[float, float]:
    """Seconds to score the whole stream with a fresh detector (compiled beforehand), and the
    bytes of state per series it then holds."""
    make_detector(kind).score_batch(series[:1000], times[:1000], values[:1000])  # compile
    held: list[Any] = []

    def run() -> None:
        det = make_detector(kind)
        det.score_batch(series, times, values)
        held[:] = [det]

    seconds = best_time(run)
    state = held[0].checkpoint()
    arrays = [np.asarray(v) for k, v in state.items() if k.startswith("state.")]
    per_series = sum(a.nbytes for a in arrays) / max(int(state["n_series"]), 1)
    return seconds, per_series


def time_river(series: Any, values: Any) -> float:
    """Seconds for River's HalfSpaceTrees, one model per series, score then learn each value."""
    from river import anomaly

    models: dict[int, Any] = {}
    start = time.perf_counter()
    for k, v in zip(series.tolist(), values.tolist(), strict=True):
        model = models.get(k)
        if model is None:
            model = models[k] = anomaly.HalfSpaceTrees(seed=42)
        x = {"value": v}
        model.score_one(x)
        model.learn_one(x)
    return time.perf_counter() - start


def main() -> None:
    """Measure and print every figure; the last line is JSON."""
    quick = "--quick" in sys.argv
    n_obs = 1_000_000 if quick else N_OBS
    n_series = 10_000 if quick else N_SERIES
    print(f"machine: {platform.platform()} | {cpu_model()} | {os.cpu_count()} cores")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    files = load_corpus()
    nab_s = np.concatenate([np.full(f.values.size, i, dtype=np.int64) for i, f in enumerate(files)])
    nab_t = np.concatenate([f.times for f in files])
    nab_v = np.concatenate([f.values for f in files])
    gen_s, gen_t, gen_v = generated(n_obs, n_series)
    figures: dict[str, Any] = {"nab_rows": int(nab_v.size), "generated_obs": int(gen_v.size)}
    for kind in sorted(DETECTORS):
        if is_multivariate(kind):
            rows = gen_v.size // GROUP_DIM
            vals = gen_v[: rows * GROUP_DIM].reshape(rows, GROUP_DIM)
            groups = gen_s[:rows] % (n_series // GROUP_DIM)
            sec, per = time_detector(kind, groups, gen_t[:rows], vals)
            figures[f"{kind}_generated_rows_per_s"] = round(rows / sec)
            figures[f"{kind}_state_bytes_per_group"] = round(per)
            print(
                f"{kind:12s} generated {rows:,} rows x {GROUP_DIM}: "
                f"{sec:.3f} s, {rows / sec:,.0f} rows/s, {per:,.0f} bytes per group"
            )
            continue
        nab_sec, _ = time_detector(kind, nab_s, nab_t, nab_v)
        gen_sec, per = time_detector(kind, gen_s, gen_t, gen_v)
        figures[f"{kind}_nab_s"] = round(nab_sec, 4)
        figures[f"{kind}_nab_obs_per_s"] = round(nab_v.size / nab_sec)
        figures[f"{kind}_generated_obs_per_s"] = round(gen_v.size / gen_sec)
        figures[f"{kind}_state_bytes_per_series"] = round(per)
        print(
            f"{kind:12s} NAB {nab_sec:.3f} s ({nab_v.size / nab_sec:,.0f} obs/s) | "
            f"generated {gen_sec:.3f} s ({gen_v.size / gen_sec:,.0f} obs/s) | "
            f"{per:,.0f} bytes per series"
        )
    long_s, long_t, long_v = generated(n_obs, n_series // 100)
    long_sec, _ = time_detector("auto", long_s, long_t, long_v)
    figures["auto_steady_obs_per_s"] = round(long_v.size / long_sec)
    print(
        f"auto         steady state {long_v.size:,} obs over {n_series // 100:,} series: "
        f"{long_sec:.3f} s ({long_v.size / long_sec:,.0f} obs/s)"
    )
    river_nab = time_river(nab_s, nab_v)
    take = np.flatnonzero(gen_s < 200)
    river_gen = time_river(gen_s[take], gen_v[take])
    figures["river_hst_nab_obs_per_s"] = round(nab_v.size / river_nab)
    figures["river_hst_generated_obs_per_s"] = round(take.size / river_gen)
    print(f"river HST    NAB {river_nab:.1f} s ({nab_v.size / river_nab:,.0f} obs/s)")
    print(f"river HST    generated subset {take.size:,} obs ({take.size / river_gen:,.0f} obs/s)")
    for kind in sorted(DETECTORS):
        if not is_multivariate(kind):
            figures[f"{kind}_vs_river_nab"] = round(
                figures[f"{kind}_nab_obs_per_s"] / figures["river_hst_nab_obs_per_s"], 1
            )
            figures[f"{kind}_vs_river_generated"] = round(
                figures[f"{kind}_generated_obs_per_s"] / figures["river_hst_generated_obs_per_s"], 1
            )
    figures["load_average_end"] = round(os.getloadavg()[0], 1)
    print(f"load average at the end: {figures['load_average_end']}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
