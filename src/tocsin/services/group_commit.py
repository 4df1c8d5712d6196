"""Group commit: the observation batches of concurrent requests stored in one transaction.

Requests are validated on their own first (`IngestService.validate`); only valid batches are
submitted. One committer thread takes everything submitted while the previous commit ran and
stores it with `IngestService.ingest_group`: one transaction, one rule and detector pass. Each
submitter gets a future that is resolved only after that commit, so a request is answered after
its rows are durable. When a group's commit fails, its members are tried one by one, so only a
batch that fails on its own is refused and the others are stored.

The queue is bounded in rows: past `max_queued_rows` a submission is refused at once with
`Overloaded` (the API answers 503 with `Retry-After`) instead of growing without bound.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field

from tocsin.core.errors import Overloaded
from tocsin.core.observations import ObservationBatch
from tocsin.services.ingest import IngestResult, IngestService

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submission:
    """One request's valid batch and the future its answer waits on."""

    batch: ObservationBatch
    future: Future[IngestResult] = field(default_factory=Future)


@dataclass
class GroupStats:
    """Counters of the committer (exposed as metrics)."""

    commits: int = 0
    requests: int = 0
    rows: int = 0
    refused: int = 0
    retried_alone: int = 0


class GroupCommitter:
    """Gathers submitted batches and commits them together on one thread."""

    def __init__(
        self,
        ingest: IngestService,
        *,
        max_group_rows: int = 1_000_000,
        max_queued_rows: int = 4_000_000,
        retry_after_s: int = 1,
    ) -> None:
        self.ingest = ingest
        self.max_group_rows = max_group_rows
        self.max_queued_rows = max_queued_rows
        self.retry_after_s = retry_after_s
        self.stats = GroupStats()
        self._queue: deque[Submission] = deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    @property
    def queued_rows(self) -> int:
        """Rows waiting for a commit."""
        return self._queued_rows

    def submit(self, batch: ObservationBatch) -> Future[IngestResult]:
        """Queue a valid batch; its future resolves after the commit that stores it.

        Raises Overloaded when the queue holds `max_queued_rows` already."""
        item = Submission(batch)
        with self._cond:
            if self._closed:
                raise Overloaded("the server is shutting down", retry_after_s=self.retry_after_s)
            if self._queued_rows and self._queued_rows + len(batch) > self.max_queued_rows:
                self.stats.refused += 1
                raise Overloaded(
                    f"{self._queued_rows:,} observations are waiting to be stored",
                    retry_after_s=self.retry_after_s,
                )
            self._queue.append(item)
            self._queued_rows += len(batch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tocsin-ingest", daemon=True)
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

    def _take(self) -> list[Submission] | None:
        """The next group: everything queued, up to `max_group_rows` (at least one batch)."""
        with self._cond:
            while not self._queue and not self._closed:
                self._cond.wait()
            if not self._queue:
                return None
            group = [self._queue.popleft()]
            rows = len(group[0].batch)
            while self._queue and rows + len(self._queue[0].batch) <= self.max_group_rows:
                item = self._queue.popleft()
                rows += len(item.batch)
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

    def _commit(self, group: list[Submission]) -> None:
        try:
            results = self.ingest.ingest_group([s.batch for s in group])
        except Exception as err:
            if len(group) == 1:
                group[0].future.set_exception(err)
                return
            log.warning("a group of %d batches failed; committing each alone", len(group))
            self.stats.retried_alone += len(group)
            for item in group:
                self._commit([item])
            return
        self.stats.commits += 1
        self.stats.requests += len(group)
        self.stats.rows += sum(len(s.batch) for s in group)
        for item, result in zip(group, results, strict=True):
            item.future.set_result(result)
