"""A storm-sized scenario: a nation of provinces and districts divided into grid cells, one river
gauge per cell, one flood service per district.

Codes: the nation `N`, provinces `P01`…, districts `D001`…, cells `C00001`…, indicators
`C00001.level` (natural.flood, metres; yellow 3, orange 4, red 5). Each district is a block of
`COLUMNS` × (cells per district / `COLUMNS`) square cells; the shapes are squares, so the map draws
them. Tests, the storm benchmark and the kill test build it; nothing in it is random.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tocsin.adapters.config_yaml import dump_yaml
from tocsin.demo.geometry import cell

COLUMNS = 20  # cells per district row
CELL = 0.01  # degrees
DISTRICTS_PER_ROW = 6
THRESHOLDS = {"yellow": 3.0, "orange": 4.0, "red": 5.0}


@dataclass(frozen=True)
class Grid:
    """How many cells, how many per district and per province."""

    cells: int = 10_000
    per_district: int = 300
    districts_per_province: int = 10

    @property
    def districts(self) -> int:
        """Number of districts (the last may hold fewer cells)."""
        return -(-self.cells // self.per_district)

    @property
    def provinces(self) -> int:
        """Number of provinces."""
        return -(-self.districts // self.districts_per_province)

    def cell_code(self, i: int) -> str:
        """The code of cell `i` (0-based)."""
        return f"C{i + 1:05d}"

    def district_of(self, i: int) -> str:
        """The district code of cell `i`."""
        return f"D{i // self.per_district + 1:03d}"

    def province_of(self, district: int) -> str:
        """The province code of district `district` (0-based)."""
        return f"P{district // self.districts_per_province + 1:02d}"

    def indicator(self, i: int) -> str:
        """The gauge of cell `i`."""
        return f"{self.cell_code(i)}.level"


def _square(x: float, y: float, width: float, height: float) -> dict[str, Any]:
    ring = [[x, y], [x + width, y], [x + width, y + height], [x, y + height], [x, y]]
    return {"type": "Polygon", "coordinates": [[[round(a, 4), round(b, 4)] for a, b in ring]]}


def _regions(grid: Grid) -> list[dict[str, Any]]:
    rows = -(-grid.per_district // COLUMNS)
    width, height = COLUMNS * CELL, rows * CELL
    corner = {
        d: (10.0 + (d % DISTRICTS_PER_ROW) * width, 45.0 + (d // DISTRICTS_PER_ROW) * height)
        for d in range(grid.districts)
    }
    band = -(-grid.districts // DISTRICTS_PER_ROW) * height
    out: list[dict[str, Any]] = [
        {
            "code": "N",
            "name": "Nation",
            "level": "nation",
            "geometry": _square(10.0, 45.0, DISTRICTS_PER_ROW * width, band),
        },
    ]
    for p in range(grid.provinces):
        first = p * grid.districts_per_province
        ys = [
            corner[d][1]
            for d in range(first, min(first + grid.districts_per_province, grid.districts))
        ]
        out.append(
            {
                "code": f"P{p + 1:02d}",
                "name": f"Province {p + 1}",
                "level": "province",
                "parent": "N",
                "geometry": _square(
                    10.0, min(ys), DISTRICTS_PER_ROW * width, max(ys) + height - min(ys)
                ),
            }
        )
    for d in range(grid.districts):
        x, y = corner[d]
        out.append(
            {
                "code": f"D{d + 1:03d}",
                "name": f"District {d + 1}",
                "level": "district",
                "parent": grid.province_of(d),
                "geometry": _square(x, y, width, height),
            }
        )
    for i in range(grid.cells):
        x, y = corner[i // grid.per_district]
        k = i % grid.per_district
        out.append(
            {
                "code": grid.cell_code(i),
                "name": f"Cell {i + 1}",
                "level": "cell",
                "parent": grid.district_of(i),
                "geometry": cell(x + (k % COLUMNS) * CELL, y + (k // COLUMNS) * CELL, CELL),
            }
        )
    return out


def grid_documents(
    grid: Grid, *, webhook_url: str | None = None, routes: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The YAML documents of the scenario by file name (`routes.yaml` only when given)."""
    indicators = [
        {
            "code": grid.indicator(i),
            "name": f"River gauge {i + 1}",
            "region": grid.cell_code(i),
            "domain": "natural.flood",
            "unit": "m",
            "thresholds": THRESHOLDS,
        }
        for i in range(grid.cells)
    ]
    units: list[dict[str, Any]] = [
        {"code": "NAT", "name": "National civil protection", "region": "N"}
    ]
    units += [
        {
            "code": f"D{d + 1:03d}-FLOOD",
            "name": f"District {d + 1} flood service",
            "region": f"D{d + 1:03d}",
            "domains": ["natural.flood"],
            **({"webhook_url": webhook_url} if webhook_url else {}),
        }
        for d in range(grid.districts)
    ]
    docs: dict[str, Any] = {
        "regions.yaml": {
            "levels": ["nation", "province", "district", "cell"],
            "regions": _regions(grid),
        },
        "indicators.yaml": {"indicators": indicators},
        "assets.yaml": {"assets": []},
        "units.yaml": {"units": units},
    }
    if routes is not None:
        docs["routes.yaml"] = routes
    return docs


def write_grid_config(
    directory: Path,
    grid: Grid,
    *,
    webhook_url: str | None = None,
    routes: dict[str, Any] | None = None,
) -> Path:
    """Write the scenario's configuration directory and return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, doc in grid_documents(grid, webhook_url=webhook_url, routes=routes).items():
        (directory / name).write_text(dump_yaml(doc), encoding="utf-8")
    return directory
