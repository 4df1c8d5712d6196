"""Domain records as table rows and back, for frozen dataclasses whose fields are the columns.

Going in, enums are stored as their text, mappings as JSON objects and tuples as JSON arrays;
coming back, each field is rebuilt from its annotation: enums from their text, datetimes as
aware UTC (SQLite hands them back naive), tuples from arrays. Records whose fields differ from
their columns (indicators, groups, escalations, silences) keep their own mapping functions.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from tocsin.adapters.storage.times import aware

R = TypeVar("R")


def to_row(record: Any, **extra: Any) -> dict[str, Any]:
    """The record's fields as column values, plus `extra` columns."""
    return {**{f.name: _encode(getattr(record, f.name)) for f in fields(record)}, **extra}


def from_row(cls: Callable[..., R], row: Mapping[Any, Any]) -> R:
    """The record of type `cls` from a row with one column per field."""
    return cls(**{name: _decode(hint, row[name]) for name, hint in _hints(cls).items()})


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return {f.name: _concrete(get_type_hints(cls)[f.name]) for f in fields(cls)}


def _concrete(hint: Any) -> Any:
    """`X | None` -> X; a parametrised generic -> its origin (tuple, Mapping)."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in get_args(hint) if a is not type(None))
    return get_origin(hint) or hint


def _encode(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    if hint is datetime:
        return aware(value)
    if hint is tuple:
        return tuple(value)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(value)
    return value
