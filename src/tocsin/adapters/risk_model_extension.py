"""A risk model that extends another: `extends: base.yaml` and only what it adds or changes.

A composite index that adds a domain to a published one (INFORM with the cyber exposure of
critical infrastructure as a hazard category) would otherwise copy the published transcription
whole. The extension is merged into its base before validation, so every check applies to the
result: `inputs` are added (an id the base declares is an error), a node whose id the base has
replaces that node, a new node is added, and every other key the extension gives (`id`, `name`,
`root`, `classes`, `rank`, …) replaces the base's. The base is found relative to the extension and
may extend another in turn (up to `MAX_DEPTH` files, never itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tocsin.adapters.config_errors import parse_text, read_text
from tocsin.core.errors import InvalidConfig, Problem

MAX_DEPTH = 8
"""How many files a chain of `extends` may hold before it is refused as a loop."""


def extended(data: Any, *, where: str, base: Path, depth: int = 0) -> Any:
    """`data` merged into the model it `extends` (unchanged when it extends none)."""
    if not isinstance(data, Mapping) or "extends" not in data:
        return data
    name = data["extends"]
    if not isinstance(name, str) or not name.strip():
        raise InvalidConfig([Problem(where, "extends", "names the base model's file")])
    if depth >= MAX_DEPTH:
        raise InvalidConfig([Problem(where, "extends", f"more than {MAX_DEPTH} models extend")])
    path = base / name
    problems: list[Problem] = []
    text = read_text(path, problems)
    parent = None if text is None else parse_text(text, str(path), problems)
    if problems:
        raise InvalidConfig(problems)
    parent = extended(parent, where=str(path), base=path.parent, depth=depth + 1)
    if not isinstance(parent, Mapping):
        raise InvalidConfig([Problem(str(path), "", "a model is a mapping (id, root, …)")])
    return _merge(parent, data, where)


def _merge(parent: Mapping[str, Any], child: Mapping[str, Any], where: str) -> dict[str, Any]:
    merged = dict(parent)
    merged.update({k: v for k, v in child.items() if k not in ("extends", "inputs", "nodes")})
    known = {_id(i) for i in parent.get("inputs") or []}
    added = list(child.get("inputs") or [])
    again = [f"inputs[{n}]" for n, i in enumerate(added) if _id(i) in known]
    if again:
        reason = "the base model already declares this input; an extension adds new ones"
        raise InvalidConfig([Problem(where, at, reason) for at in again])
    merged["inputs"] = [*(parent.get("inputs") or []), *added]
    replacing = {_id(n): n for n in child.get("nodes") or []}
    kept = [replacing.pop(_id(n), n) for n in parent.get("nodes") or []]
    merged["nodes"] = [*kept, *(n for n in child.get("nodes") or [] if _id(n) in replacing)]
    return merged


def _id(item: Any) -> str:
    """An input's or node's id (`id` of a mapping, or the text itself); validation checks it."""
    return str(item.get("id") if isinstance(item, Mapping) else item)
