"""Fields of a received record (an MQTT JSON payload, a feed's JSON object or CSV row): the
value and the time at dotted paths, strictly typed.

A path is keys separated by dots (`properties.mag`), with list positions as numbers
(`readings.0.value`). A value is a JSON number (a boolean or a string is not one; in CSV, text
that reads as a number). A time is epoch seconds or milliseconds (an integer; a JSON number
with a fraction is truncated), or RFC 3339 text with an offset, as configured.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.moments import EPOCH, EPOCH_HELP, EPOCH_MAX, EPOCH_MIN, MOMENT_HELP, parse_moment
from tocsin.core.sources import TimeUnit


class Deliver(Protocol):
    """How a collector's rows reach the ingest (`SourceIntake.deliver`: MQTT, pulled feeds)."""

    def __call__(
        self,
        codes: Sequence[str],
        times: npt.NDArray[np.int64],
        values: npt.NDArray[np.float64],
        *,
        where: Sequence[str] | None = None,
    ) -> Future[Any]:
        """Validate and queue the rows; InvalidInput naming them by `where` if refused."""


class RecordError(ValueError):
    """A record does not hold what the configuration expects; says what and where (`field`,
    the dotted path, or `payload`)."""

    def __init__(self, reason: str, *, field: str = "") -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


TOO_LONG_NUMBER = "a number of more than 4,300 digits"  # as the REST API's JSON bodies say


def json_reason(err: ValueError | RecursionError) -> str:
    """Why a text is not JSON that Python can read, in Tocsin's words: Python's own message for
    a number past its int() limit (4,300 digits) advises `sys.set_int_max_str_digits()`, which is
    nothing a sender can do."""
    if isinstance(err, RecursionError):
        return "nested too deeply"
    if "integer string conversion" in str(err):
        return TOO_LONG_NUMBER
    return str(err)


def lookup(record: Any, path: str) -> Any:
    """The value at a dotted path; RecordError naming the first missing step."""
    current = record
    for step in path.split(".") if path else []:
        if isinstance(current, dict) and step in current:
            current = current[step]
        elif isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        else:
            raise RecordError(f"missing (no {step!r})", field=path)
    return current


def record_number(record: Any, path: str, *, text: bool = False) -> float:
    """The finite number at `path` (`text`: a CSV cell, so text that reads as a number)."""
    value = lookup(record, path) if path else record
    if text and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RecordError(f"not a number: {value[:40]!r}", field=path or "payload") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"not a number: {value!r:.40}", field=path or "payload")
    if not math.isfinite(value):
        raise RecordError("not a finite number", field=path or "payload")
    return float(value)


def record_time(record: Any, path: str, *, unit: TimeUnit, text: bool = False) -> int:
    """Epoch seconds of the time at `path`, in the configured unit, 1900 to 9999."""
    value = lookup(record, path)
    if unit is TimeUnit.RFC3339:
        try:
            return int((parse_moment(value, MOMENT_HELP) - EPOCH).total_seconds())
        except ValueError as err:
            raise RecordError(str(err), field=path) from None
    if text and isinstance(value, str) and value.lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RecordError(
            f"expected a number of {unit.value} since 1970: {value!r:.40}", field=path
        )
    seconds = int(value) // 1000 if unit is TimeUnit.MILLISECONDS else int(value)
    if not EPOCH_MIN <= seconds <= EPOCH_MAX:
        raise RecordError(f"expected {EPOCH_HELP}", field=path)
    return seconds
