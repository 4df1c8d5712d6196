"""The collector settings of a server process (tocsin/runtime.py)."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from tocsin.config import Settings
from tocsin.runtime import YOUNG, tune_collector


@pytest.fixture
def restored_collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


@pytest.mark.usefixtures("restored_collector")
def test_tuning_freezes_what_is_alive_and_widens_the_young_generation() -> None:
    kept: list[list[int]] = [[] for _ in range(1_000)]  # objects alive at start-up
    frozen_before = gc.get_freeze_count()
    tune_collector()
    assert gc.get_threshold()[0] == YOUNG > 700
    assert gc.get_freeze_count() >= frozen_before + len(kept)
    collected = {id(o) for generation in range(3) for o in gc.get_objects(generation=generation)}
    assert not any(id(x) in collected for x in kept)  # the collector no longer walks them


@pytest.mark.usefixtures("restored_collector")
def test_a_cycle_made_after_tuning_is_still_collected() -> None:
    tune_collector()

    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a  # type: ignore[attr-defined]
    del a, b
    assert gc.collect() >= 2


@pytest.mark.usefixtures("restored_collector")
def test_the_thread_switch_interval_is_set_only_when_asked() -> None:
    before = sys.getswitchinterval()
    try:
        tune_collector()
        assert sys.getswitchinterval() == before
        tune_collector(switch_ms=0.5)
        assert sys.getswitchinterval() == pytest.approx(0.0005)
    finally:
        sys.setswitchinterval(before)


def test_a_switch_interval_out_of_bounds_is_refused_by_the_settings() -> None:
    assert Settings(thread_switch_ms=0.5).thread_switch_ms == 0.5
    for wrong in (0.0, -1.0, 1_000.0):
        with pytest.raises(ValidationError, match="thread_switch_ms"):
            Settings(thread_switch_ms=wrong)
