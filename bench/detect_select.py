"""Leave-one-corpus-out choice of ``auto``'s settings over anomaly-dev and NAB.

Every candidate configuration (a small grid over the settings below) scores every corpus once;
each corpus gets one number, ``J`` = the mean of its event-wise F1, point-wise F1, top-1 location
accuracy, NAB-style standard score / 100 and change-point standard score / 100 (the last two
clipped at 0). For each corpus C the configuration with the best mean ``J`` over the *other*
corpora is chosen, and C's figures are reported under it: no figure comes from a setting chosen by
looking at its own corpus. The default is the configuration with the best mean over all corpora;
the script says for which corpora the two agree.

Run: ``python bench/detect_select.py [--benchdata DIR] [--cache DIR]``. Scores are cached per
(corpus, configuration, code) so re-runs only evaluate. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import pickle
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

from tocsin.core.rules.alarms import AlarmRule
from tocsin.services.corpus_benchmark import (
    CorpusResult,
    LabelledSeries,
    detector_scores,
    evaluate,
    load_corpus,
)

CORPORA = ("3w", "asd", "mgab", "ms-cloud-monitoring", "smd", "tep", "nab")
GRID: dict[str, tuple[Any, ...]] = {
    "warmup": (150, 300),
    "adopt": (1.0, 4.0),
    "scales": ((0.25, 0.0625, 0.015625), (0.25, 0.0625)),
}
HOLDS = (8, 60)  # the alarm rule's calm rows (decision only: no re-scoring)


def corpus_root(benchdata: Path, name: str) -> Path:
    """Where a corpus lives (NAB beside anomaly-dev)."""
    return benchdata / "nab" if name == "nab" else benchdata / "anomaly-dev" / name


def _digest() -> str:
    """A digest of the detector sources, so cached scores follow code changes."""
    digest = hashlib.sha256()
    src = Path(__file__).resolve().parents[1] / "src" / "tocsin" / "core" / "detectors"
    for path in sorted(src.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


CODE = _digest()  # taken once, when the detectors are imported


def cached_scores(
    cache: Path, name: str, files: list[LabelledSeries], params: dict[str, Any]
) -> list[Any]:
    """The corpus's scores under ``params`` (computed once per code version)."""
    key = hashlib.sha256((name + json.dumps(params, sort_keys=True) + CODE).encode()).hexdigest()[
        :20
    ]
    path = cache / f"{name}-{key}.pkl"
    if path.is_file():
        return list(pickle.loads(path.read_bytes()))
    scores = detector_scores(files, "auto", params)
    path.write_bytes(pickle.dumps(scores))
    return scores


def objective(result: CorpusResult) -> float:
    """J: the mean of the five figures (NaN figures count 0)."""
    f = result.figures
    parts = [
        f.event_f1,
        f.point_f1,
        f.top1,
        max(result.nab["standard"], 0.0) / 100.0,
        max(f.changepoint["standard"], 0.0) / 100.0,
    ]
    return float(np.mean([0.0 if math.isnan(p) else p for p in parts]))


def configurations() -> list[tuple[dict[str, Any], int]]:
    """Every (detector parameters, alarm hold) pair of the grid."""
    names = list(GRID)
    out = []
    for values in itertools.product(*(GRID[n] for n in names)):
        params = dict(zip(names, values, strict=True))
        out.extend((params, hold) for hold in HOLDS)
    return out


def label(params: dict[str, Any], hold: int) -> str:
    """A short name of a configuration."""
    scales = "3" if len(params["scales"]) == 3 else "2"
    return f"w{params['warmup']}-a{params['adopt']:g}-s{scales}-h{hold}"


def main() -> None:
    """Score every corpus under every configuration, select, print; the last line is JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchdata", type=Path, default=Path("../shared/benchdata"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/tocsin-select-cache"))
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.platform()} | {os.cpu_count()} cores | code {CODE}")
    configs = configurations()
    table: dict[str, dict[str, CorpusResult]] = {}
    for name in CORPORA:
        files = load_corpus(corpus_root(args.benchdata, name))
        start = time.perf_counter()
        for params, hold in configs:
            scores = cached_scores(args.cache, name, files, params)
            result = evaluate(name, files, scores, rule=AlarmRule(hold=hold))
            table.setdefault(label(params, hold), {})[name] = result
        print(f"{name}: {len(files)} files, {time.perf_counter() - start:.0f} s", flush=True)
    scores_j = {c: {n: objective(r) for n, r in rows.items()} for c, rows in table.items()}
    print_grid(scores_j)
    report = select(table, scores_j)
    print(json.dumps(report))


def print_grid(scores_j: dict[str, dict[str, float]]) -> None:
    """J of every configuration on every corpus."""
    print("config".ljust(22) + "".join(n[:9].rjust(10) for n in CORPORA) + "      mean")
    for config, row in scores_j.items():
        values = [row[n] for n in CORPORA]
        cells = "".join(f"{v:10.3f}" for v in values)
        print(config.ljust(22) + cells + f"{np.mean(values):10.3f}")


def select(
    table: dict[str, dict[str, CorpusResult]], scores_j: dict[str, dict[str, float]]
) -> dict[str, Any]:
    """Leave-one-corpus-out choices and the held-out figures; the all-corpora default."""
    default = max(scores_j, key=lambda c: np.mean(list(scores_j[c].values())))
    held_out: dict[str, Any] = {}
    for name in CORPORA:
        others = [n for n in CORPORA if n != name]
        chosen = max(scores_j, key=lambda c: np.mean([scores_j[c][n] for n in others]))
        result = table[chosen][name]
        held_out[name] = {
            "chosen": chosen,
            "same_as_default": chosen == default,
            "J": round(scores_j[chosen][name], 4),
            **result.figures.as_dict(),
            "nab": result.nab,
        }
        print(f"{name:20s} chosen without it: {chosen:22s} J {scores_j[chosen][name]:.3f}")
    print(f"default (best mean over all corpora): {default}")
    at_default = {
        name: {**table[default][name].figures.as_dict(), "nab": table[default][name].nab}
        for name in CORPORA
    }
    return {"default": default, "held_out": held_out, "at_default": at_default}


if __name__ == "__main__":
    main()
