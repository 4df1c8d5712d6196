"""Benchmark: the INFORM Risk 2023 model (177 nodes, 78 inputs) over 1,000,000 grid cells, and
the first `tocsin risk compute` of 200-node models of new shapes (`risk_first_run.py`).

Inputs are synthetic: each input column is drawn by resampling the 191 countries' published raw
values (so the distributions, zeros and missing values are INFORM's), independently per column.
The reference measured in the same run is one numpy pass over every input column (a sum that
skips missing values): `*_over_reference` says how many such passes the whole index costs.
Also times the Buldyrev et al. cascade simulation (two ER networks, N = 100,000, k = 4, p = 0.7).

Run: python bench/risk.py [--cells N] [--repeat R] [--shapes S] [--no-first-runs]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe
from risk_first_run import first_runs
from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import read_indicator_csv
from tocsin.core.cascades.interdependent import erdos_renyi_edges, simulate_mutual_giant
from tocsin.core.risk.classes import class_index, rank_descending
from tocsin.core.risk.evaluate import evaluate

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(os.environ.get("TOCSIN_BENCHDATA", ROOT.parent / "shared" / "benchdata"))


def reference_pass(inputs: dict[str, np.ndarray], repeat: int) -> float:
    """Best wall time of one numpy pass over every input column (a sum skipping NaN)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for column in inputs.values():
            np.nansum(column)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    """Run the benchmark and print the figures (last line: JSON)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shapes", type=int, default=5)
    parser.add_argument("--no-first-runs", action="store_true")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    load_before = os.getloadavg()[0]
    print(f"load average (1 min) before: {load_before:.2f}")

    model = load_model(ROOT / "models" / "inform_2023.yaml")
    source = BENCH / "inform" / "inform_risk_2023_v065_indicator_data.csv"
    table = read_indicator_csv(source, model.table, required=model.input_ids)
    rng = np.random.default_rng(0)
    rows = rng.integers(0, len(table.ids), size=(len(model.input_ids), args.cells))
    inputs = {
        col: np.ascontiguousarray(table.columns[col][rows[j]])
        for j, col in enumerate(model.input_ids)
    }
    scheme = model.classes[0]

    scores = [n.id for n in model.nodes if n.meta.get("score")]

    def timed(keep: list[str] | None, workers: int) -> tuple[float, float]:
        t0, c0 = time.perf_counter(), time.process_time()
        result = evaluate(model, inputs, keep=keep, workers=workers)
        class_index(result.values[model.root], scheme.thresholds)
        rank_descending(result.values[model.root])
        return time.perf_counter() - t0, time.process_time() - c0

    first = timed(None, 1)[0]  # includes loading (or compiling) numba's kernels
    reference = reference_pass(inputs, args.repeat)
    print(f"reference: one numpy pass over the {len(inputs)} input columns: {reference:.3f} s")
    figures: dict[str, float] = {"reference_pass_s": round(reference, 4)}
    print(
        f"INFORM model: {len(model.nodes)} nodes, {len(model.inputs)} inputs, {args.cells:,} cells"
    )
    print(f"first run (all nodes kept, 1 thread, loads compiled kernels): {first:.3f} s")
    for label, keep, workers in [
        ("all_nodes_1thread", None, 1),
        ("all_nodes_2threads", None, 2),
        ("scores_1thread", scores, 1),
        ("scores_2threads", scores, 2),
    ]:
        runs = [timed(keep, workers) for _ in range(args.repeat)]
        times = [w for w, _ in runs]
        cpu = [c for _, c in runs]
        figures[f"{label}_best_s"] = round(min(times), 4)
        figures[f"{label}_median_s"] = round(float(np.median(times)), 4)
        figures[f"{label}_cpu_best_s"] = round(min(cpu), 4)
        figures[f"{label}_over_reference"] = round(min(times) / reference, 2)
        kept = (
            f"all {len(model.inputs) + len(model.nodes)} ids"
            if keep is None
            else f"{len(keep)} published scores"
        )
        print(
            f"{label}: keep {kept}, {workers} thread(s): wall best {min(times):.3f} s, "
            f"median {np.median(times):.3f} s of {args.repeat}; CPU best {min(cpu):.3f} s"
        )

    n = 100_000
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    a, b = erdos_renyi_edges(n, 4.0, rng), erdos_renyi_edges(n, 4.0, rng)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_ = simulate_mutual_giant(a, b, n, 0.7, rng)
    t_sim = time.perf_counter() - t0
    print(
        f"Buldyrev N={n:,} k=4 p=0.7: P∞={run_.fraction:.4f} in {run_.rounds} rounds, "
        f"{t_sim:.3f} s (+{t_gen:.3f} s to draw the networks)"
    )
    first_run = {} if args.no_first_runs else first_runs(args.shapes)
    for key, value in first_run.items():
        print(f"first compute of a new 200-node shape, {key}: {value}")
    load_after = os.getloadavg()[0]
    print(f"load average (1 min) after: {load_after:.2f}")
    print(
        json.dumps(
            {
                "load_before": round(load_before, 2),
                "load_after": round(load_after, 2),
                "cells": args.cells,
                "nodes": len(model.nodes),
                "inputs": len(model.inputs),
                "first_run_s": round(first, 4),
                **figures,
                "buldyrev_n": n,
                "buldyrev_sim_s": round(t_sim, 4),
                "buldyrev_p_inf": run_.fraction,
                **{f"first_compute_{k}": v for k, v in first_run.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
