"""Group commit: the writes of concurrent requests stored in one transaction.

Requests are validated on their own first; only valid items are submitted. One committer thread
takes everything submitted while the previous commit ran and stores it with the `commit` function
it was given: one transaction for the group, one answer per item, in order. Observations use
`IngestService.ingest_group` (one rule and detector pass), public reports
`ReportService.store_group`. Each submitter gets a future that is resolved only after that
commit, so a request is answered after its rows are durable. When a group's commit fails, its
members are tried one by one, so only an item that fails on its own is refused and the others
are stored.

Under load (an item came in while the last group's commit ran) the committer may wait up to
`gather_s` for `gather_rows` to be queued before it takes the next group: fewer, fuller
transactions, each answer a few milliseconds later; an item that comes alone is committed at
once. Public reports use it (5 ms, 64 reports: chosen on `bench/reports.py`, where groups of ~10
grew to ~16 and the rate rose by about a seventh); observations do not (their batches are large).

With `after`, the committer runs it once a group's answers are out, before it takes the next
group: upkeep that need not delay any answer (observations: SQLite's inbox merged into its table
when large, `IngestService.settle`). What is submitted meanwhile waits for the next group.

The queue is bounded in rows (`size` of each item: an observation batch's length, one per
report): past `max_queued_rows` a submission is refused at once with `Overloaded` (the API
answers 503 with `Retry-After`) instead of growing without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from tocsin.core.errors import Overloaded

log = logging.getLogger(__name__)

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


def one_row(item: object) -> int:
    """The size of an item that counts as one row (a report)."""
    return 1


@dataclass(frozen=True, slots=True)
class Submission(Generic[ItemT, ResultT]):
    """One request's valid item and the future its answer waits on."""

    item: ItemT
    rows: int
    future: Future[ResultT] = field(default_factory=Future)


@dataclass
class GroupStats:
    """Counters of the committer (exposed as metrics)."""

    commits: int = 0
    requests: int = 0
    rows: int = 0
    refused: int = 0
    retried_alone: int = 0


class GroupCommitter(Generic[ItemT, ResultT]):
    """Gathers submitted items and commits them together on one thread."""

    def __init__(
        self,
        commit: Callable[[list[ItemT]], list[ResultT]],
        *,
        size: Callable[[ItemT], int] = one_row,
        what: str = "observations",
        max_group_rows: int = 1_000_000,
        max_queued_rows: int = 4_000_000,
        retry_after_s: int = 1,
        gather_s: float = 0.0,
        gather_rows: int = 0,
        after: Callable[[], object] | None = None,
    ) -> None:
        self.commit = commit
        self.after = after
        self.size = size
        self.what = what
        self.max_group_rows = max_group_rows
        self.max_queued_rows = max_queued_rows
        self.retry_after_s = retry_after_s
        self.gather_s = gather_s
        self.gather_rows = gather_rows
        self._committing = False  # a group's commit is running
        self._pressed = False  # an item came in while one ran: under load
        self.stats = GroupStats()
        self._queue: deque[Submission[ItemT, ResultT]] = deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a commit."""
        return self._queued_rows

    def submit(self, value: ItemT) -> Future[ResultT]:
        """Queue a valid item; its future resolves after the commit that stores it.

        Raises Overloaded when the queue holds `max_queued_rows` already."""
        item: Submission[ItemT, ResultT] = Submission(value, self.size(value))
        with self._cond:
            if self._closed:
                raise Overloaded("the server is shutting down", retry_after_s=self.retry_after_s)
            if self._queued_rows and self._queued_rows + item.rows > self.max_queued_rows:
                self.stats.refused += 1
                raise Overloaded(
                    f"{self._queued_rows:,} {self.what} are waiting to be stored",
                    retry_after_s=self.retry_after_s,
                )
            self._queue.append(item)
            self._queued_rows += item.rows
            self._pressed = self._pressed or self._committing
            if self._thread is None:
                name = f"tocsin-{self.what}"
                self._thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._thread.start()
            self._cond.notify()
        return item.future

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)

    def _take(self) -> list[Submission[ItemT, ResultT]] | None:
        """The next group: everything queued, up to `max_group_rows` (at least one item)."""
        with self._cond:
            busy, self._pressed = self._pressed, False
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            if busy and self.gather_s > 0:  # under load: let a fuller group gather
                until = time.monotonic() + self.gather_s
                while self._queued_rows < self.gather_rows and not self._closed:
                    left = until - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
            group = [self._queue.popleft()]
            rows = group[0].rows
            while self._queue and rows + self._queue[0].rows <= self.max_group_rows:
                item = self._queue.popleft()
                rows += item.rows
                group.append(item)
            self._queued_rows -= rows
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            try:
                self._commit(group)
            except BaseException as err:  # the outermost loop: never leave a future waiting
                log.exception("group commit failed")
                for item in group:
                    if not item.future.done():
                        item.future.set_exception(err)
            self._upkeep()

    def _upkeep(self) -> None:
        """`after`, once a group is answered (a failure is logged: the answers are out)."""
        if self.after is None:
            return
        try:
            self.after()
        except Exception:
            log.exception("upkeep after a group commit failed")

    def _stored(self, items: list[ItemT]) -> list[ResultT]:
        """Run the commit function; what is submitted meanwhile marks the load."""
        with self._cond:
            self._committing = True
        try:
            return self.commit(items)
        finally:
            with self._cond:
                self._committing = False

    def _commit(self, group: list[Submission[ItemT, ResultT]]) -> None:
        try:
            results = self._stored([s.item for s in group])
        except Exception as err:
            if len(group) == 1:
                group[0].future.set_exception(err)
                return
            log.warning("a group of %d %s failed; committing each alone", len(group), self.what)
            self.stats.retried_alone += len(group)
            for item in group:
                self._commit([item])
            return
        self.stats.commits += 1
        self.stats.requests += len(group)
        self.stats.rows += sum(s.rows for s in group)
        for item, result in zip(group, results, strict=True):
            item.future.set_result(result)
