"""How `tocsin risk explain` shows an explanation: each value at the precision the model gives
it, inputs by name, and contributions printed so that they add up as printed.

Under a node whose children are shown, a line "· value at average" (or zero, or a region) gives
the node's value at the reference point (the base of its split); the base and the children's
contributions are printed with one decimal more than the node and rounded together (largest
remainders), so base + contributions equals the node's value on the page as well as in the
numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from tocsin.core.risk.explain import NodeExplanation

REFERENCES = {"average": "average", "zero": "zero"}


def number(v: float, decimals: int | None = None) -> str:
    """A value for reading: `decimals` places if given, else 4 significant digits (large
    numbers whole, with thousands separators); "missing" for NaN."""
    if math.isnan(v):
        return "missing"
    if decimals is not None:
        return f"{v:.{decimals}f}"
    if abs(v) >= 1e4 and abs(v) < 1e15:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def split_decimals(node: NodeExplanation) -> int:
    """Places for the contributions under a node: one more than the node is shown with."""
    if node.decimals is not None:
        return node.decimals + 1
    magnitude = max(abs(node.value), abs(node.base or 0.0))
    if magnitude == 0.0 or math.isnan(magnitude):
        return 3
    return max(0, 2 - math.floor(math.log10(magnitude))) + 1


def adding_up(parts: Sequence[float], total: float, decimals: int) -> list[float]:
    """`parts` rounded to `decimals` so that they add up to `total` rounded the same way
    (largest remainder: the parts closest to the next unit take the difference)."""
    scale = 10**decimals
    exact = [p * scale for p in parts]
    units = [math.floor(x + 0.5) for x in exact]
    missing = math.floor(total * scale + 0.5) - sum(units)
    order = sorted(range(len(parts)), key=lambda i: exact[i] - units[i], reverse=missing > 0)
    for i in order[: abs(missing)]:
        units[i] += 1 if missing > 0 else -1
    return [u / scale for u in units]


def _parents(rows: Sequence[NodeExplanation]) -> list[int | None]:
    """For each row (depth first), the index of its parent row."""
    out: list[int | None] = []
    stack: list[int] = []
    for i, r in enumerate(rows):
        del stack[r.depth :]
        out.append(stack[-1] if stack else None)
        stack.append(i)
    return out


def _shown_parts(rows: Sequence[NodeExplanation], depth: int) -> dict[int, float]:
    """Printed contributions (and bases, under key −1 − parent index) that add up."""
    parents = _parents(rows)
    shown: dict[int, float] = {}
    for p, node in enumerate(rows):
        kids = [i for i, q in enumerate(parents) if q == p]
        if node.base is None or node.depth + 1 > depth or not kids:
            continue
        if any(rows[i].contribution is None for i in kids):
            continue
        dec = split_decimals(node)
        parts = adding_up(
            [node.base] + [rows[i].contribution or 0.0 for i in kids], node.value, dec
        )
        shown[-1 - p] = parts[0]
        shown.update(zip(kids, parts[1:], strict=True))
    return shown


def explanation_table(
    rows: Sequence[NodeExplanation], *, title: str, depth: int, reference: str
) -> Table:
    """The explanation as a table (rows down to `depth`)."""
    parents = _parents(rows)
    shown = _shown_parts(rows, depth)
    table = Table(title=title)
    for col in ("node", "name", "value", "coverage", "contribution"):
        table.add_column(
            col, justify="right" if col in ("value", "coverage", "contribution") else "left"
        )
    at = REFERENCES.get(reference, reference)
    for i, r in enumerate(rows):
        if r.depth > depth:
            continue
        q = parents[i]
        dec = split_decimals(rows[q]) if q is not None else None
        part = shown.get(i)
        contribution = "" if part is None or dec is None else f"{part:+.{dec}f}"
        table.add_row(
            "  " * r.depth + r.node,
            r.name + (f" ({r.note})" if r.note else ""),
            number(r.value, r.decimals),
            f"{r.coverage:.2f}",
            contribution,
        )
        if -1 - i in shown:
            table.add_row(
                "  " * (r.depth + 1) + "·",
                f"value at {at}",
                "",
                "",
                f"{shown[-1 - i]:.{split_decimals(r)}f}",
            )
    return table


def explanation_rows(rows: Sequence[NodeExplanation]) -> list[dict[str, Any]]:
    """The explanation as JSON-ready rows (full precision; missing as null)."""

    def num(v: float | None) -> float | None:
        return None if v is None or math.isnan(v) else v

    return [
        {
            "node": r.node,
            "name": r.name,
            "depth": r.depth,
            "input": r.is_input,
            "value": num(r.value),
            "coverage": r.coverage,
            "parent": r.parent,
            "contribution": num(r.contribution),
            "base": num(r.base),
            "note": r.note,
        }
        for r in rows
    ]
