"""Every registered detector passes the conformance suite."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tocsin.core.detectors import DETECTORS, make_detector
from tocsin.core.detectors.base import ArrayDetector
from tocsin.testing.detectors import CHECKS

# small warm-ups so the suite's short streams exercise the scoring path
FAST: dict[str, dict[str, object]] = {
    "auto": {"warmup": 100, "block": 32, "nblocks": 8, "burn": 20},
    "seasonal": {"period": 86400, "bins": 24, "warmup": 2},
}


@pytest.mark.parametrize("kind", sorted(DETECTORS))
@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_detector_conforms(kind: str, check: Callable[[Callable[[], ArrayDetector]], None]) -> None:
    check(lambda: make_detector(kind, **FAST.get(kind, {})))
