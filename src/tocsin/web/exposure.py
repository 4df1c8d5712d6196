"""The dashboard's exposure view: what a lost asset takes with it, drawn on the map.

`GET /api/v1/web/exposure/{asset}` returns the cascade from one asset (the assets that fail or
degrade with it, step by step, and the dependency edges between them), each asset placed at its
coordinates or, without them, at the middle of its region's shape; and the shapes of the regions
they are in. The lists of exposures come from the REST API (`/api/v1/exposure/...`).
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from tocsin.api.auth import Reader, Requires
from tocsin.api.problems import responses
from tocsin.bootstrap import Container
from tocsin.core.exposure.exposures import CascadeStep
from tocsin.core.users import Permission
from tocsin.web.geometry import bounds, extent_digits, simplify


class CascadeAssetOut(BaseModel):
    """An asset the cascade reaches, where to draw it and how it is reached."""

    asset: str
    name: str
    kind: str
    region: str
    latitude: float | None
    longitude: float | None
    placed: str  # "asset" (its coordinates), "region" (its region's middle) or "none"
    state: str  # exposed, failed, degraded
    step: int | None


class CascadeOut(BaseModel):
    """The cascade from one asset, for the map."""

    asset: str
    assets: list[CascadeAssetOut]
    edges: list[tuple[str, str]]
    regions: list[dict[str, Any]]


def _place(
    container: Container, code: str, *, index: int, of: int
) -> tuple[float | None, float | None, str]:
    """An asset's coordinates; without them, the middle of its region's shape (the `index`-th
    of `of` such assets in the region on a small ring around it, so none hides another)."""
    asset = container.catalog.assets[code]  # type: ignore[index]
    if asset.latitude is not None and asset.longitude is not None:
        return asset.latitude, asset.longitude, "asset"
    region = container.catalog.regions.regions.get(asset.region)
    box = bounds(region.geometry) if region is not None and region.geometry else None
    if box is None:
        return None, None, "none"
    west, south, east, north = box
    radius = 0.25 * min(east - west, north - south) if of > 1 else 0.0
    angle = 2 * math.pi * index / max(of, 1)
    lat = (south + north) / 2 + radius * math.sin(angle)
    lon = (west + east) / 2 + radius * math.cos(angle)
    return lat, lon, "region"


def _steps_out(container: Container, steps: list[CascadeStep]) -> list[CascadeAssetOut]:
    """The cascade's assets, placed; those without coordinates spread around their region."""
    assets = container.catalog.assets
    unplaced: dict[str, list[str]] = {}
    for s in steps:
        a = assets[s.asset]  # type: ignore[index]
        if a.latitude is None or a.longitude is None:
            unplaced.setdefault(str(a.region), []).append(s.asset)
    out = []
    for s in steps:
        a = assets[s.asset]  # type: ignore[index]
        peers = unplaced.get(str(a.region), [])
        at = peers.index(s.asset) if s.asset in peers else 0
        lat, lon, placed = _place(container, s.asset, index=at, of=len(peers))
        out.append(
            CascadeAssetOut(
                asset=s.asset,
                name=a.name,
                kind=a.kind,
                region=str(a.region),
                latitude=lat,
                longitude=lon,
                placed=placed,
                state=s.state,
                step=s.step,
            )
        )
    return out


def _shapes(container: Container, codes: set[str]) -> list[dict[str, Any]]:
    """The regions' shapes as GeoJSON features (rounded to what their size can show)."""
    tree = container.catalog.regions.regions
    shapes = []
    for code in sorted(codes):
        region = tree.get(code)  # type: ignore[call-overload]
        if region is not None and region.geometry:
            geometry = simplify(region.geometry, extent_digits(region.geometry))
            props = {"code": code, "name": region.name}
            shapes.append({"type": "Feature", "geometry": geometry, "properties": props})
    return shapes


def make_router(container: Container) -> APIRouter:
    """The exposure view's read endpoint under /api/v1/web."""
    router = APIRouter(
        prefix="/api/v1/web",
        tags=["dashboard"],
        dependencies=[Depends(Requires(Permission.READ))],
        responses=responses(401, 403, 422),
    )

    @router.get("/exposure/{asset}", responses=responses(404))
    def exposure_cascade(asset: str, principal: Reader) -> CascadeOut:
        """The assets lost or degraded with `asset` (in your scope), placed for the map, and
        their regions."""
        steps, edges = container.exposure.cascade(asset, principal=principal)
        out = _steps_out(container, steps)
        shapes = _shapes(container, {o.region for o in out})
        return CascadeOut(asset=asset, assets=out, edges=edges, regions=shapes)

    return router
