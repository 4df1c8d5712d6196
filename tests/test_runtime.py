"""The collector settings of a server process (tocsin/runtime.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

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
