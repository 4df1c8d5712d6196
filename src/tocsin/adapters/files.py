"""Bulk observation files (CSV, Parquet) read column-wise with pyarrow.

A file has the columns `indicator`, `time` (ISO 8601 with or without offset, naive meaning UTC,
or integer epoch seconds; `timestamp` is accepted as the column name too) and `value`. Any
problem is reported with file, line (the header is line 1) and field, and nothing of the file is
returned for storing.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tocsin.core.errors import InvalidInput, Problem
from tocsin.core.observations import EARLIEST_TIME, LATEST_TIME, times_out_of_range

REQUIRED = ("indicator", "time", "value")
MAX_PROBLEMS = 50
CHUNK_BYTES = 1 << 20
OUT_OF_RANGE = "outside the supported range 1900-01-01 to 9999-12-31"


@dataclass(frozen=True, slots=True)
class FileColumns:
    """One file's observations as columns, with codes still as text."""

    path: Path
    codes: npt.NDArray[np.object_]
    code_index: npt.NDArray[np.int64]  # row -> index into `codes` (dictionary encoded)
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.times)

    def line_of(self, row: int) -> int:
        """The 1-based file line of a data row (CSV: the header is line 1)."""
        return row + 2 if self.path.suffix.lower() != ".parquet" else row + 1


def read_observation_file(path: Path, *, known: Collection[str] | None = None) -> FileColumns:
    """Read and validate a CSV or Parquet file; raise InvalidInput listing its problems.

    With `known` (the indicator codes), a row naming another indicator is a problem too,
    reported together with the file's format problems.
    """
    if not path.is_file():
        raise InvalidInput([Problem(str(path), "", "no such file")])
    table = _read_table(path, known)
    _check_columns(path, table)
    return _columns(path, table, known)


def _read_table(path: Path, known: Collection[str] | None) -> pa.Table:
    try:
        if path.suffix.lower() == ".parquet":
            return pq.read_table(path)
        _check_utf8(path)
        # the time column's type is inferred (epoch integers, ISO 8601 with or without offset)
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types={"indicator": pa.string(), "value": pa.float64()},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, OSError) as err:
        problems = _scan_csv(path, known) if path.suffix.lower() != ".parquet" else []
        raise InvalidInput(problems or [Problem(str(path), "", f"unreadable: {err}")]) from err


def _check_columns(path: Path, table: pa.Table) -> None:
    names = set(table.column_names)
    if "timestamp" in names and "time" not in names:
        names.add("time")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        where = f"{path}:1" if path.suffix.lower() != ".parquet" else str(path)
        raise InvalidInput([Problem(where, c, "missing column") for c in missing])


def _check_types(path: Path, table: pa.Table, known: Collection[str] | None) -> None:
    """A column of the wrong type (Parquet, or a CSV column pyarrow typed) is refused whole."""
    where = f"{path}:1" if path.suffix.lower() != ".parquet" else str(path)
    time_name = "time" if "time" in table.column_names else "timestamp"
    checks = (
        ("indicator", _is_text, "text"),
        ("value", _is_number, "numbers (integer or floating point)"),
        (time_name, _is_time, "times (timestamps, integer epoch seconds or ISO 8601 text)"),
    )
    problems = [
        Problem(where, name, f"column of type {table.column(name).type}; expected {expected}")
        for name, accepts, expected in checks
        if not accepts(table.column(name).type)
    ]
    if problems and path.suffix.lower() != ".parquet":
        # a CSV column typed as something else by inference: name the lines that made it so
        problems = _scan_csv(path, known) or problems
    if problems:
        raise InvalidInput(problems)


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_dictionary(kind):
        return _is_text(kind.value_type)
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind))


def _is_time(kind: pa.DataType) -> bool:
    return bool(pa.types.is_timestamp(kind) or pa.types.is_integer(kind) or _is_text(kind))


def _columns(path: Path, table: pa.Table, known: Collection[str] | None) -> FileColumns:
    _check_types(path, table, known)
    time_col = table.column("time" if "time" in table.column_names else "timestamp")
    codes = table.column("indicator")
    if pa.types.is_dictionary(codes.type):
        codes = pc.cast(codes, pa.string())
    values = table.column("value")
    problems: list[Problem] = []
    line = 2 if path.suffix.lower() != ".parquet" else 1
    if codes.null_count or pc.any(pc.equal(pc.utf8_length(codes), 0)).as_py():
        bad = np.flatnonzero(
            pc.or_kleene(pc.is_null(codes), pc.equal(pc.utf8_length(codes), 0)).to_numpy(
                zero_copy_only=False
            )
        )
        problems += [
            Problem(f"{path}:{i + line}", "indicator", "empty") for i in bad[:MAX_PROBLEMS]
        ]
    value_np = values.to_numpy(zero_copy_only=False).astype(np.float64)
    bad_values = np.flatnonzero(~np.isfinite(value_np))
    problems += [
        Problem(f"{path}:{i + line}", "value", "not a finite number")
        for i in bad_values[:MAX_PROBLEMS]
    ]
    times = _times(time_col)
    if times is None:
        problems += _time_problems(path, time_col, line)
    else:
        problems += _range_problems(path, times, line)
    if known is not None:
        problems += _unknown_problems(path, codes, known, line)
    if problems:
        raise InvalidInput(problems[:MAX_PROBLEMS])
    encoded = pc.dictionary_encode(codes).combine_chunks()
    return FileColumns(
        path=path,
        codes=np.asarray(encoded.dictionary.to_pylist(), dtype=object),
        code_index=encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64),
        times=times if times is not None else np.empty(0, dtype=np.int64),
        values=value_np,
    )


def _times(column: pa.ChunkedArray) -> npt.NDArray[np.int64] | None:
    """Epoch seconds of a time column, or None when a cell is empty or not a time."""
    if column.null_count:
        return None
    if pa.types.is_timestamp(column.type):
        ts = pc.cast(column, pa.timestamp("s", tz=column.type.tz or "UTC"), safe=False)
        return _int64(ts.to_numpy().astype("datetime64[s]"))
    if pa.types.is_integer(column.type):
        too_large = pa.types.is_unsigned_integer(column.type) and len(column) > 0
        if too_large and pc.max(column).as_py() > np.iinfo(np.int64).max:
            return None
        return _int64(column.to_numpy())
    for target, localize in (
        (pa.timestamp("s", tz="UTC"), False),
        (pa.timestamp("s"), True),
        (pa.int64(), False),
    ):
        try:
            converted = pc.cast(column, target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if converted.null_count:
            return None
        out = converted.to_numpy()
        if localize or pa.types.is_timestamp(target):
            return _int64(out.astype("datetime64[s]"))
        return _int64(out)
    return None


def _unknown_problems(
    path: Path, codes: pa.ChunkedArray, known: Collection[str], line: int
) -> list[Problem]:
    listed = pc.is_in(codes, value_set=pa.array(list(known), type=pa.string()))
    absent = pc.invert(pc.fill_null(listed, True)).to_numpy(zero_copy_only=False)
    return [
        Problem(f"{path}:{i + line}", "indicator", f"unknown indicator {codes[int(i)].as_py()!r}")
        for i in np.flatnonzero(absent)[:MAX_PROBLEMS]
        if codes[int(i)].as_py()
    ]


def _int64(values: Any) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = np.asarray(values).astype(np.int64)
    return out


def _range_problems(path: Path, times: npt.NDArray[np.int64], line: int) -> list[Problem]:
    return [
        Problem(f"{path}:{i + line}", "time", f"{OUT_OF_RANGE}: {int(times[i])}")
        for i in np.flatnonzero(times_out_of_range(times))[:MAX_PROBLEMS]
    ]


def parse_time(text: str) -> int:
    """Epoch seconds of an ISO 8601 time (naive means UTC) or an integer; ValueError if neither."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _time_problems(path: Path, column: pa.ChunkedArray, line: int) -> list[Problem]:
    out: list[Problem] = []
    for i, value in enumerate(column.to_pylist()):
        reason = _time_reason(value)
        if reason is not None:
            out.append(Problem(f"{path}:{i + line}", "time", reason))
            if len(out) >= MAX_PROBLEMS:
                break
    if not out:
        out.append(Problem(str(path), "time", "mixed time formats in one file"))
    return out


def _time_reason(value: object) -> str | None:
    """Why one cell is not an acceptable time, or None when it is."""
    if value is None or value == "":
        return "empty"
    if isinstance(value, datetime):
        return None
    try:
        seconds = value if isinstance(value, int) else parse_time(str(value))
    except (ValueError, OverflowError):
        return f"not an ISO 8601 time or epoch seconds: {value!r}"
    if not EARLIEST_TIME <= seconds <= LATEST_TIME:
        return f"{OUT_OF_RANGE}: {value}"
    return None


def _check_utf8(path: Path) -> None:
    """Refuse a CSV file that is not UTF-8 text whole, before any of it is parsed (pyarrow
    lets bytes that are not UTF-8 through in columns it does not read as text)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                if not (chunk.isascii() and not decoder.getstate()[0]):  # ASCII is UTF-8
                    decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise InvalidInput(_utf8_problems(path)) from None


def _utf8_problems(path: Path) -> list[Problem]:
    """The lines of a file that are not UTF-8 text, each with the first bad byte's column
    (1-based) and value: a file that is not text is refused as such, never guessed at."""
    problems: list[Problem] = []
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as err:
                reason = (
                    f"not UTF-8 text: byte {err.start + 1} of the line is 0x{raw[err.start]:02x}"
                )
                problems.append(Problem(f"{path}:{lineno}", "", reason))
                if len(problems) >= MAX_PROBLEMS:
                    break
    return problems


def _scan_csv(path: Path, known: Collection[str] | None) -> list[Problem]:
    """Find row-level problems in a CSV that pyarrow refused, with line numbers."""
    problems = _utf8_problems(path)
    if problems:
        return problems
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            return [Problem(f"{path}:1", "", "empty file: expected a header")]
        columns = {name.strip(): i for i, name in enumerate(header)}
        if "time" not in columns and "timestamp" in columns:
            columns["time"] = columns["timestamp"]
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            return [Problem(f"{path}:1", c, "missing column") for c in missing]
        for lineno, row in enumerate(reader, start=2):
            problems.extend(
                _row_problems(
                    path, lineno, row=row, columns=columns, width=len(header), known=known
                )
            )
            if len(problems) >= MAX_PROBLEMS:
                break
    return problems


def _row_problems(
    path: Path,
    lineno: int,
    *,
    row: list[str],
    columns: dict[str, int],
    width: int,
    known: Collection[str] | None,
) -> Iterator[Problem]:
    where = f"{path}:{lineno}"
    if len(row) != width:
        yield Problem(where, "", f"expected {width} fields, found {len(row)}")
        return
    code = row[columns["indicator"]].strip()
    if not code:
        yield Problem(where, "indicator", "empty")
    elif known is not None and code not in known:
        yield Problem(where, "indicator", f"unknown indicator {code!r}")
    reason = _time_reason(row[columns["time"]].strip())
    if reason is not None:
        yield Problem(where, "time", reason)
    try:
        if not np.isfinite(float(row[columns["value"]])):
            raise ValueError
    except ValueError:
        yield Problem(where, "value", f"not a finite number: {row[columns['value']]!r}")
