"""Operations: liveness (`/healthz`) and the Prometheus exposition (`/metrics`); both public."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from tocsin import __version__
from tocsin.api.auth import container_of

PUBLIC_PATHS = frozenset({"/healthz", "/metrics"})


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
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    def metrics(request: Request) -> str:
        """Prometheus exposition of open warnings by level and state."""
        counts = container_of(request).warnings.counts(open_only=True)
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
