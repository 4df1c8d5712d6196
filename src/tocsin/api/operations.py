"""Operations: liveness (`/healthz`, public) and the Prometheus exposition (`/metrics`, for a
token that may read: Prometheus sends it with `authorization: {credentials: TOKEN}`; the counts
are those of the token's scope)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tocsin import __version__
from tocsin.api.auth import Reader, container_of
from tocsin.api.problems import json_problems


class HealthOut(BaseModel):
    """The server is up."""

    status: str
    version: str


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
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            **json_problems(401, 403),  # a text route: its Problem bodies are JSON
        },
    )
    def metrics(principal: Reader, request: Request) -> str:
        """Prometheus exposition of open warnings (in the token's scope) by level and state."""
        counts = container_of(request).warnings.counts(open_only=True, principal=principal)
        lines = [
            "# HELP tocsin_open_warnings Open warnings by level and state.",
            "# TYPE tocsin_open_warnings gauge",
        ]
        lines += [
            f'tocsin_open_warnings{{level="{lv}",state="{st}"}} {n}'
            for (lv, st), n in sorted(counts.items())
        ]
        return "\n".join(lines) + "\n"

    return api
