"""Incidents in memory (links are part of the record)."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.adapters.storage.memory.state import MemoryState
from tocsin.adapters.storage.placement import is_placed_within
from tocsin.core.errors import Conflict
from tocsin.core.incidents.model import Incident, Link, LinkKind
from tocsin.ports.incidents import IncidentFilter


def _matches(x: Incident, query: IncidentFilter) -> bool:
    return (
        (x.is_open or not query.open_only)
        and (not query.states or x.state.value in query.states)
        and is_placed_within(x.region, x.domain, query)
    )


class MemoryIncidents:
    """The IncidentStore port in one transaction."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def get(self, incident_id: str) -> Incident | None:
        """One incident."""
        return self.state.incidents.get(incident_id)

    def by_ids(self, ids: Sequence[str]) -> dict[str, Incident]:
        """Incidents by id."""
        return {i: self.state.incidents[i] for i in ids if i in self.state.incidents}

    def save(self, incidents: Sequence[Incident], *, new: bool) -> None:
        """Insert or update incidents; Conflict if a key would be open twice."""
        for x in incidents:
            if x.key is not None and x.is_open:
                other = self.open_by_keys([x.key]).get(x.key)
                if other is not None and other.id != x.id:
                    raise Conflict(f"an incident with key {x.key!r} is already open")
            self.state.incidents[x.id] = x

    def open_by_keys(self, keys: Sequence[str]) -> dict[str, Incident]:
        """The open incident of each key."""
        wanted = set(keys)
        return {
            x.key: x
            for x in self.state.incidents.values()
            if x.key is not None and x.key in wanted and x.is_open
        }

    def linked_to(
        self, kind: str, refs: Sequence[str], *, open_only: bool
    ) -> dict[str, list[Incident]]:
        """For each ref, the incidents linking it (oldest first)."""
        out: dict[str, list[Incident]] = {}
        ordered = sorted(self.state.incidents.values(), key=lambda x: (x.opened_at, x.id))
        for ref in dict.fromkeys(refs):
            link = Link(LinkKind(kind), ref)
            found = [x for x in ordered if link in x.links and (x.is_open or not open_only)]
            if found:
                out[ref] = found
        return out

    def find(self, query: IncidentFilter) -> list[Incident]:
        """Incidents by filter, newest first."""
        found = [x for x in self.state.incidents.values() if _matches(x, query)]
        found.sort(key=lambda x: x.id)
        found.sort(key=lambda x: x.opened_at, reverse=True)
        return found[: query.limit]

    def with_prefix(self, prefix: str, *, limit: int) -> list[Incident]:
        """Incidents whose id starts with `prefix`, by id."""
        found = sorted(i for i in self.state.incidents if i.startswith(prefix))
        return [self.state.incidents[i] for i in found[:limit]]
