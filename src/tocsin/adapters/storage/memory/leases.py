"""Leases in memory: compare-and-set on the state, fences checked when the transaction ends
(transactions are serial, so the check and the commit are one step)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.core.errors import NotOwner
from tocsin.core.leases import Lease


class MemoryLeases:
    """The LeaseStore (and LeaseFence) port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state
        self.fences: list[tuple[str, Lease | None]] = []

    def current(self, name: str) -> Lease | None:
        """The stored lease `name`."""
        return self.state.leases.get(name)

    def named(self, prefix: str) -> list[Lease]:
        """The stored leases whose names start with `prefix`, by name."""
        return [
            lease for name, lease in sorted(self.state.leases.items()) if name.startswith(prefix)
        ]

    def remove_expired(self, prefix: str, *, before: datetime) -> int:
        """Delete the named leases that expired before `before`."""
        gone = [
            name
            for name, lease in self.state.leases.items()
            if name.startswith(prefix) and lease.expires_at < before
        ]
        for name in gone:
            del self.state.leases[name]
        return len(gone)

    def replace(self, lease: Lease, *, expected: Lease | None) -> bool:
        """Store `lease` if the stored one is still `expected`."""
        if self.state.leases.get(lease.name) != expected:
            return False
        self.state.leases[lease.name] = lease
        return True

    def fence(self, name: str, lease: Lease | None) -> None:
        """Checked by `enforce` when the transaction ends."""
        self.fences.append((name, lease))

    def enforce(self, *, wrote: Callable[[], bool]) -> None:
        """Raise NotOwner unless every fenced lease is still stored as it was given (a
        transaction fenced without a lease may only read: `wrote()` tells)."""
        for name, lease in self.fences:
            stored = self.state.leases.get(name)
            if lease is None:
                if not wrote():
                    continue
                raise NotOwner(f"this process does not hold the {name} lease; nothing was stored")
            if stored is None or (stored.holder.id, stored.token) != (lease.holder.id, lease.token):
                raise NotOwner(
                    f"this process lost the {name} lease (token {lease.token}) to another; "
                    "nothing was stored"
                )
