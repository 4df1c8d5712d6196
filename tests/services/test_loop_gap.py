"""A background loop with a gap starts its rounds at least that far apart and takes the
wake-ups that came meanwhile in one round, without losing any: a commit woken for during the
gap is seen by the round after it. Without a gap a loop runs a round for each wake-up it sees."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from tocsin.bootstrap import build
from tocsin.config import Settings
from tocsin.services.background import (
    FOLLOW_GAP_S,
    Work,
    _followers,
    _importer,
    _Loop,
    start_background,
)
from tocsin.testing.grid import Grid, write_grid_config


class _Rounds:
    """Counts rounds and notes, at each round's start, the commits made so far."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.seen: list[int] = []
        self.commits = 0
        self.lock = threading.Lock()

    def work(self) -> bool:
        with self.lock:
            self.starts.append(time.monotonic())
            self.seen.append(self.commits)
        return False

    def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Until `count` rounds have started."""
        deadline = time.monotonic() + timeout
        while len(self.starts) != count:
            assert time.monotonic() < deadline, f"round {count} did not start in time"
            time.sleep(0.01)

    def commit_and_wake(self, loop: _Loop) -> None:
        with self.lock:
            self.commits += 1
        loop.wake.set()


def test_wake_ups_within_the_gap_are_taken_by_one_round_that_sees_them_all() -> None:
    rounds = _Rounds()
    loop = _Loop("gap", rounds.work, interval=60.0, gap=0.4)
    loop.start()
    try:
        rounds.wait_for(1)  # the first round, at once
        for _ in range(20):  # a stream of commits, each waking the loop, over 0.2 s
            rounds.commit_and_wake(loop)
            time.sleep(0.01)
        rounds.wait_for(2)
        time.sleep(0.6)  # nothing more woke it: no further round
        assert len(rounds.starts) == 2
        assert rounds.starts[1] - rounds.starts[0] >= 0.4 - 0.01
        assert rounds.seen == [0, 20]  # the second round saw every commit
        rounds.commit_and_wake(loop)  # long after: at once, no wait
        woken = time.monotonic()
        rounds.wait_for(3)
        assert rounds.starts[2] - woken < 0.3
        assert rounds.seen[2] == 21
    finally:
        loop.stop()
    assert not loop.thread.is_alive()


def test_without_a_gap_each_wake_up_it_sees_is_a_round() -> None:
    rounds = _Rounds()
    loop = _Loop("no gap", rounds.work, interval=60.0)
    loop.start()
    try:
        rounds.wait_for(1)
        for expected in (2, 3, 4):
            rounds.commit_and_wake(loop)
            rounds.wait_for(expected)
        assert rounds.seen == [0, 1, 2, 3]
        assert rounds.starts[3] - rounds.starts[1] < 0.4
    finally:
        loop.stop()


def test_a_loop_stopped_during_its_gap_ends_at_once() -> None:
    rounds = _Rounds()
    loop = _Loop("stopping", rounds.work, interval=60.0, gap=30.0)
    loop.start()
    rounds.wait_for(1)
    loop.wake.set()  # now it sleeps out the 30 s gap
    time.sleep(0.05)
    began = time.monotonic()
    loop.stop()
    assert time.monotonic() - began < 2.0
    assert not loop.thread.is_alive()
    assert len(rounds.starts) == 1  # the round woken for is not run once stopping


def test_the_followers_have_the_gap_and_the_importer_is_a_timer() -> None:
    """The two loops that follow warning transitions are given the gap; the CAP importer runs
    on its own interval."""

    class _Nothing:
        def __getattr__(self, name: str) -> object:
            return _Nothing()

        def __call__(self, *args: object, **kwargs: object) -> object:
            return _Nothing()

    class _Settings:
        cap_poll_interval_s = 30.0

    class _Container(_Nothing):
        settings = _Settings()

    loops = _followers(_Container(), interval=0.05)  # type: ignore[arg-type]
    assert [(lp.thread.name, lp.gap, lp.interval) for lp in loops] == [
        ("tocsin-public-alerts", FOLLOW_GAP_S, 0.05),
        ("tocsin-respond", FOLLOW_GAP_S, 0.05),
    ]
    importer = _importer(_Container())  # type: ignore[arg-type]
    assert (importer.thread.name, importer.gap, importer.interval) == ("tocsin-cap-import", 0, 30.0)


def test_a_warning_transition_wakes_the_followers_not_the_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a real container's schedule loops: the bus's "warnings" message wakes the responder
    at once (its interval is a minute), and the CAP importer runs only at its start."""
    config = write_grid_config(tmp_path / "config", Grid(cells=4, per_district=2))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        config_dir=config,
        dispatch_interval_s=60.0,
        cap_poll_interval_s=60.0,
    )
    container = build(settings)
    polls, ticks = _Rounds(), _Rounds()
    monkeypatch.setattr(container.cap.imports, "poll_due", lambda **_: polls.work())
    monkeypatch.setattr(container.response.responder, "tick", lambda _now: ticks.work())
    stop = start_background(container, work=frozenset({Work.SCHEDULE}), ingests=False)
    try:
        polls.wait_for(1)  # once the schedule lease is this process's
        ticks.wait_for(1)
        before = len(ticks.starts)
        for _ in range(3):
            container.bus.publish("warnings", {})
            ticks.wait_for(before + 1)
            before = len(ticks.starts)
            time.sleep(FOLLOW_GAP_S)
        assert len(polls.starts) == 1
    finally:
        stop()
        container.close()
