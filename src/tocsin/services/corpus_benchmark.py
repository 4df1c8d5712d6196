"""Run a detector online over a labelled corpus and score its alarms (``tocsin bench detect``).

A corpus is a folder of CSV files (``.csv`` or ``.csv.gz``): ``timestamp``, one or more value
columns, ``label`` (1 = inside a labelled anomaly). Sub-folders are searched; where a ``test/``
folder exists only its files are scored, each after the detector has warmed up on the file of the
same name in ``train/`` (its rows labelled 1, if any, are left out). A NAB folder (``data/`` and
``labels/combined_windows.json``) is read as a corpus whose windows are the labelled ranges.

Every file is one series; all the files of a corpus are scored in one pass, one configuration for
all. Files with one value column go to the univariate detector, files with several to its group
form (``auto`` → ``auto_group``). The alarm flags come from the alarm rule
(:mod:`tocsin.core.rules.alarms`), exactly as ``tocsin detect`` writes them.
"""

from __future__ import annotations

import gzip
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from tocsin.core.detectors import make_detector
from tocsin.core.evaluation import CorpusFigures, FileOutcome, corpus_figures, file_outcome, runs
from tocsin.core.nab import LabelledFile, score_corpus
from tocsin.core.rules.alarms import AlarmRule, AlarmState, decide, first_alarm_scores
from tocsin.services.detection import group_kind
from tocsin.services.nab_benchmark import load_corpus as load_nab

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class LabelledSeries:
    """One file to score: warm-up rows first (``scored_from`` onwards is evaluated)."""

    name: str
    times: IntArray
    values: FloatArray  # (n,) or (n, d)
    labels: npt.NDArray[np.bool_]
    scored_from: int = 0

    @property
    def width(self) -> int:
        """Number of value columns."""
        return 1 if self.values.ndim == 1 else int(self.values.shape[1])


@dataclass(frozen=True)
class CorpusResult:
    """Figures of one corpus and its files' outcomes."""

    name: str
    figures: CorpusFigures
    nab: dict[str, float]
    outcomes: list[FileOutcome]


def _epoch_seconds(stamps: npt.NDArray[Any]) -> IntArray:
    """ISO 8601 timestamps (``Z`` or naive = UTC) to epoch seconds."""
    text = np.char.rstrip(np.asarray(stamps, dtype=str), "Z")
    return np.asarray(text.astype("datetime64[s]").astype(np.int64))


def read_labelled_csv(path: Path) -> tuple[IntArray, FloatArray, npt.NDArray[np.bool_]]:
    """Times, values ((n,) or (n, d); empty cells NaN) and labels of one corpus file."""
    options = pacsv.ConvertOptions(column_types={"timestamp": pa.string()})
    table = pacsv.read_csv(path, convert_options=options)
    names = table.schema.names
    if not names or names[0] != "timestamp" or names[-1] != "label" or len(names) < 3:
        raise ValueError(f"{path}: need columns timestamp, value(s), label; got {names}")
    times = _epoch_seconds(table.column("timestamp").to_numpy(zero_copy_only=False))
    columns = [
        table.column(c).cast(pa.float64()).to_numpy(zero_copy_only=False) for c in names[1:-1]
    ]
    values = columns[0] if len(columns) == 1 else np.column_stack(columns)
    labels = table.column("label").to_numpy(zero_copy_only=False).astype(bool)
    return times, np.asarray(values, dtype=np.float64), labels


def _header(path: Path) -> str:
    """The first line of a (possibly gzip-compressed) text file."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt") as fh:
        return str(fh.readline()).strip()


def _data_files(folder: Path) -> list[Path]:
    """Corpus files under a folder (CSV whose first column is ``timestamp``), sorted by path."""
    found = sorted(p for p in folder.rglob("*") if p.name.endswith((".csv", ".csv.gz")))
    return [p for p in found if p.is_file() and _header(p).startswith("timestamp,")]


def load_corpus(root: Path) -> list[LabelledSeries]:
    """The corpus's files, paired with their training parts where the corpus has them."""
    if (root / "labels" / "combined_windows.json").is_file():
        return _nab_series(root)
    test = root / "test"
    files = _data_files(test if test.is_dir() else root)
    out: list[LabelledSeries] = []
    for path in files:
        times, values, labels = read_labelled_csv(path)
        train = root / "train" / path.name
        if test.is_dir() and train.is_file():
            t0, v0, l0 = read_labelled_csv(train)
            keep = ~l0
            times = np.concatenate([t0[keep], times])
            values = np.concatenate([v0[keep], values])
            labels = np.concatenate([np.zeros(int(keep.sum()), bool), labels])
            start = int(keep.sum())
        else:
            start = 0
        name = str(path.relative_to(root))
        out.append(LabelledSeries(name, times, values, labels, start))
    if not out:
        raise ValueError(f"{root}: no corpus files (*.csv, *.csv.gz) found")
    return out


def _nab_series(root: Path) -> list[LabelledSeries]:
    """NAB's files with their windows as labels."""
    out = []
    for f in load_nab(root):
        labels = np.zeros(f.values.size, dtype=bool)
        for left, right in f.windows:
            labels[left : right + 1] = True
        out.append(LabelledSeries(f.relative, f.times, f.values, labels))
    return out


def detector_scores(
    files: list[LabelledSeries], kind: str, params: dict[str, Any] | None = None
) -> list[FloatArray]:
    """Every file's scores (each file its own series; one detector per value width)."""
    by_width: dict[int, list[int]] = {}
    for i, f in enumerate(files):
        by_width.setdefault(f.width, []).append(i)
    results: dict[int, FloatArray] = {}
    for width, members in sorted(by_width.items()):
        used = kind if width == 1 else group_kind(kind)
        det = make_detector(used, **(params or {}))
        series = np.concatenate([np.full(files[i].times.size, j) for j, i in enumerate(members)])
        times = np.concatenate([files[i].times for i in members])
        values = np.concatenate([files[i].values for i in members])
        scores = det.score_batch(series, times, values)
        start = 0
        for i in members:
            n = files[i].times.size
            results[i] = scores[start : start + n]
            start += n
    return [results[i] for i in range(len(files))]


def evaluate(
    name: str,
    files: list[LabelledSeries],
    scores: list[FloatArray],
    *,
    rule: AlarmRule | None = None,
    cp_window: int = 60,
) -> CorpusResult:
    """Decide alarms with the alarm rule and compute the corpus's figures."""
    outcomes: list[FileOutcome] = []
    nab_files: list[LabelledFile] = []
    for f, sc in zip(files, scores, strict=True):
        zeros = np.zeros(sc.size, dtype=np.int64)
        flags, fresh = decide(rule or AlarmRule(), AlarmState.empty(), zeros, sc)
        a = f.scored_from
        lab = f.labels[a:]
        outcomes.append(file_outcome(f.name, lab, sc[a:], flags[a:], cp_window=cp_window))
        nab_scores = first_alarm_scores(sc[a:], flags[a:], fresh[a:])
        nab_files.append(LabelledFile(f.name, nab_scores, tuple(runs(lab))))
    nab = {k: round(r.normalised, 2) for k, r in score_corpus(nab_files).items()}
    return CorpusResult(name, corpus_figures(outcomes), nab, outcomes)


def run_corpus(
    root: Path,
    kind: str,
    *,
    params: dict[str, Any] | None = None,
    rule: AlarmRule | None = None,
    name: str | None = None,
    cp_window: int = 60,
    progress: Callable[[str], None] | None = None,
) -> CorpusResult:
    """Load, score and evaluate one corpus."""
    files = load_corpus(root)
    if progress:
        progress(f"{root}: {len(files)} files, {sum(f.times.size for f in files):,} rows")
    scores = detector_scores(files, kind, params)
    return evaluate(name or root.name, files, scores, rule=rule, cp_window=cp_window)


def format_row(result: CorpusResult) -> str:
    """One line of a corpus's main figures."""
    f = result.figures

    def fmt(x: float) -> str:
        return "  n/a" if math.isnan(x) else f"{x:5.3f}"

    return (
        f"{result.name:24s} files {f.files:4d} ranges {f.ranges:4d} | "
        f"event P {fmt(f.event_precision)}"
        f" R {fmt(f.event_recall)} F1 {fmt(f.event_f1)} FA {f.false_alarms:5d} delay50 "
        f"{f.delay_median:7.1f} | point F1 {fmt(f.point_f1)} | top1 {fmt(f.top1)} | "
        f"cp {f.changepoint['standard']:6.2f} | nab {result.nab['standard']:6.2f}"
    )
