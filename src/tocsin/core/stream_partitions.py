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


MEMBER_PREFIX = "stream-worker:"  # + holder id: a balanced worker's membership lease


def leased_partition(name: str, partitions: int) -> int | None:
    """The partition a lease's name owns in a stream of `partitions`, else None.

    >>> leased_partition("stream-partition:3/16", 16), leased_partition("stream-partition:3/8", 16)
    (3, None)
    """
    prefix, _, rest = name.partition(":")
    number, slash, count = rest.partition("/")
    if prefix != "stream-partition" or not slash or count != str(partitions):
        return None
    return int(number) if number.isdigit() and int(number) < partitions else None


def balanced_share(
    me: str, members: Sequence[str], owners: Mapping[int, str], *, partitions: int
) -> tuple[int, ...]:
    """The partitions worker `me` should own when the live `members` share the stream evenly,
    moving as few as possible from their current `owners` (partition -> holder, live leases
    only).

    Every member computes the same answer from the same table. A partition held by a
    non-member (a worker given its partitions by hand) is left to it. The others are split
    as evenly as they go: each member keeps up to its quota of the partitions it holds
    (lowest first), and the rest go, lowest first, to members below their quota. Members
    holding more get the larger quotas first, so a worker that joins takes partitions from
    the others and nothing else moves.

    >>> balanced_share("b", ["a", "b"], {0: "a", 1: "a", 2: "a", 3: "a"}, partitions=4)
    (2, 3)
    >>> balanced_share("a", ["a"], {0: "a", 1: "b"}, partitions=3)  # b is not a member
    (0, 2)
    """
    everyone = set(members)
    if me not in everyone:
        return ()
    pool = [p for p in range(partitions) if owners.get(p) in everyone or p not in owners]
    held: dict[str, list[int]] = {m: [] for m in everyone}
    for p in pool:
        if (owner := owners.get(p)) is not None:
            held[owner].append(p)
    ranked = sorted(everyone, key=lambda m: (-len(held[m]), m))
    base, extra = divmod(len(pool), len(ranked))
    quota = {m: base + (1 if i < extra else 0) for i, m in enumerate(ranked)}
    share = {m: held[m][: quota[m]] for m in ranked}
    kept = {p for mine in share.values() for p in mine}
    spare = iter(p for p in pool if p not in kept)
    for m in sorted(everyone):
        while len(share[m]) < quota[m]:
            share[m].append(next(spare))
    return tuple(sorted(share[me]))


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
