"""Group commit: concurrent callers' work done together in one transaction, each answered alone.

A transaction has a fixed cost (taking the write lock, the commit's sync) that dwarfs the cost
of one more row. When many callers arrive together (a storm of alerts posted on many
connections, a delivery worker recording outcomes as sends complete), `GroupCommit.submit`
queues the caller's item; whichever caller finds no commit running becomes the leader and
commits everything queued so far in one call, while later callers queue for the next one. Each
caller returns only after the transaction holding its item has committed (so "accepted" still
means "stored"), with its own result.

If a group's transaction fails, each of its items is committed again alone, so one caller's bad
item fails that caller only. There is no thread of its own and no timer: a caller alone waits
for nobody.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


@dataclass
class GroupCommit(Generic[T, R]):
    """Commits items of concurrent callers in groups: `commit(items)` returns one result per
    item, in order, after its transaction has committed."""

    commit: Callable[[Sequence[T]], Sequence[R]]
    max_items: int = 10_000  # items per transaction (callers past it wait for the next)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _queue: list[_Slot[T, R]] = field(default_factory=list, repr=False)
    _busy: bool = field(default=False, repr=False)

    def submit(self, item: T) -> R:
        """Commit `item` (with whatever else is queued); return its result or raise its error."""
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._queue.append(slot)
            while self._busy and not slot.done:
                self._cond.wait()
            if not slot.done:
                self._busy = True
                group, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
        if not slot.done:
            try:
                self._run(group)
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # R may itself admit None

    def _run(self, group: Sequence[_Slot[T, R]]) -> None:
        """Commit the group together; if that fails, each item alone."""
        try:
            results = self.commit([s.item for s in group])
        except Exception as err:
            if len(group) == 1:
                group[0].error, group[0].done = err, True
                return
            for slot in group:
                self._alone(slot)
            return
        for slot, result in zip(group, results, strict=True):
            slot.result, slot.done = result, True

    def _alone(self, slot: _Slot[T, R]) -> None:
        try:
            slot.result = self.commit([slot.item])[0]
        except Exception as err:
            slot.error = err
        slot.done = True
