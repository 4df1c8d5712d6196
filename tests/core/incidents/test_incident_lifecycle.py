"""The incident lifecycle: every (state, command) pair, each guard, and a Hypothesis machine."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.factories import T0, make_incident
from tocsin.core.errors import IllegalTransition
from tocsin.core.incidents import lifecycle
from tocsin.core.incidents.model import (
    Incident,
    IncidentCommand,
    IncidentCommandKind,
    IncidentEventKind,
    IncidentState,
    Link,
    LinkKind,
    ResponseLevel,
)
from tocsin.core.levels import Level

K = IncidentCommandKind
OP, A, S, C = (
    IncidentState.OPEN,
    IncidentState.ACTIVE,
    IncidentState.STABILISED,
    IncidentState.CLOSED,
)
W1 = Link(LinkKind.WARNING, "w1")
W2 = Link(LinkKind.WARNING, "w2")

LEGAL = {
    (OP, K.ACTIVATE): A,
    (S, K.ACTIVATE): A,
    (A, K.UPGRADE): A,
    (A, K.PROPOSE_STAND_DOWN): A,
    (A, K.STAND_DOWN): S,
    (OP, K.CLOSE): C,
    (S, K.CLOSE): C,
    **{(s, K.MERGE): C for s in (OP, A, S)},
    **{(s, k): s for s in (OP, A, S) for k in (K.LINK, K.UNLINK, K.LEAD, K.ABSORB, K.SPLIT)},
}


def command(kind: K) -> IncidentCommand:
    """A command that passes its guard on `incident()` below."""
    return IncidentCommand(
        kind,
        "duty",
        "because",
        plan="flood",
        level=Level.RED,
        response=ResponseLevel.I,
        links=(W2,) if kind in (K.LINK, K.ABSORB) else (W1,),
        lead="P1-CP",
        other="i2",
    )


def incident(state: IncidentState) -> Incident:
    return make_incident(state=state, links=frozenset({W1}), plan="flood", plan_level=Level.ORANGE)


@pytest.mark.parametrize("state", list(IncidentState))
@pytest.mark.parametrize("kind", [k for k in K if k is not K.OPEN])
def test_every_state_command_pair(state: IncidentState, kind: K) -> None:
    before = incident(state)
    now = T0 + timedelta(minutes=1)
    if (state, kind) not in LEGAL:
        with pytest.raises(IllegalTransition, match="cannot"):
            lifecycle.apply(before, command(kind), now)
        return
    after, event = lifecycle.apply(before, command(kind), now)
    assert after.state is LEGAL[(state, kind)]
    assert (event.actor, event.reason, event.at) == ("duty", "because", now)
    assert (event.from_state, event.to_state) == (state, after.state)
    assert event.kind is lifecycle.EVENT_OF[kind]
    assert after.updated_at == now


def test_open_only_creates_and_records_where() -> None:
    template = make_incident()
    opened, event = lifecycle.open_incident(
        template, IncidentCommand(K.OPEN, "duty", "river rising", links=(W1,), lead="D11-FLOOD"), T0
    )
    assert (opened.state, opened.links, opened.lead_unit) == (OP, frozenset({W1}), "D11-FLOOD")
    assert event.kind is IncidentEventKind.OPENED
    assert event.details["region"] == "D11"
    with pytest.raises(IllegalTransition):
        lifecycle.open_incident(template, command(K.CLOSE), T0)
    with pytest.raises(IllegalTransition):
        lifecycle.apply(template, IncidentCommand(K.OPEN, "duty", "again"), T0)


@pytest.mark.parametrize(
    ("state", "kind", "changes", "reason"),
    [
        (A, K.UPGRADE, {"level": Level.ORANGE}, "already at orange"),
        (A, K.UPGRADE, {"level": None}, "names the plan's level"),
        (A, K.LINK, {"links": (W1,)}, "already linked"),
        (A, K.LINK, {"links": ()}, "nothing to link"),
        (A, K.UNLINK, {"links": (W2,)}, "not linked: warning w2"),
        (S, K.CLOSE, {"open_tasks": 2}, "2 task(s) are not finished"),
        (A, K.MERGE, {"other": "i1"}, "another incident"),
        (A, K.MERGE, {"other": None}, "another incident"),
        (A, K.SPLIT, {"links": (W2,)}, "not linked"),
        (A, K.LEAD, {"lead": None}, "a lead unit"),
    ],
)
def test_guards_refuse_with_a_reason(
    state: IncidentState, kind: K, changes: dict[str, object], reason: str
) -> None:
    refused = replace(command(kind), **changes)  # type: ignore[arg-type]
    with pytest.raises(IllegalTransition, match=re.escape(reason)):
        lifecycle.apply(incident(state), refused, T0)


def test_a_second_stand_down_proposal_is_refused() -> None:
    proposed, _ = lifecycle.apply(incident(A), command(K.PROPOSE_STAND_DOWN), T0)
    with pytest.raises(IllegalTransition, match="already proposed"):
        lifecycle.apply(proposed, command(K.PROPOSE_STAND_DOWN), T0)
    again, _ = lifecycle.apply(
        lifecycle.apply(proposed, command(K.STAND_DOWN), T0)[0], command(K.ACTIVATE), T0
    )
    assert again.stand_down_proposed_at is None
    assert again.stood_down_at is None


def test_an_upgrade_keeps_the_most_severe_response() -> None:
    active = replace(incident(A), response_level=ResponseLevel.I)
    up, event = lifecycle.apply(
        active,
        IncidentCommand(K.UPGRADE, "s", "r", level=Level.RED, response=ResponseLevel.III),
        T0,
    )
    assert (up.plan_level, up.response_level) == (Level.RED, ResponseLevel.I)
    assert event.details["level"] == "red"


class IncidentMachine(RuleBasedStateMachine):
    """Random command sequences keep the record and its event trail consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.incident: Incident | None = None
        self.kinds: list[IncidentEventKind] = []

    @precondition(lambda self: self.incident is None)
    @rule()
    def open_(self) -> None:
        """Open it."""
        self.incident, event = lifecycle.open_incident(
            make_incident(), IncidentCommand(K.OPEN, "duty", "opened"), self.now
        )
        self.kinds = [event.kind]

    @precondition(lambda self: self.incident is not None)
    @rule(
        kind=st.sampled_from([k for k in K if k is not K.OPEN]),
        level=st.sampled_from(list(Level)),
        link=st.sampled_from([W1, W2]),
        open_tasks=st.integers(0, 1),
    )
    def act(self, kind: K, level: Level, link: Link, open_tasks: int) -> None:
        """Apply any command; an illegal one must raise and change nothing."""
        assert self.incident is not None
        before = self.incident
        self.now += timedelta(minutes=1)
        cmd = IncidentCommand(
            kind,
            "duty",
            "why",
            plan="p",
            level=level,
            response=ResponseLevel.II,
            links=(link,),
            lead="U",
            other="other",
            open_tasks=open_tasks,
        )
        try:
            self.incident, event = lifecycle.apply(before, cmd, self.now)
        except IllegalTransition:
            assert self.incident == before
            return
        self.kinds.append(event.kind)
        if kind is K.CLOSE:
            assert open_tasks == 0

    @invariant()
    def consistent(self) -> None:
        """Closed iff it has a closing time; nothing follows the close."""
        x = self.incident
        if x is None:
            return
        assert (x.state is C) == (x.closed_at is not None)
        if x.merged_into is not None:
            assert x.state is C
        if x.state is A:
            assert x.activated_at is not None
        assert self.kinds[0] is IncidentEventKind.OPENED
        if IncidentEventKind.CLOSED in self.kinds or IncidentEventKind.MERGED in self.kinds:
            assert self.kinds[-1] in (IncidentEventKind.CLOSED, IncidentEventKind.MERGED)


TestIncidentMachine = IncidentMachine.TestCase
