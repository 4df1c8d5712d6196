"""Silence approval, pure: what is too broad for one person, who may decide, and what a decided
or undecided approval does to the silence's state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.core.errors import Conflict, Forbidden, InvalidInput
from tocsin.core.levels import Level
from tocsin.core.warnings.selectors import Selector, Target
from tocsin.core.warnings.silence_approval import (
    Approval,
    Breadth,
    BreadthPolicy,
    Decision,
    approval_from_json,
    approval_json,
    breadth,
)
from tocsin.core.warnings.silences import (
    Silence,
    SilenceId,
    SilenceState,
    approve,
    expire,
    refuse,
    silenced_by,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = BreadthPolicy(frozenset({"nation"}), timedelta(hours=24))
HOUR = timedelta(hours=1)
RED = frozenset({Level.RED})


@pytest.mark.parametrize(
    ("region", "level", "levels", "lasts", "expected"),
    [
        ("D11", "district", frozenset(), 2 * HOUR, ()),
        ("D11", "district", frozenset(), 24 * HOUR, ()),  # exactly the limit: alone
        ("D11", "district", frozenset(), 25 * HOUR, (Breadth.ALL_LEVELS_LONG,)),
        ("D11", "district", RED, 25 * HOUR, ()),
        ("N", "nation", RED, 2 * HOUR, (Breadth.WIDE_REGION,)),
        ("N", "nation", frozenset(), 48 * HOUR, (Breadth.WIDE_REGION, Breadth.ALL_LEVELS_LONG)),
        (None, None, RED, 2 * HOUR, (Breadth.NO_REGION,)),
        (None, None, frozenset(), 48 * HOUR, (Breadth.NO_REGION, Breadth.ALL_LEVELS_LONG)),
    ],
)
def test_breadth_names_every_reason_and_only_those(
    region: str | None,
    level: str | None,
    levels: frozenset[Level],
    lasts: timedelta,
    expected: tuple[Breadth, ...],
) -> None:
    selector = Selector(region=region, domain="natural.flood", levels=levels)
    assert breadth(selector, region_level=level, lasts=lasts, policy=POLICY) == expected


def _waiting() -> Silence:
    return Silence(
        SilenceId("s1"),
        Selector(region="N"),
        T0,
        T0 + 48 * HOUR,
        "alice",
        "quiet weekend",
        T0,
        approval=Approval((Breadth.WIDE_REGION,)),
    )


def _target() -> Target:
    return Target("w1", "f1", Level.RED, {}, ("D11", "P1", "N"), ("natural.flood", "natural"))


def test_an_awaiting_silence_suppresses_nothing_until_approved() -> None:
    waiting = _waiting()
    now = T0 + HOUR
    assert waiting.state(now) is SilenceState.AWAITING_APPROVAL
    assert silenced_by(_target(), [waiting], now) == ()
    done = approve(waiting, actor="bob", now=now)
    assert done.approval == Approval((Breadth.WIDE_REGION,), Decision.APPROVED, "bob", now)
    assert done.state(now) is SilenceState.ACTIVE
    assert silenced_by(_target(), [done], now) == ("s1",)


def test_a_refusal_ends_the_silence_for_good_with_its_reason() -> None:
    now = T0 + HOUR
    done = refuse(_waiting(), actor="bob", now=now, note="too wide")
    assert (done.ends_at, done.approval.note if done.approval else None) == (now, "too wide")
    for later in (now, now + 100 * HOUR):
        assert done.state(later) is SilenceState.REFUSED
        assert silenced_by(_target(), [done], later) == ()
    with pytest.raises(Conflict):
        expire(done, actor="bob", now=now)


def test_only_another_user_decides_once_and_a_refusal_says_why() -> None:
    now = T0 + HOUR
    with pytest.raises(Forbidden, match="another user"):
        approve(_waiting(), actor="alice", now=now)
    with pytest.raises(Forbidden):
        refuse(_waiting(), actor="alice", now=now, note="no")
    with pytest.raises(InvalidInput):
        refuse(_waiting(), actor="bob", now=now, note="  ")
    with pytest.raises(Conflict):
        approve(approve(_waiting(), actor="bob", now=now), actor="carol", now=now)
    with pytest.raises(Conflict):  # one person's word was enough: nothing to approve
        approve(replace(_waiting(), approval=None), actor="bob", now=now)


def test_an_undecided_silence_expires_at_its_end_and_cannot_be_approved_then() -> None:
    end = T0 + 48 * HOUR
    assert _waiting().state(end) is SilenceState.EXPIRED
    with pytest.raises(Conflict):
        approve(_waiting(), actor="bob", now=end)


@pytest.mark.parametrize(
    "approval",
    [
        None,
        Approval((Breadth.NO_REGION, Breadth.ALL_LEVELS_LONG)),
        Approval((Breadth.WIDE_REGION,), Decision.REFUSED, "bob", T0, "too wide"),
    ],
)
def test_an_approval_round_trips_through_json(approval: Approval | None) -> None:
    assert approval_from_json(approval_json(approval)) == approval
