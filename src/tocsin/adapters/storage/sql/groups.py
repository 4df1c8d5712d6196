"""Aggregation groups and their members on SQL, coalesced into a few statements per session.

Membership changes are visible to the session at once (overlaid on what is stored); group
upserts and membership changes are written together when the session ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, select

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.adapters.storage.sql.lookups import CHUNK, rows_in
from tocsin.adapters.storage.times import aware, must
from tocsin.core.warnings.grouping import AggregationGroup, GroupState

_GROUPS = DriverTable(at.alert_groups)
# a group written whole: inserted, or every column but its id replaced (SQLite and PostgreSQL)
_UPSERT = DriverStatement(
    _GROUPS.insert.sql
    + " ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in _GROUPS.written if c != "id")
)
_ADD_MEMBERS = DriverStatement(
    "INSERT INTO alert_group_members (group_id, warning_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
)


class SqlGroups:
    """The GroupStore port in one pipeline session."""

    def __init__(self, conn: Connection, *, queue: WriteQueue) -> None:
        self.conn = conn
        self.queue = queue
        self.added: dict[str, set[str]] = {}  # group -> warnings (pending)
        self.removed: dict[str, set[str]] = {}
        self.saves: dict[str, AggregationGroup] = {}
        self.deleted: set[str] = set()  # forgotten (with their members) before the rest
        queue.batched.append(self)

    @property
    def has_writes(self) -> bool:
        """True when deletions, membership changes or group saves are held."""
        held = any(self.added.values()) or any(self.removed.values())
        return bool(self.saves or self.deleted or held)

    def get_many(self, group_ids: Sequence[str]) -> dict[str, AggregationGroup]:
        """Groups by id (missing ones left out), as this session has saved or deleted them."""
        g = at.alert_groups
        wanted = [i for i in group_ids if i not in self.saves and i not in self.deleted]
        rows = rows_in(self.conn, select(g), column=g.c.id, keys=wanted)
        found = {r["id"]: _group(r) for r in rows}
        found.update({i: self.saves[i] for i in group_ids if i in self.saves})
        return found

    def save(self, group: AggregationGroup) -> None:
        """Insert or update a group (one upsert for all a session saves)."""
        self.saves[group.id] = group

    def delete(self, group_id: str) -> None:
        """Forget a group and its members (all of a session's deletions in two statements,
        before its other group writes)."""
        self.saves.pop(group_id, None)
        self.added.pop(group_id, None)
        self.removed.pop(group_id, None)
        self.deleted.add(group_id)

    def add_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Add members (written when the session ends; visible at once)."""
        self.added.setdefault(group_id, set()).update(warning_ids)
        self.removed.get(group_id, set()).difference_update(warning_ids)

    def remove_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Remove members (written when the session ends; visible at once)."""
        self.removed.setdefault(group_id, set()).update(warning_ids)
        self.added.get(group_id, set()).difference_update(warning_ids)

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member warning ids of several groups."""
        m = at.alert_group_members
        found: dict[str, set[str]] = {gid: set() for gid in group_ids}
        for r in rows_in(self.conn, select(m), column=m.c.group_id, keys=group_ids):
            found[r["group_id"]].add(r["warning_id"])
        for gid, members in found.items():
            if gid in self.deleted:
                members.clear()
            members |= self.added.get(gid, set())
            members -= self.removed.get(gid, set())
        return {gid: sorted(ws) for gid, ws in found.items()}

    def groups_of(self, warning_ids: Sequence[str]) -> dict[str, set[str]]:
        """The groups each warning belongs to."""
        m = at.alert_group_members
        found: dict[str, set[str]] = {w: set() for w in warning_ids}
        for r in rows_in(self.conn, select(m), column=m.c.warning_id, keys=warning_ids):
            if r["group_id"] not in self.deleted:
                found[r["warning_id"]].add(r["group_id"])
        for gid, ws in self.added.items():
            for w in ws & found.keys():
                found[w].add(gid)
        for gid, ws in self.removed.items():
            for w in ws & found.keys():
                found[w].discard(gid)
        return found

    def due(self, now: datetime, limit: int) -> list[AggregationGroup]:
        """Groups due for evaluation, earliest first."""
        g = at.alert_groups
        rows = self.conn.execute(
            select(g)
            .where(g.c.next_flush_at.is_not(None), g.c.next_flush_at <= now)
            .order_by(g.c.next_flush_at)
            .limit(limit)
        ).mappings()
        return [_group(r) for r in rows]

    def next_due(self) -> datetime | None:
        """Earliest next evaluation."""
        return aware(self.conn.execute(select(func.min(at.alert_groups.c.next_flush_at))).scalar())

    def flush(self) -> None:
        """Write the deletions, the membership changes and the group upserts."""
        m = at.alert_group_members
        if self.deleted:
            ids = sorted(self.deleted)
            for i in range(0, len(ids), CHUNK):
                chunk = ids[i : i + CHUNK]
                self.conn.execute(delete(m).where(m.c.group_id.in_(chunk)))
                self.conn.execute(delete(at.alert_groups).where(at.alert_groups.c.id.in_(chunk)))
        gone = [{"g": g, "w": w} for g, ws in self.removed.items() for w in sorted(ws)]
        if gone:
            match = (m.c.group_id == bindparam("g")) & (m.c.warning_id == bindparam("w"))
            self.conn.execute(delete(m).where(match), gone)
        drv = Driver(self.conn)  # the writes of every pipeline session: on the driver
        new = [(g, w) for g, ws in self.added.items() for w in sorted(ws)]
        if new:
            drv.run_many(_ADD_MEMBERS, new)
        if self.saves:
            rows = [_group_row(g) for g in self.saves.values()]
            drv.run_many(_UPSERT, [_GROUPS.values(drv, r, _GROUPS.written) for r in rows])
        self.added, self.removed, self.saves, self.deleted = {}, {}, {}, set()


def _group_row(group: AggregationGroup) -> dict[str, Any]:
    st = group.state
    return {
        "id": group.id,
        "route_id": group.route_id,
        "receiver": group.receiver,
        "labels": dict(group.labels),
        "created_at": st.created_at,
        "next_flush_at": st.next_flush_at,
        "last_flush_at": st.last_flush_at,
        "last_notified_at": st.last_notified_at,
        "notified": dict(st.notified),
    }


def _group(r: Mapping[Any, Any]) -> AggregationGroup:
    state = GroupState(
        created_at=must(r["created_at"]),
        next_flush_at=aware(r["next_flush_at"]),
        last_flush_at=aware(r["last_flush_at"]),
        last_notified_at=aware(r["last_notified_at"]),
        notified=dict(r["notified"]),
    )
    return AggregationGroup(r["id"], r["route_id"], r["receiver"], dict(r["labels"]), state)
