"""Group commit: callers arriving together share a transaction, each gets its own answer, and
one caller's bad item fails that caller only — from threads and from an event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence

import pytest

from tocsin.services.commit_queue import GroupCommit


class Ledger:
    """A 'database' whose commits take a moment, so that callers pile up behind one."""

    def __init__(self) -> None:
        self.commits: list[list[int]] = []
        self.started = threading.Event()
        self.go_on = threading.Event()

    def commit(self, items: Sequence[int]) -> list[int]:
        """Fail a group holding a negative item; else store it and answer each with item * 2."""
        if not self.commits:
            self.started.set()
            self.go_on.wait(10)
        if any(i < 0 for i in items):
            raise ValueError("negative")
        self.commits.append(list(items))
        return [i * 2 for i in items]


def test_threads_arriving_during_a_commit_share_the_next_one() -> None:
    ledger = Ledger()
    group: GroupCommit[int, int] = GroupCommit(ledger.commit)
    answers: dict[int, int | str] = {}

    def call(i: int) -> None:
        try:
            answers[i] = group.submit(i)
        except ValueError as err:
            answers[i] = str(err)

    first = threading.Thread(target=call, args=(0,))
    first.start()
    assert ledger.started.wait(10)  # the first commit is running: the others queue behind it
    rest = [threading.Thread(target=call, args=(i,)) for i in (1, 2, -3, 4, 5)]
    for t in rest:
        t.start()
    while len(group._queue) < 5:  # all five are queued
        threading.Event().wait(0.01)
    ledger.go_on.set()
    for t in [first, *rest]:
        t.join(10)
    assert answers == {0: 0, 1: 2, 2: 4, -3: "negative", 4: 8, 5: 10}
    # the five queued callers' group failed as a whole, then went item by item
    assert ledger.commits[0] == [0]
    assert sorted(i for c in ledger.commits[1:] for i in c) == [1, 2, 4, 5]


def test_an_event_loop_awaits_without_a_thread_per_caller() -> None:
    ledger = Ledger()
    ledger.go_on.set()
    group: GroupCommit[int, int] = GroupCommit(ledger.commit)

    async def many() -> list[int]:
        return list(await asyncio.gather(*(group.submit_async(i) for i in range(200))))

    try:
        assert asyncio.run(many()) == [i * 2 for i in range(200)]
    finally:
        group.close()
    assert sorted(i for c in ledger.commits for i in c) == list(range(200))
    assert len(ledger.commits) < 200  # callers shared transactions


def test_an_awaiting_caller_gets_its_own_error() -> None:
    ledger = Ledger()
    ledger.go_on.set()
    group: GroupCommit[int, int] = GroupCommit(ledger.commit)

    async def bad() -> int:
        return await group.submit_async(-1)

    try:
        with pytest.raises(ValueError, match="negative"):
            asyncio.run(bad())
    finally:
        group.close()
