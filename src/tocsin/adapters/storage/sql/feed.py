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

from sqlalchemy import Connection, insert, update

from tocsin.adapters.storage import alerting_tables as at
from tocsin.adapters.storage.dialects import DialectWriter
from tocsin.adapters.storage.sql.deferred import WriteQueue
from tocsin.adapters.storage.sql.driver import Driver, DriverStatement, DriverTable
from tocsin.ports.feed import FeedRow

# the feed's reads of the audit log between its position and the ids it processed
_WARNINGS_IN = DriverStatement(
    "SELECT id FROM audit_log WHERE id > ? AND id <= ? AND subject_type = 'warning' ORDER BY id"
)
_IDS_IN = DriverStatement("SELECT id FROM audit_log WHERE id > ? AND id <= ?")
# every follower of the feed reads it every pass (three in `notify run`): on the driver
_TRANSITIONS = DriverStatement(
    "SELECT id, subject_id, kind, at, actor, reason FROM audit_log "
    "WHERE id > ? AND subject_type = 'warning' ORDER BY id LIMIT ?"
)
_FEED = DriverTable(at.alert_feed)
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

    def _state(self, drv: Driver | None = None) -> tuple[int, set[int]]:
        found = _FEED.read(drv or Driver(self.conn), "name = ?", [self.name])
        if not found:
            return 0, set()
        return int(found[0]["position"]), {int(x) for x in found[0]["done_above"]}

    def read(self, limit: int) -> list[FeedRow]:
        """Warning transitions not yet processed, by id."""
        drv = Driver(self.conn)
        position, done = self._state(drv)
        rows = drv.rows(_TRANSITIONS, [position, limit + len(done)])
        return [
            FeedRow(int(ident), subject, kind, drv.read_time(moment), actor, reason)
            for ident, subject, kind, moment, actor, reason in rows
            if int(ident) not in done
        ][:limit]

    def advance(self, processed: Sequence[int]) -> None:
        """Mark ids processed (when the session ends)."""
        self.queue.defer(partial(self._advance, list(processed)))

    def _advance(self, processed: list[int]) -> None:
        """Move the position over every id that can no longer appear: up to the first warning
        transition not processed yet, and over a gap only once it is final."""
        drv = Driver(self.conn)  # in every pipeline session's writes: on the driver
        position, done = self._state(drv)
        before = (position, set(done))
        done |= set(processed)
        if not done:
            return
        top = max(done)
        waiting = (i for (i,) in drv.rows(_WARNINGS_IN, [position, top]) if i not in done)
        limit = min(next(waiting, top + 1) - 1, top)  # stop before an unprocessed transition
        horizon = self.writer.feed_horizon(self.conn)
        if horizon is None:  # every gap is final (ids become visible in order)
            position = limit
        else:
            present = {i for (i,) in drv.rows(_IDS_IN, [position, limit])}
            while position < limit:
                nxt = position + 1
                if nxt not in done and nxt not in present and not self.gaps.is_final(nxt, horizon):
                    break
                position = nxt
        done = {x for x in done if x > position}
        if (position, done) != before:
            self._save(position, done)

    def _save(self, position: int, done: set[int]) -> None:
        f = at.alert_feed
        values = {"position": position, "done_above": sorted(x for x in done if x > position)}
        moved = self.conn.execute(update(f).where(f.c.name == self.name).values(**values))
        if moved.rowcount == 0:
            self.conn.execute(insert(f), [{"name": self.name, **values}])
