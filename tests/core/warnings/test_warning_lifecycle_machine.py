"""The warning lifecycle: every (state, command) pair, and a Hypothesis state machine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from tests.factories import make_warning as factory_warning

from tocsin.core.errors import IllegalTransition
from tocsin.core.levels import LEVELS, Level
from tocsin.core.warnings import lifecycle
from tocsin.core.warnings.model import (
    Command,
    CommandKind,
    EventKind,
    Warning,
    WarningState,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def make_warning(**overrides: object) -> Warning:
    """An active yellow warning raised at T0."""
    return factory_warning(
        "w1", at=T0, **{"fingerprint": "fp", "cause": {}, "explanation": {}, **overrides}
    )


LEGAL = {
    (WarningState.ACTIVE, CommandKind.UPGRADE): WarningState.ACTIVE,
    (WarningState.ACKNOWLEDGED, CommandKind.UPGRADE): WarningState.ACTIVE,
    (WarningState.ACTIVE, CommandKind.DOWNGRADE): WarningState.ACTIVE,
    (WarningState.ACKNOWLEDGED, CommandKind.DOWNGRADE): WarningState.ACKNOWLEDGED,
    (WarningState.ACTIVE, CommandKind.ACKNOWLEDGE): WarningState.ACKNOWLEDGED,
    (WarningState.ACTIVE, CommandKind.LIFT): WarningState.LIFTED,
    (WarningState.ACKNOWLEDGED, CommandKind.LIFT): WarningState.LIFTED,
}
LEVEL_FOR = {CommandKind.UPGRADE: Level.RED, CommandKind.DOWNGRADE: Level.BLUE}


@pytest.mark.parametrize("state", list(WarningState))
@pytest.mark.parametrize("kind", [k for k in CommandKind if k is not CommandKind.RAISE])
def test_every_state_command_pair(state: WarningState, kind: CommandKind) -> None:
    warning = make_warning(state=state)
    command = Command(kind, "tester", "because", LEVEL_FOR.get(kind))
    now = T0 + timedelta(minutes=1)
    if (state, kind) not in LEGAL:
        with pytest.raises(IllegalTransition):
            lifecycle.apply(warning, command, now)
        return
    new, event = lifecycle.apply(warning, command, now)
    assert new.state is LEGAL[(state, kind)]
    assert (event.actor, event.reason, event.at) == ("tester", "because", now)
    assert (event.from_state, event.to_state) == (state, new.state)


def test_raise_only_creates() -> None:
    with pytest.raises(IllegalTransition):
        lifecycle.apply(make_warning(), Command(CommandKind.RAISE, "r", "x", Level.RED), T0)
    with pytest.raises(IllegalTransition):
        lifecycle.raise_warning(make_warning(), Command(CommandKind.LIFT, "r", "x"), T0)


class WarningMachine(RuleBasedStateMachine):
    """Random command sequences keep the record and its event trail consistent."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.warning: Warning | None = None
        self.events: list[EventKind] = []

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    @precondition(lambda self: self.warning is None or not self.warning.is_open)
    @rule(level=st.sampled_from(LEVELS))
    def raise_(self, level: Level) -> None:
        """Raise a (new) warning."""
        self.warning, event = lifecycle.raise_warning(
            make_warning(), Command(CommandKind.RAISE, "rule", "crossed", level), self._tick()
        )
        self.events = [event.kind]

    @precondition(lambda self: self.warning is not None)
    @rule(kind=st.sampled_from(list(CommandKind)), level=st.sampled_from(LEVELS))
    def command(self, kind: CommandKind, level: Level) -> None:
        """Apply any command; illegal ones must raise and change nothing."""
        assert self.warning is not None
        before = self.warning
        try:
            self.warning, event = lifecycle.apply(
                before, Command(kind, "someone", "why", level), self._tick()
            )
        except IllegalTransition:
            assert self.warning == before
            return
        self.events.append(event.kind)
        if kind is CommandKind.UPGRADE:
            assert self.warning.level.rank > before.level.rank
            assert self.warning.acknowledged_by is None
        if kind is CommandKind.DOWNGRADE:
            assert self.warning.level.rank < before.level.rank

    @invariant()
    def consistent(self) -> None:
        """Lifted iff it has a lift time; acknowledged iff someone acknowledged it."""
        w = self.warning
        if w is None:
            return
        assert (w.state is WarningState.LIFTED) == (w.lifted_at is not None)
        if w.state is WarningState.ACKNOWLEDGED:
            assert w.acknowledged_by is not None
        assert self.events[0] is EventKind.RAISED
        assert EventKind.RAISED not in self.events[1:]
        if EventKind.LIFTED in self.events:
            assert self.events[-1] is EventKind.LIFTED


TestWarningMachine = WarningMachine.TestCase
