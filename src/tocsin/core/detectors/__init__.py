"""Online anomaly detectors, picked by ``kind`` from one explicit registry.

Univariate detectors score ``values`` of shape (n,); multivariate ones (``MULTIVARIATE``) score
groups, ``values`` of shape (n, d). Both follow the one :class:`Detector` protocol and the one
score scale: 0.5 is the detector's own decision threshold.
"""

from __future__ import annotations

from typing import Any

from tocsin.core.detectors.auto import AutoDetector
from tocsin.core.detectors.base import ArrayDetector, Detector
from tocsin.core.detectors.cusum import CusumDetector
from tocsin.core.detectors.ewma import EwmaDetector
from tocsin.core.detectors.group import AutoGroupDetector
from tocsin.core.detectors.mahalanobis import MahalanobisDetector
from tocsin.core.detectors.robust import RobustZDetector
from tocsin.core.detectors.seasonal import SeasonalDetector

DETECTORS: dict[str, type[ArrayDetector]] = {
    AutoDetector.kind: AutoDetector,
    AutoGroupDetector.kind: AutoGroupDetector,
    CusumDetector.kind: CusumDetector,
    EwmaDetector.kind: EwmaDetector,
    MahalanobisDetector.kind: MahalanobisDetector,
    RobustZDetector.kind: RobustZDetector,
    SeasonalDetector.kind: SeasonalDetector,
}

MULTIVARIATE: frozenset[str] = frozenset({AutoGroupDetector.kind, MahalanobisDetector.kind})


def make_detector(kind: str, **params: Any) -> ArrayDetector:
    """Build the detector registered under ``kind`` with the given hyperparameters."""
    try:
        cls = DETECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"unknown detector kind {kind!r}; known: {known}") from None
    return cls(**params)


def is_multivariate(kind: str) -> bool:
    """Whether ``kind`` scores groups of indicators (2-d values)."""
    return kind in MULTIVARIATE


__all__ = [
    "DETECTORS",
    "MULTIVARIATE",
    "ArrayDetector",
    "Detector",
    "is_multivariate",
    "make_detector",
]
