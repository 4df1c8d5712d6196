"""Ports: the Protocols services need (storage, bus, clock). Adapters implement them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tocsin.core.audit import AuditRecord
from tocsin.core.catalog import Catalog
from tocsin.core.events import Event
from tocsin.core.observations import ObservationBatch
from tocsin.core.rules.thresholds import ThresholdState
from tocsin.core.users import User
from tocsin.core.warnings.model import Warning, WarningId


@dataclass(frozen=True, slots=True)
class WarningFilter:
    """Which warnings to list."""

    open_only: bool = True
    levels: tuple[str, ...] = ()
    domain_prefix: str | None = None
    regions: tuple[str, ...] | None = None
    limit: int = 1000


class StoreSession(Protocol):
    """One transaction's view of the store."""

    def sync_catalog(self, catalog: Catalog) -> dict[str, int]:
        """Store the catalogue; return indicator code -> stable id (new codes get new ids)."""

    def indicator_ids(self) -> dict[str, int]:
        """Indicator code -> id as stored."""

    def stored_catalog(self) -> Catalog | None:
        """The catalogue as last stored, with indicators placed at their ids (None if empty)."""

    def write_observations(self, batch: ObservationBatch) -> None:
        """Upsert observations keyed by (indicator, time)."""

    def read_observations(
        self,
        indicator_id: int,
        *,
        since: int | None = None,
        until: int | None = None,
        limit: int = 100_000,
    ) -> ObservationBatch:
        """Observations of one indicator in time order."""

    def count_observations(self) -> int:
        """Number of stored observations."""

    def load_threshold_state(self, n: int) -> ThresholdState:
        """The threshold rules' state for series 0..n-1."""

    def save_threshold_state(self, series: npt.NDArray[np.int64], state: ThresholdState) -> None:
        """Persist the state rows of the given series."""

    def insert_events(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events, ignoring ones already stored (source, external_id); return new count."""

    def list_events(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest events first."""

    def open_warnings(self, fingerprints: Sequence[str] | None = None) -> dict[str, Warning]:
        """Open warnings by fingerprint (all open ones when fingerprints is None)."""

    def save_warning(self, warning: Warning, *, new: bool) -> None:
        """Insert or update a warning."""

    def touch_warnings(self, last_seen: Mapping[WarningId, datetime]) -> None:
        """Move last_seen_at of open warnings forward."""

    def get_warning(self, warning_id: str) -> Warning | None:
        """One warning by id."""

    def list_warnings(self, query: WarningFilter) -> list[Warning]:
        """Warnings matching a filter, most severe and oldest first."""

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append to the audit log."""

    def audit_for(self, subject_type: str, subject_id: str) -> list[AuditRecord]:
        """The audit trail of one subject, oldest first."""

    def save_user(self, user: User, *, now: datetime) -> None:
        """Create or update a user."""

    def add_token(self, token_hash: str, *, user: str, label: str, now: datetime) -> None:
        """Store a token's hash for a user."""

    def user_for_token(self, token_hash: str) -> User | None:
        """The user owning a valid token."""


class Store(Protocol):
    """Transactional storage."""

    def transaction(self) -> AbstractContextManager[StoreSession]:
        """A session whose writes commit together or not at all."""

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""


class Bus(Protocol):
    """Publishes what happened, after commit."""

    def publish(self, topic: str, payload: Mapping[str, Any]) -> None:
        """Hand a message to subscribers."""


class Clock(Protocol):
    """Where services get `now`."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
