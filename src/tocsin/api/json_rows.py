"""JSON and NDJSON observation bodies, decoded as the bytes arrive.

`{"observations": [{"indicator", "time", "value"}, ...]}` (application/json) and one observation
object per line (application/x-ndjson). The fast path decodes with msgspec into typed rows (C
speed; a string is not a number, a boolean is neither); whatever it refuses is decoded again by
the API's own models (`ObservationIn`), which name every problem in the words the OpenAPI schema
uses. A JSON body larger than `STREAM_FROM` is cut into runs of complete objects as it arrives,
each decoded on its own, so the whole body is never held; a smaller one is decoded at once.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import numpy as np
from pydantic import TypeAdapter, ValidationError

from tocsin.api.observations import ObservationBatchIn, ObservationIn
from tocsin.api.problems import location, validation_problem
from tocsin.api.rows import LineBody, RowSink
from tocsin.core.duplicate_keys import DuplicateKey, loads_once, may_repeat

STREAM_FROM = 256 * 1024
STEP = 64 * 1024
HEADER = re.compile(rb'\s*\{\s*"observations"\s*:\s*\[')
# complete flat objects, for runs that hold a backslash (an escaped quote may hide in a string)
OBJECTS = re.compile(rb'(?:\s*,?\s*\{(?:[^{}"\\]|"(?:[^"\\]|\\.)*")*\})*')


class _Row(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One observation (gc=False: a row holds no container, so the collector need not track
    the ten thousand of a large body; its young generation then fills more slowly)."""

    indicator: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    time: int | str
    value: float


class _Batch(msgspec.Struct, forbid_unknown_fields=True):
    observations: Annotated[list[_Row], msgspec.Meta(min_length=1)]


_ROWS = msgspec.json.Decoder(list[_Row])
_BATCH = msgspec.json.Decoder(_Batch)
_MODELS = TypeAdapter(list[ObservationIn])
_FAST_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError)
KEYS = (b'"indicator"', b'"time"', b'"value"')  # each once per row, or decoded checked
REPEATED = "given more than once"


LONG_NUMBER = re.compile(rb"\d{4301,}")  # past the digits Python's int() converts


def _not_json(err: ValueError | RecursionError, text: bytes = b"") -> tuple[int, str]:
    """Where (a character of `text`) and why a body is not JSON."""
    if isinstance(err, UnicodeDecodeError):
        return err.start, f"not UTF-8 text (byte 0x{err.object[err.start]:02x})"
    if isinstance(err, RecursionError):
        return 0, "nested too deeply"
    if "integer string conversion" in str(err):  # Python's advice on its limit is not ours
        found = LONG_NUMBER.search(text)
        return (found.start() if found else 0), "a number of more than 4,300 digits"
    return getattr(err, "pos", 0), getattr(err, "msg", str(err))


def _add_fast(sink: RowSink, rows: list[_Row], *, first: int) -> None:
    sink.add(
        [r.indicator for r in rows],
        [r.time for r in rows],
        np.fromiter((r.value for r in rows), dtype=np.float64, count=len(rows)),
        numbers=np.arange(first, first + len(rows), dtype=np.int64),
    )


def _add_checked(sink: RowSink, items: list[Any], *, numbers: list[int]) -> None:
    """Validate items with the API model; add the valid ones, name the problems of the rest."""
    good: list[tuple[int, ObservationIn]] = []
    for item, number in zip(items, numbers, strict=True):
        try:
            good.append((number, ObservationIn.model_validate(item)))
        except ValidationError as err:
            for e in err.errors():
                at = location(e["loc"])
                sink.problem(number, at.field, validation_problem(e).reason)
    if good and not sink.problems:
        sink.add(
            [o.indicator for _, o in good],
            np.array([o.time for _, o in good], dtype=np.int64),
            np.array([o.value for _, o in good], dtype=np.float64),
            numbers=np.array([n for n, _ in good], dtype=np.int64),
        )


def _complete_end(buf: bytes | bytearray) -> int:
    """The end of the last complete object in `buf` (0: none yet)."""
    if b"\\" in buf:
        match = OBJECTS.match(buf)
        return match.end() if match else 0
    end = buf.rfind(b"}")
    while end >= 0 and buf.count(b'"', 0, end) % 2:  # inside a string: look further back
        end = buf.rfind(b"}", 0, end)
    return end + 1


class JsonRows:
    """A `{"observations": [...]}` body, fed chunk by chunk."""

    def __init__(self, sink: RowSink, *, stream_from: int = STREAM_FROM) -> None:
        self.sink = sink
        self.pending = bytearray()
        self.streaming = False
        self.whole = False  # not the usual shape: decode it at the end, all at once
        self.stream_from = stream_from
        self.next_try = stream_from
        self.count = 0  # objects decoded so far
        self.consumed = 0  # bytes of the body decoded so far

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body."""
        self.pending += data
        if self.whole or len(self.pending) < self.next_try or self.sink.full:
            return
        if not self.streaming:
            header = HEADER.match(self.pending)
            if header is None:
                self.whole = True
                return
            self.streaming = True
            self._consume(header.end())
        self._run(final=False)

    def finish(self) -> None:
        """The body is complete: decode what is left."""
        if not self.streaming:
            self._whole(bytes(self.pending))
            return
        tail = bytes(self.pending).rstrip()
        if not (tail.endswith(b"}") and tail[:-1].rstrip().endswith(b"]")):
            reason = 'not JSON of the form {"observations": [...]}: the end is missing'
            self.sink.problem(-1, "", reason)
            return
        self.pending = bytearray(tail[:-1].rstrip()[:-1])
        self._decode(bytes(self.pending), final=True)

    def _consume(self, n: int) -> None:
        del self.pending[:n]
        self.consumed += n

    def _run(self, *, final: bool) -> None:
        end = _complete_end(self.pending)
        if end and self._decode(bytes(self.pending[:end]), final=final):
            self._consume(end)
            self.next_try = len(self.pending) + STEP
        else:  # try again when twice as much is held (amortised linear)
            self.next_try = 2 * len(self.pending)

    def _decode(self, run: bytes, *, final: bool) -> bool:
        """Decode a run of complete objects (True), or False when it is not one yet."""
        text = run.lstrip()
        if text.startswith(b",") and self.count:
            text = text[1:]
        if not text.strip():
            return True
        try:
            rows = _ROWS.decode(b"[" + text + b"]")
        except _FAST_ERRORS:
            return self._decode_checked(text, final=final)
        if may_repeat(text, len(rows), KEYS):
            return self._decode_checked(text, final=final)
        _add_fast(self.sink, rows, first=self.count)
        self.count += len(rows)
        return True

    def _decode_checked(self, text: bytes, *, final: bool) -> bool:
        try:
            items = loads_once(b"[" + text + b"]")
        except DuplicateKey as err:
            self.sink.problem(self.count + int(err.path[0]), err.key, REPEATED)
            return True
        except (ValueError, RecursionError) as err:
            if not final:
                return False
            pos, why = _not_json(err, b"[" + text + b"]")
            self.sink.problem(-1, "", f"not JSON at byte {self.consumed + max(pos - 1, 0)}: {why}")
            return True
        if not isinstance(items, list):  # pragma: no cover - a bracketed run is a list
            return False
        _add_checked(self.sink, items, numbers=list(range(self.count, self.count + len(items))))
        self.count += len(items)
        return True

    def _whole(self, body: bytes) -> None:
        """A body held whole (small, or not the usual shape)."""
        try:
            batch = _BATCH.decode(body)
        except _FAST_ERRORS:
            self._whole_checked(body)
            return
        rows = len(batch.observations)
        if body.count(b'"observations"') != 1 or may_repeat(body, rows, KEYS, others=1):
            self._whole_checked(body)
            return
        _add_fast(self.sink, batch.observations, first=0)

    def _whole_checked(self, body: bytes) -> None:
        """Decode and validate as the schema says, naming each problem as FastAPI would."""
        try:
            data = loads_once(body)
        except DuplicateKey as err:
            if err.path[:1] == ("observations",) and len(err.path) == 2:
                self.sink.problem(int(err.path[1]), err.key, REPEATED)
            else:
                self.sink.problems.append(err.problem())
            return
        except (ValueError, RecursionError) as err:
            pos, why = _not_json(err, body)
            error = {"type": "json_invalid", "loc": ("body", pos)}
            self.sink.problems.append(validation_problem({**error, "ctx": {"error": why}}))
            return
        try:
            batch = ObservationBatchIn.model_validate(data)
        except ValidationError as err:
            for e in err.errors()[:50]:
                self.sink.problems.append(validation_problem({**e, "loc": ("body", *e["loc"])}))
            return
        rows = batch.observations
        self.sink.add(
            [o.indicator for o in rows],
            np.array([o.time for o in rows], dtype=np.int64),
            np.array([o.value for o in rows], dtype=np.float64),
            numbers=np.arange(len(rows), dtype=np.int64),
        )


class NdjsonRows(LineBody):
    """One observation object per line (blank lines are skipped), fed chunk by chunk."""

    def take(self, lines: list[tuple[int, bytes]]) -> None:
        """Decode a run of lines: all at once when they are valid, else line by line."""
        kept = [(number, line) for number, line in lines if line.strip()]
        if not kept:
            return
        try:
            rows = _ROWS.decode(b"[" + b",".join(line for _, line in kept) + b"]")
        except _FAST_ERRORS:
            rows = []
        joined = b"".join(line for _, line in kept)
        if len(rows) != len(kept) or may_repeat(joined, len(rows), KEYS):
            self._checked(kept)  # refused, a line held more than one object, or a key twice
            return
        self.sink.add(
            [r.indicator for r in rows],
            [r.time for r in rows],
            np.fromiter((r.value for r in rows), dtype=np.float64, count=len(rows)),
            numbers=np.array([n for n, _ in kept], dtype=np.int64),
        )

    def _checked(self, kept: list[tuple[int, bytes]]) -> None:
        """Line by line, so that problems come in line order."""
        for number, line in kept:
            try:
                item = loads_once(line.decode("utf-8"))  # never guessed as UTF-16 or -32
            except DuplicateKey as err:
                self.sink.problem(number, err.key, REPEATED)
                continue
            except (ValueError, RecursionError) as err:
                self.sink.problem(number, "", f"not JSON: {_not_json(err, line)[1]}")
                continue
            _add_checked(self.sink, [item], numbers=[number])
