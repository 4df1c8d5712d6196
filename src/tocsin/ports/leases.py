"""Port: leases (one owner per named piece of shared state) and the fence on writes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from tocsin.core.leases import Lease


class LeaseFence(Protocol):
    """The fence on one transaction's writes."""

    def fence(self, name: str, lease: Lease | None) -> None:
        """Let this transaction's writes commit only while `lease` is the stored lease `name`
        (same holder, same token); otherwise it fails with `NotOwner` and nothing is written.
        With `lease` None (this process holds none) a transaction that writes fails. Checked
        when the transaction commits, atomically with the commit."""


class LeaseStore(LeaseFence, Protocol):
    """Leases by name, each changed only by compare-and-set."""

    def current(self, name: str) -> Lease | None:
        """The stored lease `name`, if any (expired or not)."""

    def named(self, prefix: str) -> list[Lease]:
        """The stored leases whose names start with `prefix` (expired or not), by name."""

    def remove_expired(self, prefix: str, *, before: datetime) -> int:
        """Delete the leases whose names start with `prefix` and that expired before `before`
        (a stopped worker's membership); how many."""

    def replace(self, lease: Lease, *, expected: Lease | None) -> bool:
        """Store `lease` if the stored lease of its name is still `expected` (None: none is
        stored); False, and nothing changed, when another process changed it first."""


class Ownership(Protocol):
    """A process's claim on a lease, as the work done under it sees it."""

    @property
    def name(self) -> str:
        """The lease's name."""

    def require(self) -> Lease:
        """The lease while this process holds it; NotOwner (or Unavailable) otherwise."""

    def lost(self, lease: Lease) -> None:
        """A fenced write found `lease` no longer current."""
