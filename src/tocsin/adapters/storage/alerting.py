"""SqlAlertingStore: the AlertingStore port on SQLAlchemy Core (SQLite and PostgreSQL).

The dispatcher reads warning transitions from the audit log, which every warning transition is
appended to in the transaction that made it. Reading a log by increasing id is only safe if ids
become visible in order. On SQLite they do (one writer at a time, ids assigned under the write
lock). On PostgreSQL a sequence value can become visible after a higher one, so the feed keeps
the ids above its position it has already processed, and treats a missing id (a gap) as final
only once every transaction that was running when the gap was first seen has ended (the
snapshot's xmin has passed the xmax recorded then): the gap was a rollback, or its row is
visible by then.

Writes are buffered: a session reads as it goes and performs all its writes together when it
ends, in one transaction. On SQLite, where one writer at a time holds the database lock and the
ingest path holds it for most of each batch, the session takes the lock with `BEGIN IMMEDIATE`
only for that final burst, polling for it every half millisecond (SQLite's own busy handler
sleeps up to 100 ms between tries, which starves a second writer). The pipeline's SQLite engine
is its own (same file, no connection pool). Reads inside a session do not
see the session's own pending writes, except group membership, which is overlaid in memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Text,
    bindparam,
    cast,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.sql import SqlSession, _warning_from_row
from tocsin.adapters.storage.times import aware, must
from tocsin.core.audit import AuditRecord
from tocsin.core.warnings.escalation import Escalation, EscalationSnapshot
from tocsin.core.warnings.grouping import AggregationGroup, GroupState
from tocsin.core.warnings.model import Warning, WarningState
from tocsin.core.warnings.outbox import (
    Channel,
    DeliveryStatus,
    Notification,
    NotificationKind,
    PayloadFormat,
)
from tocsin.core.warnings.selectors import selector_from_json, selector_to_json
from tocsin.core.warnings.silences import Silence, SilenceId
from tocsin.ports import FeedRow

FEED = "warnings"


@dataclass
class _Gaps:
    """Gaps seen in the audit ids (PostgreSQL): id -> snapshot xmax when first seen."""

    seen: dict[int, int] = field(default_factory=dict)


LOCK_POLL_S = 0.0005
LOCK_WAIT_S = 60.0
READ_BUSY_MS = 5000  # reads (and statements inside the held lock) wait with SQLite's handler


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()  # journal_mode=WAL is set (persistently) by the main engine
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout = {READ_BUSY_MS}")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock, polling briefly instead of SQLite's coarse busy sleeps."""
    deadline = time.monotonic() + LOCK_WAIT_S
    conn.exec_driver_sql("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as err:
                locked = "locked" in str(err) or "busy" in str(err)
                if not locked or time.monotonic() > deadline:
                    raise
                time.sleep(LOCK_POLL_S)
    finally:
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {READ_BUSY_MS}")


class SqlAlertingStore:
    """Transactional storage of the warning pipeline over one engine."""

    def __init__(self, engine: Engine) -> None:
        self._gaps = _Gaps()
        self.sqlite = engine.dialect.name == "sqlite"
        if self.sqlite:
            self.engine = create_engine(
                engine.url,
                connect_args={"timeout": READ_BUSY_MS / 1000, "check_same_thread": False},
                poolclass=NullPool,
            )
            event.listen(self.engine, "connect", _pragmas)
        else:
            self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[SqlAlertingSession]:
        """A session: reads as it goes, then all its writes in one short transaction."""
        with self.engine.connect() as conn:
            session = SqlAlertingSession(conn, self._gaps)
            try:
                yield session
                if self.sqlite:
                    conn.rollback()  # end the reads' implicit transaction, if any
                    if session.has_writes:
                        _begin_immediate(conn)
                session.flush()
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    def claim_notifications(
        self,
        now: datetime,
        *,
        until: datetime,
        limit: int,
        channels: Sequence[str] | None = None,
    ) -> list[Notification]:
        """Claim due notifications for one worker (atomically; safe with several workers)."""
        n = at.notifications
        stmt = (
            select(n)
            .where(n.c.status == DeliveryStatus.PENDING.value, n.c.next_attempt_at <= now)
            .order_by(n.c.next_attempt_at, n.c.created_at)
            .limit(limit)
        )
        if channels is not None:
            stmt = stmt.where(n.c.channel.in_(list(channels)))
        with self.engine.connect() as conn:
            if self.sqlite:
                due = [_notification(r) for r in conn.execute(stmt).mappings()]
                conn.rollback()
                if not due:
                    return []
                _begin_immediate(conn)
            else:
                due = [
                    _notification(r)
                    for r in conn.execute(stmt.with_for_update(skip_locked=True)).mappings()
                ]
            claimed = []
            for c in due:
                done = conn.execute(
                    update(n)
                    .where(
                        n.c.key == c.key,
                        n.c.status == DeliveryStatus.PENDING.value,
                        n.c.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=until, attempts=c.attempts + 1)
                )
                if done.rowcount == 1:
                    claimed.append(replace(c, attempts=c.attempts + 1, next_attempt_at=until))
            conn.commit()
        return claimed


def _buffered(method: Callable[..., Any]) -> Callable[..., Any]:
    """Queue a write until the session ends (runs at once while the session flushes)."""

    def wrapper(self: SqlAlertingSession, *args: Any, **kwargs: Any) -> Any:
        if self.flushing:
            return method(self, *args, **kwargs)
        self.pending.append((method, args, kwargs))
        return None

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    return wrapper


@dataclass
class SqlAlertingSession:
    """Pipeline operations inside one session (reads now, writes buffered)."""

    conn: Connection
    gaps: _Gaps
    pending: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=list
    )
    flushing: bool = False
    added: dict[str, set[str]] = field(default_factory=dict)  # group -> warnings (pending)
    removed: dict[str, set[str]] = field(default_factory=dict)
    group_saves: dict[str, AggregationGroup] = field(default_factory=dict)
    new_notifications: list[Notification] = field(default_factory=list)
    marks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_writes(self) -> bool:
        """True when the session has anything to write."""
        return bool(
            self.pending
            or any(self.added.values())
            or any(self.removed.values())
            or self.group_saves
            or self.new_notifications
            or self.marks
        )

    def flush(self) -> None:
        """Perform the buffered writes: queued ones in order, then the coalesced batches."""
        self.flushing = True
        try:
            for method, args, kwargs in self.pending:
                method(self, *args, **kwargs)
            self._apply_members()
            self._upsert_groups()
            self._insert_notifications()
            self._apply_marks()
        finally:
            self.pending.clear()
            self.flushing = False

    @property
    def base(self) -> SqlSession:
        """The foundation session on the same connection (use it for reads)."""
        return SqlSession(self.conn)

    @property
    def _pg(self) -> bool:
        return self.conn.dialect.name == "postgresql"

    @_buffered
    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append audit records (with the session's other writes)."""
        SqlSession(self.conn).append_audit(records)

    # -- feed --------------------------------------------------------------------------------
    def _feed_state(self) -> tuple[int, set[int]]:
        row = self.conn.execute(
            select(at.alert_feed.c.position, at.alert_feed.c.done_above).where(
                at.alert_feed.c.name == FEED
            )
        ).first()
        if row is None:
            return 0, set()
        return int(row.position), {int(x) for x in row.done_above}

    def read_feed(self, limit: int) -> list[FeedRow]:
        """Warning transitions not yet processed, by id."""
        position, done = self._feed_state()
        a = t.audit_log
        rows = self.conn.execute(
            select(a.c.id, a.c.subject_id, a.c.kind, a.c.at, a.c.actor, a.c.reason)
            .where(a.c.id > position, a.c.subject_type == "warning")
            .order_by(a.c.id)
            .limit(limit + len(done))
        ).all()
        return [
            FeedRow(int(r.id), r.subject_id, r.kind, must(r.at), r.actor, r.reason)
            for r in rows
            if int(r.id) not in done
        ][:limit]

    @_buffered
    def advance_feed(self, processed: Sequence[int]) -> None:
        """Mark ids processed and move the position over every id that can no longer appear."""
        position, done = self._feed_state()
        done |= {int(i) for i in processed}
        if not done:
            return
        top = max(done)
        a = t.audit_log
        present = {
            int(r[0]): r[1]
            for r in self.conn.execute(
                select(a.c.id, a.c.subject_type).where(a.c.id > position, a.c.id <= top)
            ).all()
        }
        horizon = self._horizon()
        while position < top:
            nxt = position + 1
            if nxt in done:
                done.discard(nxt)
            elif nxt in present:
                if present[nxt] == "warning":
                    break  # committed but not processed yet
            elif not self._gap_is_final(nxt, horizon):
                break
            position = nxt
        self._save_feed(position, done)

    def _horizon(self) -> tuple[int, int] | None:
        if not self._pg:
            return None
        row = self.conn.execute(
            select(
                func.pg_snapshot_xmin(func.pg_current_snapshot()).cast(Text),
                func.pg_snapshot_xmax(func.pg_current_snapshot()).cast(Text),
            )
        ).one()
        return int(row[0]), int(row[1])

    def _gap_is_final(self, ident: int, horizon: tuple[int, int] | None) -> bool:
        if horizon is None:
            return True  # SQLite: ids become visible in order, a gap is a rollback
        xmin, xmax = horizon
        first_seen = self.gaps.seen.setdefault(ident, xmax)
        if xmin >= first_seen:
            self.gaps.seen.pop(ident, None)
            return True
        return False

    def _save_feed(self, position: int, done: set[int]) -> None:
        values = {"position": position, "done_above": sorted(x for x in done if x > position)}
        exists = self.conn.execute(
            select(at.alert_feed.c.name).where(at.alert_feed.c.name == FEED)
        ).first()
        if exists:
            self.conn.execute(
                update(at.alert_feed).where(at.alert_feed.c.name == FEED).values(**values)
            )
        else:
            self.conn.execute(insert(at.alert_feed), [{"name": FEED, **values}])

    # -- warnings ----------------------------------------------------------------------------
    def warnings_by_ids(self, ids: Sequence[str]) -> dict[str, Warning]:
        """Warnings by id."""
        if not ids:
            return {}
        out: dict[str, Warning] = {}
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), 500):
            rows = self.conn.execute(
                select(t.warnings).where(t.warnings.c.id.in_(unique[i : i + 500]))
            ).mappings()
            out.update({r["id"]: _warning_from_row(r) for r in rows})
        return out

    def open_warnings_in_regions(self, regions: Sequence[str]) -> list[Warning]:
        """Open warnings in any of the regions."""
        if not regions:
            return []
        w = t.warnings
        rows = self.conn.execute(
            select(w).where(
                w.c.region.in_(list(dict.fromkeys(regions))),
                w.c.state != WarningState.LIFTED.value,
            )
        ).mappings()
        return [_warning_from_row(r) for r in rows]

    # -- groups ------------------------------------------------------------------------------
    def get_group(self, group_id: str) -> AggregationGroup | None:
        """One group."""
        row = (
            self.conn.execute(select(at.alert_groups).where(at.alert_groups.c.id == group_id))
            .mappings()
            .first()
        )
        return _group(row) if row else None

    def save_group(self, group: AggregationGroup) -> None:
        """Insert or update a group (one upsert for all a session saves)."""
        self.group_saves[group.id] = group

    def _upsert_groups(self) -> None:
        if not self.group_saves:
            return
        rows = []
        for group in self.group_saves.values():
            st = group.state
            rows.append(
                {
                    "id": group.id,
                    "route_id": group.route_id,
                    "receiver": group.receiver,
                    "labels": dict(group.labels),
                    "created_at": st.created_at,
                    "next_flush_at": st.next_flush_at,
                    "last_flush_at": st.last_flush_at,
                    "last_notified_at": st.last_notified_at,
                    "notified": dict(st.notified),
                    "flushes": group.flushes,
                }
            )
        stmt: Any = (pg_insert if self._pg else sqlite_insert)(at.alert_groups)
        columns = [c for c in rows[0] if c != "id"]
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"], set_={c: getattr(stmt.excluded, c) for c in columns}
        )
        self.conn.execute(stmt, rows)

    def delete_group(self, group_id: str) -> None:
        """Forget a group and its members."""
        self.group_saves.pop(group_id, None)
        self.added.pop(group_id, None)
        self.removed.pop(group_id, None)
        self._delete_group(group_id)

    @_buffered
    def _delete_group(self, group_id: str) -> None:
        m = at.alert_group_members
        self.conn.execute(delete(m).where(m.c.group_id == group_id))
        self.conn.execute(delete(at.alert_groups).where(at.alert_groups.c.id == group_id))

    def add_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Add members (pending until the session ends; visible to members/groups_of)."""
        if not warning_ids:
            return
        self.added.setdefault(group_id, set()).update(warning_ids)
        self.removed.get(group_id, set()).difference_update(warning_ids)

    def remove_members(self, group_id: str, warning_ids: Sequence[str]) -> None:
        """Remove members (pending until the session ends; visible to members/groups_of)."""
        if not warning_ids:
            return
        self.removed.setdefault(group_id, set()).update(warning_ids)
        self.added.get(group_id, set()).difference_update(warning_ids)

    def _apply_members(self) -> None:
        m = at.alert_group_members
        gone = [{"g": g, "w": w} for g, ws in self.removed.items() for w in sorted(ws)]
        if gone:
            self.conn.execute(
                delete(m).where(m.c.group_id == bindparam("g"), m.c.warning_id == bindparam("w")),
                gone,
            )
        new = [{"group_id": g, "warning_id": w} for g, ws in self.added.items() for w in sorted(ws)]
        if new:
            stmt: Any = (pg_insert if self._pg else sqlite_insert)(m)
            self.conn.execute(stmt.on_conflict_do_nothing(), new)

    def members(self, group_id: str) -> list[str]:
        """Member warning ids."""
        m = at.alert_group_members
        stored = {
            r[0] for r in self.conn.execute(select(m.c.warning_id).where(m.c.group_id == group_id))
        }
        stored |= self.added.get(group_id, set())
        stored -= self.removed.get(group_id, set())
        return sorted(stored)

    def groups_of(self, warning_id: str) -> list[str]:
        """Groups holding a warning."""
        m = at.alert_group_members
        stored = {
            r[0]
            for r in self.conn.execute(select(m.c.group_id).where(m.c.warning_id == warning_id))
        }
        stored |= {g for g, ws in self.added.items() if warning_id in ws}
        stored -= {g for g, ws in self.removed.items() if warning_id in ws}
        return sorted(stored)

    def get_groups(self, group_ids: Sequence[str]) -> dict[str, AggregationGroup]:
        """Groups by id (missing ones left out)."""
        out: dict[str, AggregationGroup] = {}
        ids = list(dict.fromkeys(group_ids))
        g = at.alert_groups
        for i in range(0, len(ids), 500):
            rows = self.conn.execute(select(g).where(g.c.id.in_(ids[i : i + 500]))).mappings()
            out.update({r["id"]: _group(r) for r in rows})
        return out

    def members_of(self, group_ids: Sequence[str]) -> dict[str, list[str]]:
        """Member warning ids of several groups."""
        m = at.alert_group_members
        found: dict[str, set[str]] = {gid: set() for gid in group_ids}
        ids = list(dict.fromkeys(group_ids))
        for i in range(0, len(ids), 500):
            rows = self.conn.execute(
                select(m.c.group_id, m.c.warning_id).where(m.c.group_id.in_(ids[i : i + 500]))
            )
            for gid, wid in rows:
                found[gid].add(wid)
        for gid in found:
            found[gid] |= self.added.get(gid, set())
            found[gid] -= self.removed.get(gid, set())
        return {gid: sorted(ws) for gid, ws in found.items()}

    def groups_of_many(self, warning_ids: Sequence[str]) -> dict[str, set[str]]:
        """The groups each warning belongs to."""
        m = at.alert_group_members
        found: dict[str, set[str]] = {w: set() for w in warning_ids}
        ids = list(dict.fromkeys(warning_ids))
        for i in range(0, len(ids), 500):
            rows = self.conn.execute(
                select(m.c.group_id, m.c.warning_id).where(m.c.warning_id.in_(ids[i : i + 500]))
            )
            for gid, wid in rows:
                found[wid].add(gid)
        for gid, ws in self.added.items():
            for w in ws & found.keys():
                found[w].add(gid)
        for gid, ws in self.removed.items():
            for w in ws & found.keys():
                found[w].discard(gid)
        return found

    def due_groups(self, now: datetime, limit: int) -> list[AggregationGroup]:
        """Groups due for evaluation, earliest first."""
        g = at.alert_groups
        rows = self.conn.execute(
            select(g)
            .where(g.c.next_flush_at.is_not(None), g.c.next_flush_at <= now)
            .order_by(g.c.next_flush_at)
            .limit(limit)
        ).mappings()
        return [_group(r) for r in rows]

    def next_group_due(self) -> datetime | None:
        """Earliest next evaluation."""
        return aware(self.conn.execute(select(func.min(at.alert_groups.c.next_flush_at))).scalar())

    # -- escalations -------------------------------------------------------------------------
    def get_escalation(self, warning_id: str) -> Escalation | None:
        """One escalation."""
        e = at.escalations
        row = self.conn.execute(select(e).where(e.c.warning_id == warning_id)).mappings().first()
        return _escalation(row) if row else None

    @_buffered
    def save_escalation(self, escalation: Escalation) -> None:
        """Insert or update an escalation."""
        e = at.escalations
        values = {
            "snapshot": escalation.snapshot.as_json(),
            "progress": escalation.progress,
            "next_due_at": escalation.next_due_at,
            "stopped_at": escalation.stopped_at,
            "stop_reason": escalation.stop_reason,
        }
        done = self.conn.execute(
            update(e).where(e.c.warning_id == escalation.warning_id).values(**values)
        )
        if done.rowcount == 0:
            self.conn.execute(insert(e), [{"warning_id": escalation.warning_id, **values}])

    def due_escalations(self, now: datetime, limit: int) -> list[Escalation]:
        """Running escalations with a due step."""
        e = at.escalations
        rows = self.conn.execute(
            select(e)
            .where(e.c.stopped_at.is_(None), e.c.next_due_at.is_not(None), e.c.next_due_at <= now)
            .order_by(e.c.next_due_at)
            .limit(limit)
        ).mappings()
        return [_escalation(r) for r in rows]

    # -- silences ----------------------------------------------------------------------------
    @_buffered
    def save_silence(self, silence: Silence, *, new: bool) -> None:
        """Insert or update a silence."""
        s = at.silences
        values = {
            "selector": selector_to_json(silence.selector),
            "starts_at": silence.starts_at,
            "ends_at": silence.ends_at,
            "created_by": silence.created_by,
            "reason": silence.reason,
            "created_at": silence.created_at,
            "expired_by": silence.expired_by,
        }
        if new:
            self.conn.execute(insert(s), [{"id": silence.id, "expiry_noticed": False, **values}])
        else:
            self.conn.execute(update(s).where(s.c.id == silence.id).values(**values))

    def get_silence(self, silence_id: str) -> Silence | None:
        """One silence."""
        s = at.silences
        row = self.conn.execute(select(s).where(s.c.id == silence_id)).mappings().first()
        return _silence(row) if row else None

    def list_silences(self, *, now: datetime, include_expired: bool) -> list[Silence]:
        """Silences, newest first."""
        s = at.silences
        stmt = select(s).order_by(s.c.created_at.desc(), s.c.id)
        if not include_expired:
            stmt = stmt.where(s.c.ends_at > now)
        return [_silence(r) for r in self.conn.execute(stmt).mappings()]

    def silences_to_notice_expiry(self, now: datetime) -> list[Silence]:
        """Ended silences whose expiry was not yet notified."""
        s = at.silences
        rows = self.conn.execute(
            select(s).where(s.c.ends_at <= now, s.c.expiry_noticed.is_(False))
        ).mappings()
        return [_silence(r) for r in rows]

    @_buffered
    def mark_expiry_noticed(self, silence_id: str) -> None:
        """Remember the expiry notice."""
        s = at.silences
        self.conn.execute(update(s).where(s.c.id == silence_id).values(expiry_noticed=True))

    # -- outbox ------------------------------------------------------------------------------
    def add_notifications(self, notifications: Sequence[Notification]) -> int:
        """Queue notifications for the outbox (keys already there are kept); returns the count
        queued (how many were new is known only when the session ends)."""
        self.new_notifications.extend(notifications)
        return len(notifications)

    def _insert_notifications(self) -> None:
        if not self.new_notifications:
            return
        rows = [_notification_row(n) for n in self.new_notifications]
        stmt: Any = (pg_insert if self._pg else sqlite_insert)(at.notifications)
        self.conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]), rows)

    def due_notifications(self, now: datetime, limit: int) -> list[Notification]:
        """Pending notifications due now."""
        n = at.notifications
        rows = self.conn.execute(
            select(n)
            .where(n.c.status == DeliveryStatus.PENDING.value, n.c.next_attempt_at <= now)
            .order_by(n.c.next_attempt_at, n.c.created_at)
            .limit(limit)
        ).mappings()
        return [_notification(r) for r in rows]

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
        """Record a delivery attempt (all of a session's in one statement)."""
        self.marks.append(
            {
                "k": key,
                "status": status.value,
                "attempts": attempts,
                "next_attempt_at": next_attempt_at,
                "delivered_at": delivered_at,
                "last_error": error,
            }
        )

    def _apply_marks(self) -> None:
        if not self.marks:
            return
        n = at.notifications
        stmt = (
            update(n)
            .where(n.c.key == bindparam("k"))
            .values(
                status=bindparam("status"),
                attempts=bindparam("attempts"),
                next_attempt_at=bindparam("next_attempt_at"),
                delivered_at=bindparam("delivered_at"),
                last_error=bindparam("last_error"),
            )
        )
        self.conn.execute(stmt, self.marks)

    def list_notifications(
        self, *, warning_id: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Notification]:
        """The log, newest first."""
        n = at.notifications
        stmt = select(n).order_by(n.c.created_at.desc(), n.c.key).limit(limit)
        if warning_id is not None:
            stmt = stmt.where(cast(n.c.warning_ids, Text).like(f'%"{warning_id}"%'))
        if status is not None:
            stmt = stmt.where(n.c.status == status)
        return [_notification(r) for r in self.conn.execute(stmt).mappings()]


def _group(r: Mapping[Any, Any]) -> AggregationGroup:
    state = GroupState(
        created_at=must(r["created_at"]),
        next_flush_at=aware(r["next_flush_at"]),
        last_flush_at=aware(r["last_flush_at"]),
        last_notified_at=aware(r["last_notified_at"]),
        notified=dict(r["notified"]),
    )
    return AggregationGroup(
        r["id"], r["route_id"], r["receiver"], dict(r["labels"]), state, int(r["flushes"])
    )


def _escalation(r: Mapping[Any, Any]) -> Escalation:
    return Escalation(
        r["warning_id"],
        EscalationSnapshot.from_json(dict(r["snapshot"])),
        int(r["progress"]),
        aware(r["next_due_at"]),
        aware(r["stopped_at"]),
        r["stop_reason"],
    )


def _silence(r: Mapping[Any, Any]) -> Silence:
    return Silence(
        id=SilenceId(r["id"]),
        selector=selector_from_json(r["selector"]),
        starts_at=must(r["starts_at"]),
        ends_at=must(r["ends_at"]),
        created_by=r["created_by"],
        reason=r["reason"],
        created_at=must(r["created_at"]),
        expired_by=r["expired_by"],
    )


def _notification_row(n: Notification) -> dict[str, Any]:
    return {
        "key": n.key,
        "kind": n.kind.value,
        "receiver": n.receiver,
        "channel": n.channel.value,
        "address": n.address,
        "format": n.format.value,
        "subject": n.subject,
        "payload": dict(n.payload),
        "warning_ids": list(n.warning_ids),
        "reason": n.reason,
        "created_at": n.created_at,
        "status": n.status.value,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "delivered_at": n.delivered_at,
        "last_error": n.last_error,
    }


def _notification(r: Mapping[Any, Any]) -> Notification:
    return Notification(
        key=r["key"],
        kind=NotificationKind(r["kind"]),
        receiver=r["receiver"],
        channel=Channel(r["channel"]),
        address=r["address"],
        format=PayloadFormat(r["format"]),
        subject=r["subject"],
        payload=r["payload"],
        created_at=must(r["created_at"]),
        warning_ids=tuple(r["warning_ids"]),
        status=DeliveryStatus(r["status"]),
        attempts=int(r["attempts"]),
        next_attempt_at=aware(r["next_attempt_at"]),
        delivered_at=aware(r["delivered_at"]),
        last_error=r["last_error"],
        reason=r["reason"],
    )
