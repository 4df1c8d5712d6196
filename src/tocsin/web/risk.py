"""The composite risk index behind the dashboard's risk view and the map's risk colouring.

A model (YAML, `tocsin.adapters.risk_model_yaml`) is evaluated once over its indicator table by
the risk service (`tocsin.services.risk`), in a background thread so that the first view of the
dashboard never waits for it. Which model is shown is a setting (`TOCSIN_RISK_MODEL` and
`TOCSIN_RISK_TABLE`, or `tocsin serve --risk-model/--risk-table`; the demo sets INFORM Risk
2023): a deployment that names none shows none, never another deployment's ranking. Regions are
matched by the model's id column (for INFORM, ISO 3166 alpha-3 codes, which are the codes of the
demo's nations); a region the table does not hold has no risk data, and the view says so rather
than showing numbers that were never computed.

A composite model may declare live inputs (`live: cyber_exposure`): they are filled from the
exposure now at each read (`LiveInputs`), rolled up from the assets' regions to the regions the
model scores, so the cyber domain of the configured index moves with an import or a patch.

Beside it, live models are computed from Tocsin's own state at every read: the cyber exposure
model (`models/cyber_exposure.yaml`, packaged as `tocsin/demo/data/cyber_exposure.yaml`) over
each region's exposure now (`ExposureService.regions`, the table `tocsin exposure regions`
writes), so an import, a patch or a changed inventory shows in the risk view at once.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from tocsin.adapters.risk_model_yaml import load_model
from tocsin.adapters.risk_tables_csv import parse_indicator_rows, read_indicator_csv
from tocsin.config import Settings
from tocsin.core.errors import InvalidConfig, NotFound, Problem
from tocsin.core.exposure.regions import COLUMNS, RegionExposure, input_columns, table_rows
from tocsin.core.regions import RegionTree
from tocsin.core.risk.classes import class_labels, rank_descending
from tocsin.core.risk.evaluate import RiskResult
from tocsin.core.risk.live import FloatArray, LiveSource, domain_scores, with_columns
from tocsin.core.risk.model import RiskModel
from tocsin.core.risk.table import IndicatorTable
from tocsin.services import risk as service

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RiskSources:
    """Where a risk model and its indicator table (one row per region) are read from."""

    model: Path
    table: Path


def default_sources(settings: Settings) -> RiskSources | None:
    """The risk model the settings name (both the model and its table), or None."""
    if settings.risk_model is None or settings.risk_table is None:
        return None
    return RiskSources(settings.risk_model, settings.risk_table)


def _number(v: float) -> float | None:
    return None if math.isnan(v) else v


class RiskIndex:
    """A model's scores for every region of its table: classes for the map, trees to explain."""

    def __init__(self, model: RiskModel, table: IndicatorTable, result: RiskResult) -> None:
        self.model = model
        self.table = table
        self.result = result
        root = result.values[model.root]
        scheme = model.scheme_for(model.root)
        labels = class_labels(root, scheme) if scheme is not None else [""] * len(root)
        ranks = rank_descending(root, table.periods)
        latest = table.latest_period()  # a table over periods: the map shows the latest one
        self._classes = {
            region: {
                "class": labels[i] or None,
                "value": _number(float(root[i])),
                "rank": _number(float(ranks[i])),
                "name": self.table.names[i],
            }
            for i, region in enumerate(table.ids)
            if latest is None or table.periods[i] == latest
        }

    @classmethod
    def load(cls, sources: RiskSources) -> RiskIndex:
        """Read the model and table and evaluate every region."""
        model = load_model(sources.model)
        table = read_indicator_csv(sources.table, model.table, required=model.table_input_ids)
        return cls(model, table, service.compute(model, table))

    def classes(self) -> dict[str, dict[str, Any]]:
        """Region id -> the root's class label, value, rank and name."""
        return self._classes

    def tree(self, region: str) -> dict[str, Any]:
        """The region's index as a flat list of nodes (parent links), each with its share."""
        if region not in self._classes:
            raise NotFound(f"the risk model has no data for {region!r}")
        nodes = service.explain(self.model, self.table, self.result, region)
        # a parent = its value at the reference (the average region) + its children's parts;
        # a child's share is its part of that difference
        spread = {n.node: n.value - n.base for n in nodes if n.base is not None}
        out = []
        for n in nodes:
            gap = spread.get(n.parent) if n.parent is not None else None
            share = None
            if n.contribution is not None and gap and not math.isnan(gap):
                share = n.contribution / gap
            out.append(
                {
                    "node": n.node,
                    "name": n.name,
                    "depth": n.depth,
                    "value": _number(n.value),
                    "coverage": n.coverage,
                    "parent": n.parent,
                    "contribution": None if n.contribution is None else _number(n.contribution),
                    "base": None if n.base is None else _number(n.base),
                    "share": None if share is None else _number(share),
                }
            )
        card = self._classes[region]
        return {
            "model": self.model.name,
            "name": card["name"],
            "class": card["class"],
            "rank": card["rank"],
            "value": card["value"],
            "nodes": out,
        }


class RiskLoader:
    """Loads a RiskIndex once, in a background thread; readers may wait for it or not."""

    def __init__(self, sources: RiskSources | None) -> None:
        self.sources = sources
        self._index: RiskIndex | None = None
        self._error: str | None = None
        self._done = threading.Event()
        self._started = False
        self._lock = threading.Lock()
        if sources is None:
            self._done.set()

    def start(self) -> None:
        """Begin loading (idempotent)."""
        with self._lock:
            if self._started or self.sources is None:
                return
            self._started = True
        threading.Thread(target=self._load, name="tocsin-risk-load", daemon=True).start()

    def _load(self) -> None:
        assert self.sources is not None  # noqa: S101 - start() checked it
        try:
            self._index = RiskIndex.load(self.sources)
        except Exception as err:  # the dashboard must run without a risk model
            log.exception("risk model could not be loaded", extra={"model": str(self.sources)})
            self._error = f"the risk model could not be loaded: {err}"
        finally:
            self._done.set()

    def ready(self) -> RiskIndex | None:
        """The index if it has loaded, without waiting."""
        return self._index if self._done.is_set() else None

    def wait(self, timeout: float = 30.0) -> RiskIndex | None:
        """The index, waiting for the load to finish (None if there is none)."""
        self.start()
        self._done.wait(timeout)
        return self._index

    def reason(self) -> str:
        """Why there is no index."""
        if self.sources is None:
            return "no risk model configured (TOCSIN_RISK_MODEL, TOCSIN_RISK_TABLE)"
        if self._error:
            return self._error
        if not self._done.is_set():
            return "the risk model is still loading"
        return "no risk model loaded"


CYBER_MODEL = resources.files("tocsin.demo") / "data" / "cyber_exposure.yaml"


def cyber_model(settings: Settings) -> RiskModel:
    """The cyber exposure model the settings name (`TOCSIN_CYBER_MODEL`), else the packaged one;
    InvalidConfig naming the file when it is not a model over the exposure's columns."""
    if settings.cyber_model is None:
        with resources.as_file(CYBER_MODEL) as path:
            return load_model(path)
    model = load_model(settings.cyber_model)
    problems = [
        Problem(
            str(settings.cyber_model),
            f"inputs[{i}] ({spec.id})",
            f"not a column of the exposure table; use {', '.join(COLUMNS)}",
        )
        for i, spec in enumerate(model.inputs)
        if spec.id not in COLUMNS
    ]
    if problems:
        raise InvalidConfig(problems)
    return model


class LiveRisk:
    """A model evaluated over a table read from Tocsin's state at every read (no file)."""

    def __init__(
        self,
        model: RiskModel,
        *,
        rows: Callable[[], Sequence[Sequence[str]]],
        empty: str,
    ) -> None:
        self.model = model
        self.rows = rows
        self.empty = empty  # why there is no index when the table holds no region

    def index(self) -> RiskIndex | None:
        """The model over the table as it is now (None when it holds no region)."""
        rows = self.rows()
        if len(rows) < 2:
            return None
        spec = self.model.table
        table = parse_indicator_rows(rows, spec, required=self.model.table_input_ids, where="live")
        return RiskIndex(self.model, table, service.compute(self.model, table))


def cyber_risk(
    regions: Callable[[], list[RegionExposure]], names: Mapping[str, str], model: RiskModel
) -> LiveRisk:
    """The cyber exposure model over each region's exposure now."""
    return LiveRisk(
        model,
        rows=lambda: table_rows(regions(), names),
        empty="no asset has a software inventory or is at risk yet (tocsin exposure inventory)",
    )


Scores = Callable[[Sequence[str]], FloatArray]
"""A live source: the score of each region id given (NaN where it has none)."""


def cyber_scores(
    regions: Callable[[], list[RegionExposure]], model: RiskModel, tree: RegionTree
) -> Scores:
    """The cyber exposure model's score of regions, rolled up from the regions of the assets."""

    def scores(targets: Sequence[str]) -> FloatArray:
        codes, inputs = input_columns(regions())
        return domain_scores(model, codes=codes, inputs=inputs, tree=tree, targets=targets)

    return scores


class LiveInputs:
    """Fills the live inputs of a composite model at each read (`live:` in its YAML); the index
    is evaluated again only when their values changed."""

    def __init__(self, sources: Mapping[LiveSource, Scores]) -> None:
        self.sources = sources
        self._last: tuple[RiskIndex, bytes, RiskIndex] | None = None
        self._lock = threading.Lock()

    def apply(self, index: RiskIndex | None) -> RiskIndex | None:
        """The index with its live inputs as they are now (itself when it has none)."""
        if index is None or not index.model.live_inputs:
            return index
        ids = index.table.ids
        columns = {
            spec.id: self.sources[LiveSource(str(spec.live))](ids)
            for spec in index.model.live_inputs
        }
        key = b"".join(np.asarray(v, dtype=np.float64).tobytes() for v in columns.values())
        with self._lock:
            if self._last is not None and self._last[0] is index and self._last[1] == key:
                return self._last[2]
        table = with_columns(index.table, columns)
        fresh = RiskIndex(index.model, table, service.compute(index.model, table))
        with self._lock:
            self._last = (index, key, fresh)
        return fresh
