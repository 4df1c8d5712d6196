"""Run a detector over the NAB corpus online, write NAB's results layout, and score it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors import make_detector
from tocsin.core.nab import LabelledFile, SweepResult, score_corpus
from tocsin.core.rules.alarms import AlarmRule, AlarmState, decide, first_alarm_scores

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class NabFile:
    """One NAB data file: its relative name, raw timestamps, epoch seconds, values, windows."""

    relative: str
    stamps: list[str]
    raw_values: list[str]
    times: IntArray
    values: FloatArray
    windows: tuple[tuple[int, int], ...]

    @property
    def category(self) -> str:
        """The file's category folder."""
        return self.relative.split("/")[0]

    @property
    def file_name(self) -> str:
        """The file's base name."""
        return self.relative.split("/")[1]


@dataclass(frozen=True)
class NabRun:
    """Scores of one detector over the corpus and the three profile results."""

    files: list[NabFile]
    scores: list[FloatArray]
    results: dict[str, SweepResult]


def benchdata_root() -> Path:
    """``$TOCSIN_BENCHDATA`` or ``../shared/benchdata`` from the repository root."""
    env = os.environ.get("TOCSIN_BENCHDATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[3]
    candidate = repo.parent / "shared" / "benchdata"
    if candidate.is_dir():
        return candidate
    return Path.cwd().parent / "shared" / "benchdata"


def _epoch_seconds(stamps: list[str]) -> IntArray:
    """ISO-like timestamps (space or T separated) to int64 epoch seconds."""
    arr = np.array([s.strip().replace(" ", "T") for s in stamps], dtype="datetime64[s]")
    return arr.astype(np.int64)


def _read_data(path: Path) -> tuple[list[str], list[str], FloatArray]:
    """The timestamp strings, value strings and values of one NAB data file."""
    stamps: list[str] = []
    texts: list[str] = []
    values: list[float] = []
    with path.open() as fh:
        header = fh.readline().strip().split(",")
        if header[:2] != ["timestamp", "value"]:
            raise ValueError(f"{path}: unexpected header {header}")
        for line in fh:
            if not line.strip():
                continue
            stamp, value = line.rstrip("\n").split(",")[:2]
            stamps.append(stamp)
            texts.append(value)
            values.append(float(value))
    return stamps, texts, np.asarray(values, dtype=np.float64)


def load_corpus(nab_root: Path | None = None) -> list[NabFile]:
    """Every NAB data file with its windows as row indices, sorted by relative name."""
    root = nab_root if nab_root is not None else benchdata_root() / "nab"
    windows_json = json.loads((root / "labels" / "combined_windows.json").read_text())
    files: list[NabFile] = []
    for relative in sorted(windows_json):
        stamps, texts, values = _read_data(root / "data" / relative)
        times = _epoch_seconds(stamps)
        rows: list[tuple[int, int]] = []
        for left_s, right_s in windows_json[relative]:
            left_t, right_t = _epoch_seconds([left_s.split(".")[0], right_s.split(".")[0]])
            left = int(np.searchsorted(times, left_t, side="left"))
            right = int(np.searchsorted(times, right_t, side="right")) - 1
            rows.append((left, right))
        files.append(NabFile(relative, stamps, texts, times, values, tuple(rows)))
    return files


def run_detector(
    files: list[NabFile], kind: str, params: dict[str, object] | None = None
) -> list[FloatArray]:
    """NAB's scores of every file: each file its own series, scored online in one batch, then
    passed through the alarm rule (a score counts where it is a fresh detection or below the
    decision threshold; repeats within an episode or its quiet period count 0)."""
    det = make_detector(kind, **(params or {}))
    series = np.concatenate(
        [np.full(f.values.shape[0], i, dtype=np.int64) for i, f in enumerate(files)]
    )
    times = np.concatenate([f.times for f in files])
    values = np.concatenate([f.values for f in files])
    raw = det.score_batch(series, times, values)
    flags, fresh = decide(AlarmRule(), AlarmState.empty(), series, raw)
    scores = first_alarm_scores(raw, flags, fresh)
    out: list[FloatArray] = []
    start = 0
    for f in files:
        n = f.values.shape[0]
        out.append(np.asarray(scores[start : start + n], dtype=np.float64))
        start += n
    return out


def score_files(files: list[NabFile], scores: list[FloatArray]) -> dict[str, SweepResult]:
    """NAB's three profile results for the given per-file scores."""
    labelled = [LabelledFile(f.relative, s, f.windows) for f, s in zip(files, scores, strict=True)]
    return score_corpus(labelled)


def write_results(
    out_dir: Path, name: str, files: list[NabFile], scores: list[FloatArray]
) -> list[FloatArray]:
    """Write NAB's layout ``DIR/<name>/<category>/<name>_<file>.csv``; return the scores as written.

    The written text round-trips exactly (``repr`` of each float), so scoring the returned arrays
    equals scoring the files.
    """
    written: list[FloatArray] = []
    for f, s in zip(files, scores, strict=True):
        clipped = np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0)
        label = np.zeros(clipped.shape[0], dtype=np.int64)
        for left, right in f.windows:
            label[left : right + 1] = 1
        target = out_dir / name / f.category / f"{name}_{f.file_name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        lines = ["timestamp,value,anomaly_score,label"]
        lines.extend(
            f"{t},{v},{float(a)!r},{lab}"
            for t, v, a, lab in zip(f.stamps, f.raw_values, clipped, label, strict=True)
        )
        target.write_text("\n".join(lines) + "\n")
        written.append(clipped)
    return written


def run_nab(
    kind: str,
    out_dir: Path | None,
    *,
    params: dict[str, object] | None = None,
    nab_root: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> NabRun:
    """Load the corpus, run the detector, write the layout if asked, and score all profiles."""
    files = load_corpus(nab_root)
    if progress:
        progress(f"loaded {len(files)} files, {sum(f.values.size for f in files)} rows")
    scores = run_detector(files, kind, params)
    if out_dir is not None:
        scores = write_results(out_dir, kind, files, scores)
    else:
        scores = [np.clip(np.nan_to_num(s, nan=0.0), 0.0, 1.0) for s in scores]
    return NabRun(files=files, scores=scores, results=score_files(files, scores))
