"""``tocsin detect`` (score a CSV online), ``tocsin bench nab`` (run NAB) and
``tocsin bench detect`` (run a detector over labelled corpora and report event-wise, point-wise,
NAB-style, change-point and top-1 figures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from tocsin.core.detectors import DETECTORS
from tocsin.core.rules.alarms import AlarmRule
from tocsin.services.corpus_benchmark import CorpusResult, format_row, run_corpus
from tocsin.services.detection import MalformedInput, score_csv
from tocsin.services.nab_benchmark import run_nab

bench_app = typer.Typer(help="Benchmarks.", no_args_is_help=True)
PROGRESS_MIN_BYTES = 2_000_000


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs to hyperparameters (values parsed as JSON when they can be)."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected key=value, got {item!r}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        params[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return params


def _check_kind(kind: str) -> None:
    """Exit with a clear message for an unknown detector kind."""
    if kind not in DETECTORS:
        raise typer.BadParameter(
            f"unknown detector {kind!r}; known: {', '.join(sorted(DETECTORS))}"
        )


def _count_lines(path: Path) -> int:
    """Data rows in a file (lines minus the header)."""
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def detect(
    input: Annotated[Path, typer.Option("--input", help="CSV: timestamp, value column(s).")],
    out: Annotated[Path, typer.Option("--out", help="Scores CSV to write.")],
    detector: Annotated[str, typer.Option("--detector", help="Detector kind.")] = "auto",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Hyperparameter key=value (repeatable).")
    ] = None,
    hold: Annotated[
        int, typer.Option("--hold", min=1, help="Calm rows that end an alarm (is_anomaly).")
    ] = AlarmRule().hold,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add a column naming the measure or channels.")
    ] = False,
) -> None:
    """Score every row of a CSV online; write timestamp,anomaly_score,is_anomaly."""
    _check_kind(detector)
    console = Console(stderr=True)
    if not input.is_file():
        console.print(f"[red]error:[/red] no such file: {input}")
        raise typer.Exit(2)
    params = parse_params(param)
    options: dict[str, Any] = {
        "kind": detector, "params": params, "rule": AlarmRule(hold=hold), "explain": explain,
    }  # fmt: skip
    try:
        if input.stat().st_size >= PROGRESS_MIN_BYTES:
            columns = (TextColumn("scoring"), BarColumn(), TextColumn("{task.completed} rows"))
            with Progress(*columns, TimeRemainingColumn(), console=console) as bar:
                task = bar.add_task("scoring", total=_count_lines(input))
                summary = score_csv(
                    input, out, **options, on_progress=lambda n: bar.advance(task, n)
                )
        else:
            summary = score_csv(input, out, **options)
    except (MalformedInput, ValueError) as err:
        console.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from None
    console.print(
        f"{summary.rows} rows scored with {summary.kind} "
        f"(threshold {summary.threshold:.6g}): {summary.anomalies} anomalies -> {out}"
    )


@bench_app.command("nab")
def nab(
    out: Annotated[Path, typer.Option("--out", help="Results folder (NAB layout).")],
    detector: Annotated[str, typer.Option("--detector", help="Detector kind.")] = "auto",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Hyperparameter key=value (repeatable).")
    ] = None,
    nab_root: Annotated[
        Path | None,
        typer.Option("--nab-root", help="NAB folder (default ../shared/benchdata/nab)."),
    ] = None,
) -> None:
    """Run a detector online over the NAB corpus, write NAB's layout, print the three scores."""
    _check_kind(detector)
    run = run_nab(detector, out, params=parse_params(param), nab_root=nab_root, progress=print)
    for name, result in run.results.items():
        print(
            f"{name:20s} {result.normalised:7.2f}  (raw {result.raw:.3f}, "
            f"threshold {result.threshold:.6g})"
        )
    print(json.dumps({name: round(r.normalised, 2) for name, r in run.results.items()}))


@bench_app.command("detect")
def bench_detect(
    corpus: Annotated[
        list[Path],
        typer.Option(
            "--corpus", help="Corpus folder (repeatable): CSVs of timestamp,values,label."
        ),
    ],
    detector: Annotated[str, typer.Option("--detector", help="Detector kind.")] = "auto",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Hyperparameter key=value (repeatable).")
    ] = None,
    hold: Annotated[
        int, typer.Option("--hold", min=1, help="Calm rows that end an alarm.")
    ] = AlarmRule().hold,
    cp_window: Annotated[
        int, typer.Option("--cp-window", min=1, help="Change-point window (rows after it).")
    ] = 60,
) -> None:
    """Run a detector online over labelled corpora; print each corpus's figures and a JSON line."""
    _check_kind(detector)
    missing = [str(c) for c in corpus if not c.is_dir()]
    if missing:
        print(f"error: no such corpus folder: {', '.join(missing)}")
        raise typer.Exit(2)
    params = parse_params(param)
    results: list[CorpusResult] = []
    for root in corpus:
        try:
            result = run_corpus(
                root, detector, params=params, rule=AlarmRule(hold=hold), cp_window=cp_window,
                progress=print,
            )  # fmt: skip
        except (ValueError, OSError) as err:
            print(f"error: {root}: {err}")
            raise typer.Exit(2) from None
        print(format_row(result))
        results.append(result)
    figures = {r.name: {**r.figures.as_dict(), "nab": r.nab} for r in results}
    print(json.dumps({"detector": detector, "params": params, "hold": hold, "corpora": figures}))
