"""The ingest stream's settings as the NATS adapter takes them (no broker import here: the
composition root builds it in every process)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NatsStreamConfig:
    """Where the stream is and what it is like (from the TOCSIN_STREAM_* settings)."""

    url: str
    name: str = "TOCSIN_OBSERVATIONS"
    subject: str = "tocsin.observations"
    duplicate_window_s: float = 120.0
    max_age_s: float | None = None  # none: kept until the server's limits
    replicas: int = 1
    timeout_s: float = 5.0  # a publish or an API request not answered by then fails
    fetch_wait_s: float = 0.2  # how long a read waits for a message to arrive
