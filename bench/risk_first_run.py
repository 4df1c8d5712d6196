"""Benchmark: the first `tocsin risk compute` of a model whose tree shape was never seen before.

Each run writes a new random model of 200 nodes (60 inputs; indicator nodes with linear or log10
bounds, both directions, cases; aggregates of 2 to 9 children with every operator) and a table,
then times `tocsin risk compute` in a new Python process (wall clock, start to exit), with
numba's cache pointed at an empty directory, so nothing compiled before can help. The reference,
timed the same way in the same run, is `tocsin --help` (starting Python and importing the
command line): the ratio says how much the computation itself adds.

Large tables (≥ 20,000 rows) use compiled kernels. Timed in a new process too, but only the
evaluation of 50,000 rows generated in memory (reading and writing CSV of that size takes far
longer than the index): the first such run on a machine compiles the kernels once
(`large_first_s`); a run with another new shape loads them from the cache (`large_new_shape_s`).

Run: python bench/risk_first_run.py [--shapes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from machine import describe

METHODS = ["mean", "geometric", "inform_geometric", "max", "min", "sum", "product"]
LAYERS = [80, 55, 35, 17, 8, 4, 1]  # 200 nodes; each layer aggregates the one below


def random_model(seed: int, inputs: int = 60) -> dict[str, object]:
    """A model of 200 nodes whose shape (children per aggregate) depends on `seed`."""
    rng = np.random.default_rng(seed)
    nodes: list[dict[str, object]] = []
    below: list[str] = []
    for k in range(LAYERS[0]):
        a, b = rng.integers(0, inputs, 2)
        log = bool(rng.random() < 0.3)
        node: dict[str, object] = {
            "id": f"I{k}",
            "expr": f"{{in{a}}}" if rng.random() < 0.7 else f"{{in{a}}} / ({{in{b}}} + 1)",
            "normalise": {
                "scale": "log10" if log else "linear",
                "lower": 0.0,
                "upper": 3.0 if log else float(rng.uniform(0.5, 1.5)),
                "direction": "ascending" if rng.random() < 0.6 else "descending",
            },
        }
        if rng.random() < 0.15:
            node["cases"] = [{"when": "missing(raw)", "value": 0.1}]
        nodes.append(node)
        below.append(str(node["id"]))
    for level, size in enumerate(LAYERS[1:], start=1):
        order = list(rng.permutation(below))
        groups: list[list[str]] = [[] for _ in range(size)]
        for i, child in enumerate(order):  # every node below is read at least once
            groups[i % size].append(str(child))
        current = []
        for k, group in enumerate(groups):
            extra = int(rng.integers(0, 4))
            kids = list(dict.fromkeys(group + [str(c) for c in rng.choice(below, extra)]))[:9]
            if len(kids) < 2:
                kids.append(str(rng.choice([c for c in below if c not in kids])))
            nid = f"L{level}_{k}"
            nodes.append(
                {"id": nid, "aggregate": {"method": str(rng.choice(METHODS)), "children": kids}}
            )
            current.append(nid)
        below = current
    return {
        "id": f"random_{seed}",
        "root": below[0],
        "defaults": {"round": 1},
        "inputs": [f"in{i}" for i in range(inputs)],
        "nodes": nodes,
        "rank": [below[0]],
    }


def write_table(path: Path, rows: int, seed: int, inputs: int = 60) -> None:
    """A table of `rows` regions: values in [0, 2) (and up to 1000 for log inputs), 10 % missing."""
    rng = np.random.default_rng(seed)
    values = rng.uniform(0, 2, (rows, inputs)) * np.where(rng.random(inputs) < 0.3, 500, 1)
    values[rng.random((rows, inputs)) < 0.1] = np.nan
    lines = ["id," + ",".join(f"in{i}" for i in range(inputs))]
    for r in range(rows):
        cells = ("" if np.isnan(v) else f"{v:.4f}" for v in values[r])
        lines.append(f"r{r}," + ",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def timed(args: list[str], env: dict[str, str]) -> float:
    """Wall time of `tocsin ARGS` in a new process (which must succeed)."""
    code = "import sys; from tocsin.cli.main import app; sys.argv[0] = 'tocsin'; app()"
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"tocsin {' '.join(args)} failed: {done.stderr or done.stdout}")
    return wall


LARGE = """
import sys, time, numpy as np, yaml
from tocsin.adapters.risk_model_yaml import model_from_mapping
from tocsin.core.risk.evaluate import evaluate
model = model_from_mapping(yaml.safe_load(open(sys.argv[1])))
rng = np.random.default_rng(0)
inputs = {i: rng.uniform(0, 2, 50_000) for i in model.input_ids}
t0 = time.perf_counter()
evaluate(model, inputs, keep=[model.root])
print(time.perf_counter() - t0)
"""


def large_evaluation(model: Path, env: dict[str, str]) -> float:
    """Seconds to evaluate 50,000 rows in a new process (the evaluation alone)."""
    done = subprocess.run(
        [sys.executable, "-c", LARGE, str(model)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"large evaluation failed: {done.stderr}")
    return float(done.stdout.strip().splitlines()[-1])


def first_runs(shapes: int = 5) -> dict[str, float]:
    """Time first computes of new shapes (see the module docstring); the figures, in seconds."""
    seed0 = int(time.time())
    with tempfile.TemporaryDirectory(prefix="tocsin-first-run-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(work / "numba-cache")}
        reference = min(timed(["--help"], env) for _ in range(3))
        small, wri_size = [], []
        for s in range(shapes):
            model = work / f"model{s}.yaml"
            model.write_text(yaml.safe_dump(random_model(seed0 + s)), encoding="utf-8")
            for rows, into in ((191, small), (4439, wri_size)):
                table = work / f"table{rows}.csv"
                if not table.exists():
                    write_table(table, rows, seed0)
                out = work / "out.csv"
                args = ["risk", "compute", "--model", str(model), "--input", str(table)]
                into.append(timed([*args, "--out", str(out)], env))
        large = []
        for s in (shapes, shapes + 1):  # two more new shapes: the first compiles, once
            model = work / f"model{s}.yaml"
            model.write_text(yaml.safe_dump(random_model(seed0 + s)), encoding="utf-8")
            large.append(large_evaluation(model, env))
    return {
        "reference_help_s": round(reference, 3),
        "first_191_rows_median_s": round(statistics.median(small), 3),
        "first_191_rows_max_s": round(max(small), 3),
        "first_4439_rows_median_s": round(statistics.median(wri_size), 3),
        "first_4439_rows_max_s": round(max(wri_size), 3),
        "first_191_rows_over_reference": round(statistics.median(small) / reference, 2),
        "large_first_s": round(large[0], 3),
        "large_new_shape_s": round(large[1], 3),
        "shapes": shapes,
    }


def main() -> None:
    """Run and print the machine, the figures and one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", type=int, default=5)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"load average (1 min) before: {os.getloadavg()[0]:.2f}")
    figures = first_runs(args.shapes)
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps({"load_after": round(os.getloadavg()[0], 2), **figures}))


if __name__ == "__main__":
    main()
