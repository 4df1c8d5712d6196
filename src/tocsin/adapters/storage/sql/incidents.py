"""Incidents on SQL, with their links; at most one open incident per key (a partial unique
index). Saves are deferred to the end of the session (the response's sessions are the warning
pipeline's kind)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from tocsin.adapters.storage import incident_tables as it
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.lookups import rows_in
from tocsin.adapters.storage.sql.warning_search import placed_within, prefix_bound
from tocsin.adapters.storage.times import aware, must
from tocsin.core.errors import Conflict
from tocsin.core.incidents.model import (
    Incident,
    IncidentId,
    IncidentState,
    Link,
    LinkKind,
    ResponseLevel,
    incident_fields,
)
from tocsin.core.levels import Level
from tocsin.ports.incidents import IncidentFilter

CLOSED = IncidentState.CLOSED.value


class SqlIncidents:
    """The IncidentStore port in one session."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue

    def get(self, incident_id: str) -> Incident | None:
        """One incident."""
        return self.by_ids([incident_id]).get(incident_id)

    def by_ids(self, ids: Sequence[str]) -> dict[str, Incident]:
        """Incidents by id."""
        i = it.incidents
        return self._with_links(list(rows_in(self.conn, select(i), column=i.c.id, keys=ids)))

    def _with_links(self, rows: Sequence[Mapping[Any, Any]]) -> dict[str, Incident]:
        links: dict[str, set[Link]] = {r["id"]: set() for r in rows}
        lk = it.incident_links
        for r in rows_in(self.conn, select(lk), column=lk.c.incident_id, keys=list(links)):
            links[r["incident_id"]].add(Link(LinkKind(r["kind"]), r["ref"]))
        return {r["id"]: incident_of(r, frozenset(links[r["id"]])) for r in rows}

    def save(self, incidents: Sequence[Incident], *, new: bool) -> None:
        """Insert or update incidents and their links (when the session ends)."""
        if incidents:
            self.queue.defer(partial(self._save, list(incidents), new=new))

    def _save(self, incidents: list[Incident], *, new: bool) -> None:
        i, lk = it.incidents, it.incident_links
        try:
            for incident in incidents:
                row = incident_row(incident)
                if new:
                    self.conn.execute(insert(i), [row])
                else:
                    self.conn.execute(update(i).where(i.c.id == incident.id).values(**row))
        except IntegrityError as err:
            raise Conflict(f"an incident with key {incidents[0].key!r} is already open") from err
        ids = [x.id for x in incidents]
        self.conn.execute(delete(lk).where(lk.c.incident_id.in_(ids)))
        links = [
            {"incident_id": x.id, "kind": link.kind.value, "ref": link.ref}
            for x in incidents
            for link in sorted(x.links)
        ]
        if links:
            self.conn.execute(insert(lk), links)

    def open_by_keys(self, keys: Sequence[str]) -> dict[str, Incident]:
        """The open incident of each key."""
        i = it.incidents
        query = select(i).where(i.c.state != CLOSED)
        found = self._with_links(list(rows_in(self.conn, query, column=i.c.key, keys=keys)))
        return {x.key: x for x in found.values() if x.key is not None}

    def linked_to(
        self, kind: str, refs: Sequence[str], *, open_only: bool
    ) -> dict[str, list[Incident]]:
        """For each ref, the incidents linking it (oldest first)."""
        lk = it.incident_links
        pairs = [
            (r["ref"], r["incident_id"])
            for r in rows_in(
                self.conn, select(lk).where(lk.c.kind == kind), column=lk.c.ref, keys=refs
            )
        ]
        incidents = self.by_ids([p[1] for p in pairs])
        out: dict[str, list[Incident]] = {}
        for ref, ident in sorted(pairs):
            found = incidents.get(ident)
            if found is not None and (found.is_open or not open_only):
                out.setdefault(ref, []).append(found)
        for found_list in out.values():
            found_list.sort(key=lambda x: (x.opened_at, x.id))
        return out

    def find(self, query: IncidentFilter) -> list[Incident]:
        """Incidents by filter, newest first."""
        i = it.incidents
        stmt = select(i)
        if query.open_only:
            stmt = stmt.where(i.c.state != CLOSED)
        if query.states:
            stmt = stmt.where(i.c.state.in_(list(query.states)))
        stmt = placed_within(stmt, i, query)
        stmt = stmt.order_by(i.c.opened_at.desc(), i.c.id).limit(query.limit)
        rows = list(self.conn.execute(stmt).mappings())
        found = self._with_links(rows)
        return [found[r["id"]] for r in rows]

    def with_prefix(self, prefix: str, *, limit: int) -> list[Incident]:
        """Incidents whose id starts with `prefix` (a range over the primary key)."""
        i = it.incidents
        stmt = select(i).order_by(i.c.id).limit(limit)
        if prefix:
            stmt = stmt.where(i.c.id >= prefix, i.c.id < prefix_bound(prefix))
        rows = list(self.conn.execute(stmt).mappings())
        found = self._with_links(rows)
        return [found[r["id"]] for r in rows if r["id"].startswith(prefix)]


def incident_row(x: Incident) -> dict[str, Any]:
    """The columns of an incident (links go to their own table)."""
    return incident_fields(x)


def incident_of(r: Mapping[Any, Any], links: frozenset[Link]) -> Incident:
    """An incident from its row and links."""
    return Incident(
        id=IncidentId(r["id"]),
        title=r["title"],
        region=r["region"],
        domain=r["domain"],
        state=IncidentState(r["state"]),
        opened_at=must(r["opened_at"]),
        updated_at=must(r["updated_at"]),
        key=r["key"],
        plan=r["plan"],
        plan_level=Level(r["plan_level"]) if r["plan_level"] else None,
        response_level=ResponseLevel(r["response_level"]) if r["response_level"] else None,
        lead_unit=r["lead_unit"],
        links=links,
        activated_at=aware(r["activated_at"]),
        stand_down_proposed_at=aware(r["stand_down_proposed_at"]),
        stood_down_at=aware(r["stood_down_at"]),
        closed_at=aware(r["closed_at"]),
        merged_into=IncidentId(r["merged_into"]) if r["merged_into"] else None,
    )
