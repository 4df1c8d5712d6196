"""The dispatcher's change feed over the audit log, in commit-safe order.

Every warning transition is appended to the audit log in the transaction that made it. Reading
a log by increasing id is only safe if ids become visible in order. On SQLite they do (one
writer at a time, ids assigned under the write lock). On PostgreSQL a sequence value can become
visible after a higher one, so the feed keeps the ids above its position it has already
processed, and treats a missing id (a gap) as final only once every transaction that was
running when the gap was first seen has ended (the snapshot's xmin has passed the xmax recorded
then): the gap was a rollback, or its row is visible by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from sqlalchemy import Connection, insert, select, update

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage import tables as t
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.times import must
from tocsin.ports.feed import FeedRow

FEED = "warnings"  # the dispatcher's feed; the response reads its own ("response")


@dataclass
class Gaps:
    """Gaps seen in the audit ids (PostgreSQL): id -> snapshot xmax when first seen."""

    seen: dict[int, int] = field(default_factory=dict)

    def is_final(self, ident: int, horizon: tuple[int, int] | None) -> bool:
        """True when a missing id can no longer appear."""
        if horizon is None:
            return True  # ids become visible in order: a gap is a rollback
        xmin, xmax = horizon
        first_seen = self.seen.setdefault(ident, xmax)
        if xmin >= first_seen:
            self.seen.pop(ident, None)
            return True
        return False


class SqlWarningFeed:
    """The WarningFeed port in one pipeline session (advancing is deferred to its end)."""

    def __init__(
        self,
        conn: Connection,
        writer: DialectWriter,
        *,
        gaps: Gaps,
        queue: WriteQueue,
        name: str = FEED,
    ) -> None:
        self.conn = conn
        self.writer = writer
        self.gaps = gaps
        self.queue = queue
        self.name = name

    def _state(self) -> tuple[int, set[int]]:
        f = at.alert_feed
        row = self.conn.execute(select(f.c.position, f.c.done_above).where(f.c.name == self.name))
        found = row.first()
        if found is None:
            return 0, set()
        return int(found.position), {int(x) for x in found.done_above}

    def read(self, limit: int) -> list[FeedRow]:
        """Warning transitions not yet processed, by id."""
        position, done = self._state()
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

    def advance(self, processed: Sequence[int]) -> None:
        """Mark ids processed (when the session ends)."""
        self.queue.defer(partial(self._advance, list(processed)))

    def _advance(self, processed: list[int]) -> None:
        """Move the position over every id that can no longer appear."""
        position, done = self._state()
        done |= set(processed)
        if not done:
            return
        top = max(done)
        a = t.audit_log
        present = dict(
            self.conn.execute(
                select(a.c.id, a.c.subject_type).where(a.c.id > position, a.c.id <= top)
            ).all()
        )
        horizon = self.writer.feed_horizon(self.conn)
        while position < top:
            nxt = position + 1
            if nxt in done:
                done.discard(nxt)
            elif nxt in present:
                if present[nxt] == "warning":
                    break  # committed but not processed yet
            elif not self.gaps.is_final(nxt, horizon):
                break
            position = nxt
        self._save(position, done)

    def _save(self, position: int, done: set[int]) -> None:
        f = at.alert_feed
        values = {"position": position, "done_above": sorted(x for x in done if x > position)}
        if self.conn.execute(select(f.c.name).where(f.c.name == self.name)).first():
            self.conn.execute(update(f).where(f.c.name == self.name).values(**values))
        else:
            self.conn.execute(insert(f), [{"name": self.name, **values}])
