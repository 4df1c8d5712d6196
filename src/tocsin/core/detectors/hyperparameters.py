"""Validation of detector hyperparameters: each check raises ValueError naming the parameter."""

from __future__ import annotations

import math


def check_positive(name: str, value: float) -> None:
    """Raise ValueError unless ``value`` is a finite number > 0."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_all_positive(**values: float) -> None:
    """:func:`check_positive` on each keyword, in the order given."""
    for name, value in values.items():
        check_positive(name, value)


def check_unit(name: str, value: float, *, closed: bool = False) -> None:
    """Raise ValueError unless 0 < value < 1 (or <= 1 when ``closed``)."""
    ok = (
        isinstance(value, int | float) and value > 0.0 and (value <= 1.0 if closed else value < 1.0)
    )
    if not ok:
        raise ValueError(f"{name} must be in (0, 1{']' if closed else ')'}, got {value!r}")
