"""Arithmetic expressions over indicator columns, for derived inputs, conditions and transforms.

An expression is a small, safe subset of Python's expression syntax, parsed with `ast` and
evaluated element-wise on numpy arrays (one value per region). Names are indicator or node ids;
ids that are not Python identifiers are written in braces: `{EX_FL} / {POP_DEN}`,
`{ODA-2} + {ODA-1}`. Missing values are NaN and propagate through arithmetic.

Every value is a number: a comparison or a test (`missing`, `present`, `and`, `or`, `not`) gives
1.0 for true and 0.0 for false, so booleans *count*: `present(a) + present(b)` is 2 where both
are present. A value is true where it is present and not 0 (a missing value is false).

Operators: `+ - * / ** %`, unary `-`, comparisons (`== != < <= > >=`, chained), `and`, `or`,
`not`, `a if cond else b`. Functions: see `FUNCTIONS`, and the counting functions
`count_present(X, …)`, `count_missing(X, …)`, `share_present(X, …)` over the raw inputs under
the given nodes (see `COUNTING`). Constants: `nan`, `inf`, `pi`, `e`.

>>> import numpy as np
>>> expr = compile_expression("where({A.B} > 1, log10({A.B}), 0)")
>>> expr.names
('A.B',)
>>> evaluate_expression(expr, {"A.B": np.array([0.5, 100.0])}, 2).tolist()
[0.0, 2.0]
>>> both = compile_expression("present(a) + present(b)")
>>> evaluate_expression(both, {"a": np.array([1.0, np.nan]), "b": np.array([2.0, 3.0])}, 2).tolist()
[2.0, 1.0]
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
Value = FloatArray | float

_BRACED = re.compile(r"\{([^{}]+)\}")


def _coalesce(*args: Value) -> Value:
    out = args[0]
    for nxt in args[1:]:
        out = np.where(np.isnan(out), nxt, out)
    return out


def _nanmin(*args: Value) -> Value:
    return np.fmin.reduce(np.broadcast_arrays(*map(np.asarray, args)))  # type: ignore[no-any-return]


def _nanmax(*args: Value) -> Value:
    return np.fmax.reduce(np.broadcast_arrays(*map(np.asarray, args)))  # type: ignore[no-any-return]


def _nansum(*args: Value) -> Value:
    stacked = np.broadcast_arrays(*map(np.asarray, args))
    present = np.zeros(stacked[0].shape, dtype=bool)
    total = np.zeros(stacked[0].shape)
    for arr in stacked:
        ok = ~np.isnan(arr)
        present |= ok
        total = total + np.where(ok, arr, 0.0)
    return np.where(present, total, np.nan)


def truth(value: Any) -> NDArray[np.bool_]:
    """Where a value counts as true: present and not 0 (a missing value is false)."""
    arr = np.asarray(value)
    if arr.dtype == np.bool_:
        flags: NDArray[np.bool_] = arr
        return flags
    num = arr.astype(np.float64, copy=False)
    out: NDArray[np.bool_] = (num == num) & (num != 0.0)
    return out


def _number(value: Any) -> Any:
    """A test's result (kept as flags while only tests read it) as a number: 1.0 or 0.0."""
    if isinstance(value, np.ndarray) and value.dtype == np.bool_:
        return value.astype(np.float64)
    if isinstance(value, bool | np.bool_):
        return float(value)
    return value


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "log10": np.log10,
    "ln": np.log,
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "where": lambda cond, a, b: np.where(truth(cond), a, b),
    "missing": np.isnan,
    "present": lambda x: ~np.isnan(x),
    "coalesce": _coalesce,
    "clip": np.clip,
    # min/max/sum ignore missing arguments (NaN only if all are missing), like Excel's MIN/SUM
    "min": _nanmin,
    "max": _nanmax,
    "sum": _nansum,
}
"""Functions an expression may call, by name (element-wise on arrays)."""

COUNTING = ("count_present", "count_missing", "share_present")
"""Counting functions: over the raw inputs under the ids given (`count_present(VU)`): how many
are present, how many missing, and the share present (0–1). Their arguments are ids only."""

_CONSTANTS: Mapping[str, float] = {"nan": math.nan, "inf": math.inf, "pi": math.pi, "e": math.e}

_BINARY: Mapping[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}
_COMPARE: Mapping[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
}
_ALLOWED = (
    ast.Expression,
    ast.BinOp,
    ast.UnaryOp,
    ast.BoolOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Name,
    ast.Constant,
    ast.Load,
    ast.USub,
    ast.UAdd,
    ast.Not,
    ast.And,
    ast.Or,
    *_BINARY,
    *_COMPARE,
)
ALLOWED_FUNCTIONS = ", ".join(sorted([*FUNCTIONS, *COUNTING]))
"""Every function name an expression may call, for error messages."""


class ExpressionError(ValueError):
    """An expression is not valid (syntax, forbidden construct, unknown function)."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: its source text, the ids it reads, its syntax tree, and the id
    groups its counting functions count over (`counts`, not read as values)."""

    source: str
    names: tuple[str, ...]
    tree: ast.Expression = field(compare=False, repr=False)
    aliases: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    counts: tuple[tuple[str, ...], ...] = ()


Counted = Mapping[tuple[str, ...], tuple[FloatArray, int]]
"""Per id group of a counting call: the number of present inputs per region, and how many
inputs the group has."""


def compile_expression(source: str, *, local_names: frozenset[str] = frozenset()) -> Expression:
    """Parse and check an expression; `names` lists the ids it reads (excluding `local_names`)."""
    aliases: dict[str, str] = {}

    def _alias(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        key = f"__ref{len(aliases)}"
        aliases[key] = name
        return key

    text = _BRACED.sub(_alias, str(source))
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"syntax error in {source!r}: {err.msg}") from err
    names: list[str] = []
    counts: list[tuple[str, ...]] = []
    counted_args: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__} is not allowed in {source!r}")
        if isinstance(node, ast.Call):
            group = _check_call(node, source, aliases)
            if group:
                counts.append(group)
                counted_args.update(id(a) for a in node.args)
        elif isinstance(node, ast.Name) and id(node) not in counted_args:
            name = aliases.get(node.id, node.id)
            if (node.id in FUNCTIONS or node.id in COUNTING) and name == node.id:
                continue
            if name in _CONSTANTS or name in local_names or name in names:
                continue
            names.append(name)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ExpressionError(f"only numeric constants are allowed in {source!r}")
    return Expression(
        str(source), tuple(names), tree, tuple(aliases.items()), tuple(dict.fromkeys(counts))
    )


def _check_call(node: ast.Call, source: str, aliases: Mapping[str, str]) -> tuple[str, ...]:
    """Check a call; for a counting function, the ids it counts over (else ())."""
    name = node.func.id if isinstance(node.func, ast.Name) else None
    if name is None or (name not in FUNCTIONS and name not in COUNTING):
        called = name or ast.unparse(node.func)
        raise ExpressionError(
            f"unknown function {called!r} in {source!r}; allowed: {ALLOWED_FUNCTIONS}"
        )
    if node.keywords:
        raise ExpressionError(f"keyword arguments are not allowed in {source!r}")
    if name not in COUNTING:
        return ()
    if not node.args or not all(isinstance(a, ast.Name) for a in node.args):
        raise ExpressionError(
            f"{name}() takes one or more ids (of inputs or nodes), not expressions, in {source!r}"
        )
    return tuple(aliases.get(a.id, a.id) for a in node.args if isinstance(a, ast.Name))


def _count(name: str, group: tuple[str, ...], counted: Counted | None) -> FloatArray:
    if counted is None or group not in counted:
        raise ExpressionError(f"{name}({', '.join(group)}) needs the model's input counts")
    present, total = counted[group]
    if name == "count_present":
        return present
    if name == "count_missing":
        return total - present
    return present / total if total else np.full(present.shape, np.nan)


def evaluate_expression(
    expr: Expression, env: Mapping[str, Value], n: int, *, counted: Counted | None = None
) -> FloatArray:
    """Evaluate on arrays of length `n` (scalars broadcast); NaN is missing. `counted` gives the
    present-input counts that counting functions read."""
    arr = np.asarray(_number(_evaluate(expr, env, counted)), dtype=np.float64)
    if arr.shape != (n,):
        arr = np.broadcast_to(arr, (n,)).copy()
    return arr


def evaluate_condition(
    expr: Expression, env: Mapping[str, Value], n: int, *, counted: Counted | None = None
) -> NDArray[np.bool_]:
    """Where an expression is true (present and not 0), as flags of length `n`."""
    flags = truth(_evaluate(expr, env, counted))
    if flags.shape != (n,):
        flags = np.broadcast_to(flags, (n,)).copy()
    return flags


def _evaluate(expr: Expression, env: Mapping[str, Value], counted: Counted | None) -> Any:
    """Evaluate the tree: tests stay flags until arithmetic reads them (then 1.0 or 0.0)."""
    aliases = dict(expr.aliases)

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return float(node.value)  # type: ignore[arg-type]
        if isinstance(node, ast.Name):
            name = aliases.get(node.id, node.id)
            if name in env:
                return env[name]
            return _CONSTANTS[name]
        if isinstance(node, ast.BinOp):  # arithmetic counts: a true test is 1, a false one 0
            return _BINARY[type(node.op)](_number(ev(node.left)), _number(ev(node.right)))
        if isinstance(node, ast.UnaryOp):
            operand = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return ~truth(operand)
            return np.negative(_number(operand)) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BoolOp):
            parts = [truth(ev(v)) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return combine.reduce(np.broadcast_arrays(*parts))
        if isinstance(node, ast.Compare):
            left = _number(ev(node.left))
            result: Any = True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = _number(ev(right_node))
                result = np.logical_and(result, _COMPARE[type(op)](left, right))
                left = right
            return result
        if isinstance(node, ast.IfExp):
            return np.where(truth(ev(node.test)), _number(ev(node.body)), _number(ev(node.orelse)))
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            if name in COUNTING:
                group = tuple(aliases.get(a.id, a.id) for a in node.args if isinstance(a, ast.Name))
                return _count(name, group, counted)
            args = [ev(a) for a in node.args]
            if name != "where":
                args = [_number(a) for a in args]
            else:
                args = [args[0], *(_number(a) for a in args[1:])] if args else args
            return FUNCTIONS[name](*args)
        raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover

    with np.errstate(all="ignore"):
        return ev(expr.tree)
