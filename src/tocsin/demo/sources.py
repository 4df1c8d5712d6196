"""The demo's data, shipped inside the package (`tocsin/demo/data/`), so that `tocsin demo` runs
from an installed wheel in an empty folder.

The files are real measurements and boundaries copied unmodified and gzip-compressed from the
shared benchmark data by `scripts/demo_data.py`; `data/README.md` records each one's source,
licence and attribution. The INFORM model is the repository's `models/inform_2023.yaml`
(the package holds a link to it, resolved when the wheel is built).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

import numpy as np
import numpy.typing as npt

GEO = "geo/countries.geo.json.gz"
INFORM_TABLE = "inform/inform_risk_2023_v065_indicator_data.csv.gz"
INFORM_MODEL = "inform_2023.yaml"
NAB_LICENCE = "nab/LICENSE.txt"


def nab_file(name: str) -> str:
    """Where a NAB series (`realTraffic/speed_6005.csv`) is kept in the package."""
    return f"nab/{name}.gz"


def resource(name: str) -> Traversable:
    """A file of the demo's packaged data."""
    return resources.files("tocsin.demo").joinpath("data", *name.split("/"))


def read_text(name: str) -> str:
    """A packaged file's text (gunzipped when its name ends in .gz)."""
    data = resource(name).read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8")


def countries() -> dict[str, Any]:
    """The world's country boundaries (GeoJSON FeatureCollection, ids ISO 3166-1 alpha-3)."""
    doc: dict[str, Any] = json.loads(read_text(GEO))
    return doc


def nab_series(name: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """A NAB series as epoch seconds (its naive timestamps read as UTC) and values."""
    rows = list(csv.DictReader(io.StringIO(read_text(nab_file(name)))))
    times = np.array(
        [int(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC).timestamp()) for r in rows],
        dtype=np.int64,
    )
    values = np.array([float(r["value"]) for r in rows], dtype=np.float64)
    return times, values
