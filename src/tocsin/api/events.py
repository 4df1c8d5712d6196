"""Events: `POST /api/v1/events`, a batch of discrete occurrences, stored once each."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from tocsin.api.auth import Ingester, container_of
from tocsin.api.fields import Attributes, Code, Moment, Name, Text
from tocsin.api.problems import WRITE_ERRORS
from tocsin.core.domains import DomainCode
from tocsin.core.events import Event
from tocsin.core.levels import Level
from tocsin.core.regions import RegionCode

MAX_BATCH = 100_000


class EventIn(BaseModel):
    """A discrete event."""

    model_config = ConfigDict(extra="forbid")
    source: Code
    external_id: Code
    occurred_at: Moment
    region: Code
    domain: Code
    severity: Level
    title: Name
    description: Text = ""
    asset: Code | None = None
    attributes: Attributes = {}


class EventBatchIn(BaseModel):
    """A batch of events (all stored, or none when one is invalid)."""

    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class EventsOut(BaseModel):
    """How many events were new."""

    received: int
    stored: int


def router() -> APIRouter:
    """The event routes."""
    api = APIRouter(tags=["events"])

    @api.post("/api/v1/events", status_code=202, responses=WRITE_ERRORS)
    def post_events(body: EventBatchIn, principal: Ingester, request: Request) -> EventsOut:
        """Store a batch of events (duplicates by source + external_id are ignored)."""
        events = [
            Event(
                e.source,
                e.external_id,
                e.occurred_at,
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
        stored = container_of(request).events.ingest(events, principal=principal)
        return EventsOut(received=len(events), stored=stored)

    return api
