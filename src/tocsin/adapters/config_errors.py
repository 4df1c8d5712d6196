"""Configuration errors: read a configuration file within bounds, and turn every way it can be
wrong into Problems (file or file:line, path inside the file, reason).

Every configuration loader reads its files through `read_document` and converts validation
errors with `validation_problems`, so that the limits and the wording are the same everywhere:

- a file larger than `MAX_FILE_BYTES` is refused before it is read;
- text must be UTF-8 (the problem names the line of the first bad byte);
- YAML aliases (`*name`) are refused: expanding them is how a kilobyte of YAML becomes gigabytes
  (the "billion laughs" attack), and configuration does not need them;
- a key written twice in one mapping is a problem (YAML 1.2 forbids it; PyYAML keeps the last);
- nesting deeper than `MAX_DEPTH` is refused (libyaml's composer would overflow the C stack);
- a file whose text starts with `{` is tried as JSON first (JSON is YAML's flow style, and
  Python's JSON parser is about ten times faster than the YAML one on large catalogues); JSON
  that is not strict JSON (NaN, a repeated key, a syntax error) is read as YAML, which reports
  the problem with its line.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node
from yaml.resolver import Resolver

from tocsin.core.errors import Problem

M = TypeVar("M", bound=BaseModel)
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 64
# a list item is named by the first of these keys it has; `code` names it in place of its index
# (as cross-reference problems do: `indicators[D11.level].region`), `id` beside its index
ITEM_NAMES = {"code": "[{name}]", "id": "[{index}] ({name})"}

try:  # libyaml's event parser when present; the composer below is Python, to bound it
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        """The pure-Python event parser."""

        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


class ConfigSyntaxError(yaml.MarkedYAMLError):
    """A construct configuration refuses (alias, repeated key, too deep), with its position."""


class _BoundedComposer(Composer):
    """Builds the node tree, refusing aliases and nesting deeper than MAX_DEPTH."""

    _depth = 0
    check_event: Any  # from the parser it is mixed with
    peek_event: Any

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """A node, or a ConfigSyntaxError for an alias or excessive depth."""
        if self.check_event(AliasEvent):
            event = self.peek_event()
            raise ConfigSyntaxError(
                None, None, f"aliases are not allowed (*{event.anchor})", event.start_mark
            )
        if self.check_event(MappingStartEvent, SequenceStartEvent):
            self._depth += 1
            if self._depth > MAX_DEPTH:
                event = self.peek_event()
                raise ConfigSyntaxError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark
                )
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
        return super().compose_node(parent, index)


class _StrictConstructor(SafeConstructor):
    """The safe constructor, refusing a key written twice in one mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A dict, or a ConfigSyntaxError naming the repeated key and its line."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                repeated = key in seen
            except TypeError:  # an unhashable key: the base class reports it
                break
            if repeated:
                raise ConfigSyntaxError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


class BoundedLoader(_Parser, _BoundedComposer, _StrictConstructor, Resolver):
    """A safe YAML loader without aliases, repeated keys or unbounded nesting."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _BoundedComposer.__init__(self)
        _StrictConstructor.__init__(self)
        Resolver.__init__(self)

    # the Python composer, not libyaml's recursive one (which the C parser would bring along)
    get_single_node = Composer.get_single_node
    compose_document = Composer.compose_document


def parse_text(text: str, where: str, problems: list[Problem]) -> Any:
    """YAML (or JSON) text as data; None, with a problem added, when it cannot be read."""
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
        except (ValueError, RecursionError):
            pass  # not strict JSON: the YAML parser says where and why
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"{where}:{mark.line + 1}" if mark is not None else where
        reason = getattr(err, "problem", None) or str(err)
        problems.append(Problem(at, "", f"not valid YAML: {reason}"))
    except RecursionError:
        problems.append(Problem(where, "", f"not valid YAML: nested deeper than {MAX_DEPTH}"))
    finally:
        loader.dispose()
    return None


def read_document(path: Path, problems: list[Problem]) -> Any:
    """A configuration file's data; None, with a problem added, when it cannot be read."""
    text = read_text(path, problems)
    return None if text is None else parse_text(text, str(path), problems)


def read_model(path: Path, model: type[M], problems: list[Problem]) -> M | None:
    """A configuration file validated into a model; None, with every problem added, otherwise
    (an empty file is an empty mapping)."""
    before = len(problems)
    raw = read_document(path, problems)
    if len(problems) > before:
        return None
    try:
        return model.model_validate(raw or {})
    except ValidationError as err:
        problems.extend(validation_problems(err, str(path), data=raw, model=model))
    return None


def read_text(path: Path, problems: list[Problem]) -> str | None:
    """A file's UTF-8 text within MAX_FILE_BYTES; None, with a problem added, otherwise."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            problems.append(
                Problem(str(path), "", f"too large: {size:,} bytes (limit {MAX_FILE_BYTES:,})")
            )
            return None
        data = path.read_bytes()
    except OSError as err:
        problems.append(Problem(str(path), "", f"cannot read: {err.strerror or err}"))
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        byte = data[err.start : err.start + 1].hex()
        problems.append(Problem(f"{path}:{line}", "", f"not UTF-8 text (byte 0x{byte})"))
        return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("a key appears twice")  # read again as YAML, which names the line
    return out


def validation_problems(
    err: ValidationError,
    where: str,
    *,
    data: Any = None,
    model: type[BaseModel] | None = None,
    prefix: Sequence[int | str] = (),
    skip: Collection[str] = (),
) -> list[Problem]:
    """One Problem per validation error: `where`, the path inside the file, a plain reason.

    `data` (what was validated) names list items by their code or id; `model` lets an unknown
    key be answered with the keys allowed there; `skip` lists union tags to leave out of paths.
    """
    out = []
    for e in err.errors(include_url=False):
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and p in skip))
        reason = e["msg"]
        if e["type"] == "extra_forbidden" and loc:
            reason = unknown_key_reason(str(loc[-1]), allowed_keys(model, loc[:-1]))
        out.append(Problem(where, loc_path((*prefix, *loc), data), reason))
    return out


def unknown_key_reason(key: str, allowed: Sequence[str]) -> str:
    """`unknown key 'cadence' (did you mean 'cadence_s'?)`, or the keys allowed there."""
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    if allowed:
        return f"unknown key {key!r} (allowed: {', '.join(allowed)})"
    return f"unknown key {key!r}"


def loc_path(loc: Sequence[int | str], data: Any = None) -> str:
    """`indicators[D11.level].thresholds.red` from a location (names items from `data`)."""
    out = ""
    cursor = data
    for part in loc:
        if isinstance(part, int):
            item = cursor[part] if isinstance(cursor, list) and part < len(cursor) else None
            out += _item(part, item)
            cursor = item
        else:
            out += f".{part}" if out else str(part)
            cursor = cursor.get(part) if isinstance(cursor, Mapping) else None
    return out


def _item(index: int, item: Any) -> str:
    if isinstance(item, Mapping):
        for key, form in ITEM_NAMES.items():
            name = item.get(key)
            if isinstance(name, str) and name:
                return form.format(name=name, index=index)
    return f"[{index}]"


def allowed_keys(model: type[BaseModel] | None, loc: Sequence[int | str]) -> list[str]:
    """The keys a model accepts at a location (empty when it cannot tell)."""
    current: Any = model
    for part in loc:
        current = _inner(current, part)
        if current is None:
            return []
    if not (isinstance(current, type) and issubclass(current, BaseModel)):
        return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _inner(annotation: Any, part: int | str) -> Any:
    """The type found one step inside `annotation` (a model's field, a list's item)."""
    for option in _options(annotation):
        if isinstance(part, str) and isinstance(option, type) and issubclass(option, BaseModel):
            fields = {f.alias or name: f for name, f in option.model_fields.items()}
            if part in fields:
                return fields[part].annotation
        if isinstance(part, int) and get_origin(option) in (list, tuple):
            return get_args(option)[0]
    return None


def _options(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)
