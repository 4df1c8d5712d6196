"""Sources: what each kind of source delivered since the server started (`GET
/api/v1/sources`), with the series no rule maps and the latest messages refused whole (topic,
where, field, why), so that nothing is dropped silently; the whole
deployment's counts, so only a national principal reads them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from tocsin.api.auth import Reader, container_of
from tocsin.api.problems import ProblemItem, item, responses
from tocsin.core.access import Placement, require_place
from tocsin.core.sources import SourceCounts

WHOLE = Placement(None, None)  # every region and domain: what sources deliver is not placed


class SourceOut(BaseModel):
    """One kind of source: samples received, stored, unmapped, skipped and refused."""

    kind: str
    received: int = Field(description="samples decoded (collectors), or rows of writes (api)")
    stored: int = Field(description="observations committed")
    unmapped: int = Field(description="samples of series no rule in sources.yaml maps")
    skipped: int = Field(description="samples that are not finite numbers (e.g. NaN)")
    refused: int = Field(description="rows of writes refused whole (their problems answered)")
    unmapped_series: dict[str, int] = Field(
        description="the latest unmapped series (up to 100) and their sample counts"
    )
    recent_refusals: list[RefusalOut] = Field(
        description="the latest messages refused whole (up to 20, oldest first; MQTT)"
    )


class RefusalOut(BaseModel):
    """A message refused whole: where it came from and its problems; nothing was stored."""

    source: str = Field(description="where the message came from (the MQTT topic)")
    problems: list[ProblemItem]


def source_out(kind: str, counts: SourceCounts) -> SourceOut:
    """The API form of one kind's counts."""
    return SourceOut(
        kind=kind,
        received=counts.received,
        stored=counts.stored,
        unmapped=counts.unmapped,
        skipped=counts.skipped,
        refused=counts.refused,
        unmapped_series=dict(counts.examples),
        recent_refusals=[
            RefusalOut(source=r.source, problems=[item(p) for p in r.problems])
            for r in counts.refusals
        ],
    )


def router() -> APIRouter:
    """The sources routes."""
    api = APIRouter(tags=["sources"])

    @api.get("/api/v1/sources", responses=responses(401, 403))
    def sources(principal: Reader, request: Request) -> list[SourceOut]:
        """What each kind of source delivered since the server started (the whole
        deployment's: for a national user or token)."""
        require_place(principal, WHOLE, action="reading every source's counts")
        intake = container_of(request).intake
        with intake.lock:
            return [source_out(kind.value, c) for kind, c in intake.counts.items()]

    return api
