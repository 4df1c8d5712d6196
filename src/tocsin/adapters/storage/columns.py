"""Columns that mean the same in every table, made by one function each so that they are
declared alike everywhere: a moment (timezone-aware, read back as aware UTC by `times.py`) and
the region and domain a record is placed in (what an access scope filters on, see
`sql.warning_search.scoped`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, String


def moment(name: str, *, nullable: bool, index: bool | None = None) -> Column[Any]:
    """A moment: a timezone-aware timestamp (`index` as `Column` takes it)."""
    return Column(name, DateTime(timezone=True), nullable=nullable, index=index)


def placement_columns(*, region_index: bool | None = None) -> tuple[Column[Any], Column[Any]]:
    """The region and domain codes a record is placed in, in this order (both required)."""
    return (
        Column("region", String(64), nullable=False, index=region_index),
        Column("domain", String(64), nullable=False),
    )
