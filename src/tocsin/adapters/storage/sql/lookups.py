"""Looking rows up by many keys: one statement per few hundred keys (IN lists stay bounded)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, RowMapping, Select

CHUNK = 500  # keys per IN list


def rows_in(
    conn: Connection, query: Select[Any], *, column: Any, keys: Sequence[str]
) -> Iterator[RowMapping]:
    """The rows of `query` whose `column` is one of `keys` (each key looked up once)."""
    unique = list(dict.fromkeys(keys))
    for i in range(0, len(unique), CHUNK):
        yield from conn.execute(query.where(column.in_(unique[i : i + CHUNK]))).mappings()
