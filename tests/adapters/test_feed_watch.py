"""`notify run`'s feed watcher wakes the loops that follow warning transitions when another
process committed one, and not for other audited changes (a stream of public reports moves the
audit chain's head with every commit)."""

from __future__ import annotations

from tests.factories import T0
from tocsin.bootstrap import Stores
from tocsin.core.audit import WARNING_SUBJECT, AuditRecord
from tocsin.ports import Store
from tocsin.services.background import _Loop, watch_feed


def _commit(store: Store, subject_type: str, ident: str) -> None:
    with store.transaction() as tx:
        tx.audit.append([AuditRecord(T0, "serve", "x.changed", subject_type, ident, "why")])


def _woken(watcher: _Loop, followers: list[_Loop]) -> list[bool]:
    """One look of the watcher (its loop is not started): which followers it woke."""
    for f in followers:
        f.wake.clear()
    watcher.work()
    return [f.wake.is_set() for f in followers]


def test_the_watcher_wakes_the_followers_on_warning_transitions_only(stores: Stores) -> None:
    followers = [_Loop(name, lambda: False, interval=1.0) for name in ("dispatch", "respond")]
    watcher = watch_feed(stores.store, followers, every=0.05)
    assert _woken(watcher, followers) == [True, True]  # the first look: whatever is there
    assert _woken(watcher, followers) == [False, False]
    _commit(stores.store, "report", "r1")
    _commit(stores.store, "task", "t1")
    assert _woken(watcher, followers) == [False, False]
    _commit(stores.store, WARNING_SUBJECT, "w1")
    assert _woken(watcher, followers) == [True, True]
    assert _woken(watcher, followers) == [False, False]
    _commit(stores.store, "report", "r2")
    _commit(stores.store, WARNING_SUBJECT, "w2")
    assert _woken(watcher, followers) == [True, True]
