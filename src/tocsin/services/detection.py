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
from tocsin.core.detectors.base import ArrayDetector

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
    on_progress: Callable[[int], None] | None = None,
) -> DetectionSummary:
    """Score every row of ``source`` online; write ``timestamp,anomaly_score,is_anomaly``."""
    header = read_header(source)
    used = choose_kind(kind, len(header) - 1)
    det: ArrayDetector = make_detector(used, **(params or {}))
    multivariate = is_multivariate(used)
    total = anomalies = 0
    last_time: int | None = None
    with target.open("w", newline="") as out:
        out.write("timestamp,anomaly_score,is_anomaly\n")
        for stamps, times, values in iter_chunks(source):
            if (last_time is not None and times[0] < last_time) or (np.diff(times) < 0).any():
                raise MalformedInput(
                    f"{source}: timestamps must not go backwards (near row {total})"
                )
            last_time = int(times[-1])
            series = np.zeros(times.shape[0], dtype=np.int64)
            vals = values if multivariate else values[:, 0]
            scores = _score_chunk(det, series, times, vals)
            flags = scores >= det.threshold
            anomalies += int(flags.sum())
            out.writelines(
                f"{s},{float(a)!r},{int(f)}\n"
                for s, a, f in zip(stamps, scores, flags, strict=True)
            )
            total += len(stamps)
            if on_progress is not None:
                on_progress(len(stamps))
    return DetectionSummary(total, header, used, det.threshold, anomalies)


def _score_chunk(
    det: ArrayDetector,
    series: npt.NDArray[np.int64],
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Scores of one chunk; nothing fires before the detector is ready (warm-up scores 0)."""
    return det.score_batch(series, times, values)
