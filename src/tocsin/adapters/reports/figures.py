"""The pictures of a situation report, drawn on the server with matplotlib (Agg, no display):
the map of the affected regions, warnings by level, the key indicators against their
thresholds, and task status by unit. Each is a PNG (for the PDF and, inline, the HTML page).

matplotlib is imported here only, inside the functions, so that the command line and the API
pay for it when a report is drawn and not before; figures are built with the object API (no
pyplot state), so concurrent requests do not share one.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from tocsin.core.levels import LEVEL_STYLES, LEVELS, NO_LEVEL_COLOUR, Level

DPI: Final = 130
OUTLINE: Final = "#5b6570"
STATE_COLOURS: Final = {  # task states, in the order stacked
    "done": "#2e7d32",
    "accepted": "#1f62c4",
    "assigned": "#f2c200",
    "blocked": "#c8102e",
    "waiting": "#9aa5b1",
    "proposed": "#d5dbe1",
    "cancelled": "#e4e7ea",
}


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.patch.set_facecolor("white")
    return figure


def _png(figure: Any) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    return out.getvalue()


def _rings(geometry: Mapping[str, Any]) -> Iterable[Sequence[Sequence[float]]]:
    """The outer rings of a GeoJSON Polygon or MultiPolygon."""
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    if kind == "Polygon":
        yield from coords[:1]
    elif kind == "MultiPolygon":
        for polygon in coords:
            yield from polygon[:1]


def map_png(regions: Sequence[Mapping[str, Any]], geometry: Mapping[str, Any]) -> bytes | None:
    """The regions, each filled with its worst level's colour (affected ones outlined in
    black and labelled), or None when none has a geometry."""
    from matplotlib.patches import Polygon

    drawn: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
        (r, g) for r in regions if isinstance(g := geometry.get(r["code"]), Mapping)
    ]
    if not drawn:
        return None
    figure = _figure(6.4, 4.2)
    axes = figure.add_subplot()
    lats = [p[1] for _, g in drawn for ring in _rings(g) for p in ring]
    squeeze = math.cos(math.radians(sum(lats) / len(lats))) if lats else 1.0
    for region, geo in drawn:
        level = region.get("level")
        colour = LEVEL_STYLES[Level(level)].colour if level else NO_LEVEL_COLOUR
        for ring in _rings(geo):
            points = [(p[0] * squeeze, p[1]) for p in ring]
            axes.add_patch(
                Polygon(
                    points,
                    closed=True,
                    facecolor=colour,
                    edgecolor="black" if region.get("affected") else OUTLINE,
                    linewidth=1.4 if region.get("affected") else 0.5,
                )
            )
        if region.get("affected"):
            ring = max(_rings(geo), key=len)
            x = sum(p[0] for p in ring) / len(ring) * squeeze
            y = sum(p[1] for p in ring) / len(ring)
            axes.annotate(
                region["name"],
                (x, y),
                ha="center",
                va="center",
                fontsize=7,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.8},
            )
    axes.autoscale_view()
    axes.set_aspect("equal")
    axes.set_axis_off()
    _legend(axes)
    return _png(figure)


def _legend(axes: Any) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=LEVEL_STYLES[lv].colour, edgecolor=OUTLINE, label=LEVEL_STYLES[lv].label)
        for lv in reversed(LEVELS)
    ]
    handles.append(Patch(facecolor=NO_LEVEL_COLOUR, edgecolor=OUTLINE, label="No warning"))
    axes.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=6, frameon=False
    )


def levels_png(by_level: Mapping[str, int]) -> bytes:
    """Open warnings by level, most severe on top."""
    figure = _figure(4.2, 1.9)
    axes = figure.add_subplot()
    order = list(reversed(LEVELS))
    counts = [int(by_level.get(lv.value, 0)) for lv in order]
    bars = axes.barh(
        [LEVEL_STYLES[lv].label for lv in order],
        counts,
        color=[LEVEL_STYLES[lv].colour for lv in order],
    )
    axes.bar_label(bars, fontsize=8, padding=2)
    axes.invert_yaxis()
    axes.set_xlabel("open warnings", fontsize=8)
    axes.tick_params(labelsize=8)
    axes.set_xlim(0, max([*counts, 1]) * 1.2)
    axes.xaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def indicator_png(series: Mapping[str, Any]) -> bytes:
    """One indicator over time against its level thresholds."""
    figure = _figure(4.6, 2.2)
    axes = figure.add_subplot()
    times = [datetime.fromtimestamp(t, UTC) for t in series["times"]]
    axes.plot(times, series["values"], color="#1b1f24", linewidth=1.1)
    for name, value in series.get("thresholds", {}).items():
        axes.axhline(value, color=LEVEL_STYLES[Level(name)].colour, linewidth=1, linestyle="--")
    unit = f" ({series['unit']})" if series.get("unit") else ""
    axes.set_title(f"{series['name']}{unit}", fontsize=9, loc="left")
    axes.tick_params(labelsize=7)
    figure.autofmt_xdate()
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def tasks_png(by_unit: Mapping[str, Mapping[str, int]]) -> bytes | None:
    """Tasks by unit, stacked by state; overdue tasks marked beside each bar."""
    if not by_unit:
        return None
    units = list(by_unit)
    figure = _figure(5.4, 0.6 + 0.42 * len(units))
    axes = figure.add_subplot()
    left = [0] * len(units)
    for state, colour in STATE_COLOURS.items():
        counts = [int(by_unit[u].get(state, 0)) for u in units]
        if any(counts):
            axes.barh(units, counts, left=left, color=colour, label=state, edgecolor="white")
            left = [a + b for a, b in zip(left, counts, strict=True)]
    for i, unit in enumerate(units):
        late = int(by_unit[unit].get("overdue", 0))
        if late:
            axes.annotate(
                f"{late} overdue",
                (left[i], i),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                color="#c8102e",
            )
    axes.invert_yaxis()
    axes.set_xlim(0, max([*left, 1]) * 1.35)
    axes.tick_params(labelsize=8)
    axes.set_xlabel("tasks", fontsize=8)
    axes.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.25), frameon=False, ncols=4)
    axes.xaxis.get_major_locator().set_params(integer=True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return _png(figure)


def figures(facts: Mapping[str, Any], geometry: Mapping[str, Any]) -> dict[str, bytes]:
    """Every picture of a report, by name (`map`, `levels`, `tasks`, `indicator-N`)."""
    out: dict[str, bytes] = {"levels": levels_png(facts.get("by_level", {}))}
    drawn = map_png(facts.get("map", {}).get("regions", []), geometry)
    if drawn is not None:
        out["map"] = drawn
    tasks = tasks_png(facts.get("by_unit", {}))
    if tasks is not None:
        out["tasks"] = tasks
    for i, series in enumerate(facts.get("indicators", [])):
        if series.get("times"):
            out[f"indicator-{i}"] = indicator_png(series)
    return out
