"""The array types detectors speak: batches, per-series state arrays and expected bands."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
State = dict[str, Any]  # a checkpoint: hyperparameters, kind and state arrays
StateArrays = dict[str, npt.NDArray[Any]]  # a detector's per-series state arrays, by field name
Band = tuple[FloatArray, FloatArray]  # an expected band: (lo, hi)
