"""A background loop with a gap starts its rounds at least that far apart and takes the
wake-ups that came meanwhile in one round, without losing any: a commit woken for during the
gap is seen by the round after it. Without a gap a loop runs a round for each wake-up it sees."""

from __future__ import annotations

import threading
import time

from tocsin.services.background import FOLLOW_GAP_S, _followers, _Loop


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


def test_the_followers_have_the_gap() -> None:
    """The three loops that follow warning transitions are the ones given the gap."""

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
    assert [(lp.thread.name, lp.gap) for lp in loops] == [
        ("tocsin-public-alerts", FOLLOW_GAP_S),
        ("tocsin-cap-import", FOLLOW_GAP_S),
        ("tocsin-respond", FOLLOW_GAP_S),
    ]
    assert [lp.interval for lp in loops] == [0.05, 30.0, 0.05]
