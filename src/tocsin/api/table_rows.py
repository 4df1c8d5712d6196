"""CSV and Apache Arrow IPC observation bodies, decoded block by block as the bytes arrive.

CSV (text/csv): a header naming `indicator`, `time` and `value` (in any order), then one row per
line; each run of complete lines is parsed by pyarrow as it arrives. Times are integer epoch
seconds or RFC 3339 text with an offset; values are numbers. A line is named by its number in
the body (the header is line 1); fields may not hold line breaks.

Arrow IPC stream (application/vnd.apache.arrow.stream): each message is decoded as soon as it
is complete. Columns `indicator` (utf8), `time` (integer epoch seconds, or a timestamp with a
time zone) and `value` (floating point or integer); rows are named by their number in the
stream (`row 0` first). Dictionary-encoded columns are refused (send plain utf8).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from tocsin.api.rows import UTF8_BOM, RowSink

BLOCK = 256 * 1024
COLUMNS = ("indicator", "time", "value")
INTEGER = r"^-?[0-9]+$"


def _add_table(sink: RowSink, table: pa.Table | pa.RecordBatch, *, first: int) -> None:
    """Check one block's columns (nulls, types) and add its rows, numbered from `first`."""
    numbers = np.arange(first, first + table.num_rows, dtype=np.int64)
    codes, times, values = (table.column(name) for name in COLUMNS)
    for name, column in zip(COLUMNS, (codes, times, values), strict=True):
        if column.null_count:
            for i in np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[:50]:
                sink.problem(int(numbers[i]), name, "empty")
    empty = pc.equal(pc.utf8_length(codes), 0).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(empty)[:50]:
        sink.problem(int(numbers[i]), "indicator", "empty")
    if sink.problems:
        return
    time_values = _times(times)
    value_array = _values(sink, values, numbers=numbers)
    if value_array is not None:
        sink.add(codes.to_pylist(), time_values, value_array, numbers=numbers)


def _int64(array: pa.Array) -> npt.NDArray[np.int64]:
    out: npt.NDArray[np.int64] = array.to_numpy(zero_copy_only=False).astype(np.int64)
    return out


def _times(column: pa.Array) -> list[object] | npt.NDArray[np.int64]:
    """Integer epoch seconds as an array; text as it is (each is checked on its own)."""
    if pa.types.is_timestamp(column.type):
        return _int64(pc.cast(column, pa.timestamp("s", tz=column.type.tz), safe=False))
    if pa.types.is_integer(column.type) and column.type != pa.uint64():
        return _int64(column)  # range checked by the sink
    if pa.types.is_integer(column.type):
        as_ints: list[object] = column.to_pylist()  # values past 2**63 are named one by one
        return as_ints
    if pc.all(pc.match_substring_regex(column, INTEGER)).as_py():
        try:
            return _int64(pc.cast(column, pa.int64()))
        except pa.ArrowInvalid:  # beyond 64 bits: named one by one
            pass
    as_text: list[object] = column.to_pylist()
    return [_epoch_text(t) for t in as_text]


def _epoch_text(text: object) -> object:
    """CSV gives times as text: digits are epoch seconds, anything else must be RFC 3339."""
    if isinstance(text, str) and text.lstrip("-").isdigit():
        return int(text)
    return text


def _values(
    sink: RowSink, column: pa.Array, *, numbers: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64] | None:
    try:
        floats: npt.NDArray[np.float64] = (
            pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        )
        return floats
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    before = len(sink.problems)
    for one, number in zip(column, numbers.tolist(), strict=True):
        try:  # each as the column was cast: Python's float() takes "1_000" and " 1", Arrow not
            pc.cast(pa.array([one.as_py()], type=column.type), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            sink.problem(number, "value", f"not a number: {one.as_py()!r}")
    if len(sink.problems) == before:  # never drop a block without saying why
        sink.problem(int(numbers[0]), "value", f"not numbers: {column.type}")
    return None


def _csv_error(err: csv.Error) -> str:
    """Python's csv module's error on one line, said without its advice on opening files."""
    if "new-line character" in str(err):
        return "not CSV: a carriage return alone inside an unquoted field"
    return f"not CSV: {err}"


class CsvRows:
    """A CSV body with a header line, fed chunk by chunk."""

    def __init__(self, sink: RowSink) -> None:
        self.sink = sink
        self.pending = bytearray()
        self.header: bytes | None = None
        self.line = 2  # the number of the first pending data line

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body."""
        self.pending += data
        if self.header is None and b"\n" in self.pending:
            cut = self.pending.index(b"\n") + 1
            self.header = bytes(self.pending[:cut])
            del self.pending[:cut]
            self._check_header()
        if self.header is not None and len(self.pending) >= BLOCK and not self.sink.full:
            cut = self.pending.rfind(b"\n") + 1
            if cut:
                self._block(bytes(self.pending[:cut]))
                del self.pending[:cut]

    def finish(self) -> None:
        """The body is complete: parse the last lines."""
        if self.header is None:
            self.header, self.pending = bytes(self.pending) + b"\n", bytearray()
            self._check_header()
        if self.pending.strip() and not self.sink.full:
            self._block(bytes(self.pending) + (b"" if self.pending.endswith(b"\n") else b"\n"))

    def _check_header(self) -> None:
        header = self.header or b""
        if header.startswith(UTF8_BOM):  # as spreadsheets write it: not part of the first name
            header = self.header = header[len(UTF8_BOM) :]
        try:
            text = header.decode("utf-8")
        except UnicodeDecodeError:
            self.sink.problem(1, "", "not UTF-8 text")
            return
        try:
            names = [n.strip() for n in next(csv.reader([text.strip()]), [])]
        except csv.Error as err:
            self.sink.problem(1, "", _csv_error(err))
            return
        for name in COLUMNS:
            if name not in names:
                self.sink.problem(1, name, "missing column")
        if len(set(names)) != len(names):
            self.sink.problem(1, "", "a column is named twice")
        # pyarrow reads the names as written: give it them as they were read here (` time `
        # and `"time"` are `time`; a name pyarrow did not find was a 500)
        quoted = ('"' + name.replace('"', '""') + '"' for name in names)
        self.header = (",".join(quoted) + "\n").encode()

    def _block(self, block: bytes) -> None:
        header = self.header or b""
        first, lines = self.line, block.count(b"\n")
        self.line += lines
        if self.sink.problems:
            return
        options = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in COLUMNS},
            include_columns=list(COLUMNS),
            null_values=[""],  # only an empty cell is empty ("nan", "NULL" and "NA" are text)
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        )
        try:
            table = pacsv.read_csv(
                io.BytesIO(header + block),
                parse_options=pacsv.ParseOptions(ignore_empty_lines=False),
                convert_options=options,
            )
        except (pa.ArrowInvalid, UnicodeDecodeError):
            self._scan(block, first)
            return
        if table.num_rows:
            _add_table(self.sink, table.combine_chunks().to_batches()[0], first=first)

    def _scan(self, block: bytes, first: int) -> None:
        """Name the lines pyarrow refused (field counts, text that is not UTF-8)."""
        header = self.header or b""
        width = len(next(csv.reader([header.decode("utf-8", "replace")])))
        for number, raw in enumerate(block.split(b"\n")[:-1], start=first):
            try:
                fields = next(csv.reader([raw.decode("utf-8")]), [])
            except UnicodeDecodeError:
                self.sink.problem(number, "", "not UTF-8 text")
                continue
            except csv.Error as err:
                self.sink.problem(number, "", _csv_error(err))
                continue
            if raw.count(b'"') % 2:
                self.sink.problem(number, "", "a quoted field is not closed on its line")
            elif len(fields) != width:
                self.sink.problem(number, "", f"expected {width} fields, found {len(fields)}")
        if not self.sink.problems:
            self.sink.problem(first, "", "not CSV")


ARROW_TYPES = {
    "indicator": (pa.types.is_string, "utf8 text"),
    "time": (
        lambda t: pa.types.is_integer(t) or (pa.types.is_timestamp(t) and t.tz is not None),
        "integer epoch seconds or a timestamp with a time zone",
    ),
    "value": (lambda t: pa.types.is_floating(t) or pa.types.is_integer(t), "numbers"),
}


class ArrowRows:
    """An Arrow IPC stream, each message decoded as soon as it is complete."""

    def __init__(self, sink: RowSink) -> None:
        self.sink = sink
        self.pending = bytearray()
        self.schema: pa.Schema | None = None
        self.row = 0
        self.next_try = 0
        self.ended = False

    def feed(self, data: bytes) -> None:
        """Take the next chunk of the body."""
        self.pending += data
        if len(self.pending) >= self.next_try:
            self._messages(final=False)

    def finish(self) -> None:
        """The body is complete: decode what is left."""
        self._messages(final=True)
        if self.schema is None and not self.sink.problems:
            self.sink.problem(-1, "", "not an Arrow IPC stream: no schema")

    def _messages(self, *, final: bool) -> None:
        while self.pending and not self.ended and not self.sink.full:
            reader = pa.BufferReader(pa.py_buffer(bytes(self.pending)))
            try:
                message = pa.ipc.read_message(reader)
            except EOFError:  # the end-of-stream marker
                self.ended = True
                return
            except (pa.ArrowInvalid, OSError) as err:
                if final:
                    self.sink.problem(-1, "", f"not an Arrow IPC stream: {err}")
                else:  # incomplete: wait for twice as much (amortised linear)
                    self.next_try = 2 * len(self.pending)
                return
            del self.pending[: reader.tell()]
            self.next_try = 0
            self._message(message)

    def _message(self, message: pa.ipc.Message) -> None:
        if self.sink.problems:  # refused already (a dictionary column's batches cannot be read)
            return
        try:  # pyarrow's checks of the metadata raise OSError too; of the UTF-8, only in full
            if message.type == "schema":
                self.schema = pa.ipc.read_schema(message)
            elif message.type == "record batch" and self.schema is not None:
                batch = pa.ipc.read_record_batch(message, self.schema)
                batch.validate(full=True)
        except (pa.ArrowException, OSError) as err:
            where = "its schema" if message.type == "schema" else f"the batch from row {self.row}"
            self.sink.problem(-1, "", f"not an Arrow IPC stream: {where}: {err}")
            return
        if message.type == "schema" and self.schema is not None:
            self._check_schema(self.schema)
        elif message.type == "record batch" and self.schema is not None:
            _add_table(self.sink, batch, first=self.row)
            self.row += batch.num_rows
        else:
            self.sink.problem(-1, "", f"unsupported Arrow message: {message.type}")

    def _check_schema(self, schema: pa.Schema) -> None:
        for name, (accepts, expected) in ARROW_TYPES.items():
            index = schema.get_field_index(name)
            if len(schema.get_all_field_indices(name)) > 1:
                self.sink.problem(-1, name, "a column is named twice")
            elif index < 0:
                self.sink.problem(-1, name, "missing column")
            elif not accepts(schema.field(index).type):
                found = schema.field(index).type
                self.sink.problem(-1, name, f"column of type {found}; expected {expected}")
