"""Domain configuration from a directory of YAML files, validated into a frozen Catalog.

Files (all optional except where a section is referenced): `regions.yaml`, `domains.yaml` (the
packaged taxonomy is used when absent), `indicators.yaml`, `assets.yaml`, `units.yaml`. Every
problem in every file is collected, each with its file, its path inside the file and the reason.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, FiniteFloat, ValidationError

from tocsin.adapters.config_errors import parse_text, read_document, validation_problems
from tocsin.core.assets import Asset, AssetCode
from tocsin.core.catalog import Catalog, catalog_problems
from tocsin.core.detectors import DETECTORS, make_detector
from tocsin.core.domains import CAP_CATEGORIES, Domain, DomainCode
from tocsin.core.errors import InvalidConfig, Problem
from tocsin.core.indicators import (
    DetectorRule,
    Direction,
    Indicator,
    IndicatorCode,
    Thresholds,
)
from tocsin.core.regions import Region, RegionCode, RegionTree
from tocsin.core.units import ResponsibleUnit, UnitCode

SECTIONS = ("regions", "domains", "indicators", "assets", "units")
# when a field is invalid, the fields whose checks depend on it are left unchecked too
DEPENDS_ON = {"direction": ("thresholds",)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# a GeoJSON position: longitude, latitude (and an altitude, ignored)
Position = Annotated[list[FiniteFloat], Field(min_length=2, max_length=3)]
LinearRing = Annotated[list[Position], Field(min_length=4)]


class PolygonSpec(_Strict):
    """A GeoJSON Polygon: an outer ring, then holes (RFC 7946 §3.1.6)."""

    type: Literal["Polygon"]
    coordinates: Annotated[list[LinearRing], Field(min_length=1)]
    bbox: list[FiniteFloat] | None = None


class MultiPolygonSpec(_Strict):
    """A GeoJSON MultiPolygon (RFC 7946 §3.1.7)."""

    type: Literal["MultiPolygon"]
    coordinates: list[Annotated[list[LinearRing], Field(min_length=1)]]
    bbox: list[FiniteFloat] | None = None


Geometry = Annotated[PolygonSpec | MultiPolygonSpec, Field(discriminator="type")]


class RegionSpec(_Strict):
    """A region as written in regions.yaml."""

    code: str = Field(min_length=1)
    name: str = Field(min_length=1)
    level: str
    parent: str | None = None
    geometry: Geometry | None = None
    population: float | None = Field(default=None, ge=0)


class RegionsFile(_Strict):
    """regions.yaml: the hierarchy's levels, regions, and GeoJSON files that define more."""

    levels: list[str] = Field(min_length=1)
    regions: list[RegionSpec] = []
    geojson: list[str] = []


class DomainSpec(_Strict):
    """A domain as written in domains.yaml."""

    code: str = Field(min_length=1)
    name: str
    cap_category: str
    parent: str | None = None


class DomainsFile(_Strict):
    """domains.yaml."""

    domains: list[DomainSpec]


class ThresholdSpec(_Strict):
    """Per-level thresholds."""

    blue: float | None = None
    yellow: float | None = None
    orange: float | None = None
    red: float | None = None


# a hyperparameter: a number, a word or a flat list of numbers (nothing nested, nothing large)
ParamValue = bool | int | float | str | Annotated[list[float], Field(max_length=1000)]


class DetectorSpec(_Strict):
    """A detector rule on an indicator: which detector, and score thresholds per level."""

    kind: str = "auto"
    params: dict[str, ParamValue] = {}
    thresholds: ThresholdSpec = ThresholdSpec(yellow=0.5)
    raise_after_s: int = Field(default=0, ge=0)
    clear_after_s: int = Field(default=0, ge=0)


class IndicatorSpec(_Strict):
    """An indicator as written in indicators.yaml."""

    code: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")
    name: str
    region: str
    domain: str
    unit: str = ""
    cadence_s: int | None = Field(default=None, gt=0)
    direction: Direction = Direction.HIGHER_IS_WORSE
    thresholds: ThresholdSpec = ThresholdSpec()
    raise_after_s: int = Field(default=0, ge=0)
    clear_after_s: int = Field(default=0, ge=0)
    hysteresis: float = Field(default=0.0, ge=0)
    asset: str | None = None
    detector: DetectorSpec | None = None


class IndicatorsFile(_Strict):
    """indicators.yaml."""

    indicators: list[IndicatorSpec]


class AssetSpec(_Strict):
    """An asset as written in assets.yaml."""

    code: str = Field(min_length=1)
    name: str
    kind: str
    region: str
    domain: str
    depends_on: list[str] = []
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    software: list[str] = Field(default=[], max_length=1000)
    addresses: list[str] = Field(default=[], max_length=100)
    alerts_indicator: str | None = None


class AssetsFile(_Strict):
    """assets.yaml."""

    assets: list[AssetSpec]


class UnitSpec(_Strict):
    """A responsible unit as written in units.yaml."""

    code: str = Field(min_length=1)
    name: str
    region: str
    domains: list[str] = []
    email: str | None = None
    webhook_url: str | None = None


class UnitsFile(_Strict):
    """units.yaml."""

    units: list[UnitSpec]


_MODELS: dict[str, type[BaseModel]] = {
    "regions": RegionsFile,
    "domains": DomainsFile,
    "indicators": IndicatorsFile,
    "assets": AssetsFile,
    "units": UnitsFile,
}


def _parse(name: str, path: Path, problems: list[Problem]) -> BaseModel | None:
    before = len(problems)
    raw = read_document(path, problems)
    if raw is None and len(problems) == before:
        problems.append(Problem(str(path), "", "file is empty"))
    if raw is None:
        return None
    try:
        return _MODELS[name].model_validate(raw)
    except ValidationError as err:
        problems.extend(validation_problems(err, str(path), data=raw, model=_MODELS[name]))
    return _salvage(name, raw)


def _salvage(name: str, raw: Any) -> BaseModel | None:
    """The file without what is invalid, so that cross-references of the rest are checked too.

    An invalid item keeps its valid fields (an indicator with a bad `direction` still has its
    region checked); it is left out only when it is invalid without its invalid fields.
    """
    key = name
    if not isinstance(raw, dict) or not isinstance(raw.get(key), list):
        return None
    item_model = _MODELS[name].model_fields[key].annotation
    item_type = getattr(item_model, "__args__", (None,))[0]
    if item_type is None:
        return None
    kept = [k for k in (_salvage_item(item_type, item) for item in raw[key]) if k is not None]
    try:
        return _MODELS[name].model_validate({**raw, key: [k.model_dump() for k in kept]})
    except ValidationError:
        return None


def _salvage_item(item_type: type[BaseModel], item: Any) -> BaseModel | None:
    try:
        return item_type.model_validate(item)
    except ValidationError as err:
        if not isinstance(item, dict):
            return None
        bad = {str(e["loc"][0]) for e in err.errors() if e["loc"]}
        bad |= {d for b in bad for d in DEPENDS_ON.get(b, ())}
    try:
        return item_type.model_validate({k: v for k, v in item.items() if k not in bad})
    except ValidationError:
        return None


def _geojson_regions(base: Path, files: list[str], problems: list[Problem]) -> list[RegionSpec]:
    out: list[RegionSpec] = []
    for name in files:
        path = base / name
        doc = read_document(path, problems)
        features = doc.get("features") if isinstance(doc, dict) else None
        if not isinstance(features, list):
            if doc is not None:
                problems.append(Problem(str(path), "features", "not a GeoJSON FeatureCollection"))
            continue
        for i, feature in enumerate(features):
            if not isinstance(feature, dict) or not isinstance(
                feature.get("properties") or {}, dict
            ):
                problems.append(Problem(str(path), f"features[{i}]", "not a GeoJSON Feature"))
                continue
            props = {**(feature.get("properties") or {}), "geometry": feature.get("geometry")}
            try:
                out.append(RegionSpec.model_validate(props))
            except ValidationError as err:
                problems.extend(
                    validation_problems(
                        err, str(path), data=props, model=RegionSpec, prefix=("features", i)
                    )
                )
    return out


def _domains_file(directory: Path, problems: list[Problem]) -> tuple[DomainsFile | None, str]:
    path = directory / "domains.yaml"
    if path.exists():
        return _parse("domains", path, problems), str(path)  # type: ignore[return-value]
    packaged = resources.files("tocsin.defaults") / "domains.yaml"
    data = parse_text(packaged.read_text(encoding="utf-8"), str(packaged), problems)
    return DomainsFile.model_validate(data), "tocsin/defaults/domains.yaml"


def load_catalog(directory: Path) -> Catalog:
    """Read and validate a configuration directory; raise InvalidConfig listing every problem."""
    problems: list[Problem] = []
    if not directory.is_dir():
        raise InvalidConfig([Problem(str(directory), "", "not a directory")])
    parsed: dict[str, Any] = {}
    where: dict[str, str] = {}
    for name in SECTIONS:
        if name == "domains":
            parsed[name], where[name] = _domains_file(directory, problems)
            continue
        path = directory / f"{name}.yaml"
        where[name] = str(path)
        parsed[name] = _parse(name, path, problems) if path.exists() else None
    if parsed["regions"] is None and not (directory / "regions.yaml").exists():
        problems.append(
            Problem(str(directory / "regions.yaml"), "", "missing: regions are required")
        )
    catalog = _build(directory, parsed, where, problems)
    if catalog is not None:
        problems.extend(catalog_problems(catalog, where=where, detector_kinds=frozenset(DETECTORS)))
        problems.extend(_detector_param_problems(catalog, where["indicators"]))
    problems.extend(_domain_category_problems(parsed.get("domains"), where["domains"]))
    if problems:
        raise InvalidConfig(problems)
    if catalog is None:  # only when a section failed, which added problems above
        raise InvalidConfig([Problem(str(directory), "", "configuration incomplete")])
    return catalog


def _detector_param_problems(catalog: Catalog, where: str) -> list[Problem]:
    out = []
    for ind in catalog.indicators:
        if ind.detector is None or ind.detector.kind not in DETECTORS:
            continue
        try:
            make_detector(ind.detector.kind, **ind.detector.params)
        except (TypeError, ValueError) as err:
            out.append(Problem(where, f"indicators[{ind.code}].detector.params", str(err)))
    return out


def _domain_category_problems(domains: DomainsFile | None, where: str) -> list[Problem]:
    if domains is None:
        return []
    return [
        Problem(where, f"domains[{i}].cap_category", f"not a CAP 1.2 category: {d.cap_category!r}")
        for i, d in enumerate(domains.domains)
        if d.cap_category not in CAP_CATEGORIES
    ]


def _duplicate_problems(where: str, section: str, codes: list[str]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    noun = section.removesuffix("s")
    for code in codes:
        if code in seen:
            out.append(Problem(where, f"{section}[{code}].code", f"duplicate {noun} code {code!r}"))
        seen.add(code)
    return out


def _build(
    directory: Path, parsed: dict[str, Any], where: dict[str, str], problems: list[Problem]
) -> Catalog | None:
    regions_file: RegionsFile | None = parsed["regions"]
    domains_file: DomainsFile | None = parsed["domains"]
    if regions_file is None or domains_file is None:
        return None
    specs = [*regions_file.regions, *_geojson_regions(directory, regions_file.geojson, problems)]
    regions = [
        Region(
            RegionCode(r.code),
            r.name,
            r.level,
            RegionCode(r.parent) if r.parent else None,
            r.geometry.model_dump(exclude_none=True) if r.geometry else None,
            r.population,
        )
        for r in specs
    ]
    tree = RegionTree.build(tuple(regions_file.levels), regions)
    domains = {
        DomainCode(d.code): Domain(
            DomainCode(d.code), d.name, d.cap_category, DomainCode(d.parent) if d.parent else None
        )
        for d in domains_file.domains
    }
    indicators_file: IndicatorsFile | None = parsed["indicators"]
    assets_file: AssetsFile | None = parsed["assets"]
    units_file: UnitsFile | None = parsed["units"]
    for section, codes in (
        ("regions", [r.code for r in specs]),
        ("domains", [d.code for d in domains_file.domains]),
        ("assets", [a.code for a in (assets_file.assets if assets_file else [])]),
        ("units", [u.code for u in (units_file.units if units_file else [])]),
    ):
        problems.extend(_duplicate_problems(where[section], section, codes))
    return Catalog(
        regions=tree,
        domains=domains,
        indicators=tuple(
            _indicator(s) for s in (indicators_file.indicators if indicators_file else [])
        ),
        assets={AssetCode(a.code): _asset(a) for a in (assets_file.assets if assets_file else [])},
        units={UnitCode(u.code): _unit(u) for u in (units_file.units if units_file else [])},
    )


def _indicator(s: IndicatorSpec) -> Indicator:
    return Indicator(
        code=IndicatorCode(s.code),
        name=s.name,
        region=RegionCode(s.region),
        domain=DomainCode(s.domain),
        unit=s.unit,
        cadence=timedelta(seconds=s.cadence_s) if s.cadence_s else None,
        direction=s.direction,
        thresholds=Thresholds(**s.thresholds.model_dump()),
        raise_after=timedelta(seconds=s.raise_after_s),
        clear_after=timedelta(seconds=s.clear_after_s),
        hysteresis=s.hysteresis,
        asset=s.asset,
        detector=_detector_rule(s.detector) if s.detector else None,
    )


def _detector_rule(d: DetectorSpec) -> DetectorRule:
    return DetectorRule(
        kind=d.kind,
        params=dict(d.params),
        thresholds=Thresholds(**d.thresholds.model_dump()),
        raise_after=timedelta(seconds=d.raise_after_s),
        clear_after=timedelta(seconds=d.clear_after_s),
    )


def _asset(a: AssetSpec) -> Asset:
    return Asset(
        AssetCode(a.code),
        a.name,
        a.kind,
        RegionCode(a.region),
        DomainCode(a.domain),
        tuple(AssetCode(d) for d in a.depends_on),
        a.latitude,
        a.longitude,
        tuple(a.software),
        tuple(a.addresses),
        a.alerts_indicator,
    )


def _unit(u: UnitSpec) -> ResponsibleUnit:
    return ResponsibleUnit(
        UnitCode(u.code),
        u.name,
        RegionCode(u.region),
        tuple(DomainCode(d) for d in u.domains),
        u.email,
        u.webhook_url,
    )


class _PlainDumper(yaml.SafeDumper):
    """Writes an object shared by two places twice, since aliases are refused on reading."""

    def ignore_aliases(self, data: Any) -> bool:
        """Always: no anchors, no aliases."""
        return True


def dump_yaml(data: Any) -> str:
    """Write configuration YAML the way load_catalog reads it (no aliases, keys in order)."""
    return yaml.dump(data, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True)
