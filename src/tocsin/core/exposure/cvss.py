"""CVSS base scores computed from vector strings: versions 2.0, 3.0 and 3.1.

The formulas and metric weights are those of FIRST's specifications: CVSS v2.0 ("A Complete
Guide to the Common Vulnerability Scoring System Version 2.0", section 3.2.1, base equation),
CVSS v3.0 and v3.1 ("Specification Document", section 7.1 base metrics equations and 7.4 metric
values; v3.1 Appendix A gives the Roundup that avoids floating-point surprises, v3.0 rounds up to
one decimal directly). Version 4.0 scores come from a MacroVector lookup table and are computed
in the adapter (adapters/cvss_scores.py). A vector must name every base metric once with a
defined value; temporal and environmental metrics may follow (they are checked, not scored).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

V3_PREFIXES = {"CVSS:3.0": "3.0", "CVSS:3.1": "3.1"}

# CVSS v3.x weights (specification section 7.4); PR depends on the scope: (unchanged, changed)
V3_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
V3_PR: Mapping[str, tuple[float, float]] = {"N": (0.85, 0.85), "L": (0.62, 0.68), "H": (0.27, 0.5)}
V3_BASE = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")
_CIA = ("X", "N", "L", "H")
V3_OTHER: Mapping[str, tuple[str, ...]] = {  # temporal and environmental metrics
    "E": ("X", "U", "P", "F", "H"),
    "RL": ("X", "O", "T", "W", "U"),
    "RC": ("X", "U", "R", "C"),
    "CR": ("X", "L", "M", "H"),
    "IR": ("X", "L", "M", "H"),
    "AR": ("X", "L", "M", "H"),
    "MAV": ("X", "N", "A", "L", "P"),
    "MAC": ("X", "L", "H"),
    "MPR": ("X", "N", "L", "H"),
    "MUI": ("X", "N", "R"),
    "MS": ("X", "U", "C"),
    "MC": _CIA,
    "MI": _CIA,
    "MA": _CIA,
}
V3_VALUES: Mapping[str, tuple[str, ...]] = {
    **{k: tuple(v) for k, v in V3_WEIGHTS.items()},
    "PR": tuple(V3_PR),
    "S": ("U", "C"),
    **V3_OTHER,
}

# CVSS v2.0 weights (guide section 3.2.1)
V2_WEIGHTS: Mapping[str, Mapping[str, float]] = {
    "AV": {"L": 0.395, "A": 0.646, "N": 1.0},
    "AC": {"H": 0.35, "M": 0.61, "L": 0.71},
    "Au": {"M": 0.45, "S": 0.56, "N": 0.704},
    "C": {"N": 0.0, "P": 0.275, "C": 0.660},
    "I": {"N": 0.0, "P": 0.275, "C": 0.660},
    "A": {"N": 0.0, "P": 0.275, "C": 0.660},
}
_V2_REQ = ("L", "M", "H", "ND")
V2_VALUES: Mapping[str, tuple[str, ...]] = {
    **{k: tuple(v) for k, v in V2_WEIGHTS.items()},
    "E": ("U", "POC", "F", "H", "ND"),
    "RL": ("OF", "TF", "W", "U", "ND"),
    "RC": ("UC", "UR", "C", "ND"),
    "CDP": ("N", "L", "LM", "MH", "H", "ND"),
    "TD": ("N", "L", "M", "H", "ND"),
    "CR": _V2_REQ,
    "IR": _V2_REQ,
    "AR": _V2_REQ,
}


class BadVector(ValueError):
    """A CVSS vector string that does not follow its specification."""


def version_of(vector: str) -> str:
    """The CVSS version a vector states: "4.0", "3.1", "3.0", else "2.0" (v2 has no prefix)."""
    head = vector.split("/", 1)[0]
    if head == "CVSS:4.0":
        return "4.0"
    if head.startswith("CVSS:"):
        return V3_PREFIXES.get(head) or _bad(f"unknown version {head!r}")
    return "2.0"


def _bad(reason: str) -> str:
    raise BadVector(reason)


def metrics_of(parts: list[str], values: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Metric -> value of `M:V` parts; BadVector naming an unknown, repeated or bad one."""
    found: dict[str, str] = {}
    for part in parts:
        name, sep, value = part.partition(":")
        if not sep or name not in values:
            raise BadVector(f"{part!r} is not a metric of this version")
        if name in found:
            raise BadVector(f"metric {name} is given twice")
        if value not in values[name]:
            raise BadVector(f"{name}:{value} is not a defined value ({', '.join(values[name])})")
        found[name] = value
    return found


def _required(found: Mapping[str, str], base: tuple[str, ...]) -> None:
    missing = [m for m in base if m not in found]
    if missing:
        raise BadVector(f"base metric(s) {', '.join(missing)} missing")


def roundup_v31(value: float) -> float:
    """The smallest number with one decimal that is >= value (CVSS v3.1, Appendix A: on
    integers, so that 4.000000000000001 stays 4.0).

    >>> roundup_v31(4.02), roundup_v31(4.000000000000001), roundup_v31(4.0)
    (4.1, 4.0, 4.0)
    """
    whole = round(value * 100_000)
    if whole % 10_000 == 0:
        return whole / 100_000.0
    return (math.floor(whole / 10_000) + 1) / 10.0


def roundup_v30(value: float) -> float:
    """The smallest number with one decimal that is >= value, as CVSS v3.0 states it.

    >>> roundup_v30(4.02)
    4.1
    """
    return math.ceil(value * 10) / 10


def v3_base_score(vector: str) -> float:
    """The CVSS v3.0 or v3.1 base score of a vector (`CVSS:3.x/AV:…/…`); BadVector if malformed."""
    version = version_of(vector)
    if version not in ("3.0", "3.1"):
        raise BadVector(f"not a CVSS v3 vector (version {version})")
    m = metrics_of(vector.split("/")[1:], V3_VALUES)
    _required(m, V3_BASE)
    changed = m["S"] == "C"
    w = {k: V3_WEIGHTS[k][m[k]] for k in V3_WEIGHTS}
    iss = 1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"])
    # the impact sub-score: scope changed bends it (the 15th power), unchanged is linear
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if changed else 6.42 * iss
    exploitability = 8.22 * w["AV"] * w["AC"] * V3_PR[m["PR"]][changed] * w["UI"]
    if impact <= 0:
        return 0.0
    roundup = roundup_v31 if version == "3.1" else roundup_v30
    total = (impact + exploitability) * (1.08 if changed else 1.0)
    return roundup(min(total, 10.0))


def v2_base_score(vector: str) -> float:
    """The CVSS v2.0 base score of a vector (`AV:N/AC:L/Au:N/C:P/I:P/A:P`, maybe in
    parentheses); BadVector if malformed."""
    text = vector[1:-1] if vector.startswith("(") and vector.endswith(")") else vector
    m = metrics_of(text.split("/"), V2_VALUES)
    _required(m, tuple(V2_WEIGHTS))
    w = {k: V2_WEIGHTS[k][m[k]] for k in V2_WEIGHTS}
    impact = 10.41 * (1 - (1 - w["C"]) * (1 - w["I"]) * (1 - w["A"]))
    exploitability = 20 * w["AV"] * w["AC"] * w["Au"]
    f_impact = 0.0 if impact == 0 else 1.176
    raw = (0.6 * impact + 0.4 * exploitability - 1.5) * f_impact
    return math.floor(raw * 10 + 0.5) / 10  # rounded to one decimal, halves up


SCORERS = {"2.0": v2_base_score, "3.0": v3_base_score, "3.1": v3_base_score}
