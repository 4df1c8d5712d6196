"""Online anomaly detectors, picked by ``kind`` from one explicit registry."""

from __future__ import annotations

from typing import Any

from tocsin.core.detectors.auto import AutoDetector
from tocsin.core.detectors.base import ArrayDetector, Detector, GroupDetector
from tocsin.core.detectors.ewma import EwmaDetector

DETECTORS: dict[str, type[ArrayDetector]] = {
    AutoDetector.kind: AutoDetector,
    EwmaDetector.kind: EwmaDetector,
}


def make_detector(kind: str, **params: Any) -> ArrayDetector:
    """Build the detector registered under ``kind`` with the given hyperparameters."""
    try:
        cls = DETECTORS[kind]
    except KeyError:
        known = ", ".join(sorted(DETECTORS))
        raise ValueError(f"unknown detector kind {kind!r}; known: {known}") from None
    return cls(**params)


__all__ = ["DETECTORS", "ArrayDetector", "Detector", "GroupDetector", "make_detector"]
