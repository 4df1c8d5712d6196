"""Public alerts and the access policy, operation by operation: a P2 duty officer (carol) may act
on an alert about D21 (in P2) and is refused, with nothing changed, on one about D11 (in P1);
lists show only what is in scope."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.cap_support import SYSTEM, World, cap_world
from tocsin.core.access import Principal
from tocsin.core.cap.lifecycle import AlertState, PublicAlert
from tocsin.core.errors import Forbidden
from tocsin.core.levels import Level
from tocsin.services.publication import Choices


@dataclass
class Two:
    """A world with a D11 (P1) and a D21 (P2) warning, and a draft of each at `state`."""

    world: World
    inside: PublicAlert  # D21, carol's scope
    outside: PublicAlert  # D11, not carol's

    def at(self, state: AlertState) -> None:
        """Move both drafts to `state` (drafted by alice or frank, approved by bob)."""
        alerts = self.world.container.cap.alerts
        for alert, author in ((self.inside, "frank"), (self.outside, "alice")):
            if state in (AlertState.SUBMITTED, AlertState.APPROVED, AlertState.REJECTED):
                alerts.submit(alert.identifier, principal=self.world.person(author))
            if state is AlertState.APPROVED:
                alerts.approve(alert.identifier, principal=self.world.person("bob"))
            if state is AlertState.REJECTED:
                alerts.reject(alert.identifier, principal=self.world.person("bob"), reason="no")


@pytest.fixture
def two(tmp_path: Path, store_url: str) -> Iterator[Two]:
    with cap_world(tmp_path, store_url, publish_on_approval=False) as world:
        world.observe("D11.river_level", 5.5)
        world.observe("D21.reservoir", 25.0)
        draft = world.container.cap.alerts.draft_from_warning
        inside = draft(
            world.warning("D21.reservoir").id, principal=world.person("frank"), choices=Choices()
        )
        outside = draft(world.warning().id, principal=world.person("alice"), choices=Choices())
        yield Two(world, inside, outside)


Act = Callable[[Two, PublicAlert, Principal], Any]
OPERATIONS: dict[str, tuple[AlertState, Act]] = {
    "edit": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.alerts.edit(
            a.identifier, principal=p, choices=Choices(texts={"en-GB": {"headline": "x"}})
        ),
    ),
    "submit": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.alerts.submit(a.identifier, principal=p),
    ),
    "withdraw": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.alerts.withdraw(a.identifier, principal=p),
    ),
    "approve": (
        AlertState.SUBMITTED,
        lambda t, a, p: t.world.container.cap.alerts.approve(a.identifier, principal=p),
    ),
    "reject": (
        AlertState.SUBMITTED,
        lambda t, a, p: t.world.container.cap.alerts.reject(a.identifier, principal=p, reason="r"),
    ),
    "publish": (
        AlertState.APPROVED,
        lambda t, a, p: t.world.container.cap.alerts.publish(a.identifier, principal=p),
    ),
    "get": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.views.get(a.identifier, principal=p),
    ),
    "history": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.views.history(a.identifier, principal=p),
    ),
    "preview": (
        AlertState.DRAFT,
        lambda t, a, p: t.world.container.cap.views.preview(a.identifier, principal=p),
    ),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_is_allowed_in_scope_and_refused_outside_it(
    two: Two, operation: str
) -> None:
    state, act = OPERATIONS[operation]
    two.at(state)
    carol = two.world.person("carol")
    views = two.world.container.cap.views
    before = views.get(two.outside.identifier, principal=SYSTEM)
    with pytest.raises(Forbidden, match="outside the scope of carol"):
        act(two, two.outside, carol)
    assert views.get(two.outside.identifier, principal=SYSTEM) == before  # nothing changed
    assert act(two, two.inside, carol) is not None


def test_drafting_by_hand_needs_every_region_in_scope(two: Two) -> None:
    alerts = two.world.container.cap.alerts
    carol = two.world.person("carol")
    made = alerts.draft(
        regions=["D21"],
        domain="supply.water",
        level=Level.ORANGE,
        principal=carol,
        choices=Choices(),
    )
    assert made.regions == ("D21",)
    with pytest.raises(Forbidden, match=r"regions\[1\]"):
        alerts.draft(
            regions=["D21", "D11"],
            domain="supply.water",
            level=Level.ORANGE,
            principal=carol,
            choices=Choices(),
        )


def test_drafting_from_a_warning_outside_the_scope_is_refused(two: Two) -> None:
    world = two.world
    world.container.cap.alerts.withdraw(two.outside.identifier, principal=world.person("alice"))
    with pytest.raises(Forbidden, match="outside the scope of carol"):
        world.container.cap.alerts.draft_from_warning(
            world.warning().id, principal=world.person("carol"), choices=Choices()
        )


def test_lists_show_only_what_is_in_scope(two: Two) -> None:
    views = two.world.container.cap.views
    mine = views.find(principal=two.world.person("carol"))
    assert [a.identifier for a in mine] == [two.inside.identifier]
    everyone = {a.identifier for a in views.find(principal=two.world.person("alice"))}
    assert everyone == {two.inside.identifier, two.outside.identifier}
    by_warning = views.find(principal=SYSTEM, warning_id=two.outside.warning_id)
    assert [a.identifier for a in by_warning] == [two.outside.identifier]
