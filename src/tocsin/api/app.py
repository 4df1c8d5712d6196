"""The REST API (FastAPI, OpenAPI 3.1 at /openapi.json)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse

from tocsin import __version__
from tocsin.api.alerting import alerting_router
from tocsin.api.auth import Acknowledger, Ingester, Reader, UnauthorizedError
from tocsin.api.schemas import (
    AcknowledgeIn,
    AuditOut,
    ErrorOut,
    EventBatchIn,
    EventsOut,
    IngestOut,
    ObservationBatchIn,
    WarningOut,
)
from tocsin.bootstrap import Container
from tocsin.core.domains import DomainCode
from tocsin.core.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    Problem,
    TocsinError,
)
from tocsin.core.events import Event
from tocsin.core.regions import RegionCode
from tocsin.core.warnings.model import Warning
from tocsin.services.ingest import RawObservations
from tocsin.services.scoring import replay_scores

STATUS: dict[type[TocsinError], int] = {
    NotFound: 404,
    Conflict: 409,
    IllegalTransition: 409,
    Forbidden: 403,
    InvalidInput: 422,
}
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 409, 422)
}


def _status(err: TocsinError) -> int:
    for kind in type(err).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


def warning_out(w: Warning) -> WarningOut:
    """The API view of a warning."""
    return WarningOut(
        id=w.id,
        fingerprint=w.fingerprint,
        source=w.source,
        subject=w.subject,
        region=w.region,
        domain=w.domain,
        level=w.level,
        cap_severity=w.level.cap_severity,
        state=w.state.value,
        first_seen_at=w.first_seen_at,
        last_seen_at=w.last_seen_at,
        updated_at=w.updated_at,
        cause=dict(w.cause),
        explanation=dict(w.explanation),
        labels=dict(w.labels),
        acknowledged_by=w.acknowledged_by,
        lifted_at=w.lifted_at,
    )


def create_app(container: Container) -> FastAPI:
    """Build the API over a wired container."""
    app = FastAPI(
        title="Tocsin",
        version=__version__,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.container = container
    _errors(app)
    app.include_router(alerting_router())  # warning pipeline (silences, notifications, v2)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        """Liveness."""
        return {"status": "ok", "version": __version__}

    @app.post(
        "/api/v1/observations",
        response_model=IngestOut,
        responses=ERRORS,
        tags=["ingest"],
        status_code=202,
    )
    def post_observations(body: ObservationBatchIn, user: Ingester) -> IngestOut:
        """Store a batch of observations and evaluate the rules; all or nothing."""
        rows = body.observations
        times = np.array([_epoch(o.time) for o in rows], dtype=np.int64)
        raw = RawObservations(
            [o.indicator for o in rows],
            times,
            np.array([o.value for o in rows], dtype=np.float64),
            where=[f"observations[{i}]" for i in range(len(rows))],
        )
        result = container.ingest.ingest(raw)
        return IngestOut(
            received=result.received,
            evaluated=result.evaluated,
            warnings_changed=len(result.warning_events),
        )

    @app.post(
        "/api/v1/events",
        response_model=EventsOut,
        responses=ERRORS,
        tags=["ingest"],
        status_code=202,
    )
    def post_events(body: EventBatchIn, user: Ingester) -> EventsOut:
        """Store a batch of events (duplicates by source + external_id are ignored)."""
        events = [
            Event(
                e.source,
                e.external_id,
                e.occurred_at.astimezone(UTC),
                RegionCode(e.region),
                DomainCode(e.domain),
                e.severity,
                e.title,
                e.description,
                e.asset,
                e.attributes,
            )
            for e in body.events
        ]
        stored = container.events.ingest(events, actor=user.name)
        return EventsOut(received=len(events), stored=stored)

    @app.get("/api/v1/warnings", response_model=list[WarningOut], tags=["warnings"])
    def list_warnings(
        _: Reader,
        state: Annotated[str, Query(pattern="^(open|all)$")] = "open",
        level: Annotated[list[str] | None, Query()] = None,
        domain: str | None = None,
        region: Annotated[str | None, Query(description="the region and its subtree")] = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> list[WarningOut]:
        """Warnings, most severe and oldest first."""
        found = container.warnings.find(
            open_only=state == "open",
            levels=tuple(level or ()),
            domain=domain,
            region=region,
            limit=limit,
        )
        return [warning_out(w) for w in found]

    @app.get(
        "/api/v1/warnings/{warning_id}",
        response_model=WarningOut,
        responses=ERRORS,
        tags=["warnings"],
    )
    def get_warning(warning_id: str, _: Reader) -> WarningOut:
        """One warning with its cause and explanation."""
        return warning_out(container.warnings.get(warning_id))

    @app.get(
        "/api/v1/warnings/{warning_id}/history",
        response_model=list[AuditOut],
        responses=ERRORS,
        tags=["warnings"],
    )
    def warning_history(warning_id: str, _: Reader) -> list[AuditOut]:
        """Every transition of a warning: who, when, why."""
        return [
            AuditOut(at=r.at, actor=r.actor, kind=r.kind, reason=r.reason, details=dict(r.details))
            for r in container.warnings.history(warning_id)
        ]

    @app.post(
        "/api/v1/warnings/{warning_id}/acknowledge",
        response_model=WarningOut,
        responses=ERRORS,
        tags=["warnings"],
    )
    def acknowledge(warning_id: str, body: AcknowledgeIn, user: Acknowledger) -> WarningOut:
        """Acknowledge an active warning."""
        return warning_out(
            container.warnings.acknowledge(warning_id, actor=user.name, reason=body.reason)
        )

    @app.get("/api/v1/regions", tags=["model"])
    def regions(_: Reader) -> list[dict[str, Any]]:
        """The region hierarchy (without geometry)."""
        tree = container.catalog.regions
        return [
            {
                "code": r.code,
                "name": r.name,
                "level": r.level,
                "parent": r.parent,
                "population": r.population,
                "children": list(tree.children.get(r.code, ())),
            }
            for r in tree.regions.values()
        ]

    @app.get("/api/v1/regions.geojson", tags=["model"])
    def regions_geojson(_: Reader, parent: str | None = None) -> dict[str, Any]:
        """Regions as a GeoJSON FeatureCollection (children of `parent`, or the roots)."""
        tree = container.catalog.regions
        if parent is not None and parent not in tree:
            raise NotFound(f"unknown region {parent!r}")
        codes = (
            tree.children.get(RegionCode(parent), ()) if parent else [r.code for r in tree.roots()]
        )
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": c,
                    "geometry": tree.regions[c].geometry,
                    "properties": {
                        "code": c,
                        "name": tree.regions[c].name,
                        "level": tree.regions[c].level,
                        "parent": tree.regions[c].parent,
                        "has_children": bool(tree.children.get(c)),
                    },
                }
                for c in codes
            ],
        }

    @app.get("/api/v1/domains", tags=["model"])
    def domains(_: Reader) -> list[dict[str, Any]]:
        """The hazard taxonomy with CAP categories."""
        return [
            {"code": d.code, "name": d.name, "cap_category": d.cap_category, "parent": d.parent}
            for d in container.catalog.domains.values()
        ]

    @app.get("/api/v1/indicators", tags=["model"])
    def indicators(_: Reader, region: str | None = None) -> list[dict[str, Any]]:
        """Indicators with their thresholds."""
        tree = container.catalog.regions
        out = []
        for ind in container.catalog.indicators:
            if region is not None and not tree.is_within(ind.region, RegionCode(region)):
                continue
            out.append(
                {
                    "code": ind.code,
                    "name": ind.name,
                    "region": ind.region,
                    "domain": ind.domain,
                    "unit": ind.unit,
                    "direction": ind.direction.value,
                    "asset": ind.asset,
                    "thresholds": {
                        k: v
                        for k, v in zip(
                            ("blue", "yellow", "orange", "red"),
                            ind.thresholds.as_tuple(),
                            strict=True,
                        )
                        if v == v
                    },
                }
            )
        return out

    @app.get("/api/v1/indicators/{code}/observations", tags=["model"], responses=ERRORS)
    def observations(
        code: str,
        _: Reader,
        since: int | None = None,
        until: int | None = None,
        limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
    ) -> dict[str, Any]:
        """An indicator's observations (epoch seconds and values), oldest first."""
        ident = container.rules.ids.get(code)
        if ident is None:
            raise NotFound(f"unknown indicator {code!r}")
        with container.store.transaction() as tx:
            batch = tx.observations.read(ident, since=since, until=until, limit=limit)
        return {"indicator": code, "times": batch.times.tolist(), "values": batch.values.tolist()}

    @app.get("/api/v1/indicators/{code}/scores", tags=["model"], responses=ERRORS)
    def scores(code: str, _: Reader, detector: str | None = None) -> dict[str, Any]:
        """Anomaly scores of an indicator's stored history, computed online (past only)."""
        return replay_scores(container.store, container.rules, code, kind=detector)

    @app.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
    def metrics() -> str:
        """Prometheus exposition of warning counts."""
        counts = container.warnings.counts(open_only=True)
        lines = [
            "# HELP tocsin_open_warnings Open warnings by level and state.",
            "# TYPE tocsin_open_warnings gauge",
        ]
        lines += [
            f'tocsin_open_warnings{{level="{lv}",state="{st}"}} {n}'
            for (lv, st), n in sorted(counts.items())
        ]
        return "\n".join(lines) + "\n"

    return app


def _epoch(value: datetime | int) -> int:
    return value if isinstance(value, int) else int(value.timestamp())


def _errors(app: FastAPI) -> None:
    @app.exception_handler(TocsinError)
    def tocsin_error(_: Request, err: TocsinError) -> JSONResponse:
        problems = [_problem_json(p) for p in getattr(err, "problems", ())]
        return JSONResponse({"detail": str(err), "problems": problems}, status_code=_status(err))

    @app.exception_handler(UnauthorizedError)
    def unauthorized(_: Request, __: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "a valid bearer token is required", "problems": []},
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )

    @app.exception_handler(RequestValidationError)
    def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = [_problem(e) for e in err.errors()[:50]]
        shown = "; ".join(str(p) for p in problems[:10])
        return JSONResponse(
            {
                "detail": f"invalid request: {shown}",
                "problems": [_problem_json(p) for p in problems],
            },
            status_code=422,
        )


def _problem(error: Any) -> Problem:
    loc = [str(x) for x in error.get("loc", ())]
    if loc and loc[0] == "body":
        loc = loc[1:]
    parts = [f"[{p}]" if p.isdigit() else (f".{p}" if i else p) for i, p in enumerate(loc[:-1])]
    return Problem("".join(parts) or "body", loc[-1] if loc else "", error.get("msg", "invalid"))


def _problem_json(problem: Problem) -> dict[str, str]:
    return {"where": problem.where, "field": problem.field, "reason": problem.reason}
