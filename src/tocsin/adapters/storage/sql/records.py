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
    kind: Any = type(record)
    row = {name: _encode(getattr(record, name)) for name in _names(kind)}
    row.update(extra)
    return row


def from_row(cls: Callable[..., R], row: Mapping[Any, Any]) -> R:
    """The record of type `cls` from a row with one column per field."""
    return cls(**{name: decode(row[name]) for name, decode in _decoders(cls)})


@cache
def _names(cls: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


@cache
def _decoders(cls: Any) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """Each field's name and how its column value becomes the field's value."""
    hints = get_type_hints(cls)
    return tuple((f.name, _decoder(_concrete(hints[f.name]))) for f in fields(cls))


def _concrete(hint: Any) -> Any:
    """`X | None` -> X; a parametrised generic -> its origin (tuple, Mapping)."""
    if get_origin(hint) in (Union, types.UnionType):
        hint = next(a for a in get_args(hint) if a is not type(None))
    return get_origin(hint) or hint


PLAIN = frozenset({str, int, float, bool, type(None), datetime})


def _encode(value: Any) -> Any:
    if type(value) in PLAIN:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    return value


def _keep(value: Any) -> Any:
    return value


def _decoder(hint: Any) -> Callable[[Any], Any]:
    """The decoder of one field (None stays None)."""
    if hint is datetime:
        return aware
    if hint is tuple:
        return lambda v: None if v is None else tuple(v)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return lambda v: None if v is None else hint(v)
    return _keep
