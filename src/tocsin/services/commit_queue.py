"""A commit queue: concurrent callers' work done together in one transaction, each answered alone
(group commit for any kind of item: posted alerts, delivery outcomes).

A transaction has a fixed cost (taking the write lock, the commit's sync) that dwarfs the cost
of one more row. When many callers arrive together (a storm of alerts posted on many
connections, a delivery worker recording outcomes as sends complete), their items are queued and
committed together: one transaction takes every item queued when it starts, while later callers
queue for the next one. Each caller is answered only after the transaction holding its item has
committed (so "accepted" still means "stored"), with its own result.

- `submit` (threads): the caller who finds no commit running commits the queue itself (the
  leader); the others wait for it. A caller alone waits for nobody.
- `submit_async` (an event loop): the item is queued and the caller awaits its answer; a
  thread of the group commit's own drains the queue, so the event loop never blocks and never
  hands each request to a thread.

If a group's transaction fails, each of its items is committed again alone, so one caller's bad
item fails that caller only.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Slot(Generic[T, R]):
    item: T
    done: bool = False
    result: R | None = None
    error: BaseException | None = None
    future: asyncio.Future[Any] | None = None  # set for an awaiting caller


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


@dataclass
class GroupCommit(Generic[T, R]):
    """Commits items of concurrent callers in groups: `commit(items)` returns one result per
    item, in order, after its transaction has committed."""

    commit: Callable[[Sequence[T]], Sequence[R]]
    max_items: int = 10_000  # items per transaction (callers past it wait for the next)
    _cond: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _queue: list[_Slot[T, R]] = field(default_factory=list, repr=False)
    _busy: bool = field(default=False, repr=False)
    _waiting: int = field(default=0, repr=False)  # threads waiting in `submit`
    _drainer: ThreadPoolExecutor | None = field(default=None, repr=False)

    def submit(self, item: T) -> R:
        """Commit `item` (with whatever else is queued); return its result or raise its error."""
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._queue.append(slot)
            self._waiting += 1
            while self._busy and not slot.done:
                self._cond.wait()
            self._waiting -= 1
            lead = not slot.done
            if lead:
                self._busy = True
        if lead:
            try:
                self._run(self._take())
            finally:
                self._release()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # R may itself admit None

    async def submit_async(self, item: T) -> R:
        """Commit `item` (with whatever else is queued) without blocking the event loop."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        with self._cond:
            self._queue.append(_Slot(item, future=future))
            start = not self._busy
            if start:
                self._busy = True
        if start:
            self._executor().submit(self._drain)
        return await future

    def close(self) -> None:
        """Stop the draining thread (once the queue is empty)."""
        if self._drainer is not None:
            self._drainer.shutdown(wait=True)

    def _take(self) -> list[_Slot[T, R]]:
        with self._cond:
            group, self._queue = self._queue[: self.max_items], self._queue[self.max_items :]
        return group

    def _release(self) -> None:
        """End a commit: wake waiting threads; if only awaiting callers are left, drain."""
        with self._cond:
            self._busy = False
            self._cond.notify_all()
            drain = bool(self._queue) and not self._waiting
            if drain:
                self._busy = True
        if drain:
            self._executor().submit(self._drain)

    def _drain(self) -> None:
        """Commit group after group until the queue is empty (the drainer thread)."""
        while True:
            with self._cond:
                if not self._queue:
                    self._busy = False
                    self._cond.notify_all()
                    return
            self._run(self._take())

    def _run(self, group: Sequence[_Slot[T, R]]) -> None:
        """Commit the group together; if that fails, each item alone; then answer each."""
        if not group:
            return
        try:
            results: Sequence[R | None] = self.commit([s.item for s in group])
            errors: list[BaseException | None] = [None] * len(group)
        except Exception as err:
            if len(group) == 1:
                results, errors = [None], [err]
            else:
                answers = [self._alone(s) for s in group]
                results, errors = [a[0] for a in answers], [a[1] for a in answers]
        for slot, result, error in zip(group, results, errors, strict=True):
            slot.result, slot.error = result, error
            if slot.future is not None and not slot.future.get_loop().is_closed():
                slot.future.get_loop().call_soon_threadsafe(_settle, slot.future, result, error)
        with self._cond:
            for slot in group:
                slot.done = True
            self._cond.notify_all()

    def _alone(self, slot: _Slot[T, R]) -> tuple[R | None, BaseException | None]:
        try:
            return self.commit([slot.item])[0], None
        except Exception as err:
            return None, err

    def _executor(self) -> ThreadPoolExecutor:
        with self._cond:
            if self._drainer is None:
                self._drainer = ThreadPoolExecutor(1, thread_name_prefix="tocsin-commit")
            return self._drainer
