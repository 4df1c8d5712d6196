"""Read-only endpoints shaped for the dashboard (map layers, indicator charts, risk trees).

They only read through the container's services and store; every write goes through the REST
API (`tocsin.api.app`), so the dashboard has no powers the API does not give.
"""

from __future__ import annotations

import itertools
import json
from functools import partial
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter, Query, Response

from tocsin.api.auth import Reader
from tocsin.api.fields import IndicatorPath
from tocsin.api.observations import ScoresOut, finite, scores_out
from tocsin.api.problems import responses
from tocsin.bootstrap import Container
from tocsin.core.access import (
    EVERYTHING,
    Placement,
    Principal,
    require_place,
    sees,
    system_principal,
)
from tocsin.core.errors import NotFound
from tocsin.core.levels import LEVELS
from tocsin.core.regions import RegionCode, RegionTree
from tocsin.core.risk.live import LiveSource
from tocsin.web.geometry import extent_digits, simplify
from tocsin.web.payloads import (
    ChartOut,
    MapOut,
    MomentOut,
    RiskRankingOut,
    RiskTreeOut,
    SummaryOut,
)
from tocsin.web.region_levels import RegionLevels
from tocsin.web.risk import (
    LiveInputs,
    RiskIndex,
    RiskLoader,
    cyber_model,
    cyber_risk,
    cyber_scores,
)

ModelQuery = Annotated[
    str | None,
    Query(max_length=64, description="a risk model's id (default: the configured model)"),
]

CHART_POINTS = 4000
Points = Annotated[int, Query(ge=100, le=100_000)]  # the most a chart draws
WARNING_KINDS = ("warning.raised", "warning.upgraded", "warning.downgraded", "warning.lifted")


def decimate(
    times: npt.NDArray[np.int64], values: npt.NDArray[np.float64], points: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """At most about `points` samples, keeping each bucket's minimum and maximum (peaks survive)."""
    n = len(times)
    if n <= points:
        return times, values
    buckets = max(1, points // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    keep: list[int] = []
    for a, b in itertools.pairwise(edges.tolist()):
        if b <= a:
            continue
        chunk = values[a:b]
        usable = np.isfinite(chunk)
        if not usable.any():
            keep.append(a)
            continue
        masked_lo = np.where(usable, chunk, np.inf)
        masked_hi = np.where(usable, chunk, -np.inf)
        lo, hi = int(a + np.argmin(masked_lo)), int(a + np.argmax(masked_hi))
        keep.extend(sorted({lo, hi}))
    index = np.array(keep, dtype=np.int64)
    return times[index], values[index]


def risk_place(region: str) -> Placement:
    """Where a region's composite risk index sits: the region, every domain."""
    return Placement(region, None)


def _thresholds(values: tuple[float, float, float, float]) -> dict[str, float]:
    return {lv.value: v for lv, v in zip(LEVELS, values, strict=True) if v == v}


class MapLayers:
    """GeoJSON of a region's children, simplified and serialised once (the catalogue is immutable).

    Each feature is kept as (code, properties, geometry already as JSON text): the map response is
    assembled from these strings, so the coordinates are never walked again per request (FastAPI's
    generic encoder would spend most of the request on them).
    """

    def __init__(self, tree: RegionTree) -> None:
        self.tree = tree
        self._cache: dict[str | None, list[tuple[str, dict[str, Any], str]]] = {}

    def focus(self, parent: str | None) -> RegionCode | None:
        """The region whose children are shown: `parent`, or the single root when not given."""
        if parent is not None:
            if parent not in self.tree:
                raise NotFound(f"unknown region {parent!r}")
            return RegionCode(parent)
        roots = self.tree.roots()
        return roots[0].code if len(roots) == 1 else None

    def features(self, focus: RegionCode | None) -> list[tuple[str, dict[str, Any], str]]:
        """The child features of `focus` (the roots when None): code, properties, geometry JSON."""
        if focus in self._cache:
            return self._cache[focus]
        tree = self.tree
        if focus is None:
            codes = [r.code for r in tree.roots()]
            digits = 2
        else:
            codes = list(tree.children.get(focus, ()))
            digits = extent_digits(tree.regions[focus].geometry)
        out: list[tuple[str, dict[str, Any], str]] = []
        for code in codes:
            region = tree.regions[code]
            props: dict[str, Any] = {
                "code": code,
                "name": region.name,
                "level": region.level,
                "has_children": bool(tree.children.get(code)),
            }
            geometry = json.dumps(simplify(region.geometry, digits), separators=(",", ":"))
            out.append((str(code), props, geometry))
        self._cache[focus] = out
        return out


def make_router(container: Container, risk: RiskLoader) -> APIRouter:
    """The dashboard's read-only endpoints under /api/v1/web."""
    tree = container.catalog.regions
    layers = MapLayers(tree)
    region_levels = RegionLevels(
        partial(container.warnings.worst_levels, principal=system_principal("map")), container.bus
    )

    router = APIRouter(
        prefix="/api/v1/web",
        tags=["dashboard"],
        responses=responses(401, 403, 422),
    )

    @router.get(
        "/map",
        response_class=Response,
        responses={200: {"model": MapOut, "description": "GeoJSON"}, **responses(404)},
    )
    def map_view(
        principal: Reader, parent: Annotated[str | None, Query(max_length=256)] = None
    ) -> Response:
        """A region's children as GeoJSON with their highest active warning level (subtree),
        counting the warnings and showing the risk the user's scope holds."""
        focus = layers.focus(parent)
        levels = (  # the roll-up of everything is read once per change; a unit's is its own
            region_levels.read()
            if principal.scope == EVERYTHING
            else container.warnings.worst_levels(principal=principal)
        )
        index = live_inputs.apply(risk.ready())
        classes = _risk_classes(principal, index.classes()) if index is not None else {}
        features = []
        for code, base, geometry in layers.features(focus):
            active = levels.get(code)
            props = {
                **base,
                "warning_level": active["level"] if active else None,
                "warning_count": active["count"] if active else 0,
                "risk_class": classes.get(code, {}).get("class"),
                "risk_value": classes.get(code, {}).get("value"),
            }
            features.append(
                f'{{"type":"Feature","id":{json.dumps(code)},"geometry":{geometry},'
                f'"properties":{json.dumps(props)}}}'
            )
        head = {
            "type": "FeatureCollection",
            "focus": _region_card(tree, focus, levels),
            "path": [_region_card(tree, c, levels) for c in _path(tree, focus)],
            "risk_available": index is not None,
            "risk_model": index.model.name if index is not None else None,
            "risk_note": None if index is not None else risk.reason(),
        }
        body = json.dumps(head)[:-1] + ',"features":[' + ",".join(features) + "]}"
        return Response(body, media_type="application/json")

    @router.get("/summary")
    def summary(principal: Reader) -> SummaryOut:
        """Open warnings (in the user's scope) counted by level and by state, and the server's
        time (for the clock)."""
        counts = container.warnings.counts(open_only=True, principal=principal)
        by_level = {lv.value: 0 for lv in LEVELS}
        by_state: dict[str, int] = {}
        for (level, state), n in counts.items():
            by_level[level] += n
            by_state[state] = by_state.get(state, 0) + n
        return SummaryOut(
            open=sum(counts.values()),
            by_level=by_level,
            by_state=by_state,
            now=container.clock.now(),
        )

    @router.get("/indicators/{code}/chart", responses=responses(404))
    def chart(
        code: IndicatorPath,
        principal: Reader,
        points: Points = CHART_POINTS,
    ) -> ChartOut:
        """An indicator's series (decimated, extremes kept), thresholds and warning moments."""
        indicator = container.indicators.indicator(code, principal=principal)
        batch = container.indicators.series(code, principal=principal, limit=10_000_000)
        times, values = decimate(batch.times, batch.values, points)
        return ChartOut(
            indicator=code,
            name=indicator.name,
            region=indicator.region,
            domain=indicator.domain,
            unit=indicator.unit,
            direction=indicator.direction.value,
            thresholds=_thresholds(indicator.thresholds.as_tuple()),
            observations=len(batch.times),
            times=times.tolist(),
            values=[finite(v) for v in values.tolist()],
            moments=[MomentOut.model_validate(m) for m in _moments(container, code, principal)],
        )

    @router.get("/indicators/{code}/scores", responses=responses(404))
    def chart_scores(
        code: IndicatorPath,
        principal: Reader,
        points: Points = CHART_POINTS,
    ) -> ScoresOut:
        """The indicator's detector scores over its history (decimated, peaks kept).

        Computed by the scoring service's replay (`GET /api/v1/indicators/{code}/scores`): the
        indicator's own detector rule, or the auto detector where it has none.
        """
        found = container.indicators.scores(code, principal=principal)
        times, scores = decimate(
            np.asarray(found["times"], dtype=np.int64),
            np.asarray(found["scores"], dtype=np.float64),
            points,
        )
        return scores_out(code, found, times=times.tolist(), scores=scores.tolist())

    names = {str(c): r.name for c, r in tree.regions.items()}
    every = partial(container.exposure.regions, principal=system_principal("risk view"))
    cyber = cyber_model(container.settings)
    live = {m.model.id: m for m in (cyber_risk(every, names, cyber),)}  # filtered per reader below
    live_inputs = LiveInputs({LiveSource.CYBER_EXPOSURE: cyber_scores(every, cyber, tree)})

    def chosen(model: str | None) -> tuple[RiskIndex | None, str]:
        """The index of `model` (the configured one when None) and why there is none."""
        if model is None or model not in live:
            index = live_inputs.apply(risk.wait())
            if model is not None and (index is None or index.model.id != model):
                raise NotFound(f"no risk model {model!r}; models: {', '.join(known())}")
            return index, risk.reason()
        return live[model].index(), live[model].empty

    def known() -> list[str]:
        ready = risk.ready()
        return [*([ready.model.id] if ready is not None else []), *live]

    def listed() -> list[dict[str, Any]]:
        ready = risk.ready()
        out = [{"id": ready.model.id, "name": ready.model.name, "live": False}] if ready else []
        return out + [{"id": k, "name": m.model.name, "live": True} for k, m in live.items()]

    @router.get("/risk", responses=responses(404))
    def risk_ranking(principal: Reader, model: ModelQuery = None) -> RiskRankingOut:
        """Every region a risk model scores (in the user's scope), highest index first (or
        why there is none); the configured model, or the one named (`models` lists them)."""
        index, reason = chosen(model)
        if index is None:
            return RiskRankingOut(available=False, reason=reason, regions=[], models=listed())
        rows = [
            {"code": code, **card, "known": code in tree}
            for code, card in _risk_classes(principal, index.classes()).items()
            if card["value"] is not None
        ]
        rows.sort(key=lambda r: (-r["value"], r["code"]))
        return RiskRankingOut(available=True, model=index.model.name, regions=rows, models=listed())

    @router.get("/risk/{region}", responses=responses(404))
    def risk_tree(region: str, principal: Reader, model: ModelQuery = None) -> RiskTreeOut:
        """A region's composite risk index as a tree (or why there is none)."""
        if region not in tree:
            raise NotFound(f"unknown region {region!r}")
        require_place(principal, risk_place(region), action=f"reading the risk of {region}")
        index, reason = chosen(model)
        if index is None:
            return RiskTreeOut(available=False, region=region, reason=reason)
        if region not in index.classes():
            reason = f"the model {index.model.name} holds no data for this region"
            return RiskTreeOut(available=False, region=region, reason=reason)
        return RiskTreeOut.model_validate(
            {"available": True, "region": region, **index.tree(region)}
        )

    return router


def _risk_classes(
    principal: Principal, classes: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The risk classes of the regions the principal's scope holds."""
    if principal.scope.national:
        return classes
    return {code: c for code, c in classes.items() if sees(principal.scope, risk_place(code))}


def _moments(container: Container, code: str, principal: Principal) -> list[dict[str, Any]]:
    """Raised/upgraded/downgraded/lifted transitions of the warnings this indicator caused."""
    out = [
        {
            "at": record.at.isoformat(),
            "kind": record.kind.removeprefix("warning."),
            "level": record.details.get("to_level"),
            "warning_id": record.subject_id,
            "reason": record.reason,
        }
        for record in container.warnings.transitions(code, principal=principal)
        if record.kind in WARNING_KINDS
    ]
    out.sort(key=lambda m: str(m["at"]))
    return out


def _path(tree: RegionTree, focus: RegionCode | None) -> list[RegionCode]:
    if focus is None:
        return []
    return [*reversed(tree.ancestors(focus)), focus]


def _region_card(
    tree: RegionTree, code: RegionCode | None, levels: dict[str, dict[str, Any]]
) -> dict[str, Any] | None:
    if code is None:
        return None
    region = tree.regions[code]
    active = levels.get(code)
    return {
        "code": code,
        "name": region.name,
        "level": region.level,
        "warning_level": active["level"] if active else None,
        "warning_count": active["count"] if active else 0,
    }
