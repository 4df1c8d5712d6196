"""Observations: `POST /api/v1/observations` (a batch, all or nothing) and an indicator's stored
series and replayed detector scores."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Ingester, Reader, container_of
from tocsin.api.fields import EPOCH_MAX, EPOCH_MIN, Code, EpochOrMoment, IndicatorPath, Number
from tocsin.api.problems import READ_ERRORS, responses
from tocsin.services.ingest import RawObservations

MAX_BATCH = 1_000_000
EpochQuery = Annotated[int | None, Query(ge=EPOCH_MIN, le=EPOCH_MAX)]
OBSERVATIONS_PATH = "/api/v1/observations"
ROWS_SCHEMA = {"type": "string", "description": "rows with indicator, time and value"}
# the other body formats the ingest gate reads on this path (tocsin.api.ingest_gate)
BULK_FORMATS: dict[str, Any] = {
    "application/x-ndjson": {"schema": ROWS_SCHEMA},
    "text/csv": {"schema": ROWS_SCHEMA},
    "application/vnd.apache.arrow.stream": {"schema": {"type": "string", "format": "binary"}},
}


class ObservationIn(BaseModel):
    """One observation."""

    model_config = ConfigDict(extra="forbid")
    indicator: Code = Field(examples=["D11.river_level"])
    time: EpochOrMoment
    value: Number


class ObservationBatchIn(BaseModel):
    """A batch of observations: stored all together, or none."""

    model_config = ConfigDict(extra="forbid")
    observations: list[ObservationIn] = Field(min_length=1, max_length=MAX_BATCH)


class IngestOut(BaseModel):
    """What a batch did (answered after the commit that stored it)."""

    received: int = Field(description="observations in the request")
    evaluated: int = Field(description="of them, newer than their indicator's last (rules ran)")
    warnings_changed: int = Field(
        description="warning transitions of the commit that stored the request (requests that "
        "arrive together are committed together)"
    )


class SeriesOut(BaseModel):
    """An indicator's observations, oldest first."""

    indicator: str
    times: list[int] = Field(description="epoch seconds")
    values: list[float]


class RollupsOut(BaseModel):
    """An indicator's summaries of observations past their raw retention, oldest first: one
    entry per interval in each list."""

    indicator: str
    starts: list[int] = Field(description="each interval's start, epoch seconds")
    interval_s: list[int] = Field(description="each interval's length, seconds")
    counts: list[int]
    minimum: list[float]
    maximum: list[float]
    mean: list[float]


class ScoresOut(BaseModel):
    """Anomaly scores of an indicator's history (null while the detector warms up)."""

    indicator: str
    detector: str
    times: list[int]
    scores: list[float | None]
    decision_threshold: float | None
    score_thresholds: dict[str, float | None] | None


def finite(v: float | None) -> float | None:
    """The number, or None for NaN and infinities (JSON has neither)."""
    return v if v is not None and math.isfinite(v) else None


def scores_out(
    code: str, found: Mapping[str, Any], *, times: list[int], scores: Iterable[float | None]
) -> ScoresOut:
    """The API view of a detector's replay (`found`) over these times and scores (NaN and
    infinities as None)."""
    return ScoresOut(
        indicator=code,
        detector=found["detector"],
        times=times,
        scores=[finite(v) for v in scores],
        decision_threshold=finite(found["decision_threshold"]),
        score_thresholds=found["score_thresholds"],
    )


def router() -> APIRouter:
    """The observation routes."""
    api = APIRouter(tags=["observations"])

    @api.post(
        OBSERVATIONS_PATH,
        status_code=202,
        responses=responses(400, 401, 403, 413, 415, 422, 429, 503),
        openapi_extra={"requestBody": {"content": BULK_FORMATS}},
    )
    def post_observations(
        body: ObservationBatchIn, principal: Ingester, request: Request
    ) -> IngestOut:
        """Store a batch of observations and evaluate the rules; all or nothing; every
        indicator within the user's scope.

        The body is JSON (below), NDJSON (one observation object per line), CSV (a header
        naming indicator, time and value) or an Apache Arrow IPC stream, by Content-Type; it is
        decoded as it arrives. Concurrent requests are committed together; each is answered
        after its rows are committed. Served by the ingest gate (`tocsin.api.ingest_gate`);
        this handler is its equivalent for an application without the gate.
        """
        rows = body.observations
        raw = RawObservations(
            [o.indicator for o in rows],
            np.fromiter((o.time for o in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((o.value for o in rows), dtype=np.float64, count=len(rows)),
            where=[f"observations[{i}]" for i in range(len(rows))],
        )
        container = container_of(request)
        batch = container.ingest.validate(raw, principal=principal)
        result = container.committer.submit(batch).result()
        return IngestOut(
            received=result.received,
            evaluated=result.evaluated,
            warnings_changed=len(result.warning_events),
        )

    @api.get("/api/v1/indicators/{code}/observations", responses=READ_ERRORS)
    def observations(
        code: IndicatorPath,
        principal: Reader,
        request: Request,
        since: EpochQuery = None,
        until: EpochQuery = None,
        limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
    ) -> SeriesOut:
        """An indicator's observations (epoch seconds and values), oldest first."""
        indicators = container_of(request).indicators
        batch = indicators.series(code, principal=principal, since=since, until=until, limit=limit)
        return SeriesOut(indicator=code, times=batch.times.tolist(), values=batch.values.tolist())

    @api.get("/api/v1/indicators/{code}/rollups", responses=READ_ERRORS)
    def rollups(
        code: IndicatorPath,
        principal: Reader,
        request: Request,
        since: EpochQuery = None,
        until: EpochQuery = None,
    ) -> RollupsOut:
        """Per-interval count, minimum, maximum and mean of an indicator's observations past
        their raw retention (TOCSIN_RETAIN_OBSERVATIONS_DAYS), oldest first."""
        indicators = container_of(request).indicators
        found = indicators.rollups(code, principal=principal, since=since, until=until)
        return RollupsOut(
            indicator=code,
            starts=[r.start for r in found],
            interval_s=[r.interval_s for r in found],
            counts=[r.count for r in found],
            minimum=[r.minimum for r in found],
            maximum=[r.maximum for r in found],
            mean=[r.mean for r in found],
        )

    @api.get("/api/v1/indicators/{code}/scores", responses=READ_ERRORS)
    def scores(
        code: IndicatorPath,
        principal: Reader,
        request: Request,
        detector: Annotated[str | None, Query(max_length=64)] = None,
    ) -> ScoresOut:
        """Anomaly scores of an indicator's stored history, computed online (past only)."""
        found = container_of(request).indicators.scores(code, principal=principal, kind=detector)
        return scores_out(code, found, times=found["times"], scores=found["scores"])

    return api
