"""API request and response bodies (DTOs); never shared with domain or table types."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from tocsin.core.levels import Level


class ObservationIn(BaseModel):
    """One observation."""

    model_config = ConfigDict(extra="forbid")
    indicator: str = Field(min_length=1, examples=["DE1.water_level"])
    time: AwareDatetime | int = Field(description="ISO 8601 with offset, or epoch seconds")
    value: float


class ObservationBatchIn(BaseModel):
    """A batch of observations: stored all together, or none."""

    model_config = ConfigDict(extra="forbid")
    observations: list[ObservationIn] = Field(min_length=1, max_length=1_000_000)


class IngestOut(BaseModel):
    """What a batch did."""

    received: int
    evaluated: int
    warnings_changed: int


class EventIn(BaseModel):
    """A discrete event."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1)
    external_id: str = Field(min_length=1)
    occurred_at: AwareDatetime
    region: str
    domain: str
    severity: Level
    title: str = Field(min_length=1)
    description: str = ""
    asset: str | None = None
    attributes: dict[str, Any] = {}


class EventBatchIn(BaseModel):
    """A batch of events."""

    model_config = ConfigDict(extra="forbid")
    events: list[EventIn] = Field(min_length=1, max_length=100_000)


class EventsOut(BaseModel):
    """How many events were new."""

    received: int
    stored: int


class WarningOut(BaseModel):
    """A warning."""

    id: str
    fingerprint: str
    source: str
    subject: str
    region: str
    domain: str
    level: Level
    cap_severity: str
    state: str
    first_seen_at: datetime
    last_seen_at: datetime
    updated_at: datetime
    cause: dict[str, Any]
    explanation: dict[str, Any]
    labels: dict[str, str]
    acknowledged_by: str | None
    lifted_at: datetime | None


class AuditOut(BaseModel):
    """One audit record."""

    at: datetime
    actor: str
    kind: str
    reason: str
    details: dict[str, Any]


class AcknowledgeIn(BaseModel):
    """Why a warning is acknowledged."""

    model_config = ConfigDict(extra="forbid")
    reason: str = ""


class ProblemOut(BaseModel):
    """One problem with a request."""

    where: str
    field: str
    reason: str


class ErrorOut(BaseModel):
    """An error response."""

    detail: str
    problems: list[ProblemOut] = []
