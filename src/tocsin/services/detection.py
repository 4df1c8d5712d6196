"""Score a CSV file of observations online with a detector (the ``tocsin detect`` use case)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.core.detectors import is_multivariate, make_detector
from tocsin.core.detectors.auto import AutoDetector
from tocsin.core.detectors.base import ArrayDetector
from tocsin.core.detectors.group import AutoGroupDetector
from tocsin.core.rules.alarms import AlarmRule, AlarmState, decide

CHUNK_ROWS = 50_000


class MalformedInput(ValueError):
    """The input file is not a CSV of a timestamp column and numeric value columns."""


@dataclass(frozen=True)
class DetectionSummary:
    """What one scoring run did."""

    rows: int
    columns: tuple[str, ...]
    kind: str
    threshold: float
    anomalies: int


def parse_timestamp(text: str, *, line: int) -> int:
    """Epoch seconds from a number (epoch seconds) or an ISO 8601 timestamp (naive = UTC)."""
    raw = text.strip()
    try:
        number = float(raw)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise MalformedInput(f"line {line}: timestamp {text!r} is not finite")
        return int(number)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise MalformedInput(f"line {line}: cannot read timestamp {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _parse_value(text: str, *, line: int, column: str) -> float:
    """A float from a cell; an empty cell or NaN is missing (NaN)."""
    cell = text.strip()
    if cell == "" or cell.lower() in ("nan", "na", "null"):
        return math.nan
    try:
        return float(cell)
    except ValueError:
        raise MalformedInput(f"line {line}: column {column!r}: {text!r} is not a number") from None


def read_header(path: Path) -> tuple[str, ...]:
    """The column names; the first is the timestamp, at least one value column must follow."""
    with path.open(newline="") as fh:
        header = next(csv.reader(fh), None)
    if not header or len(header) < 2 or any(not h.strip() for h in header):
        raise MalformedInput(f"{path}: need a header 'timestamp,value[,value...]', got {header!r}")
    return tuple(h.strip() for h in header)


def iter_chunks(
    path: Path, *, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.float64]]]:
    """Chunks of (timestamp texts, epoch seconds, values (n, d)) from a CSV file."""
    header = read_header(path)
    width = len(header)
    stamps: list[str] = []
    times: list[int] = []
    rows: list[list[float]] = []
    with path.open(newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for record in reader:
            line = reader.line_num
            if not record or all(not c.strip() for c in record):
                continue
            if len(record) != width:
                raise MalformedInput(f"line {line}: expected {width} fields, got {len(record)}")
            stamps.append(record[0])
            times.append(parse_timestamp(record[0], line=line))
            rows.append(
                [
                    _parse_value(c, line=line, column=h)
                    for c, h in zip(record[1:], header[1:], strict=True)
                ]
            )
            if len(stamps) >= chunk_rows:
                yield stamps, np.array(times, dtype=np.int64), np.array(rows, dtype=np.float64)
                stamps, times, rows = [], [], []
    if stamps:
        yield stamps, np.array(times, dtype=np.int64), np.array(rows, dtype=np.float64)


def group_kind(kind: str) -> str:
    """The detector kind that scores groups for ``kind`` (``auto`` has a group form)."""
    return "auto_group" if kind == "auto" else kind


def choose_kind(kind: str, n_columns: int) -> str:
    """The detector kind to use: with several value columns ``auto`` means ``auto_group``."""
    if n_columns > 1 and not is_multivariate(kind):
        if kind == "auto":
            return group_kind(kind)
        raise MalformedInput(
            f"{n_columns} value columns need a multivariate detector (e.g. mahalanobis), "
            f"not {kind!r}"
        )
    if n_columns == 1 and is_multivariate(kind):
        raise MalformedInput(f"{kind!r} is multivariate; give it two or more value columns")
    return kind


def score_csv(
    source: Path,
    target: Path,
    *,
    kind: str,
    params: dict[str, Any] | None = None,
    rule: AlarmRule | None = None,
    explain: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> DetectionSummary:
    """Score every row of ``source`` online; write ``timestamp,anomaly_score,is_anomaly``.

    ``is_anomaly`` is the alarm rule's decision (an episode starts at a score of 0.5, the
    detector's own threshold, and ends after ``hold`` calm rows). With ``explain`` a fourth
    column names, on alarmed rows, the measure (one value column) or the channels (several) that
    gave the score. The output is written to a temporary file and renamed only when the whole
    input was read: a malformed file leaves nothing behind.
    """
    header = read_header(source)
    used = choose_kind(kind, len(header) - 1)
    det: ArrayDetector = make_detector(used, **(params or {}))
    decision = rule or AlarmRule()
    state = AlarmState.empty()
    partial = target.with_name(target.name + ".partial")
    total = anomalies = 0
    try:
        with partial.open("w", newline="") as out:
            out.write(
                "timestamp,anomaly_score,is_anomaly" + (",explanation\n" if explain else "\n")
            )
            last_time: int | None = None
            for stamps, times, values in iter_chunks(source):
                if (last_time is not None and times[0] < last_time) or (np.diff(times) < 0).any():
                    raise MalformedInput(
                        f"{source}: timestamps must not go backwards (near row {total + 1})"
                    )
                last_time = int(times[-1])
                vals = values if is_multivariate(used) else values[:, 0]
                scores, notes = _score_chunk(det, times, vals, header[1:] if explain else None)
                flags, _ = decide(decision, state, np.zeros(scores.size, np.int64), scores)
                anomalies += int(flags.sum())
                out.writelines(_lines(stamps, scores, flags, notes))
                total += len(stamps)
                if on_progress is not None:
                    on_progress(len(stamps))
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return DetectionSummary(total, header, used, det.threshold, anomalies)


def _lines(
    stamps: list[str],
    scores: npt.NDArray[np.float64],
    flags: npt.NDArray[np.bool_],
    notes: list[str] | None,
) -> Iterator[str]:
    """Output lines of one chunk (the explanation only on alarmed rows)."""
    for i, (s, a, f) in enumerate(zip(stamps, scores, flags, strict=True)):
        tail = "" if notes is None else "," + (notes[i] if f else "")
        yield f"{s},{float(a)!r},{int(f)}{tail}\n"


def _score_chunk(
    det: ArrayDetector,
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    columns: tuple[str, ...] | None,
) -> tuple[npt.NDArray[np.float64], list[str] | None]:
    """Scores of one chunk, and with ``columns`` what explains each row (scored one by one)."""
    series = np.zeros(times.shape[0], dtype=np.int64)
    if columns is None:
        return det.score_batch(series, times, values), None
    scores = np.zeros(times.shape[0])
    notes: list[str] = []
    for i in range(times.shape[0]):
        scores[i] = det.score_batch(series[i : i + 1], times[i : i + 1], values[i : i + 1])[0]
        notes.append(explain_last(det, columns))
    return scores, notes


def explain_last(det: ArrayDetector, columns: tuple[str, ...]) -> str:
    """What gave series 0's last score: the channels at or above their record, strongest first
    (a group; at most three), or the measure (``auto``); empty for other detectors."""
    if isinstance(det, AutoGroupDetector):
        share = det.contributions([0])[0]
        order = [int(j) for j in np.argsort(-share) if share[j] >= 1.0][:3]
        return ";".join(columns[j] for j in order)
    if isinstance(det, AutoDetector):
        return det.measure([0])[0]
    return ""
