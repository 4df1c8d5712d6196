"""Stream rows: one partition's observations as they travel through the ingest stream, and
their bytes on the wire.

The bytes are `TSR1`, the length of a JSON header (4 bytes, little-endian) and the header
(`{"codes": [...], "rows": N}`), then N int64 code positions, N int64 epoch seconds and N
float64 values, all little-endian. A part's id is the SHA-256 of its partition and bytes: the
same rows appended again (a client's retry) carry the same id, and the stream keeps one.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tocsin.core.errors import InvalidInput, Problem

MAGIC = b"TSR1"
_HEADER = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class StreamRows:
    """One partition's rows of a batch: each distinct indicator code once, each row's position
    in `codes`, its epoch seconds and its value."""

    codes: tuple[str, ...]
    code_index: npt.NDArray[np.int64]
    times: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]

    def __len__(self) -> int:
        """The number of rows."""
        return len(self.times)


def rows_of(
    names: npt.NDArray[np.str_] | list[str],
    series: npt.NDArray[np.int64],
    *,
    times: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
) -> StreamRows:
    """Stream rows of a batch's rows, `names[series[i]]` naming row i's indicator."""
    distinct, index = np.unique(series, return_inverse=True)
    return StreamRows(
        tuple(str(names[int(s)]) for s in distinct),
        index.astype(np.int64).reshape(-1),
        times.astype(np.int64),
        values.astype(np.float64),
    )


def encode(rows: StreamRows) -> bytes:
    """The wire bytes of stream rows."""
    header = json.dumps({"codes": list(rows.codes), "rows": len(rows)}).encode()
    return b"".join(
        [
            MAGIC,
            _HEADER.pack(len(header)),
            header,
            rows.code_index.astype("<i8").tobytes(),
            rows.times.astype("<i8").tobytes(),
            rows.values.astype("<f8").tobytes(),
        ]
    )


def decode(data: bytes, *, where: str) -> StreamRows:
    """Stream rows from wire bytes; InvalidInput naming `where` if they are not such bytes."""
    try:
        if data[:4] != MAGIC:
            raise ValueError("does not start with TSR1")
        (size,) = _HEADER.unpack_from(data, 4)
        header = json.loads(data[8 : 8 + size])
        codes, n = tuple(str(c) for c in header["codes"]), int(header["rows"])
        body = memoryview(data)[8 + size :]
        if len(body) != 24 * n:
            raise ValueError(f"{len(body)} bytes of rows, not {24 * n}")
        index = np.frombuffer(body[: 8 * n], dtype="<i8").astype(np.int64)
        if n and (index.min() < 0 or index.max() >= len(codes)):
            raise ValueError("a row names no code")
    except (ValueError, KeyError, TypeError, struct.error) as err:
        raise InvalidInput([Problem(where, "", f"not stream rows: {err}")]) from err
    times = np.frombuffer(body[8 * n : 16 * n], dtype="<i8").astype(np.int64)
    values = np.frombuffer(body[16 * n :], dtype="<f8").astype(np.float64)
    return StreamRows(codes, index, times, values)


def message_id(partition: int, data: bytes) -> str:
    """The id under which a part is appended: the same rows give the same id."""
    return f"p{partition}-" + hashlib.sha256(data).hexdigest()[:40]
