"""The in-process hand-off: notifications are written claimed and sent right after commit; if
the process dies before sending them, another worker sends them once the lease has passed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.scenarios.warning_timeline import start
from tocsin.core.access import system_principal
from tocsin.core.warnings.outbox import DeliveryStatus

SYSTEM = system_principal("test")


def test_handed_off_notifications_are_claimed_then_recovered(tmp_path: Path, db_url: str) -> None:
    routes = {"route": {"group_wait_s": 0}}
    tl = start(tmp_path, db_url, routes=routes)
    try:
        handoff = tl.container.handoff
        stop = handoff.listen()  # as a worker of this process would (services/background.py)
        tl.observe(0, D11__river_level=3.5)  # ticks the dispatcher and the polling worker once
        stop()
        handed = handoff.take()
        assert [n.receiver for n in handed] == ["D11-FLOOD"]
        assert handed[0].attempts == 1
        assert tl.sent() == []  # claimed for the hand-off: the polling worker leaves it alone
        # the process "died" before sending: after the lease another worker sends it, same key
        tl.run_until(0.6)
        ((_, note),) = tl.sent()
        assert note.key == handed[0].key
        assert note.attempts == 2
        (row,) = tl.container.dispatcher.notification_log(principal=SYSTEM)
        assert row.status is DeliveryStatus.DELIVERED
    finally:
        tl.container.close()


def test_a_hand_off_whose_lease_ran_out_in_the_queue_is_left_to_the_outbox(
    tmp_path: Path, db_url: str
) -> None:
    """In a storm the queue can wait longer than the lease; what ran out is claimed again from
    the outbox, so the hand-off must not send it as well (that would send it twice)."""
    routes = {"route": {"group_wait_s": 0}}
    tl = start(tmp_path, db_url, routes=routes)
    try:
        handoff = tl.container.handoff
        stop = handoff.listen()
        tl.observe(0, D11__river_level=3.5)
        stop()
        lease_end = tl.clock.now() + handoff.lease
        handoff.put(handoff.take())  # still queued
        assert handoff.take(lease_end - timedelta(seconds=1)) != []  # claimed: sent from here
        handoff.put(
            tl.container.dispatcher.notification_log(principal=SYSTEM)
        )  # queued again, as written
        assert handoff.take(lease_end) == []  # ran out: the outbox poller sends it, once
        tl.run_until(0.6)
        ((_, note),) = tl.sent()
        assert note.attempts == 2
    finally:
        tl.container.close()
