"""Operations: liveness (`/healthz`, public) and the Prometheus exposition (`/metrics`, for a
token that may read: Prometheus sends it with `authorization: {credentials: TOKEN}`; the counts
are those of the token's scope, and the whole deployment's source counts only for a national
one)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tocsin import __version__
from tocsin.api.auth import Reader, container_of
from tocsin.api.problems import json_problems
from tocsin.bootstrap import Container


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
        *_report_lines(container),
    ]


def _report_lines(container: Container) -> list[str]:
    """The public reports' group commit: commits, reports stored, waiting and refused."""
    committer = container.reports.committer
    stats = committer.stats
    return [
        "# HELP tocsin_reports_commits_total Group commits of public reports.",
        "# TYPE tocsin_reports_commits_total counter",
        f"tocsin_reports_commits_total {stats.commits}",
        "# HELP tocsin_reports_committed_total Public reports in those commits.",
        "# TYPE tocsin_reports_committed_total counter",
        f"tocsin_reports_committed_total {stats.requests}",
        "# HELP tocsin_reports_queued Public reports waiting for the group commit.",
        "# TYPE tocsin_reports_queued gauge",
        f"tocsin_reports_queued {committer.queued_rows}",
        "# HELP tocsin_reports_overloaded_total Reports refused because the queue was full.",
        "# TYPE tocsin_reports_overloaded_total counter",
        f"tocsin_reports_overloaded_total {stats.refused}",
    ]


def router() -> APIRouter:
    """The operations routes."""
    api = APIRouter(tags=["operations"])

    @api.get("/healthz")
    async def healthz() -> HealthOut:
        """Liveness (on the event loop: no worker thread, so it measures the HTTP stack)."""
        return HealthOut(status="ok", version=__version__)

    @api.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **json_problems(401, 403),  # a text route: its Problem bodies are JSON
        },
    )
    def metrics(principal: Reader, request: Request) -> str:
        """Prometheus exposition of open warnings (in the token's scope) by level and state;
        for a national token, also what each kind of source delivered."""
        container = container_of(request)
        counts = container.warnings.counts(open_only=True, principal=principal)
        lines = [
            "# HELP tocsin_open_warnings Open warnings by level and state.",
            "# TYPE tocsin_open_warnings gauge",
        ]
        lines += [
            f'tocsin_open_warnings{{level="{lv}",state="{st}"}} {n}'
            for (lv, st), n in sorted(counts.items())
        ]
        sources = source_lines(container) if principal.scope.national else []
        return "\n".join([*lines, *sources]) + "\n"

    return api
