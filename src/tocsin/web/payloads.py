"""The JSON shapes of the dashboard's endpoints (`/api/v1/web/…`), for the OpenAPI document.

The map's body is assembled from cached GeoJSON text (`views.MapLayers`), so `MapOut` documents
it rather than producing it. The risk shapes keep whatever the risk view adds (extra fields are
allowed), because the risk model decides what a tree node carries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class RegionCard(BaseModel):
    """A region with its highest active warning level (its subtree's)."""

    code: str
    name: str
    level: str
    warning_level: str | None
    warning_count: int


class MapProperties(BaseModel):
    """A map feature's properties."""

    code: str
    name: str
    level: str
    has_children: bool
    warning_level: str | None
    warning_count: int
    risk_class: str | None
    risk_value: float | None


class MapFeature(BaseModel):
    """A region's shape on the map."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] | None
    properties: MapProperties


class MapOut(BaseModel):
    """A region's children as GeoJSON, with where the view is and whether risk is shown."""

    type: Literal["FeatureCollection"]
    focus: RegionCard | None
    path: list[RegionCard]
    risk_available: bool
    risk_model: str | None
    risk_note: str | None
    features: list[MapFeature]


class SummaryOut(BaseModel):
    """Open warnings by level and by state, and the server's clock."""

    open: int
    by_level: dict[str, int]
    by_state: dict[str, int]
    now: datetime


class MomentOut(BaseModel):
    """A transition of a warning the indicator caused."""

    at: datetime
    kind: str
    level: str
    warning_id: str
    reason: str


class ChartOut(BaseModel):
    """An indicator's series (decimated, extremes kept), thresholds and warning moments."""

    indicator: str
    name: str
    region: str
    domain: str
    unit: str
    direction: str
    thresholds: dict[str, float]
    observations: int = Field(description="how many are stored (before decimation)")
    times: list[int]
    values: list[float | None]
    moments: list[MomentOut]


class RiskRankingOut(BaseModel):
    """Every region the risk model scores, highest index first (or why there is none)."""

    model_config = ConfigDict(extra="allow")
    available: bool
    model: str | None = None
    reason: str | None = None
    regions: list[dict[str, Any]]
    models: list[dict[str, Any]] = []  # the models to choose from: id, name, live


class RiskTreeOut(BaseModel):
    """A region's composite risk index as a tree of nodes (or why there is none)."""

    model_config = ConfigDict(extra="allow")
    available: bool
    region: str
    reason: str | None = None
    nodes: list[dict[str, Any]] | None = None
