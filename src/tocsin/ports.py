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

    def write_observations(
        self, batch: ObservationBatch, *, new: npt.NDArray[np.bool_] | None = None
    ) -> None:
        """Upsert observations keyed by (indicator, time); `new` marks rows known to be new."""

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

    def load_checkpoint(self, name: str) -> bytes | None:
        """A named checkpoint blob, if any."""

    def save_checkpoint(self, name: str, data: bytes) -> None:
        """Replace a named checkpoint blob."""

    def insert_events(self, events: Sequence[Event], *, received_at: datetime) -> int:
        """Insert events, ignoring ones already stored (source, external_id); return new count."""

    def list_events(self, *, limit: int = 200) -> list[dict[str, Any]]:
        """Newest events first."""

    def open_warnings(self, fingerprints: Sequence[str] | None = None) -> dict[str, Warning]:
        """Open warnings by fingerprint (all open ones when fingerprints is None)."""

    def save_warning(self, warning: Warning, *, new: bool) -> None:
        """Insert or update a warning."""

    def save_warnings(self, warnings: Sequence[Warning], *, new: bool) -> None:
        """Insert or update many warnings at once."""

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

    def list_users(self) -> list[tuple[User, int]]:
        """Every user by name, with the number of tokens not revoked."""


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


# -- the warning pipeline (grouping, silences, escalation, outbox) ---------------------------
from tocsin.core.warnings.escalation import Escalation  # noqa: E402
from tocsin.core.warnings.grouping import AggregationGroup  # noqa: E402
from tocsin.core.warnings.outbox import DeliveryStatus, Notification  # noqa: E402
from tocsin.core.warnings.silences import Silence  # noqa: E402


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One committed audit record of a warning transition, in commit-safe order."""

    id: int
    warning_id: str
    kind: str
    at: datetime
    actor: str
    reason: str


class AlertingSession(Protocol):
    """One transaction over the warning tables and the pipeline's own tables."""

    @property
    def base(self) -> StoreSession:
        """The foundation store session on the same transaction."""

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records together with the session's other writes."""

    def read_feed(self, limit: int) -> list[FeedRow]:
        """Warning transitions committed since the last `advance_feed`, oldest first."""

    def advance_feed(self, processed: Sequence[int]) -> None:
        """Record audit ids as processed (together with what processing them wrote)."""

    def warnings_by_ids(self, ids: Sequence[str]) -> dict[str, Warning]:
        """Warnings by id (missing ids are left out)."""

    def open_warnings_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings whose region is one of `regions`."""

    def get_group(self, group_id: str) -> AggregationGroup | None:
        """One aggregation group."""

    def save_group(self, group: AggregationGroup) -> None:
        """Insert or update a group."""

    def delete_group(self, group_id: str) -> None:
        """Forget a finished group and its members."""

    def add_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Add warnings to a group (already present ones are ignored)."""

    def remove_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Remove warnings from a group."""

    def members(self, group_id: str) -> list[str]:
        """Warning ids of a group."""

    def groups_of(self, warning_id: str) -> list[str]:
        """Ids of the groups a warning belongs to."""

    def get_groups(self, group_ids: Sequence[str]) -> dict[str, AggregationGroup]:
        """Groups by id (missing ones left out)."""

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member warning ids of several groups."""

    def groups_of_many(self, warning_ids: Sequence[str]) -> dict[str, set[str]]:
        """The groups each warning belongs to."""

    def due_groups(self, now: datetime, limit: int) -> list[AggregationGroup]:
        """Groups whose next evaluation is due."""

    def next_group_due(self) -> datetime | None:
        """The earliest next evaluation of any group."""

    def get_escalation(self, warning_id: str) -> Escalation | None:
        """The escalation of a warning."""

    def save_escalation(self, escalation: Escalation) -> None:
        """Insert or update an escalation."""

    def due_escalations(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations with a due step."""

    def save_silence(self, silence: Silence, *, new: bool) -> None:
        """Insert or update a silence."""

    def get_silence(self, silence_id: str) -> Silence | None:
        """One silence."""

    def list_silences(self, *, now: datetime, include_expired: bool) -> list[Silence]:
        """Silences (not yet expired ones unless `include_expired`), newest first."""

    def silences_to_notice_expiry(self, now: datetime) -> list[Silence]:
        """Silences that have ended and whose expiry has not been notified."""

    def mark_expiry_noticed(self, silence_id: str) -> None:
        """Remember that a silence's expiry was notified."""

    def add_notifications(self, notifications: Sequence[Notification]) -> int:
        """Write notifications to the outbox (existing keys are kept); return how many are new."""

    def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications whose next attempt is due, oldest first."""

    def mark_notification(
        self,
        key: str,
        *,
        status: DeliveryStatus,
        attempts: int,
        next_attempt_at: datetime | None,
        delivered_at: datetime | None,
        error: str | None,
    ) -> None:
        """Record the outcome of a delivery attempt."""

    def list_notifications(
        self, *, warning_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Notification]:
        """The notification log, newest first."""


class AlertingStore(Protocol):
    """Transactional storage of the warning pipeline."""

    def transaction(self) -> AbstractContextManager[AlertingSession]:
        """A session: reads as it goes; its writes commit together at its end, or not at all."""

    def claim_notifications(
        self,
        now: datetime,
        *,
        until: datetime,
        limit: int,
        channels: Sequence[str] | None = None,
    ) -> list[Notification]:
        """Take due pending notifications for this worker: their next attempt moves to `until`
        and their attempt count goes up by one (returned as claimed)."""


class Notifier(Protocol):
    """Hands one notification to its channel; raises DeliveryError when it did not arrive."""

    def send(self, notification: Notification) -> None:
        """Deliver (webhook POST, SMTP message) with the notification's idempotency key."""
