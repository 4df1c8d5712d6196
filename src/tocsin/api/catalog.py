"""The model the warnings refer to: regions (and their GeoJSON), domains, indicators and levels."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from tocsin.api.auth import Reader, container_of
from tocsin.api.problems import responses
from tocsin.api.warnings import check_region
from tocsin.core.levels import LEVEL_STYLES, LEVELS, NO_LEVEL_COLOUR, Level
from tocsin.core.regions import RegionCode, RegionTree

RegionFilter = Annotated[str | None, Query(max_length=256)]


class RegionOut(BaseModel):
    """A region without its geometry."""

    code: str
    name: str
    level: str
    parent: str | None
    population: float | None
    children: list[str]


class RegionProperties(BaseModel):
    """The properties of a region feature."""

    code: str
    name: str
    level: str
    parent: str | None
    has_children: bool


class RegionFeature(BaseModel):
    """A region as a GeoJSON Feature."""

    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any] | None
    properties: RegionProperties


class RegionCollection(BaseModel):
    """Regions as a GeoJSON FeatureCollection."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[RegionFeature]


class DomainOut(BaseModel):
    """A node of the hazard taxonomy."""

    code: str
    name: str
    cap_category: str
    parent: str | None


class IndicatorOut(BaseModel):
    """An indicator with its per-level thresholds (levels without one are left out)."""

    code: str
    name: str
    region: str
    domain: str
    unit: str
    direction: str
    asset: str | None
    thresholds: dict[str, float]


class LevelOut(BaseModel):
    """A warning level: its rank, CAP severity, label and colours (the dashboard's source)."""

    level: Level
    rank: int = Field(description="1 (blue) to 4 (red)")
    cap_severity: str
    label: str
    colour: str = Field(description="CSS colour of the level")
    text_colour: str = Field(description="CSS colour of text on the level's colour")


class LevelsOut(BaseModel):
    """The four levels, least severe first, and the colour of 'no warning'."""

    levels: list[LevelOut]
    none_colour: str


def levels_out() -> LevelsOut:
    """The level table of `tocsin.core.levels`, as served."""
    return LevelsOut(
        levels=[LevelOut.model_validate(LEVEL_STYLES[lv], from_attributes=True) for lv in LEVELS],
        none_colour=NO_LEVEL_COLOUR,
    )


def region_feature(tree: RegionTree, code: RegionCode) -> RegionFeature:
    """One region as a GeoJSON feature (its outline, name, level and parent)."""
    region = tree.regions[code]
    return RegionFeature(
        id=code,
        geometry=dict(region.geometry) if region.geometry is not None else None,
        properties=RegionProperties(
            code=code,
            name=region.name,
            level=region.level,
            parent=region.parent,
            has_children=bool(tree.children.get(code)),
        ),
    )


def router() -> APIRouter:
    """The catalogue routes."""
    api = APIRouter(tags=["catalogue"], responses=responses(401, 403))

    @api.get("/api/v1/regions")
    def regions(_: Reader, request: Request) -> list[RegionOut]:
        """The region hierarchy (without geometry)."""
        tree = container_of(request).catalog.regions
        return [
            RegionOut(
                code=r.code,
                name=r.name,
                level=r.level,
                parent=r.parent,
                population=r.population,
                children=list(tree.children.get(r.code, ())),
            )
            for r in tree.regions.values()
        ]

    @api.get("/api/v1/regions.geojson", responses=responses(422))
    def regions_geojson(
        _: Reader, request: Request, parent: RegionFilter = None
    ) -> RegionCollection:
        """Regions as a GeoJSON FeatureCollection (children of `parent`, or the roots)."""
        container = container_of(request)
        check_region(container, parent, where="parent")
        tree = container.catalog.regions
        codes = (
            tree.children.get(RegionCode(parent), ()) if parent else [r.code for r in tree.roots()]
        )
        return RegionCollection(features=[region_feature(tree, c) for c in codes])

    @api.get("/api/v1/domains")
    def domains(_: Reader, request: Request) -> list[DomainOut]:
        """The hazard taxonomy with CAP categories."""
        return [
            DomainOut.model_validate(d, from_attributes=True)
            for d in container_of(request).catalog.domains.values()
        ]

    @api.get("/api/v1/indicators", responses=responses(422))
    def indicators(
        principal: Reader, request: Request, region: RegionFilter = None
    ) -> list[IndicatorOut]:
        """Indicators with their thresholds (those in the user's scope; of `region` and its
        subtree, if given)."""
        container = container_of(request)
        check_region(container, region)
        found = container.indicators.listing(principal=principal, region=region)
        return [
            IndicatorOut(
                code=ind.code,
                name=ind.name,
                region=ind.region,
                domain=ind.domain,
                unit=ind.unit,
                direction=ind.direction.value,
                asset=ind.asset,
                thresholds={
                    lv.value: v
                    for lv, v in zip(LEVELS, ind.thresholds.as_tuple(), strict=True)
                    if v == v
                },
            )
            for ind in found
        ]

    @api.get("/api/v1/levels")
    def levels(_: Reader) -> LevelsOut:
        """The warning levels: rank, CAP severity, label and colour (what the dashboard shows)."""
        return levels_out()

    return api
