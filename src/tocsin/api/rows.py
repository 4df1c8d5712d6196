"""Rows of an observation request body, gathered chunk by chunk as the body arrives.

Each body format (`json_rows`, `table_rows`) decodes what has arrived into columns and adds them
here; problems are collected with the row they belong to (`observations[12]`, `line 14`), at most
`MAX_PROBLEMS`. At the end the columns become one `RawObservations`, which the ingest service
validates (known indicators, finite values) before anything is stored.

Times are checked here as on every other path: integer epoch seconds between 1900 and 9999, or
RFC 3339 text with an offset (`tocsin.api.fields`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tocsin.api.fields import EPOCH_MAX, EPOCH_MIN, epoch_seconds
from tocsin.core.errors import InvalidInput, Problem
from tocsin.services.ingest import RawObservations

MAX_PROBLEMS = 50
UTF8_BOM = b"\xef\xbb\xbf"  # a body may begin with it (editors, spreadsheets): not data
MAX_ROWS = 1_000_000


@dataclass(frozen=True, slots=True)
class RowNames(Sequence[str]):
    """Names rows lazily: `form` with each row's number (`observations[{}]`, `line {}`), or
    the decoder's own name of that number (`places`, e.g. a remote-write sample's)."""

    form: str
    numbers: npt.NDArray[np.int64]
    places: Sequence[str] | None = None

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.numbers)

    def __getitem__(self, i: Any) -> Any:
        """The name of row i."""
        return place_of(self.form, self.places, int(self.numbers[i]))


def place_of(form: str, places: Sequence[str] | None, number: int) -> str:
    """Where a numbered row is: its name in `places` when the decoder gave them, else `form`."""
    return places[number] if places is not None else form.format(number)


@dataclass
class RowSink:
    """Columns and problems of one request body, filled chunk by chunk."""

    form: str
    max_rows: int = MAX_ROWS
    codes: list[str] = field(default_factory=list)
    times: list[npt.NDArray[np.int64]] = field(default_factory=list)
    values: list[npt.NDArray[np.float64]] = field(default_factory=list)
    numbers: list[npt.NDArray[np.int64]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0
    places: Sequence[str] | None = None  # a decoder's names of its row numbers, if not `form`

    @property
    def full(self) -> bool:
        """Enough problems to answer with: the rest of the body need not be decoded."""
        return len(self.problems) >= MAX_PROBLEMS

    def problem(self, number: int, fieldname: str, reason: str) -> None:
        """Note what is wrong with one row (or with the body, for number < 0)."""
        where = place_of(self.form, self.places, number) if number >= 0 else "body"
        if not self.full:
            self.problems.append(Problem(where, fieldname, reason))

    def add(
        self,
        codes: list[str],
        times: Sequence[Any] | npt.NDArray[Any],
        values: npt.NDArray[np.float64],
        *,
        numbers: npt.NDArray[np.int64],
    ) -> None:
        """Add decoded rows; their times are checked (epoch seconds or RFC 3339 text)."""
        self.rows += len(codes)
        if self.rows > self.max_rows:
            if not any(p.field == "observations" for p in self.problems):
                self.problems.append(
                    Problem("body", "observations", f"more than {self.max_rows:,} rows")
                )
            return
        checked = self._times(times, numbers)
        if checked is None or self.problems:
            return
        self.codes.extend(codes)
        self.times.append(checked)
        self.values.append(values)
        self.numbers.append(numbers)

    def _times(
        self, times: Sequence[Any] | npt.NDArray[Any], numbers: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64] | None:
        if isinstance(times, np.ndarray) and times.dtype == np.int64:
            out = times
        elif set(map(type, times)) != {int}:  # text (RFC 3339) or anything else: one by one
            return self._slow_times(times, numbers)
        else:
            try:
                out = np.fromiter(times, dtype=np.int64, count=len(times))
            except OverflowError:
                return self._slow_times(times, numbers)
        if ((out < EPOCH_MIN) | (out > EPOCH_MAX)).any():
            return self._slow_times(out.tolist(), numbers)
        return out

    def _slow_times(
        self, times: Iterable[Any], numbers: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int64] | None:
        """Each time on its own, naming the rows that are not times."""
        out: list[int] = []
        for value, number in zip(times, numbers.tolist(), strict=True):
            try:
                out.append(epoch_seconds(value))
            except ValueError as err:
                self.problem(number, "time", str(err))
        return np.array(out, dtype=np.int64) if len(out) == len(numbers) else None

    def raw(self) -> RawObservations:
        """All rows, or InvalidInput naming what was wrong (nothing of the body is stored)."""
        if self.problems:
            raise InvalidInput(self.problems)
        if not self.rows:
            raise InvalidInput([Problem("body", "observations", "no observations")])
        return RawObservations(
            self.codes,
            np.concatenate(self.times),
            np.concatenate(self.values),
            where=RowNames(self.form, np.concatenate(self.numbers), self.places),
        )


class LineBody:
    """A body of lines fed chunk by chunk: runs of complete lines go to `take`, numbered from 1
    (a line may not hold a line break of its own)."""

    step = 64 * 1024

    def __init__(self, sink: RowSink) -> None:
        self.sink = sink
        self.pending = bytearray()
        self.line = 1  # the number of the first line pending

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body."""
        self.pending += data
        if len(self.pending) >= self.step and not self.sink.full:
            cut = self.pending.rfind(b"\n") + 1
            if cut:
                self._lines(bytes(self.pending[:cut]))
                del self.pending[:cut]

    def finish(self) -> None:
        """The body is complete: the last lines."""
        self._lines(bytes(self.pending))
        self.pending.clear()

    def _lines(self, block: bytes) -> None:
        if self.line == 1 and block.startswith(UTF8_BOM):  # as editors save it, as JSON and CSV
            block = block[len(UTF8_BOM) :]
        lines = block.split(b"\n")
        if block.endswith(b"\n"):
            lines.pop()
        first = self.line
        self.line += len(lines)
        if not self.sink.full:
            self.take([(first + i, line) for i, line in enumerate(lines)])

    def take(self, lines: list[tuple[int, bytes]]) -> None:
        """Decode numbered lines into the sink (each body format its own way)."""
        raise NotImplementedError
