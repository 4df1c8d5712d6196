"""Arithmetic expressions over indicator columns, for derived inputs, conditions and transforms.

An expression is a small, safe subset of Python's expression syntax, parsed with `ast` and
evaluated element-wise on numpy arrays (one value per region). Names are indicator or node ids;
ids that are not Python identifiers are written in braces: `{EX_FL} / {POP_DEN}`,
`{ODA-2} + {ODA-1}`. Missing values are NaN and propagate through arithmetic.

Operators: `+ - * / ** %`, unary `-`, comparisons (`== != < <= > >=`, chained), `and`, `or`,
`not`, `a if cond else b`. Functions: see `FUNCTIONS`. Constants: `nan`, `inf`, `pi`, `e`.

>>> import numpy as np
>>> expr = compile_expression("where({A.B} > 1, log10({A.B}), 0)")
>>> expr.names
('A.B',)
>>> evaluate_expression(expr, {"A.B": np.array([0.5, 100.0])}, 2).tolist()
[0.0, 2.0]
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


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "log10": np.log10,
    "ln": np.log,
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "floor": np.floor,
    "ceil": np.ceil,
    "where": np.where,
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


class ExpressionError(ValueError):
    """An expression is not valid (syntax, forbidden construct, unknown function)."""


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: its source text, the ids it reads, and its syntax tree."""

    source: str
    names: tuple[str, ...]
    tree: ast.Expression = field(compare=False, repr=False)
    aliases: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)


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
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{type(node).__name__} is not allowed in {source!r}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(f"unknown function in {source!r}")
            if node.keywords:
                raise ExpressionError(f"keyword arguments are not allowed in {source!r}")
        elif isinstance(node, ast.Name):
            name = aliases.get(node.id, node.id)
            if node.id in FUNCTIONS and name == node.id:
                continue
            if name in _CONSTANTS or name in local_names or name in names:
                continue
            names.append(name)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise ExpressionError(f"only numeric constants are allowed in {source!r}")
    return Expression(str(source), tuple(names), tree, tuple(aliases.items()))


def evaluate_expression(expr: Expression, env: Mapping[str, Value], n: int) -> FloatArray:
    """Evaluate on arrays of length `n` (scalars broadcast); NaN is missing."""
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
        if isinstance(node, ast.BinOp):
            return _BINARY[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = ev(node.operand)
            if isinstance(node.op, ast.Not):
                return np.logical_not(operand)
            return np.negative(operand) if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BoolOp):
            parts = [np.asarray(ev(v), dtype=bool) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or
            return combine.reduce(np.broadcast_arrays(*parts))
        if isinstance(node, ast.Compare):
            left = ev(node.left)
            result: Any = True
            for op, right_node in zip(node.ops, node.comparators, strict=True):
                right = ev(right_node)
                result = np.logical_and(result, _COMPARE[type(op)](left, right))
                left = right
            return result
        if isinstance(node, ast.IfExp):
            return np.where(ev(node.test), ev(node.body), ev(node.orelse))
        if isinstance(node, ast.Call):
            func = FUNCTIONS[node.func.id]  # type: ignore[attr-defined]
            return func(*[ev(a) for a in node.args])
        raise ExpressionError(f"cannot evaluate {type(node).__name__}")  # pragma: no cover

    with np.errstate(all="ignore"):
        out = ev(expr.tree)
    arr = np.asarray(out, dtype=np.float64)
    if arr.shape != (n,):
        arr = np.broadcast_to(arr, (n,)).copy()
    return arr
