"""Stream partitions: which partition of the ingest stream an indicator's observations go to,
and which partitions a worker owns.

An indicator belongs to one partition for the life of the stream: the CRC-32 (ISO-HDLC, as
`zlib.crc32` computes it) of its code's UTF-8 bytes, modulo the number of partitions. It depends
on nothing but the code, so every API process and every worker agrees on it without talking
to each other, and an indicator's observations stay in one partition, in the order they were
appended (the rules need them in order).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from tocsin.core.errors import InvalidInput, Problem

MAX_PARTITIONS = 4_096


def partition_of(code: str, partitions: int) -> int:
    """The partition of an indicator code.

    >>> partition_of("D11.river_level", 1)
    0
    >>> partition_of("D11.river_level", 8) == partition_of("D11.river_level", 8)
    True
    """
    return zlib.crc32(code.encode()) % partitions


def lease_name(partition: int, partitions: int) -> str:
    """The lease a worker holds to own a partition (one owner at a time).

    >>> lease_name(3, 16)
    'stream-partition:3/16'
    """
    return f"stream-partition:{partition}/{partitions}"


def partition_table(codes: Sequence[str], partitions: int) -> npt.NDArray[np.int64]:
    """The partition of each code, as an array indexed like `codes` (indicator ids)."""
    return np.fromiter(
        (partition_of(c, partitions) for c in codes), dtype=np.int64, count=len(codes)
    )


def rows_by_partition(
    series: npt.NDArray[np.int64], table: npt.NDArray[np.int64]
) -> dict[int, npt.NDArray[np.int64]]:
    """The rows of a batch (by their series' partition in `table`), per partition, each in the
    batch's order; only partitions with rows.

    >>> {p: r.tolist() for p, r in rows_by_partition(np.array([0, 1, 0]), np.array([3, 1])).items()}
    {1: [1], 3: [0, 2]}
    """
    parts = table[series]
    return {int(p): np.flatnonzero(parts == p).astype(np.int64) for p in np.unique(parts)}


def parse_partitions(text: str, *, partitions: int) -> tuple[int, ...]:
    """The partitions a worker owns, from `0-3`, `0,2,5` or `all`: sorted, each once.

    >>> parse_partitions("4-5,1", partitions=8)
    (1, 4, 5)
    """
    if text.strip() == "all":
        return tuple(range(partitions))
    owned: set[int] = set()
    for item in text.split(","):
        first, dash, last = item.strip().partition("-")
        if not (first.isdigit() and (not dash or last.isdigit())):
            raise _bad(text, f"{item.strip()!r} is not N or N-M")
        low, high = int(first), int(last or first)
        if low > high or high >= partitions:
            raise _bad(text, f"{item.strip()!r} is not within 0-{partitions - 1}")
        owned.update(range(low, high + 1))
    return tuple(sorted(owned))


def share_of(index: int, *, workers: int, partitions: int) -> tuple[int, ...]:
    """Worker `index`'s partitions when `workers` workers share them evenly (every
    `workers`-th partition from `index`).

    >>> share_of(1, workers=3, partitions=8)
    (1, 4, 7)
    """
    if not 0 <= index < workers <= partitions:
        raise _bad(f"{index}/{workers}", f"need 0 <= index < workers <= {partitions} partitions")
    return tuple(range(index, partitions, workers))


def describe(owned: Sequence[int]) -> str:
    """A short name of a set of partitions, as ranges (a checkpoint's name).

    >>> describe([0, 1, 2, 5, 7, 8])
    '0-2,5,7-8'
    """
    out: list[str] = []
    for p in sorted(owned):
        if out and out[-1].split("-")[-1] == str(p - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{p}"
        else:
            out.append(str(p))
    return ",".join(out)


def missing_offsets(offsets: Mapping[int, int], owned: Sequence[int]) -> dict[int, int]:
    """The offsets of the owned partitions, 0 (nothing consumed) where none was committed."""
    return {p: int(offsets.get(p, 0)) for p in owned}


def _bad(text: str, reason: str) -> InvalidInput:
    return InvalidInput([Problem("partitions", "", f"{text!r}: {reason}")])
