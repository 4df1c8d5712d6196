"""Operations: liveness (`/healthz`) and the Prometheus exposition (`/metrics`); both public."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tocsin import __version__
from tocsin.api.auth import container_of
from tocsin.bootstrap import Container

PUBLIC_PATHS = frozenset({"/healthz", "/metrics"})


class HealthOut(BaseModel):
    """The server is up."""

    status: str
    version: str


SOURCE_OUTCOMES = ("received", "stored", "unmapped", "skipped", "refused")


def source_lines(container: Container) -> list[str]:
    """Samples by source kind and outcome, and the observations waiting for a commit."""
    lines = [
        "# HELP tocsin_source_samples_total Samples by source kind and outcome.",
        "# TYPE tocsin_source_samples_total counter",
    ]
    with container.intake.lock:
        for kind, counts in container.intake.counts.items():
            lines += [
                f'tocsin_source_samples_total{{kind="{kind.value}",outcome="{o}"}} '
                f"{getattr(counts, o)}"
                for o in SOURCE_OUTCOMES
            ]
    stats = container.committer.stats
    return [
        *lines,
        "# HELP tocsin_ingest_queued_rows Observations waiting for the group commit.",
        "# TYPE tocsin_ingest_queued_rows gauge",
        f"tocsin_ingest_queued_rows {container.committer.queued_rows}",
        "# HELP tocsin_ingest_commits_total Group commits of observations.",
        "# TYPE tocsin_ingest_commits_total counter",
        f"tocsin_ingest_commits_total {stats.commits}",
        "# HELP tocsin_ingest_overloaded_total Writes refused because the queue was full.",
        "# TYPE tocsin_ingest_overloaded_total counter",
        f"tocsin_ingest_overloaded_total {stats.refused}",
    ]


def router() -> APIRouter:
    """The operations routes."""
    api = APIRouter(tags=["operations"])

    @api.get("/healthz")
    def healthz() -> HealthOut:
        """Liveness."""
        return HealthOut(status="ok", version=__version__)

    @api.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics(request: Request) -> str:
        """Prometheus exposition of open warnings by level and state."""
        container = container_of(request)
        counts = container.warnings.counts(open_only=True)
        lines = [
            "# HELP tocsin_open_warnings Open warnings by level and state.",
            "# TYPE tocsin_open_warnings gauge",
        ]
        lines += [
            f'tocsin_open_warnings{{level="{lv}",state="{st}"}} {n}'
            for (lv, st), n in sorted(counts.items())
        ]
        return "\n".join([*lines, *source_lines(container)]) + "\n"

    return api
