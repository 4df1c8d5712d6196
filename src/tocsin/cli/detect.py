"""``tocsin detect`` (score a CSV online), ``tocsin bench nab`` (run NAB) and ``tocsin bench
detect`` (run a detector over labelled corpora: event-wise, point-wise, NAB-style, change-point
and top-1 figures).

The detectors (numba) are imported when a command runs or its help is shown, not before.
"""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from tocsin.cli.common import group, reported

bench_app = group("Benchmarks.")
PROGRESS_MIN_BYTES = 2_000_000
KindOption = Annotated[
    str, typer.Option("--detector", metavar="KIND", help="Detector kind (listed below).")
]
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", metavar="KEY=VALUE", help="Hyperparameter (repeatable)."),
]
HoldOption = Annotated[
    int | None,
    typer.Option("--hold", min=1, metavar="ROWS", help="Calm rows that end an alarm (default 60)."),
]


class DetectorHelp(TyperCommand):
    """A command whose help ends with the detector kinds and what each is for."""

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        """List the registered detectors (imported only now, for this help)."""
        from tocsin.core.detectors import DETECTORS

        rows = [(kind, _summary(cls)) for kind, cls in sorted(DETECTORS.items())]
        with formatter.section("Detector kinds"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


def _summary(cls: type) -> str:
    return (inspect.getdoc(cls) or "").split("\n", 1)[0]


def parse_params(items: list[str] | None) -> dict[str, Any]:
    """``key=value`` pairs to hyperparameters (values parsed as JSON when they can be)."""
    params: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected key=value, got {item!r}", param_hint="--param")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        params[key.strip()] = tuple(parsed) if isinstance(parsed, list) else parsed
    return params


def check_detector(kind: str, params: dict[str, Any]) -> None:
    """A usage error for an unknown kind, an unknown parameter or a value the detector refuses."""
    from tocsin.core.detectors import DETECTORS, make_detector

    if kind not in DETECTORS:
        raise typer.BadParameter(
            f"unknown detector {kind!r} (known: {', '.join(sorted(DETECTORS))})",
            param_hint="--detector",
        )
    accepted = [p for p in inspect.signature(DETECTORS[kind]).parameters if p != "self"]
    for key in params:
        if key not in accepted:
            raise typer.BadParameter(
                f"{kind} has no parameter {key!r} (its parameters: {', '.join(accepted)})",
                param_hint="--param",
            )
    try:
        make_detector(kind, **params)
    except (TypeError, ValueError) as err:
        raise typer.BadParameter(f"{kind}: {err}", param_hint="--param") from None


def _count_lines(path: Path) -> int:
    """Data rows in a file (lines minus the header)."""
    with path.open("rb") as fh:
        return max(sum(1 for _ in fh) - 1, 0)


def detect(
    input: Annotated[
        Path, typer.Option("--input", metavar="CSV", help="CSV: timestamp, value column(s).")
    ],
    out: Annotated[Path, typer.Option("--out", metavar="CSV", help="Scores CSV to write.")],
    detector: KindOption = "auto",
    param: ParamOption = None,
    hold: HoldOption = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Add a column naming the measure or channels.")
    ] = False,
) -> None:
    """Score every row of a CSV online; write timestamp,anomaly_score,is_anomaly."""
    from rich.console import Console

    params = parse_params(param)
    check_detector(detector, params)
    console = Console(stderr=True)
    if not input.is_file():
        console.print(f"[red]error:[/red] no such file: {input}")
        raise typer.Exit(2)
    partial = out.with_name(f".{out.name}.partial")
    try:
        options = {"kind": detector, "params": params, "rule": _rule(hold), "explain": explain}
        summary = _score(input, partial, options=options, console=console)
        os.replace(partial, out)
    except (ValueError, OSError) as err:  # MalformedInput is a ValueError
        partial.unlink(missing_ok=True)
        message = str(err) if str(err).startswith(str(input)) else f"{input}: {err}"
        console.print(f"[red]error:[/red] {message}", markup=True, highlight=False)
        raise typer.Exit(2) from None
    console.print(
        f"{summary.rows} rows scored with {summary.kind} "
        f"(threshold {summary.threshold:.6g}): {summary.anomalies} anomalies -> {out}"
    )


def _rule(hold: int | None) -> Any:
    """The alarm rule, with ``--hold`` when given (numba is imported only now)."""
    from tocsin.core.rules.alarms import AlarmRule

    return AlarmRule() if hold is None else AlarmRule(hold=hold)


def _score(source: Path, target: Path, *, options: dict[str, Any], console: Any) -> Any:
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from tocsin.services.detection import score_csv

    if source.stat().st_size < PROGRESS_MIN_BYTES:
        return score_csv(source, target, **options)
    columns = (TextColumn("scoring"), BarColumn(), TextColumn("{task.completed} rows"))
    with Progress(*columns, TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("scoring", total=_count_lines(source))
        return score_csv(source, target, **options, on_progress=lambda n: bar.advance(task, n))


@bench_app.command("nab", cls=DetectorHelp)
def nab(
    out: Annotated[Path, typer.Option("--out", metavar="DIR", help="Results folder (NAB layout).")],
    detector: KindOption = "auto",
    param: ParamOption = None,
    nab_root: Annotated[
        Path | None,
        typer.Option(
            "--nab-root",
            metavar="DIR",
            help="NAB folder (default: TOCSIN_BENCHDATA/nab).",
            exists=True,
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Run a detector online over the NAB corpus, write NAB's layout, print the three scores."""
    from tocsin.core.errors import Unavailable
    from tocsin.services.nab_benchmark import run_nab

    params = parse_params(param)
    check_detector(detector, params)
    with reported():
        try:
            run = run_nab(detector, out, params=params, nab_root=nab_root, progress=print)
        except OSError as err:
            raise Unavailable(f"cannot run NAB: {err.strerror}: {err.filename}") from err
    for name, result in run.results.items():
        print(
            f"{name:20s} {result.normalised:7.2f}  (raw {result.raw:.3f}, "
            f"threshold {result.threshold:.6g})"
        )
    print(json.dumps({name: round(r.normalised, 2) for name, r in run.results.items()}))


@bench_app.command("detect", cls=DetectorHelp)
def bench_detect(
    corpus: Annotated[
        list[Path],
        typer.Option(
            "--corpus",
            metavar="DIR",
            help="Corpus folder (repeatable): CSVs of timestamp,values,label.",
        ),
    ],
    detector: KindOption = "auto",
    param: ParamOption = None,
    hold: HoldOption = None,
    cp_window: Annotated[
        int, typer.Option("--cp-window", min=1, help="Change-point window (rows after it).")
    ] = 60,
) -> None:
    """Run a detector online over labelled corpora; print each corpus's figures and a JSON line."""
    from tocsin.core.errors import Unavailable
    from tocsin.services.corpus_benchmark import format_row, run_corpus

    params = parse_params(param)
    check_detector(detector, params)
    missing = [str(c) for c in corpus if not c.is_dir()]
    if missing:
        raise typer.BadParameter(
            f"no such corpus folder: {', '.join(missing)}", param_hint="--corpus"
        )
    rule = _rule(hold)
    figures: dict[str, Any] = {}
    for root in corpus:
        with reported():
            try:
                result = run_corpus(
                    root, detector, params=params, rule=rule, cp_window=cp_window, progress=print
                )
            except (ValueError, OSError) as err:
                raise Unavailable(f"{root}: {err}") from err
        print(format_row(result))
        figures[result.name] = {**result.figures.as_dict(), "nab": result.nab}
    print(
        json.dumps({"detector": detector, "params": params, "hold": rule.hold, "corpora": figures})
    )
