"""JSON objects name each key once: a body that repeats one is refused, never read last-wins.

RFC 8259 leaves a repeated name's meaning to the reader; Python's `json`, msgspec and pydantic
keep the last value, so `{"value": 1, "value": 9}` would be stored as 9 while another reader
sees 1. `loads_once` decodes like `json.loads` and raises `DuplicateKey`, naming the key and
the path to its object, when any object repeats a name. `may_repeat` is the fast pre-check of
the observation decoders: True unless each key of their rows occurs exactly once per row.
"""

from __future__ import annotations

import json
from typing import Any

from tocsin.core.errors import Problem


class DuplicateKey(ValueError):
    """An object of the JSON document names a key twice."""

    def __init__(self, path: tuple[int | str, ...], key: str) -> None:
        super().__init__(f"duplicate key {key!r}")
        self.path = path
        self.key = key

    def problem(self, where: str = "body") -> Problem:
        """The repeat as a Problem: where the object is (`where` then its path), the key."""
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in self.path)
        at = f"{where}{path}" if where else path.lstrip(".") or "body"
        return Problem(at, self.key, "given more than once")


class _Repeated(dict[str, Any]):
    """An object in which `key` was given more than once."""

    key = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) == len(pairs):
        return made
    seen: set[str] = set()
    repeated = _Repeated(made)
    repeated.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return repeated


def _first_repeat(value: Any, path: tuple[int | str, ...]) -> DuplicateKey | None:
    """The first object (depth first, in document order) that repeats a key."""
    stack: list[tuple[Any, tuple[int | str, ...]]] = [(value, path)]
    while stack:
        item, at = stack.pop()
        if isinstance(item, _Repeated):
            return DuplicateKey(at, item.key)
        children = (
            item.items()
            if isinstance(item, dict)
            else enumerate(item)
            if isinstance(item, list)
            else ()
        )
        stack.extend(reversed([(v, (*at, k)) for k, v in children]))
    return None


def loads_once(document: bytes | str) -> Any:
    """`json.loads`, refusing (DuplicateKey) an object that names a key twice."""
    found = [False]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made = _pairs(items)
        found[0] = found[0] or isinstance(made, _Repeated)
        return made

    value = json.loads(document, object_pairs_hook=pairs)
    repeat = _first_repeat(value, ()) if found[0] else None
    if repeat is not None:
        raise repeat
    return value


def may_repeat(run: bytes, rows: int, keys: tuple[bytes, ...], *, others: int = 0) -> bool:
    """Whether a run of `rows` objects, each decoded with every one of `keys` and no other key
    (besides `others` keys outside them), might repeat one of `keys`.

    First a sufficient test that reads the run once: every key is followed by a colon, so a run
    with exactly as many colons as keys it must hold names none twice. Otherwise (a colon in a
    string, a time in RFC 3339 text) each quoted key must occur exactly `rows` times; a key's
    name inside a string value makes this True, harmlessly."""
    if run.count(b":") == rows * len(keys) + others:
        return False
    return any(run.count(key) != rows for key in keys)
