"""CVSS base scores of vector strings, every version: 2.0, 3.0 and 3.1 by the core's formulas,
4.0 by the `cvss` package (Red Hat Product Security, LGPLv3+), which implements the v4.0
specification's MacroVector scoring with FIRST's published lookup table.

When a feed states a score and a vector that disagree, the vector wins: it is what was
assessed, the score only derived from it (and the one a mistyped or stale record gets wrong);
the disagreement is logged as a warning naming the record.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from cvss import CVSS4  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from tocsin.core.exposure.advisories import Severity, severity_of
from tocsin.core.exposure.cvss import SCORERS, BadVector, version_of

log = logging.getLogger(__name__)
# v2 has no "critical" (NVD's v2 ratings: 0-3.9 low, 4.0-6.9 medium, 7.0-10.0 high)
_V2_SEVERITY = ((7.0, Severity.HIGH), (4.0, Severity.MEDIUM), (0.0, Severity.LOW))
DISAGREE_BY = 0.05  # scores are stated with one decimal


def _v4_score(vector: str) -> float:
    try:
        return float(CVSS4(vector).base_score)
    except CVSSError as err:
        raise BadVector(str(err)) from None


def vector_score(vector: str) -> float:
    """The base score of a CVSS vector of any version; BadVector (a ValueError) saying why not."""
    version = version_of(vector)
    return _v4_score(vector) if version == "4.0" else SCORERS[version](vector)


def vector_severity(vector: str, score: float) -> Severity:
    """The qualitative rating of a score of this vector's version."""
    if version_of(vector) == "2.0":
        return next(s for floor, s in _V2_SEVERITY if score >= floor)
    return severity_of(score)


def vector_problem(vector: str, *, version: str | None = None) -> str | None:
    """Why a vector is not a valid CVSS vector (of `version`, when given), or None."""
    try:
        if version is not None and version_of(vector) != version:
            return f"a CVSS {version_of(vector)} vector where {version} is stated"
        vector_score(vector)
    except BadVector as err:
        return f"not a CVSS vector: {err}"
    return None


def scored(vector: str, stated: float | None, *, record: str) -> tuple[float, Severity]:
    """The score of a (valid) vector, and its rating; a stated score that disagrees is logged."""
    score = vector_score(vector)
    if stated is not None and abs(stated - score) > DISAGREE_BY:
        extra: Mapping[str, object] = {"record": record, "stated": stated, "computed": score}
        log.warning(
            "%s: the feed states CVSS %.1f but its vector %s scores %.1f; using %.1f",
            record,
            stated,
            vector,
            score,
            score,
            extra=extra,
        )
    return score, vector_severity(vector, score)
