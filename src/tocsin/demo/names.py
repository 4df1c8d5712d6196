"""Names for people on the demo's generated grid: each cell and block is named after the Italian
city it holds, or the nearest one ("40 km NE of Bolzano").

The demo's districts and provinces are grid cells, not Italy's real administrative map; the
names only help an operator find a place on the map. The cities and their coordinates (about
0.01° precision) are common geographic facts, listed here roughly by population so that a
cell holding two cities takes the larger one's name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# (name, longitude, latitude)
CITIES: tuple[tuple[str, float, float], ...] = (
    ("Roma", 12.50, 41.90),
    ("Milano", 9.19, 45.46),
    ("Napoli", 14.27, 40.85),
    ("Torino", 7.69, 45.07),
    ("Palermo", 13.36, 38.12),
    ("Genova", 8.95, 44.41),
    ("Bologna", 11.34, 44.49),
    ("Firenze", 11.26, 43.77),
    ("Bari", 16.87, 41.12),
    ("Catania", 15.09, 37.50),
    ("Venezia", 12.32, 45.44),
    ("Verona", 10.99, 45.44),
    ("Messina", 15.55, 38.19),
    ("Padova", 11.88, 45.41),
    ("Trieste", 13.78, 45.65),
    ("Brescia", 10.21, 45.54),
    ("Taranto", 17.24, 40.46),
    ("Parma", 10.33, 44.80),
    ("Reggio Calabria", 15.65, 38.11),
    ("Modena", 10.93, 44.65),
    ("Perugia", 12.39, 43.11),
    ("Cagliari", 9.11, 39.22),
    ("Sassari", 8.56, 40.73),
    ("Ancona", 13.52, 43.62),
    ("Pescara", 14.21, 42.46),
    ("Trento", 11.12, 46.07),
    ("Bolzano", 11.35, 46.50),
    ("Udine", 13.24, 46.06),
    ("Foggia", 15.54, 41.46),
    ("Lecce", 18.17, 40.35),
    ("Salerno", 14.77, 40.68),
    ("Latina", 12.90, 41.47),
    ("Livorno", 10.31, 43.55),
    ("Bergamo", 9.67, 45.70),
    ("Cosenza", 16.25, 39.30),
    ("Catanzaro", 16.59, 38.91),
    ("Potenza", 15.81, 40.64),
    ("Campobasso", 14.66, 41.56),
    ("L'Aquila", 13.40, 42.35),
    ("Siena", 11.33, 43.32),
    ("Grosseto", 11.11, 42.76),
    ("Aosta", 7.32, 45.74),
    ("Cuneo", 7.55, 44.38),
    ("Novara", 8.62, 45.45),
    ("Sondrio", 9.87, 46.17),
    ("Belluno", 12.22, 46.14),
    ("Ravenna", 12.20, 44.42),
    ("Rimini", 12.57, 44.06),
    ("Viterbo", 12.10, 42.42),
    ("Nuoro", 9.33, 40.32),
    ("Oristano", 8.59, 39.90),
    ("Olbia", 9.50, 40.92),
    ("Trapani", 12.51, 38.02),
    ("Agrigento", 13.58, 37.31),
    ("Siracusa", 15.29, 37.08),
    ("Ragusa", 14.73, 36.93),
    ("Caltanissetta", 14.06, 37.49),
    ("Crotone", 17.13, 39.08),
    ("Brindisi", 17.95, 40.63),
    ("Matera", 16.61, 40.67),
    ("La Spezia", 9.82, 44.10),
    ("Arezzo", 11.88, 43.46),
    ("Macerata", 13.45, 43.30),
    ("Teramo", 13.70, 42.66),
    ("Avellino", 14.79, 40.91),
    ("Frosinone", 13.35, 41.64),
    ("Terni", 12.65, 42.56),
    ("Treviso", 12.25, 45.67),
    ("Vicenza", 11.55, 45.55),
    ("Mantova", 10.79, 45.16),
    ("Ferrara", 11.62, 44.84),
    ("Piacenza", 9.69, 45.05),
    ("Alessandria", 8.62, 44.91),
    ("Imperia", 8.03, 43.89),
    ("Lucca", 10.50, 43.84),
    ("Vibo Valentia", 16.10, 38.68),
)
COMPASS = ("E", "NE", "N", "NW", "W", "SW", "S", "SE")
KM_PER_DEGREE = 111.2

Box = tuple[float, float, float, float]  # min lon, min lat, max lon, max lat


def city_in(box: Box) -> str | None:
    """The largest listed city inside the box, if any."""
    x0, y0, x1, y1 = box
    for name, x, y in CITIES:
        if x0 <= x < x1 and y0 <= y < y1:
            return name
    return None


def near(x: float, y: float) -> str:
    """`40 km NE of Bolzano`: where (x, y) lies from the nearest listed city."""
    best = min(CITIES, key=lambda c: _km(x, y, c[1], c[2]))
    name, cx, cy = best
    dx = (x - cx) * math.cos(math.radians((y + cy) / 2))
    angle = math.degrees(math.atan2(y - cy, dx)) % 360
    direction = COMPASS[round(angle / 45) % 8]
    return f"{round(_km(x, y, cx, cy), -1):.0f} km {direction} of {name}"


def district_name(box: Box) -> str:
    """A cell's name: the city it holds, or where it lies from the nearest one."""
    x0, y0, x1, y1 = box
    return city_in(box) or near((x0 + x1) / 2, (y0 + y1) / 2)


def area_name(boxes: Sequence[Box]) -> str:
    """A block of cells' name: `Milano area`, after the largest city in any of its cells."""
    for name, x, y in CITIES:
        if any(x0 <= x < x1 and y0 <= y < y1 for x0, y0, x1, y1 in boxes):
            return f"{name} area"
    x0, y0, x1, y1 = boxes[0]
    return f"Area {near((x0 + x1) / 2, (y0 + y1) / 2)}"


def unique(names: Sequence[str]) -> list[str]:
    """The names with repeats told apart by a number (`… (2)`)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def _km(x0: float, y0: float, x1: float, y1: float) -> float:
    dx = (x1 - x0) * math.cos(math.radians((y0 + y1) / 2))
    return math.hypot(dx, y1 - y0) * KM_PER_DEGREE
